//! The HTTP app: streamable HTTP at `/mcp`, legacy SSE at `/sse` + `/messages`, `/healthz`,
//! `/metrics` (Prometheus text), behind the Host/Origin guard, then (for the MCP routes, with
//! `[auth]`) authentication ([`super::auth`]), then the request-body layer (size limit, read
//! deadline). `/healthz`, `/metrics` and the protected resource metadata stay unauthenticated.
//! The accept loop that serves it is [`super::listen`].

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::auth::{Authenticator, require_auth};
use super::body::{BodyLimits, read_body};
use super::handler::WorkbenchServer;
use super::metered::Metered;
use super::origin::{OriginPolicy, check_origin};
use super::rewrite::OutgoingRewrite;
use super::sessions::{SessionLimits, Sessions};
use super::sse::{SseServerConfig, sse_router};
use super::streamable::{McpFace, mcp_face};
use crate::mcp::UpstreamStatus;
use crate::telemetry::metrics_export::{PROMETHEUS_CONTENT_TYPE, prometheus_text};

/// Settings of the HTTP app.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Accepted `Host` / `Origin` values (default: loopback only).
    pub origin_policy: OriginPolicy,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// How long a request body may take to arrive once the headers are in (408 after).
    pub body_read_timeout: Duration,
    /// Cancelling this ends every session (the listener is stopped by whoever serves the app).
    pub shutdown: CancellationToken,
    /// Applied to outgoing `tools/list` results (see [`super::rewrite`]).
    pub rewrite: Option<OutgoingRewrite>,
    /// The cap on open 2025-era sessions of `/mcp` and their idle expiry.
    pub sessions: SessionLimits,
    /// Who may call (`[auth]`); `None`: anyone who reaches the listener.
    pub auth: Option<Arc<Authenticator>>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            origin_policy: OriginPolicy::default(),
            max_body_bytes: 4 * 1024 * 1024,
            body_read_timeout: Duration::from_secs(30),
            shutdown: CancellationToken::new(),
            rewrite: None,
            sessions: SessionLimits::default(),
            auth: None,
        }
    }
}

/// Reports the health of upstreams for `/healthz`.
pub type HealthSource = Arc<dyn Fn() -> Vec<UpstreamStatus> + Send + Sync>;

/// The whole HTTP app for one served workbench. Its calls in flight are `server`'s
/// [`WorkbenchServer::drain`]: once that stops, new sessions are refused on both faces.
pub fn router(server: WorkbenchServer, health: HealthSource, config: HttpConfig) -> Router {
    let hosts = config.origin_policy.allowed_hosts.clone();
    let mut mcp_config = StreamableHttpServerConfig::default()
        .with_max_request_body_bytes(config.max_body_bytes)
        .with_cancellation_token(config.shutdown.child_token());
    mcp_config.allowed_hosts = hosts;
    // Idle sessions are ended by the face (`Sessions::expire`), which knows when one still has a
    // stream open; rmcp's own idle timer would end a session whose GET stream is listening.
    let mut manager = LocalSessionManager::default();
    manager.session_config.keep_alive = None;
    let manager = Arc::new(manager);
    let sessions = Sessions::new(Arc::clone(&manager), config.sessions);
    // Parked sessions are restored from here (rmcp replays their `initialize`).
    mcp_config.session_store = Some(sessions.store());
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(sessions.expire(config.shutdown.child_token()));
    }
    let drain = server.drain();
    let template = server.clone();
    let mcp =
        StreamableHttpService::new(move || Ok(Metered(template.fresh())), manager, mcp_config);
    let sse = sse_router(
        move || Metered(server.fresh()),
        SseServerConfig {
            max_body_bytes: config.max_body_bytes,
            origin_policy: config.origin_policy.clone(),
            shutdown: config.shutdown.child_token(),
            stop_accepting: drain.stopping_token(),
            rewrite: config.rewrite.clone(),
            ..SseServerConfig::default()
        },
    );
    let face = McpFace {
        sessions,
        rewrite: config.rewrite.clone(),
        drain,
    };
    let mcp = Router::new()
        .fallback_service(mcp)
        .layer(middleware::from_fn_with_state(face, mcp_face));
    let limits = BodyLimits {
        max_bytes: config.max_body_bytes,
        read_timeout: config.body_read_timeout,
    };
    let policy = Arc::new(config.origin_policy);
    // Authentication comes before the body is read: a caller not let in costs no body.
    let mut faces = Router::new()
        .nest_service("/mcp", mcp)
        .merge(sse)
        .layer(middleware::from_fn_with_state(limits, read_body));
    let mut open = Router::new()
        .route("/healthz", get(healthz).with_state(health))
        .merge(metrics_router());
    if let Some(auth) = config.auth {
        if let Some(metadata) = auth.metadata_routes() {
            open = open.merge(metadata);
        }
        faces = faces.layer(middleware::from_fn_with_state(auth, require_auth));
    }
    faces
        .merge(open)
        .layer(middleware::from_fn_with_state(policy, guard_origin))
}

async fn guard_origin(
    State(policy): State<Arc<OriginPolicy>>,
    request: Request,
    next: Next,
) -> Response {
    match check_origin(request.headers(), &policy) {
        Ok(()) => next.run(request).await,
        Err(status) => (
            status,
            Json(json!({"error": "request Host or Origin is not allowed"})),
        )
            .into_response(),
    }
}

/// `GET /metrics`: every metric in the Prometheus text format. It is open (no MCP
/// authentication), like `/healthz`; `serve --metrics-listen` puts it on a port of its own.
pub fn metrics_router() -> Router {
    Router::new().route("/metrics", get(metrics))
}

async fn metrics() -> Response {
    let text = tokio::task::spawn_blocking(prometheus_text)
        .await
        .unwrap_or_else(|error| format!("# metrics could not be collected: {error}\n"));
    (
        [(http::header::CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE)],
        text,
    )
        .into_response()
}

async fn healthz(State(health): State<HealthSource>) -> Response {
    let servers = health();
    let all_ready = servers.iter().all(|s| s.state == "ready");
    let status = if all_ready { "ok" } else { "degraded" };
    Json(json!({ "status": status, "servers": servers })).into_response()
}
