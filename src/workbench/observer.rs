//! `CallObserver`: how a call reports progress and logs, and asks its caller for input.

use async_trait::async_trait;
use rmcp::ErrorData;
use rmcp::model::{
    CreateMessageRequestParams, CreateMessageResult, ElicitRequestParams, ElicitResult,
    InputRequest, InputRequests, InputResponses, ListRootsResult, LoggingMessageNotificationParam,
};
use tokio_util::sync::CancellationToken;

use crate::messages::AgentMessage;

/// The caller's side of a running call. Everything has a default: an observer that
/// ignores progress and declines input requests.
#[async_trait]
pub trait CallObserver: Send + Sync {
    /// Progress of the call.
    async fn progress(&self, _progress: f64, _total: Option<f64>, _message: Option<String>) {}

    /// A log message produced while the call runs.
    async fn log(&self, _message: LoggingMessageNotificationParam) {}

    /// The task the call became at another server changed its status (see
    /// [`super::TaskStart::Remote`]).
    async fn task_status(&self, _update: super::TaskUpdate) {}

    /// A message or event of an agent or team running inside the call (AgentTool / TeamTool),
    /// for the caller's own event stream (AutoGen's streamed tool calls).
    async fn agent_message(&self, _message: AgentMessage) {}

    /// The callee asks the caller's model for a completion (MCP sampling).
    async fn create_message(
        &self,
        _params: CreateMessageRequestParams,
    ) -> Result<CreateMessageResult, ErrorData> {
        Err(ErrorData::invalid_request(
            "the calling client does not support sampling",
            None,
        ))
    }

    /// The callee asks the caller's user for input (MCP elicitation).
    async fn elicit(&self, _params: ElicitRequestParams) -> Result<ElicitResult, ErrorData> {
        Err(ErrorData::invalid_request(
            "the calling client does not support elicitation",
            None,
        ))
    }

    /// The callee asks for the caller's filesystem roots.
    async fn list_roots(&self) -> Result<ListRootsResult, ErrorData> {
        Err(ErrorData::invalid_request(
            "the calling client does not support roots",
            None,
        ))
    }

    /// A batch of input requests (sampling, elicitation, roots), answered by key. `cancel` fires
    /// when the asker gives up (the caller's pending questions should then be withdrawn).
    /// The default answers each one through the methods above.
    async fn input(
        &self,
        requests: InputRequests,
        cancel: CancellationToken,
    ) -> Result<InputResponses, ErrorData> {
        let answers = async {
            let mut responses = InputResponses::new();
            for (key, request) in requests {
                let value = match request {
                    InputRequest::CreateMessage(r) => {
                        to_value(self.create_message(r.params).await?)
                    }
                    InputRequest::Elicitation(r) => to_value(self.elicit(r.params).await?),
                    InputRequest::ListRoots(_) => to_value(self.list_roots().await?),
                    _ => Err(ErrorData::invalid_request(
                        "unsupported input request kind",
                        None,
                    )),
                }?;
                responses.insert(key, value);
            }
            Ok(responses)
        };
        tokio::select! {
            r = answers => r,
            _ = cancel.cancelled() => Err(withdrawn()),
        }
    }
}

/// The error for an input request its asker withdrew.
pub fn withdrawn() -> ErrorData {
    ErrorData::invalid_request(
        "the input request was cancelled by the server that asked",
        None,
    )
}

fn to_value(v: impl serde::Serialize) -> Result<serde_json::Value, ErrorData> {
    serde_json::to_value(v).map_err(|e| ErrorData::internal_error(e.to_string(), None))
}

/// An observer that ignores everything and declines every input request.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl CallObserver for NoObserver {}
