//! `ChannelObserver`: a call observer that hands everything the call reports or asks to the
//! task driving the call ([`super::driver`]), in the order it happened.

use async_trait::async_trait;
use rmcp::ErrorData;
use rmcp::model::{
    CreateMessageRequest, CreateMessageRequestParams, CreateMessageResult, ElicitRequest,
    ElicitRequestParams, ElicitResult, InputRequest, InputRequests, InputResponses,
    ListRootsRequest, ListRootsResult, LoggingMessageNotificationParam,
};
use serde::de::DeserializeOwned;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::workbench::{CallObserver, TaskUpdate};

/// Something a running call wants from, or tells, its caller.
pub enum CallEvent {
    /// Progress update.
    Progress {
        progress: f64,
        total: Option<f64>,
        message: Option<String>,
    },
    /// A log message.
    Log(LoggingMessageNotificationParam),
    /// Input requests (sampling, elicitation, roots) by key, where to send the answers, and a
    /// token that fires when the asker withdraws them.
    Input(
        InputRequests,
        oneshot::Sender<Result<InputResponses, ErrorData>>,
        CancellationToken,
    ),
    /// The task the call became at another server changed its status.
    Status(TaskUpdate),
}

/// Sends [`CallEvent`]s to the call's driver.
pub struct ChannelObserver {
    tx: mpsc::UnboundedSender<CallEvent>,
}

impl ChannelObserver {
    /// A new observer and the receiving end its driver drains.
    pub fn new() -> (Self, mpsc::UnboundedReceiver<CallEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self { tx }, rx)
    }

    async fn ask_one<T: DeserializeOwned>(&self, request: InputRequest) -> Result<T, ErrorData> {
        const KEY: &str = "request";
        let mut requests = InputRequests::new();
        requests.insert(KEY.into(), request);
        let mut answers = self.input(requests, CancellationToken::new()).await?;
        let answer = answers
            .remove(KEY)
            .ok_or_else(|| ErrorData::invalid_request("the caller gave no answer", None))?;
        serde_json::from_value(answer)
            .map_err(|e| ErrorData::invalid_params(format!("the caller's answer: {e}"), None))
    }
}

fn gone() -> ErrorData {
    ErrorData::internal_error("the calling request has already finished", None)
}

#[async_trait]
impl CallObserver for ChannelObserver {
    async fn progress(&self, progress: f64, total: Option<f64>, message: Option<String>) {
        let _ = self.tx.send(CallEvent::Progress {
            progress,
            total,
            message,
        });
    }

    async fn log(&self, message: LoggingMessageNotificationParam) {
        let _ = self.tx.send(CallEvent::Log(message));
    }

    async fn task_status(&self, update: TaskUpdate) {
        let _ = self.tx.send(CallEvent::Status(update));
    }

    async fn create_message(
        &self,
        params: CreateMessageRequestParams,
    ) -> Result<CreateMessageResult, ErrorData> {
        self.ask_one(InputRequest::CreateMessage(CreateMessageRequest::new(
            params,
        )))
        .await
    }

    async fn elicit(&self, params: ElicitRequestParams) -> Result<ElicitResult, ErrorData> {
        self.ask_one(InputRequest::Elicitation(ElicitRequest::new(params)))
            .await
    }

    async fn list_roots(&self) -> Result<ListRootsResult, ErrorData> {
        self.ask_one(InputRequest::ListRoots(ListRootsRequest {
            method: Default::default(),
            extensions: Default::default(),
        }))
        .await
    }

    async fn input(
        &self,
        requests: InputRequests,
        cancel: CancellationToken,
    ) -> Result<InputResponses, ErrorData> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(CallEvent::Input(requests, reply, cancel.clone()))
            .map_err(|_| gone())?;
        tokio::select! {
            answer = answer => answer.map_err(|_| gone())?,
            _ = cancel.cancelled() => Err(crate::workbench::withdrawn()),
        }
    }
}
