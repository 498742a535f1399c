//! Telemetry: the log subscriber (text or JSON lines), OpenTelemetry traces exported over OTLP
//! (spans per the MCP and GenAI semantic conventions, W3C trace context carried in MCP `_meta`
//! and HTTP headers), metrics (Prometheus text and OTLP), the AutoGen-style event log and model
//! cost. With nothing configured no OpenTelemetry layer is installed and every span helper
//! returns a disabled span without formatting or allocating anything. Sits right above
//! `config`: every layer above may record into it.

pub mod cost;
pub mod events;
mod init;
mod logs;
pub mod metrics;
pub mod metrics_export;
mod propagate;
mod traces;
mod traces_export;

use std::sync::atomic::{AtomicBool, Ordering};

pub use init::{LogFormat, Telemetry, TelemetryError, TraceSettings, install, tracer_provider};
pub use propagate::{
    inject_headers, inject_meta, parent_from_headers, parent_from_meta, set_parent,
};
pub use traces::{
    ChatSpan, McpRequest, RunId, agent_turn, chat_request, current_trace_id, record_chat,
    record_content, record_error, record_request_id, record_stop_reason, record_tool_outcome,
    served_request, team_run, tool_execution, upstream_request,
};
pub use traces_export::{TraceExport, dropped_spans};

/// The `tracing` target of every span meant for OpenTelemetry: the OpenTelemetry layer sees
/// only these, the log output never does.
pub const TARGET: &str = "toolyard::otel";

static TRACING_ON: AtomicBool = AtomicBool::new(false);
static CAPTURE_CONTENT: AtomicBool = AtomicBool::new(false);

/// Whether an OpenTelemetry layer is installed (spans are made and exported).
#[inline]
pub fn enabled() -> bool {
    TRACING_ON.load(Ordering::Relaxed)
}

/// Whether message contents, tool arguments and results go into spans
/// (`OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true` or `capture_content = true`).
#[inline]
pub fn capture_content() -> bool {
    enabled() && CAPTURE_CONTENT.load(Ordering::Relaxed)
}
