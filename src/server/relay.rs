//! Relaying a call's events to a 2025-era caller: progress and logs as notifications, input
//! requests as server→client requests on the calling request's stream.

use rmcp::model::{
    CancelledNotificationParam, ClientCapabilities, InputRequest, InputRequests, InputResponses,
    ProgressNotificationParam, ServerRequest,
};
use rmcp::service::{PeerRequestOptions, RequestContext};
use rmcp::{ErrorData, RoleServer};
use tokio_util::sync::CancellationToken;

use super::observer::CallEvent;

/// Whether a log message at `level` passes the caller's minimum.
pub type LevelFilter<'a> = &'a (dyn Fn(rmcp::model::LoggingLevel) -> bool + Sync);

/// Deliver one event to the caller of `context`.
pub async fn relay(
    event: CallEvent,
    context: &RequestContext<RoleServer>,
    allows: LevelFilter<'_>,
) {
    match event {
        CallEvent::Progress {
            progress,
            total,
            message,
        } => {
            if let Some(token) = context.meta.get_progress_token() {
                let mut p = ProgressNotificationParam::new(token, progress);
                p.total = total;
                p.message = message;
                let _ = context.peer.notify_progress(p).await;
            }
        }
        CallEvent::Log(message) => {
            if allows(message.level) {
                let _ = context.peer.notify_logging_message(message).await;
            }
        }
        CallEvent::Input(requests, reply, withdrawn) => {
            let _ = reply.send(ask_caller(requests, context, &withdrawn).await);
        }
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

/// Answer input requests by asking the caller, one server→client request each; when the asker
/// withdraws (`withdrawn` fires), the request to the caller is cancelled too.
async fn ask_caller(
    requests: InputRequests,
    context: &RequestContext<RoleServer>,
    withdrawn: &CancellationToken,
) -> Result<InputResponses, ErrorData> {
    let caps: ClientCapabilities = context.client_capabilities().unwrap_or_default();
    let mut answers = InputResponses::new();
    for (key, request) in requests {
        let request = match request {
            InputRequest::CreateMessage(r) => {
                caps.sampling.as_ref().ok_or_else(|| missing("sampling"))?;
                ServerRequest::CreateMessageRequest(r)
            }
            InputRequest::Elicitation(r) => {
                caps.elicitation
                    .as_ref()
                    .ok_or_else(|| missing("elicitation"))?;
                ServerRequest::ElicitRequest(r)
            }
            InputRequest::ListRoots(r) => {
                caps.roots.as_ref().ok_or_else(|| missing("roots"))?;
                ServerRequest::ListRootsRequest(r)
            }
            _ => {
                return Err(ErrorData::invalid_request(
                    "unsupported input request",
                    None,
                ));
            }
        };
        let handle = context
            .peer
            .send_cancellable_request(request, PeerRequestOptions::no_options())
            .await
            .map_err(service_error)?;
        let (id, peer) = (handle.id.clone(), handle.peer.clone());
        let answer = tokio::select! {
            answer = handle.await_response() => answer.map_err(service_error)?,
            _ = withdrawn.cancelled() => {
                let _ = peer
                    .notify_cancelled(CancelledNotificationParam::new(
                        Some(id),
                        Some("withdrawn by the upstream server".into()),
                    ))
                    .await;
                return Err(crate::workbench::withdrawn());
            }
        };
        answers.insert(key, to_value(answer)?);
    }
    Ok(answers)
}
