//! The `/mcp` face's middleware in front of rmcp's `StreamableHttpService`. Each POST body is
//! parsed once ([`super::incoming`]); what is learned there (method, id, renaming) is passed
//! along instead of parsing again. It answers what rmcp would answer unclearly: text that is not
//! one JSON-RPC message gets 400 with a `-32700` / `-32600` JSON-RPC error (rmcp: 415 in plain
//! text), a DELETE of an unknown session 404 and of a live one 204 (rmcp: 202 for both). It also
//! refuses new sessions while the server drains or when `max_sessions` are open, marks a
//! session busy while one of its requests or streams is in progress (idle ones expire,
//! [`super::sessions`]), keeps a call counted as in flight until its response is written, puts
//! back tool fields rmcp drops, and holds a streamed response until its first message so that a
//! quick answer leaves in one write.
//!
//! With `[auth]`, a session is bound to the caller that opened it: a request naming another
//! caller's session gets `404` (as an unknown session would), never reaching it. 404 rather than
//! 403: it says no more than an unknown id would, and a client that holds a session id it should
//! not have is told to start its own, as the spec has clients do on 404.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use futures::{StreamExt, stream};
use http::{HeaderMap, Method, StatusCode, header};
use rmcp::model::{ErrorCode, RequestId};
use serde_json::json;

use super::auth::Authenticated;
use super::drain::{Drain, InFlight, SHUTTING_DOWN};
use super::incoming::{Incoming, Rejection, check};
use super::rewrite::{OutgoingRewrite, rewrite_body};
use super::sessions::{Busy, Sessions};
use super::task_calls::advertise_legacy_tasks;

/// The session header of streamable HTTP.
const SESSION_HEADER: &str = "mcp-session-id";

/// How long a `tools/list` or `initialize` response body may take to complete.
const REWRITE_WAIT: Duration = Duration::from_secs(30);

/// How long a streamed response is held back waiting for its first message, so that the head,
/// the priming event and a quick answer leave in one write. A slower answer follows on its own.
const FIRST_MESSAGE_HOLD: Duration = Duration::from_millis(100);

/// What the middleware needs besides the request.
#[derive(Clone)]
pub struct McpFace {
    /// The open sessions (their cap and expiry; rmcp's manager, to end one on DELETE).
    pub sessions: Arc<Sessions>,
    /// Applied to outgoing `tools/list` results.
    pub rewrite: Option<OutgoingRewrite>,
    /// The server's calls in flight and its stop.
    pub drain: Drain,
}

/// What the one parse told about a request, for what happens after rmcp answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `initialize`: advertise 2025-era tasks.
    Initialize,
    /// `tools/list`: put back the preserved tool fields.
    ListTools,
    /// `tools/call`, `prompts/get`, `resources/read`: in flight until answered.
    Call,
    /// Anything else.
    Other,
}

impl Kind {
    fn of(incoming: &Incoming) -> Self {
        match incoming.method() {
            Some("initialize") => Kind::Initialize,
            Some("tools/list") => Kind::ListTools,
            Some("tools/call" | "prompts/get" | "resources/read") => Kind::Call,
            _ => Kind::Other,
        }
    }
}

/// Middleware for `/mcp`.
pub async fn mcp_face(State(face): State<McpFace>, request: Request, next: Next) -> Response {
    match *request.method() {
        Method::POST => face.post(request, next).await,
        Method::DELETE => face.delete(request, next).await,
        Method::GET => face.get(request, next).await,
        _ => next.run(request).await,
    }
}

