//! The spans of each instrumentation point, named and attributed per the OpenTelemetry MCP and
//! GenAI semantic conventions: a served MCP request (SERVER), an upstream MCP request (CLIENT),
//! a team run (`invoke_workflow`), an agent turn (`invoke_agent`), a model request (`chat`,
//! CLIENT) and a tool an agent executes (`execute_tool`). Each helper returns
//! `Span::none()` at the cost of one relaxed load when no OpenTelemetry layer is installed.

use std::fmt::Display;

use opentelemetry::trace::Status;
use opentelemetry::{Array, StringValue, Value};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::{TARGET, capture_content, enabled};

/// The OpenTelemetry context of the nearest traced span around the current point: the one
/// entered on this thread, else (in a task spawned in an untraced, log-only span, where none is
/// entered) the first traced span up the registry's parent chain.
fn enclosing() -> Option<opentelemetry::Context> {
    use opentelemetry::trace::TraceContextExt as _;
    let current = opentelemetry::Context::current();
    if current.span().span_context().is_valid() {
        return Some(current);
    }
    tracing::dispatcher::get_default(|dispatch| {
        let registry = dispatch.downcast_ref::<tracing_subscriber::Registry>()?;
        let mut id = dispatch.current_span().id()?.clone();
        loop {
            if let Some(cx) = tracing_opentelemetry::get_otel_context(&id, dispatch) {
                return Some(cx);
            }
            id = tracing_subscriber::registry::LookupSpan::span(registry, &id)?
                .parent()?
                .id();
        }
    })
}

/// Give `span` (just made, not started) the nearest traced span around it as its parent (the
/// OpenTelemetry layer alone would only see one entered on this thread).
fn adopt(span: &Span) {
    use opentelemetry::trace::TraceContextExt as _;
    if opentelemetry::Context::current()
        .span()
        .span_context()
        .is_valid()
    {
        return;
    }
    if let Some(parent) = enclosing() {
        let _ = span.set_parent(parent);
    }
}

/// The trace id (32 hex digits) of the traced span around the current point, when traces are
/// on (e.g. for the audit line of a call).
pub fn current_trace_id() -> Option<String> {
    use opentelemetry::trace::TraceContextExt as _;
    if !enabled() {
        return None;
    }
    let cx = enclosing()?;
    let span = cx.span();
    let context = span.span_context();
    context.is_valid().then(|| context.trace_id().to_string())
}

/// `{method} {target}`, or the method alone.
fn span_name(method: &str, target: Option<&str>) -> String {
    match target {
        Some(target) => format!("{method} {target}"),
        None => method.to_string(),
    }
}

/// What the span of an MCP request (served or sent upstream) records.
#[derive(Clone, Copy)]
pub struct McpRequest<'a> {
    /// `mcp.method.name` (`tools/call`, `resources/read`, ...).
    pub method: &'a str,
    /// The tool or prompt name (`gen_ai.tool.name` / `gen_ai.prompt.name`) or the resource URI
    /// (`mcp.resource.uri`, not put in the span name).
    pub target: Option<&'a str>,
    /// `jsonrpc.request.id`, when known when the span starts.
    pub request_id: Option<&'a dyn Display>,
    /// `mcp.session.id`.
    pub session_id: Option<&'a str>,
    /// `mcp.protocol.version`.
    pub protocol_version: Option<&'a dyn Display>,
    /// `network.transport`: `pipe` (stdio) or `tcp` (HTTP).
    pub transport: &'static str,
}

