//! `ChannelObserver`: a call observer that hands everything to the task serving the request,
//! so progress, logs and relayed sampling/elicitation travel on that request's own stream.

use async_trait::async_trait;
use rmcp::ErrorData;
use rmcp::model::{
    CreateMessageRequestParams, CreateMessageResult, ElicitRequestParams, ElicitResult,
    LoggingMessageNotificationParam,
};
use tokio::sync::{mpsc, oneshot};

use crate::workbench::CallObserver;

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
    /// A sampling request, with where to send the answer.
    CreateMessage(
        CreateMessageRequestParams,
        oneshot::Sender<Result<CreateMessageResult, ErrorData>>,
    ),
    /// An elicitation request, with where to send the answer.
    Elicit(
        ElicitRequestParams,
        oneshot::Sender<Result<ElicitResult, ErrorData>>,
    ),
}

/// Sends [`CallEvent`]s to the request task.
pub struct ChannelObserver {
    tx: mpsc::UnboundedSender<CallEvent>,
}

impl ChannelObserver {
    /// A new observer and the receiving end its request task drains.
    pub fn new() -> (Self, mpsc::UnboundedReceiver<CallEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self { tx }, rx)
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

    async fn create_message(
        &self,
        params: CreateMessageRequestParams,
    ) -> Result<CreateMessageResult, ErrorData> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(CallEvent::CreateMessage(params, reply))
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }

    async fn elicit(&self, params: ElicitRequestParams) -> Result<ElicitResult, ErrorData> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(CallEvent::Elicit(params, reply))
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}