impl McpFace {
    async fn post(&self, request: Request, next: Next) -> Response {
        if !declares_json(request.headers()) {
            // rmcp answers a wrong Accept (406) or Content-Type (415) itself.
            return next.run(request).await;
        }
        let (parts, body) = request.into_parts();
        // The listener's body layer has read the body already; this only takes it out.
        let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
            return (StatusCode::BAD_REQUEST, "cannot read the request body").into_response();
        };
        let session = session_id(&parts.headers).map(str::to_owned);
        let owner = owner_of(&parts.extensions);
        if let Some(id) = &session
            && self.sessions.refuses(id, owner.as_deref())
        {
            return not_this_callers(id);
        }
        let in_session = session.is_some();
        // 2025-era task requests (session requests) go to the custom methods that answer them.
        let incoming = match check(&bytes, in_session) {
            Ok(incoming) => incoming,
            Err(rejection) => return refuse(StatusCode::BAD_REQUEST, &rejection),
        };
        let kind = Kind::of(&incoming);
        if kind == Kind::Initialize && self.drain.is_stopping() {
            // No new sessions during a drain (new calls are refused by the handler).
            let refusal = Rejection {
                code: ErrorCode::INTERNAL_ERROR,
                message: SHUTTING_DOWN.into(),
                id: incoming.id(),
            };
            return refuse(StatusCode::SERVICE_UNAVAILABLE, &refusal);
        }
        let admission = match (kind, in_session) {
            (Kind::Initialize, false) => match self.sessions.admit() {
                Ok(admission) => Some(admission),
                Err(full) => {
                    tracing::warn!(max_sessions = full.max, "new session refused: {full}");
                    let refusal = Rejection {
                        code: ErrorCode::INTERNAL_ERROR,
                        message: full.to_string(),
                        id: incoming.id(),
                    };
                    return refuse(StatusCode::SERVICE_UNAVAILABLE, &refusal);
                }
            },
            _ => None,
        };
        let pin = pins_session(&incoming);
        let busy = session
            .as_deref()
            .and_then(|id| self.sessions.enter(id, pin));
        let id = incoming.id();
        let body = match incoming.renamed {
            true => serde_json::to_vec(&incoming.value).map_or(bytes, Bytes::from),
            false => bytes,
        };
        let in_flight = (kind == Kind::Call).then(|| self.drain.track());
        let response = next.run(Request::from_parts(parts, Body::from(body))).await;
        if let Some(admission) = admission
            && response.status().is_success()
            && let Some(opened) = session_id(response.headers())
        {
            admission.opened(opened, owner);
        }
        if response.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE {
            return rmcp_could_not_decode(response, id).await;
        }
        match (kind, &self.rewrite) {
            (Kind::ListTools, Some(rewrite)) => rewrite_response(response, rewrite).await,
            (Kind::Initialize, _) => {
                let advertise = OutgoingRewrite::new(advertise_legacy_tasks);
                rewrite_response(response, &advertise).await
            }
            _ => hold_first_message(response, Held { in_flight, busy }).await,
        }
    }

    /// A GET stream keeps its session busy (so it does not expire) for as long as it is open.
    async fn get(&self, request: Request, next: Next) -> Response {
        if let Some(id) = session_id(request.headers())
            && self
                .sessions
                .refuses(id, owner_of(request.extensions()).as_deref())
        {
            return not_this_callers(id);
        }
        let busy = session_id(request.headers()).and_then(|id| self.sessions.enter(id, false));
        let response = next.run(request).await;
        match busy {
            Some(busy) => {
                let (parts, body) = response.into_parts();
                Response::from_parts(parts, body_keeping(body.into_data_stream(), busy))
            }
            None => response,
        }
    }

    /// End the named session: 204 when it was live, 404 when unknown (or already ended).
    async fn delete(&self, request: Request, next: Next) -> Response {
        let Some(id) = request
            .headers()
            .get(SESSION_HEADER)
            .and_then(|v| v.to_str().ok())
        else {
            // rmcp answers a DELETE without a session id.
            return next.run(request).await;
        };
        if self
            .sessions
            .refuses(id, owner_of(request.extensions()).as_deref())
        {
            return not_this_callers(id);
        }
        let was_open = self.sessions.forget(id);
        let session = self.sessions.manager().sessions.write().await.remove(id);
        let Some(session) = session else {
            if was_open {
                // A parked session: nothing runs for it.
                tracing::debug!(session_id = %id, "parked session ended by the client");
                return StatusCode::NO_CONTENT.into_response();
            }
            let error = json!({ "error": "unknown session (it may have ended already)" });
            return (StatusCode::NOT_FOUND, axum::Json(error)).into_response();
        };
        // An error means the session's worker had already stopped: it is gone either way.
        let _ = session.close().await;
        tracing::debug!(session_id = %id, "session ended by the client");
        StatusCode::NO_CONTENT.into_response()
    }
}

/// The caller a request was authenticated as (none without `[auth]`).
fn owner_of(extensions: &http::Extensions) -> Option<Arc<str>> {
    extensions
        .get::<Authenticated>()
        .map(|caller| Arc::clone(&caller.owner))
}

/// The answer to a request naming another caller's session: what an unknown session gets.
fn not_this_callers(id: &str) -> Response {
    tracing::info!(session_id = %id, "request for another caller's session refused");
    let error = json!({ "error": "unknown session (it may have ended already)" });
    (StatusCode::NOT_FOUND, axum::Json(error)).into_response()
}

/// The session a request or response names.
fn session_id(headers: &HeaderMap) -> Option<&str> {
    headers.get(SESSION_HEADER).and_then(|v| v.to_str().ok())
}

/// Whether a request gives its session state beyond what its `initialize` said (so the session
/// must not be parked, see [`super::sessions`]): subscriptions, a log level, 2025-era tasks;
/// anything not known to be stateless counts.
fn pins_session(incoming: &Incoming) -> bool {
    match incoming.method() {
        // Responses (answers to the server's questions) and stateless requests.
        None
        | Some(
            "notifications/initialized"
            | "notifications/cancelled"
            | "notifications/progress"
            | "ping"
            | "tools/list"
            | "prompts/list"
            | "prompts/get"
            | "resources/list"
            | "resources/templates/list"
            | "resources/read"
            | "completion/complete",
        ) => false,
        // A tool call is stateless unless it asks to run as a task.
        Some("tools/call") => incoming
            .value
            .get("params")
            .is_some_and(|params| params.get("task").is_some()),
        Some(_) => true,
    }
}