impl McpRequest<'_> {
    fn span(&self, kind: &'static str) -> Span {
        let named_target = match self.method {
            "tools/call" | "prompts/get" => self.target,
            _ => None,
        };
        let name = span_name(self.method, named_target);
        let span = tracing::info_span!(
            target: TARGET,
            "mcp",
            otel.name = %name,
            otel.kind = kind,
            mcp.method.name = self.method,
            network.transport = self.transport,
        );
        let set = |key: &'static str, value: String| span.set_attribute(key, value);
        match (self.method, self.target) {
            ("tools/call", Some(tool)) => {
                set("gen_ai.tool.name", tool.to_string());
                set("gen_ai.operation.name", "execute_tool".into());
            }
            ("prompts/get", Some(prompt)) => set("gen_ai.prompt.name", prompt.to_string()),
            (_, Some(uri)) if self.method.starts_with("resources/") => {
                set("mcp.resource.uri", uri.to_string());
            }
            _ => {}
        }
        if self.transport == "tcp" {
            set("network.protocol.name", "http".into());
        }
        if let Some(id) = self.request_id {
            set("jsonrpc.request.id", id.to_string());
        }
        if let Some(session) = self.session_id {
            set("mcp.session.id", session.to_string());
        }
        if let Some(version) = self.protocol_version {
            set("mcp.protocol.version", version.to_string());
        }
        span
    }
}

/// The SERVER span of one MCP request served on any face; its parent is the caller's trace
/// context (`_meta.traceparent` or the HTTP `traceparent` header), set with
/// [`super::set_parent`].
pub fn served_request(request: &McpRequest<'_>) -> Span {
    if !enabled() {
        return Span::none();
    }
    request.span("server")
}

/// The CLIENT span of one request sent to the upstream `server` (`toolyard.upstream.name`),
/// with `server.address` / `server.port` for HTTP upstreams.
pub fn upstream_request(
    request: &McpRequest<'_>,
    server: &str,
    address: Option<(&str, u16)>,
) -> Span {
    if !enabled() {
        return Span::none();
    }
    let span = request.span("client");
    adopt(&span);
    span.set_attribute("toolyard.upstream.name", server.to_string());
    if let Some((host, port)) = address {
        span.set_attribute("server.address", host.to_string());
        span.set_attribute("server.port", i64::from(port));
    }
    span
}

/// Record the JSON-RPC id of a request once it is known.
pub fn record_request_id(span: &Span, id: &dyn Display) {
    if !span.is_disabled() {
        span.set_attribute("jsonrpc.request.id", id.to_string());
    }
}

/// Mark `span` failed with `error.type` (e.g. the JSON-RPC error code, `timeout`).
pub fn record_error(span: &Span, error_type: &str, description: &dyn Display) {
    if span.is_disabled() {
        return;
    }
    span.set_attribute("error.type", error_type.to_string());
    span.set_status(Status::error(description.to_string()));
}

/// How a tool call ended, on its span (served, upstream or executed by an agent): a result
/// with `isError` is `error.type = tool_error`; with content capture on, the result text goes
/// in `gen_ai.tool.call.result`.
pub fn record_tool_outcome(span: &Span, is_error: bool, result: impl FnOnce() -> String) {
    if span.is_disabled() {
        return;
    }
    if is_error {
        span.set_attribute("error.type", "tool_error");
        span.set_status(Status::error("tool_error"));
    }
    if capture_content() {
        span.set_attribute("gen_ai.tool.call.result", result());
    }
}

/// With content capture on, record `key` (e.g. `gen_ai.tool.call.arguments`,
/// `gen_ai.input.messages`) as the JSON `value` makes.
pub fn record_content(span: &Span, key: &'static str, value: impl FnOnce() -> String) {
    if !span.is_disabled() && capture_content() {
        span.set_attribute(key, value());
    }
}

/// The identity of one team run in its spans (`toolyard.run.id`, `gen_ai.conversation.id`).
pub type RunId = Option<uuid::Uuid>;

