//! Legacy HTTP+SSE server face: `GET /sse` opens a session, `POST /messages?sessionId=` feeds it.
//!
//! Each session runs its own rmcp service over an mpsc sink/stream pair; the SSE response carries
//! the `endpoint` event and then every outgoing message. Closing the SSE connection cancels the
//! session; the config's shutdown token ends every session, whose stream ends once the messages
//! the service still sent (answers drained at shutdown) are written. Each POST body is checked
//! once ([`super::incoming`]): text that is not one JSON-RPC message (batches included) is
//! answered with 400 and its JSON-RPC error.
//!
//! With `[auth]`, a session belongs to the caller that opened it: a `POST` with another
//! caller's credentials gets the same `404` as an unknown session, and every message carries
//! its caller ([`Authenticated`]) into the handler.

use std::{
    collections::HashMap,
    convert::Infallible,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use axum::{
    Router,
    extract::{DefaultBodyLimit, Extension, OriginalUri, Query, State, rejection::BytesRejection},
    http::{HeaderMap, StatusCode, Uri},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
    routing::{get, post},
};
use bytes::Bytes;
use futures::{
    SinkExt, StreamExt,
    channel::mpsc,
    stream::{self},
};
use rmcp::{
    RoleServer, Service,
    model::{ClientJsonRpcMessage, GetExtensions, ServerJsonRpcMessage},
    service::serve_server_with_ct,
};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::auth::Authenticated;
use super::incoming::{Rejection, check};
use super::origin::{OriginPolicy, check_origin};
use super::rewrite::OutgoingRewrite;
use super::task_calls::with_legacy_tasks;
use crate::telemetry::metrics::SessionTimer;

/// Messages buffered per direction per session before senders wait.
const SESSION_BUFFER: usize = 64;

/// Settings for [`sse_router`].
#[derive(Debug, Clone)]
pub struct SseServerConfig {
    /// Path of the event-stream route (default `/sse`).
    pub sse_path: String,
    /// Path of the message route (default `/messages`).
    pub messages_path: String,
    /// Prefix put before `messages_path` in the `endpoint` event; `None` derives it from the
    /// mount point when the router is nested.
    pub endpoint_prefix: Option<String>,
    /// Interval of keep-alive comments on idle streams.
    pub keep_alive: Duration,
    /// Largest accepted `POST` body in bytes (larger gets 413).
    pub max_body_bytes: usize,
    /// Accepted `Host` / `Origin` values.
    pub origin_policy: OriginPolicy,
    /// Cancelling this token ends every session.
    pub shutdown: CancellationToken,
    /// Cancelling this token refuses new sessions (503) while the open ones go on (a drain).
    pub stop_accepting: CancellationToken,
    /// Applied to every outgoing message before it is written (see [`super::rewrite`]).
    pub rewrite: Option<OutgoingRewrite>,
}

impl Default for SseServerConfig {
    fn default() -> Self {
        Self {
            sse_path: "/sse".into(),
            messages_path: "/messages".into(),
            endpoint_prefix: None,
            keep_alive: Duration::from_secs(15),
            max_body_bytes: 4 * 1024 * 1024,
            origin_policy: OriginPolicy::default(),
            shutdown: CancellationToken::new(),
            stop_accepting: CancellationToken::new(),
            rewrite: None,
        }
    }
}

/// The channels and token that tie one SSE connection to one running service.
struct SessionIo {
    id: String,
    to_client: mpsc::Sender<ServerJsonRpcMessage>,
    from_client: mpsc::Receiver<ClientJsonRpcMessage>,
    cancel: CancellationToken,
    sessions: Arc<Sessions>,
}

/// Starts the service task of a new session (erases the service type).
type Spawner = Arc<dyn Fn(SessionIo) + Send + Sync>;

/// One live session: the sender into its service, and who opened it (with `[auth]`).
#[derive(Clone)]
struct Live {
    sender: mpsc::Sender<ClientJsonRpcMessage>,
    owner: Option<Arc<str>>,
}

/// Live sessions by id.
#[derive(Default)]
struct Sessions {
    inner: Mutex<HashMap<String, Live>>,
}

impl Sessions {
    fn insert(&self, id: String, live: Live) {
        self.lock().insert(id, live);
    }

    /// The sender of session `id` if it is live and `owner` opened it.
    fn get(&self, id: &str, owner: Option<&str>) -> Option<mpsc::Sender<ClientJsonRpcMessage>> {
        let sessions = self.lock();
        let live = sessions.get(id)?;
        (live.owner.as_deref() == owner).then(|| live.sender.clone())
    }

    fn remove(&self, id: &str) {
        self.lock().remove(id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Live>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Clone)]
struct AppState {
    config: Arc<SseServerConfig>,
    sessions: Arc<Sessions>,
    spawn: Spawner,
}

/// Build the legacy SSE face: `GET sse_path` and `POST messages_path`, one `factory()` service per
/// session.
pub fn sse_router<S, F>(factory: F, config: SseServerConfig) -> Router
where
    S: Service<RoleServer>,
    F: Fn() -> S + Send + Sync + 'static,
{
    let spawn: Spawner = Arc::new(move |io: SessionIo| {
        let span = tracing::info_span!("sse_session", session_id = %io.id);
        tokio::spawn(run_session(factory(), io).instrument(span));
    });
    let body_limit = config.max_body_bytes;
    let config = SseServerConfig {
        sse_path: normalize_path(&config.sse_path),
        messages_path: normalize_path(&config.messages_path),
        ..config
    };
    let state = AppState {
        sessions: Arc::default(),
        spawn,
        config: Arc::new(config),
    };
    Router::new()
        .route(&state.config.sse_path, get(open_session))
        .route(&state.config.messages_path, post(post_message))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

/// A route path with exactly one leading `/` (axum rejects paths without one).
fn normalize_path(path: &str) -> String {
    format!("/{}", path.trim().trim_start_matches('/'))
}

/// Serve one session until its service ends or the session is cancelled.
async fn run_session<S: Service<RoleServer>>(service: S, io: SessionIo) {
    let SessionIo {
        id,
        to_client,
        from_client,
        cancel,
        sessions,
    } = io;
    let _session = SessionTimer::start();
    let started = tokio::select! {
        started = serve_server_with_ct(service, (to_client, from_client), cancel.clone()) => Some(started),
        () = cancel.cancelled() => None,
    };
    match started {
        Some(Ok(running)) => match running.waiting().await {
            Ok(reason) => tracing::debug!(?reason, "SSE session ended"),
            Err(error) => tracing::warn!(%error, "SSE session task failed"),
        },
        Some(Err(error)) => tracing::warn!(%error, "SSE session failed to initialize"),
        None => tracing::debug!("SSE session cancelled before initialization"),
    }
    sessions.remove(&id);
    cancel.cancel();
}

/// The prefix under which this router is mounted (`/legacy` when nested at `/legacy`).
fn mount_prefix(original: &Uri, local: &Uri) -> String {
    original
        .path()
        .strip_suffix(local.path())
        .unwrap_or_default()
        .trim_end_matches('/')
        .to_string()
}

async fn open_session(
    State(state): State<AppState>,
    OriginalUri(original): OriginalUri,
    uri: Uri,
    caller: Option<Extension<Authenticated>>,
    headers: HeaderMap,
) -> Response {
    if let Err(status) = check_origin(&headers, &state.config.origin_policy) {
        return (status, "Forbidden: Host or Origin not allowed").into_response();
    }
    if state.config.shutdown.is_cancelled() || state.config.stop_accepting.is_cancelled() {
        return (StatusCode::SERVICE_UNAVAILABLE, "Shutting down").into_response();
    }
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (to_service, from_client) = mpsc::channel(SESSION_BUFFER);
    let (to_client, outgoing) = mpsc::channel(SESSION_BUFFER);
    let cancel = state.config.shutdown.child_token();
    let owner = caller.map(|Extension(caller)| caller.owner);
    let live = Live {
        sender: to_service,
        owner,
    };
    state.sessions.insert(id.clone(), live);
    (state.spawn)(SessionIo {
        id: id.clone(),
        to_client,
        from_client,
        cancel: cancel.clone(),
        sessions: state.sessions.clone(),
    });
    let prefix = match &state.config.endpoint_prefix {
        Some(prefix) => prefix.trim_end_matches('/').to_string(),
        None => mount_prefix(&original, &uri),
    };
    let endpoint = format!("{prefix}{}?sessionId={id}", state.config.messages_path);
    tracing::info!(session_id = %id, %endpoint, "SSE session opened");
    let rewrite = with_legacy_tasks(state.config.rewrite.clone());
    let events = session_events(endpoint, outgoing, cancel, Some(rewrite));
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(state.config.keep_alive))
        .into_response()
}

/// The SSE body: the endpoint event, then each outgoing message, until the session's service
/// ends and drops its sink (a cancelled service first drains its answers into it). Dropping the
/// stream (client gone) cancels the session.
fn session_events(
    endpoint: String,
    outgoing: mpsc::Receiver<ServerJsonRpcMessage>,
    cancel: CancellationToken,
    rewrite: Option<OutgoingRewrite>,
) -> impl futures::Stream<Item = Result<Event, Infallible>> + Send + 'static {
    let guard = cancel.clone().drop_guard();
    let first = stream::once(async move { Event::default().event("endpoint").data(endpoint) });
    let messages = outgoing.filter_map(move |message| {
        let rewrite = rewrite.clone();
        async move {
            let json = serde_json::to_string(&message).map(|json| {
                match rewrite
                    .as_ref()
                    .and_then(|r| super::rewrite::rewrite_json_text(&json, r))
                {
                    Some(rewritten) => rewritten,
                    None => json,
                }
            });
            match json {
                Ok(json) => Some(Event::default().event("message").data(json)),
                Err(error) => {
                    tracing::warn!(%error, "dropping an outgoing message that does not serialize");
                    None
                }
            }
        }
    });
    first.chain(messages).map(move |event| {
        let _session_alive = &guard;
        Ok(event)
    })
}

#[derive(Debug, Deserialize)]
struct SessionQuery {
    #[serde(rename = "sessionId", alias = "session_id")]
    session_id: Option<String>,
}

/// The trace context headers of a POST (for the span of the request it carries).
fn trace_headers(headers: &HeaderMap) -> HeaderMap {
    ["traceparent", "tracestate"]
        .into_iter()
        .filter_map(|name| {
            Some((
                http::HeaderName::from_static(name),
                headers.get(name)?.clone(),
            ))
        })
        .collect()
}

async fn post_message(
    State(state): State<AppState>,
    Query(query): Query<SessionQuery>,
    caller: Option<Extension<Authenticated>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if let Err(status) = check_origin(&headers, &state.config.origin_policy) {
        return (status, "Forbidden: Host or Origin not allowed").into_response();
    }
    let Some(session_id) = query.session_id else {
        return (StatusCode::BAD_REQUEST, "Missing sessionId").into_response();
    };
    let caller = caller.map(|Extension(caller)| caller);
    let owner = caller.as_ref().map(|c| &*c.owner);
    // Another caller's session is answered like an unknown one: it is not theirs to use.
    let Some(mut sender) = state.sessions.get(&session_id, owner) else {
        return (StatusCode::NOT_FOUND, "Unknown session").into_response();
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return rejection.into_response(),
    };
    let mut message = match decode_message(&body) {
        Ok(message) => message,
        Err(rejection) => return refuse(&rejection),
    };
    if crate::telemetry::enabled()
        && let ClientJsonRpcMessage::Request(request) = &mut message
    {
        let traced = super::traced::SseMessage {
            session_id: session_id.clone(),
            headers: trace_headers(&headers),
        };
        request.request.extensions_mut().insert(traced);
    }
    if let Some(caller) = caller {
        match &mut message {
            ClientJsonRpcMessage::Request(request) => {
                request.request.extensions_mut().insert(caller);
            }
            ClientJsonRpcMessage::Notification(notification) => {
                notification.notification.extensions_mut().insert(caller);
            }
            _ => {}
        }
    }
    if sender.send(message).await.is_err() {
        return (StatusCode::NOT_FOUND, "Session closed").into_response();
    }
    (StatusCode::ACCEPTED, "Accepted").into_response()
}

/// A POST body that is not a JSON-RPC message: 400 with its JSON-RPC error.
fn refuse(rejection: &Rejection) -> Response {
    (StatusCode::BAD_REQUEST, axum::Json(rejection.to_json())).into_response()
}

/// Decode a POST body into one message (batches are refused: the current spec has none).
fn decode_message(body: &[u8]) -> Result<ClientJsonRpcMessage, Rejection> {
    let incoming = check(body, true)?;
    let id = incoming.id();
    serde_json::from_value(incoming.value).map_err(|error| Rejection::invalid(error, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_get_one_leading_slash() {
        assert_eq!(normalize_path("messages"), "/messages");
        assert_eq!(normalize_path("//sse"), "/sse");
        assert_eq!(normalize_path(""), "/");
    }

    #[test]
    fn mount_prefix_is_what_nesting_stripped() {
        let original: Uri = "/legacy/sse?x=1".parse().expect("uri");
        let local: Uri = "/sse".parse().expect("uri");
        assert_eq!(mount_prefix(&original, &local), "/legacy");
        assert_eq!(mount_prefix(&local, &local), "");
    }

    #[test]
    fn decode_rejects_garbage_with_parse_error() {
        let error = decode_message(b"{not json").expect_err("garbage decoded");
        assert_eq!(error.code.0, -32700);
        assert_eq!(refuse(&error).status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn decode_refuses_a_batch() {
        let body = br#"[{"jsonrpc":"2.0","method":"notifications/initialized"},
                        {"jsonrpc":"2.0","id":1,"method":"ping"}]"#;
        let error = decode_message(body).expect_err("a batch decoded");
        assert_eq!(error.code.0, -32600);
    }
}
