//! The HTTP listener: streamable HTTP at `/mcp`, legacy SSE at `/sse` + `/messages`, `/healthz`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::handler::GatewayServer;
use super::origin::{OriginPolicy, check_origin};
use super::rewrite::{OutgoingRewrite, rewrite_body};
use super::sse::{SseServerConfig, sse_router};
use super::task_calls::{advertise_legacy_tasks, rewrite_legacy_request};
use crate::mcp::UpstreamStatus;

/// Settings of the HTTP listener.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Accepted `Host` / `Origin` values (default: loopback only).
    pub origin_policy: OriginPolicy,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Cancelling this ends every session and stops the listener.
    pub shutdown: CancellationToken,
    /// Applied to outgoing `tools/list` results (see [`super::rewrite`]).
    pub rewrite: Option<OutgoingRewrite>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            origin_policy: OriginPolicy::default(),
            max_body_bytes: 4 * 1024 * 1024,
            shutdown: CancellationToken::new(),
            rewrite: None,
        }
    }
}

/// Reports the health of upstreams for `/healthz`.
pub type HealthSource = Arc<dyn Fn() -> Vec<UpstreamStatus> + Send + Sync>;

/// The whole HTTP app for one served workbench.
pub fn router(server: GatewayServer, health: HealthSource, config: HttpConfig) -> Router {
    let hosts = config.origin_policy.allowed_hosts.clone();
    let mut mcp_config = StreamableHttpServerConfig::default()
        .with_max_request_body_bytes(config.max_body_bytes)
        .with_cancellation_token(config.shutdown.child_token());
    mcp_config.allowed_hosts = hosts;
    let template = server.clone();
    let mcp = StreamableHttpService::new(
        move || Ok(template.fresh()),
        Arc::new(LocalSessionManager::default()),
        mcp_config,
    );
    let sse = sse_router(
        move || server.fresh(),
        SseServerConfig {
            max_body_bytes: config.max_body_bytes,
            origin_policy: config.origin_policy.clone(),
            shutdown: config.shutdown.child_token(),
            rewrite: config.rewrite.clone(),
            ..SseServerConfig::default()
        },
    );
    let policy = Arc::new(config.origin_policy);
    let limit = config.max_body_bytes;
    let rewrite = config.rewrite.clone();
    let mcp = Router::new()
        .fallback_service(mcp)
        .layer(middleware::from_fn(move |req, next| {
            parse_json_rpc(limit, rewrite.clone(), req, next)
        }));
    Router::new()
        .nest_service("/mcp", mcp)
        .route("/healthz", get(healthz).with_state(health))
        .merge(sse)
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

/// Answer a body that is not JSON with a JSON-RPC parse error (400), and one over the limit
/// with 413, before rmcp sees it (rmcp would answer 415 with plain text).
async fn parse_json_rpc(
    limit: usize,
    rewrite: Option<OutgoingRewrite>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() != http::Method::POST {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => {
            return (
                http::StatusCode::PAYLOAD_TOO_LARGE,
                Json(json!({"error": format!("request body is larger than {limit} bytes")})),
            )
                .into_response();
        }
    };
    // Validate without building a value tree (rmcp parses the body again).
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&bytes) {
        let error = json!({
            "jsonrpc": "2.0",
            "id": null,
            "error": {"code": -32700, "message": format!("Parse error: {e}")}
        });
        return (http::StatusCode::BAD_REQUEST, Json(error)).into_response();
    }
    let lists_tools = rewrite.is_some() && is_method(&bytes, "tools/list");
    let initializes = is_method(&bytes, "initialize");
    // 2025-era task requests (session requests) go to the custom methods that answer them.
    let bytes = match parts.headers.contains_key("mcp-session-id") {
        true => rewrite_legacy_request(&bytes).unwrap_or(bytes),
        false => bytes,
    };
    let response = next
        .run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await;
    match rewrite {
        Some(rewrite) if lists_tools => rewrite_response(response, &rewrite).await,
        _ if initializes => {
            let advertise = OutgoingRewrite::new(advertise_legacy_tasks);
            rewrite_response(response, &advertise).await
        }
        _ => response,
    }
}

/// Whether a (valid JSON) request body is a single `name` request.
fn is_method(body: &[u8], name: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct Method<'a> {
        #[serde(borrow)]
        method: Option<std::borrow::Cow<'a, str>>,
    }
    serde_json::from_slice::<Method>(body).is_ok_and(|m| m.method.as_deref() == Some(name))
}

/// How long a `tools/list` response body may take to complete.
const REWRITE_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Buffer a (short) `tools/list` response and put back the preserved tool fields.
async fn rewrite_response(response: Response, rewrite: &OutgoingRewrite) -> Response {
    let (mut parts, body) = response.into_parts();
    let collected =
        tokio::time::timeout(REWRITE_WAIT, axum::body::to_bytes(body, usize::MAX)).await;
    let Ok(Ok(bytes)) = collected else {
        tracing::warn!("tools/list response did not complete in time");
        return (
            http::StatusCode::GATEWAY_TIMEOUT,
            "tools/list response did not complete",
        )
            .into_response();
    };
    let body = rewrite_body(&bytes, rewrite);
    parts.headers.remove(http::header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(body))
}

async fn healthz(State(health): State<HealthSource>) -> Response {
    let servers = health();
    let all_ready = servers.iter().all(|s| s.state == "ready");
    let status = if all_ready { "ok" } else { "degraded" };
    Json(json!({ "status": status, "servers": servers })).into_response()
}
