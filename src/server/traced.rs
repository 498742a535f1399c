//! The span of each served request (any face): its attributes from the request context, its
//! parent from the caller's trace context (`params._meta.traceparent`, else the HTTP
//! `traceparent` header). A disabled span, with nothing looked up, when traces are off.

use rmcp::RoleServer;
use rmcp::service::RequestContext;
use tracing::Span;

use crate::telemetry::{self, McpRequest};

/// What the legacy SSE face knows about a message it hands to rmcp (put in the message's
/// extensions only while traces are on).
#[derive(Debug, Clone)]
pub struct SseMessage {
    /// The SSE session (`?sessionId=`).
    pub session_id: String,
    /// The POST's `traceparent` / `tracestate` headers.
    pub headers: http::HeaderMap,
}

/// The SERVER span of `method` (on `target`) served for the request of `context`.
pub(super) fn served_span(
    method: &str,
    target: Option<&str>,
    context: &RequestContext<RoleServer>,
) -> Span {
    if !telemetry::enabled() {
        return Span::none();
    }
    let parts = context.extensions.get::<http::request::Parts>();
    let sse = context.extensions.get::<SseMessage>();
    let headers = parts.map(|p| &p.headers).or(sse.map(|s| &s.headers));
    let session_id = match (parts, sse) {
        (Some(parts), _) => parts
            .headers
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok()),
        (None, Some(sse)) => Some(sse.session_id.as_str()),
        (None, None) => None,
    };
    let protocol = context.protocol_version();
    let transport = match headers {
        Some(_) => "tcp",
        None => "pipe",
    };
    let span = telemetry::served_request(&McpRequest {
        method,
        target,
        request_id: Some(&context.id),
        session_id,
        protocol_version: protocol.as_ref().map(|v| v as &dyn std::fmt::Display),
        transport,
    });
    let parent = telemetry::parent_from_meta(&context.meta)
        .or_else(|| headers.and_then(telemetry::parent_from_headers));
    if let Some(parent) = parent {
        telemetry::set_parent(&span, parent);
    }
    span
}

/// Record a JSON-RPC error answer on `span` (`error.type` = the error code).
pub(super) fn record_outcome<T>(span: &Span, outcome: &Result<T, rmcp::ErrorData>) {
    if let Err(error) = outcome
        && !span.is_disabled()
    {
        telemetry::record_error(span, &error.code.0.to_string(), &error.message);
    }
}

/// Record how a served tool call ended: a JSON-RPC error, or `tool_error` when `isError`.
pub(super) fn record_tool(
    span: &Span,
    outcome: &Result<rmcp::model::CallToolResponse, rmcp::ErrorData>,
) {
    if span.is_disabled() {
        return;
    }
    record_outcome(span, outcome);
    if let Ok(rmcp::model::CallToolResponse::Complete(result)) = outcome {
        telemetry::record_tool_outcome(span, result.is_error == Some(true), || {
            serde_json::to_string(&result.content).unwrap_or_default()
        });
    }
}
