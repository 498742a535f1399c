//! Delivering a call's events to a 2025-era caller: progress and logs as notifications, input
//! requests as server→client requests. Asking returns a future the call's driver polls next to
//! its other work, so a question waiting for its answer holds nothing else up.

use futures::FutureExt;
use futures::future::BoxFuture;
use rmcp::model::{
    CancelledNotificationParam, ClientCapabilities, GetExtensions, InputRequest, InputRequests,
    InputResponses, LoggingLevel, ProgressNotificationParam, RequestId, ServerRequest,
};
use rmcp::service::{OriginatingRequestId, PeerRequestOptions, RequestContext};
use rmcp::{ErrorData, RoleServer};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::handler::severity;
use super::observer::CallEvent;

/// Where a 2025-era caller's events go: the session of `context`.
#[derive(Clone)]
pub struct StreamRelay {
    /// The request the events belong to (its progress token is used; its peer is the session).
    pub context: RequestContext<RoleServer>,
    /// The least severe log level delivered; `None`: every level.
    pub min_level: Option<LoggingLevel>,
    /// Whether questions ride the request's own response stream (it is still open); a task's
    /// questions go on the session's standalone stream instead.
    pub on_request_stream: bool,
}

impl StreamRelay {
    /// Deliver progress or a log message (other events are not notices and are ignored).
    pub async fn tell(&self, event: CallEvent) {
        match event {
            CallEvent::Progress {
                progress,
                total,
                message,
            } => {
                if let Some(token) = self.context.meta.get_progress_token() {
                    let mut p = ProgressNotificationParam::new(token, progress);
                    p.total = total;
                    p.message = message;
                    let _ = self.context.peer.notify_progress(p).await;
                }
            }
            CallEvent::Log(message) => {
                if self
                    .min_level
                    .is_none_or(|min| severity(message.level) >= severity(min))
                {
                    let _ = self.context.peer.notify_logging_message(message).await;
                }
            }
            CallEvent::Input(..) | CallEvent::Status(_) => {}
        }
    }

    /// Ask the caller; the future sends the questions and hands the answers to `reply`. When
    /// the asker withdraws (`withdrawn` fires), the request to the caller is cancelled too.
    pub fn ask(
        &self,
        requests: InputRequests,
        reply: oneshot::Sender<Result<InputResponses, ErrorData>>,
        withdrawn: CancellationToken,
    ) -> BoxFuture<'static, ()> {
        let relay = self.clone();
        async move {
            let _ = reply.send(relay.ask_caller(requests, &withdrawn).await);
        }
        .boxed()
    }

    /// One server→client request per question, in turn.
    async fn ask_caller(
        &self,
        requests: InputRequests,
        withdrawn: &CancellationToken,
    ) -> Result<InputResponses, ErrorData> {
        let caps: ClientCapabilities = self.context.client_capabilities().unwrap_or_default();
        let mut answers = InputResponses::new();
        for (key, request) in requests {
            let mut request = to_server_request(request, &caps)?;
            if self.on_request_stream {
                // The driver runs in a task of its own, where rmcp cannot tell which request
                // it serves: name the request whose stream the question must ride.
                request
                    .extensions_mut()
                    .insert(OriginatingRequestId(self.context.id.clone()));
            }
            let answer = self.one(request, withdrawn).await?;
            answers.insert(key, answer);
        }
        Ok(answers)
    }

    async fn one(
        &self,
        request: ServerRequest,
        withdrawn: &CancellationToken,
    ) -> Result<serde_json::Value, ErrorData> {
        let handle = self
            .context
            .peer
            .send_cancellable_request(request, PeerRequestOptions::no_options())
            .await
            .map_err(service_error)?;
        let (id, peer) = (handle.id.clone(), handle.peer.clone());
        tokio::select! {
            answer = handle.await_response() => to_value(answer.map_err(service_error)?),
            _ = withdrawn.cancelled() => {
                withdraw(&peer, id).await;
                Err(crate::workbench::withdrawn())
            }
        }
    }
}

async fn withdraw(peer: &rmcp::Peer<RoleServer>, id: RequestId) {
    let _ = peer
        .notify_cancelled(CancelledNotificationParam::new(
            Some(id),
            Some("withdrawn by the upstream server".into()),
        ))
        .await;
}

fn to_server_request(
    request: InputRequest,
    caps: &ClientCapabilities,
) -> Result<ServerRequest, ErrorData> {
    match request {
        InputRequest::CreateMessage(r) => {
            caps.sampling.as_ref().ok_or_else(|| missing("sampling"))?;
            Ok(ServerRequest::CreateMessageRequest(r))
        }
        InputRequest::Elicitation(r) => {
            caps.elicitation
                .as_ref()
                .ok_or_else(|| missing("elicitation"))?;
            Ok(ServerRequest::ElicitRequest(r))
        }
        InputRequest::ListRoots(r) => {
            caps.roots.as_ref().ok_or_else(|| missing("roots"))?;
            Ok(ServerRequest::ListRootsRequest(r))
        }
        _ => Err(ErrorData::invalid_request(
            "unsupported input request",
            None,
        )),
    }
}

fn missing(capability: &str) -> ErrorData {
    ErrorData::invalid_request(
        format!("the calling client did not declare the {capability} capability"),
        None,
    )
}

fn service_error(e: rmcp::service::ServiceError) -> ErrorData {
    match e {
        rmcp::service::ServiceError::McpError(e) => e,
        other => ErrorData::internal_error(other.to_string(), None),
    }
}

fn to_value(v: impl serde::Serialize) -> Result<serde_json::Value, ErrorData> {
    serde_json::to_value(v).map_err(|e| ErrorData::internal_error(e.to_string(), None))
}
