//! `CallObserver`: how a call reports progress and logs, and asks its caller for input.

use async_trait::async_trait;
use rmcp::ErrorData;
use rmcp::model::{
    CreateMessageRequestParams, CreateMessageResult, ElicitRequestParams, ElicitResult,
    LoggingMessageNotificationParam,
};

/// The caller's side of a running call. Everything has a default: an observer that
/// ignores progress and declines input requests.
#[async_trait]
pub trait CallObserver: Send + Sync {
    /// Progress of the call.
    async fn progress(&self, _progress: f64, _total: Option<f64>, _message: Option<String>) {}

    /// A log message produced while the call runs.
    async fn log(&self, _message: LoggingMessageNotificationParam) {}

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
}

/// An observer that ignores everything and declines every input request.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl CallObserver for NoObserver {}