/// What a streamed response holds until its body has been written (or dropped): the call's
/// place among the calls in flight, and its session's busy mark.
struct Held {
    in_flight: Option<InFlight>,
    busy: Option<Busy>,
}

/// Whether the request says its body is JSON (what rmcp accepts).
fn declares_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// An error answer carrying a JSON-RPC error.
fn refuse(status: StatusCode, rejection: &Rejection) -> Response {
    (status, axum::Json(rejection.to_json())).into_response()
}

/// rmcp answers 415 in plain text when it cannot decode a body our checks let through; say it
/// as a JSON-RPC invalid request.
async fn rmcp_could_not_decode(response: Response, id: Option<RequestId>) -> Response {
    let text = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let reason = String::from_utf8_lossy(&text);
    let reason = reason
        .trim_start_matches("fail to deserialize request body")
        .trim();
    refuse(StatusCode::BAD_REQUEST, &Rejection::invalid(reason, id))
}

/// Buffer a (short) response and apply `rewrite` to its message.
async fn rewrite_response(response: Response, rewrite: &OutgoingRewrite) -> Response {
    let (mut parts, body) = response.into_parts();
    let collected =
        tokio::time::timeout(REWRITE_WAIT, axum::body::to_bytes(body, usize::MAX)).await;
    let Ok(Ok(bytes)) = collected else {
        tracing::warn!("response to rewrite did not complete in time");
        return (
            StatusCode::GATEWAY_TIMEOUT,
            "the response did not complete in time",
        )
            .into_response();
    };
    let body = rewrite_body(&bytes, rewrite);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

/// Hold a streamed response until it carries its first message (at most
/// [`FIRST_MESSAGE_HOLD`]), so the head and the first events are written together; `held` is
/// kept until the body has been written (or dropped).
async fn hold_first_message(response: Response, held: Held) -> Response {
    let streamed = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    if !streamed && held.in_flight.is_none() && held.busy.is_none() {
        return response;
    }
    let (parts, body) = response.into_parts();
    let mut events = body.into_data_stream();
    let mut first = BytesMut::new();
    let mut failed = None;
    if streamed {
        let hold = tokio::time::sleep(FIRST_MESSAGE_HOLD);
        tokio::pin!(hold);
        while !carries_message(&first) {
            tokio::select! {
                chunk = events.next() => match chunk {
                    Some(Ok(chunk)) => first.extend_from_slice(&chunk),
                    Some(Err(error)) => {
                        failed = Some(error);
                        break;
                    }
                    None => break,
                },
                () = &mut hold => break,
            }
        }
    }
    let head = (!first.is_empty()).then(|| Ok(first.freeze()));
    let body = stream::iter(head.into_iter().chain(failed.map(Err))).chain(events);
    Response::from_parts(parts, body_keeping(body, held))
}

/// A response body of `chunks` that holds `keep` until it has been written (or dropped with the
/// connection).
fn body_keeping(
    chunks: impl futures::Stream<Item = Result<Bytes, axum::Error>> + Send + 'static,
    keep: impl Send + Sync + 'static,
) -> Body {
    Body::from_stream(chunks.map(move |chunk| {
        let _kept = &keep;
        chunk
    }))
}

/// Whether SSE text holds a JSON-RPC message (a priming event holds none).
fn carries_message(events: &[u8]) -> bool {
    events.windows(9).any(|w| w == b"\"jsonrpc\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_events_with_a_message_end_the_hold() {
        assert!(!carries_message(b"id: 0\nretry: 3000\ndata:\n\n"));
        assert!(carries_message(
            b"data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\nid: 1\n\n"
        ));
    }

    #[test]
    fn json_is_recognised_with_parameters_and_case() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            "Application/JSON; charset=utf-8".parse().expect("header"),
        );
        assert!(declares_json(&headers));
        headers.insert(header::CONTENT_TYPE, "text/plain".parse().expect("header"));
        assert!(!declares_json(&headers));
    }

    #[tokio::test]
    async fn a_held_response_keeps_every_chunk_in_order() {
        let chunks = [
            "id: 0\nretry: 3000\ndata:\n\n",
            "data: {\"jsonrpc\":\"2.0\"}\n\n",
        ];
        let body = Body::from_stream(stream::iter(
            chunks.map(|c| Ok::<_, std::io::Error>(Bytes::from(c))),
        ));
        let response = Response::builder()
            .header(header::CONTENT_TYPE, "text/event-stream")
            .body(body)
            .expect("response");
        let held = hold_first_message(
            response,
            Held {
                in_flight: None,
                busy: None,
            },
        )
        .await;
        let text = axum::body::to_bytes(held.into_body(), usize::MAX)
            .await
            .expect("body");
        assert_eq!(text, chunks.concat().as_bytes());
    }
}