/// The `invoke_workflow {team}` span of one team run, and the run's id.
pub fn team_run(team: &str) -> (Span, RunId) {
    if !enabled() {
        return (Span::none(), None);
    }
    let run = uuid::Uuid::new_v4();
    let span = tracing::info_span!(
        target: TARGET,
        "invoke_workflow",
        otel.name = %format_args!("invoke_workflow {team}"),
        otel.kind = "internal",
        gen_ai.operation.name = "invoke_workflow",
        gen_ai.agent.name = team,
        gen_ai.conversation.id = %run,
        toolyard.run.id = %run,
    );
    adopt(&span);
    (span, Some(run))
}

/// Record why a team run stopped.
pub fn record_stop_reason(span: &Span, reason: &str) {
    if !span.is_disabled() {
        span.set_attribute("toolyard.stop_reason", reason.to_string());
    }
}

/// The `invoke_agent {agent}` span of one agent turn (in the team run `run`, if any).
pub fn agent_turn(agent: &str, description: &str, run: RunId) -> Span {
    if !enabled() {
        return Span::none();
    }
    let span = tracing::info_span!(
        target: TARGET,
        "invoke_agent",
        otel.name = %format_args!("invoke_agent {agent}"),
        otel.kind = "internal",
        gen_ai.operation.name = "invoke_agent",
        gen_ai.agent.name = agent,
        gen_ai.agent.description = description,
    );
    adopt(&span);
    if let Some(run) = run {
        span.set_attribute("gen_ai.conversation.id", run.to_string());
    }
    span
}

/// The `execute_tool {tool}` span of one tool an agent executes.
pub fn tool_execution(tool: &str, call_id: &str, arguments: &str) -> Span {
    if !enabled() {
        return Span::none();
    }
    let span = tracing::info_span!(
        target: TARGET,
        "execute_tool",
        otel.name = %format_args!("execute_tool {tool}"),
        otel.kind = "internal",
        gen_ai.operation.name = "execute_tool",
        gen_ai.tool.name = tool,
        gen_ai.tool.call.id = call_id,
        gen_ai.tool.type = "function",
    );
    adopt(&span);
    record_content(&span, "gen_ai.tool.call.arguments", || {
        arguments.to_string()
    });
    span
}

/// The `chat {model}` CLIENT span of one model request.
pub fn chat_request(provider: &str, model: &str) -> Span {
    if !enabled() {
        return Span::none();
    }
    let span = tracing::info_span!(
        target: TARGET,
        "chat",
        otel.name = %format_args!("chat {model}"),
        otel.kind = "client",
        gen_ai.operation.name = "chat",
        gen_ai.provider.name = provider_name(provider),
        gen_ai.request.model = model,
    );
    adopt(&span);
    span
}

/// The well-known `gen_ai.provider.name` of our provider names.
fn provider_name(provider: &str) -> &str {
    match provider {
        "azure" | "azure_openai" => "azure.ai.openai",
        other => other,
    }
}

/// What a model answered, for its `chat` span.
#[derive(Debug, Clone, Copy)]
pub struct ChatSpan<'a> {
    /// `gen_ai.response.model`, when the response names it.
    pub response_model: Option<&'a str>,
    /// `gen_ai.usage.input_tokens`.
    pub input_tokens: u64,
    /// `gen_ai.usage.output_tokens`.
    pub output_tokens: u64,
    /// `gen_ai.response.finish_reasons` (`stop`, `length`, `tool_calls`, ...).
    pub finish_reason: &'a str,
}

/// Record a model's answer on its `chat` span.
pub fn record_chat(span: &Span, answer: &ChatSpan<'_>) {
    if span.is_disabled() {
        return;
    }
    if let Some(model) = answer.response_model {
        span.set_attribute("gen_ai.response.model", model.to_string());
    }
    let tokens = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    span.set_attribute("gen_ai.usage.input_tokens", tokens(answer.input_tokens));
    span.set_attribute("gen_ai.usage.output_tokens", tokens(answer.output_tokens));
    let reasons = Array::String(vec![StringValue::from(answer.finish_reason.to_string())]);
    span.set_attribute("gen_ai.response.finish_reasons", Value::Array(reasons));
}
