//! The metric instruments and one small recording hook per instrumentation point (a served MCP
//! request, an upstream request, a session, a model request, a team run). Instruments are made
//! once; a hook records with attribute values that are static or reference-counted, so the hot
//! path allocates no label text. OpenTelemetry names and their Prometheus form:
//!
//! | instrument | Prometheus | labels |
//! |---|---|---|
//! | `mcp.server.operation.duration` (s) | `mcp_server_operation_duration_seconds` | `mcp_method_name`, `gen_ai_tool_name`, `error_type` |
//! | `mcp.client.operation.duration` (s) | `mcp_client_operation_duration_seconds` | `mcp_method_name`, `server` |
//! | `mcp.server.session.duration` (s) | `mcp_server_session_duration_seconds` | |
//! | `gen_ai.client.operation.duration` (s) | `gen_ai_client_operation_duration_seconds` | `gen_ai_request_model`, `gen_ai_provider_name` |
//! | `gen_ai.client.token.usage` ({token}) | `gen_ai_client_token_usage` | `gen_ai_token_type`, `gen_ai_request_model` |
//! | `toolyard.upstream.up` | `toolyard_upstream_up` | `server` |
//! | `toolyard.tasks` | `toolyard_tasks` | `status` |
//! | `toolyard.team.runs` | `toolyard_team_runs_total` | `team`, `stop_reason` |
//! | `toolyard.cost.usd` | `toolyard_cost_usd_total` | `gen_ai_request_model` |
//! | `toolyard.telemetry.dropped` | `toolyard_telemetry_dropped_total` | |

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, OnceLock, RwLock};
use std::time::Instant;

use opentelemetry::metrics::{
    Counter, Histogram, MeterProvider as _, ObservableCounter, ObservableGauge,
};
use opentelemetry::{Key, KeyValue, Value};

use super::metrics_export::export;

const METHOD: Key = Key::from_static_str("mcp.method.name");
const TOOL: Key = Key::from_static_str("gen_ai.tool.name");
const ERROR: Key = Key::from_static_str("error.type");
const SERVER: Key = Key::from_static_str("server");
const MODEL: Key = Key::from_static_str("gen_ai.request.model");
const PROVIDER: Key = Key::from_static_str("gen_ai.provider.name");
const TOKEN_TYPE: Key = Key::from_static_str("gen_ai.token.type");
const STATUS: Key = Key::from_static_str("status");
const TEAM: Key = Key::from_static_str("team");
const STOP_REASON: Key = Key::from_static_str("stop_reason");

/// The bucket bounds the MCP semantic conventions advise for operation and session durations.
const MCP_SECONDS: [f64; 14] = [
    0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];
/// The GenAI conventions' bounds for `gen_ai.client.operation.duration`.
const GEN_AI_SECONDS: [f64; 14] = [
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
/// The GenAI conventions' bounds for `gen_ai.client.token.usage`.
const TOKENS: [f64; 14] = [
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0,
    16777216.0, 67108864.0,
];

/// Task statuses `toolyard_tasks` reports (each one, zero included).
pub const TASK_STATUSES: [&str; 5] = [
    "working",
    "input_required",
    "completed",
    "failed",
    "cancelled",
];

/// The instruments, made once.
pub(super) struct Instruments {
    server_duration: Histogram<f64>,
    client_duration: Histogram<f64>,
    session_duration: Histogram<f64>,
    model_duration: Histogram<f64>,
    token_usage: Histogram<u64>,
    team_runs: Counter<u64>,
    cost: Counter<f64>,
    _upstream_up: ObservableGauge<u64>,
    _tasks: ObservableGauge<u64>,
    _dropped: ObservableCounter<u64>,
}

/// Reports each upstream's name and whether it is connected (read at collection time).
pub type UpstreamSource = Arc<dyn Fn() -> Vec<(String, bool)> + Send + Sync>;
/// Reports how many tasks are in each status (read at collection time).
pub type TaskSource = Arc<dyn Fn() -> HashMap<&'static str, u64> + Send + Sync>;

static UPSTREAMS: RwLock<Option<UpstreamSource>> = RwLock::new(None);
static TASKS: RwLock<Option<TaskSource>> = RwLock::new(None);
static INSTRUMENTS: OnceLock<Instruments> = OnceLock::new();

/// Where `toolyard_upstream_up` reads the upstreams from (the served gateway's).
pub fn observe_upstreams(source: UpstreamSource) {
    if let Ok(mut slot) = UPSTREAMS.write() {
        *slot = Some(source);
    }
}

/// Where `toolyard_tasks` reads the task counts from (the served workbench's task store).
pub fn observe_tasks(source: TaskSource) {
    if let Ok(mut slot) = TASKS.write() {
        *slot = Some(source);
    }
}

/// The instruments, made on first use.
pub(super) fn instruments() -> &'static Instruments {
    INSTRUMENTS.get_or_init(make)
}

fn make() -> Instruments {
    let meter = export().provider.meter("toolyard");
    let seconds = |name: &'static str, description: &'static str, bounds: &[f64]| {
        meter
            .f64_histogram(name)
            .with_unit("s")
            .with_description(description)
            .with_boundaries(bounds.to_vec())
            .build()
    };
    Instruments {
        server_duration: seconds(
            "mcp.server.operation.duration",
            "Duration of MCP requests served",
            &MCP_SECONDS,
        ),
        client_duration: seconds(
            "mcp.client.operation.duration",
            "Duration of MCP requests to upstream servers",
            &MCP_SECONDS,
        ),
        session_duration: seconds(
            "mcp.server.session.duration",
            "Duration of MCP sessions served",
            &MCP_SECONDS,
        ),
        model_duration: seconds(
            "gen_ai.client.operation.duration",
            "Duration of model requests",
            &GEN_AI_SECONDS,
        ),
        token_usage: meter
            .u64_histogram("gen_ai.client.token.usage")
            .with_unit("{token}")
            .with_description("Tokens used per model request")
            .with_boundaries(TOKENS.to_vec())
            .build(),
        team_runs: meter
            .u64_counter("toolyard.team.runs")
            .with_description("Team runs ended, by stop reason")
            .build(),
        cost: meter
            .f64_counter("toolyard.cost.usd")
            .with_description("Cost of model requests in US dollars (from [models] prices)")
            .build(),
        _upstream_up: meter
            .u64_observable_gauge("toolyard.upstream.up")
            .with_description("Whether an upstream MCP server is connected (1) or not (0)")
            .with_callback(|observer| {
                let source = UPSTREAMS.read().ok().and_then(|s| s.clone());
                for (name, up) in source.map(|f| f()).unwrap_or_default() {
                    observer.observe(u64::from(up), &[KeyValue::new(SERVER, name)]);
                }
            })
            .build(),
        _tasks: meter
            .u64_observable_gauge("toolyard.tasks")
            .with_description("MCP tasks held, by status")
            .with_callback(|observer| {
                let source = TASKS.read().ok().and_then(|s| s.clone());
                let Some(counts) = source.map(|f| f()) else {
                    return;
                };
                for status in TASK_STATUSES {
                    let n = counts.get(status).copied().unwrap_or(0);
                    observer.observe(n, &[KeyValue::new(STATUS, status)]);
                }
            })
            .build(),
        _dropped: meter
            .u64_observable_counter("toolyard.telemetry.dropped")
            .with_description("Spans dropped by the trace exporter")
            .with_callback(|observer| observer.observe(super::dropped_spans(), &[]))
            .build(),
    }
}

/// Short label texts seen before (tool names, methods), shared instead of copied per call. At
/// most [`Interned::CAP`] are kept; past that a text is copied for its call.
struct Interned {
    texts: RwLock<HashMap<Box<str>, Arc<str>>>,
}

impl Interned {
    const CAP: usize = 4096;

    fn new() -> Self {
        Self {
            texts: RwLock::new(HashMap::new()),
        }
    }

    fn value(&self, text: &str) -> Value {
        if let Ok(texts) = self.texts.read()
            && let Some(shared) = texts.get(text)
        {
            return Value::from(Arc::clone(shared));
        }
        let Ok(mut texts) = self.texts.write() else {
            return Value::from(text.to_string());
        };
        if texts.len() >= Self::CAP {
            return Value::from(text.to_string());
        }
        let shared = Arc::clone(
            texts
                .entry(Box::from(text))
                .or_insert_with(|| Arc::from(text)),
        );
        Value::from(shared)
    }
}

static NAMES: LazyLock<Interned> = LazyLock::new(Interned::new);

/// MCP methods as static text (no copy); others are interned.
fn method_value(method: &str) -> Value {
    const KNOWN: [&str; 24] = [
        "tools/call",
        "tools/list",
        "initialize",
        "ping",
        "prompts/get",
        "prompts/list",
        "resources/read",
        "resources/list",
        "resources/templates/list",
        "resources/subscribe",
        "resources/unsubscribe",
        "completion/complete",
        "logging/setLevel",
        "tasks/get",
        "tasks/result",
        "tasks/list",
        "tasks/cancel",
        "tasks/update",
        "server/discover",
        "subscriptions/listen",
        "skills/list",
        "skills/get",
        "resources/directory/read",
        "notifications/cancelled",
    ];
    match KNOWN.iter().find(|known| **known == method) {
        Some(known) => Value::from(*known),
        None => NAMES.value(method),
    }
}

/// One MCP request being served; records `mcp.server.operation.duration` when dropped (a
/// request abandoned half-way is counted too).
pub struct ServedRequest {
    start: Instant,
    method: Value,
    tool: Option<Value>,
    error: Option<&'static str>,
}

/// Starts timing one served MCP request (`tool`: the tool of a `tools/call`).
pub fn served_request(method: &str, tool: Option<&str>) -> ServedRequest {
    ServedRequest {
        start: Instant::now(),
        method: method_value(method),
        tool: tool.map(|t| NAMES.value(t)),
        error: None,
    }
}

impl ServedRequest {
    /// The request failed: `error.type` is `kind` (a JSON-RPC code, or `tool_error`).
    pub fn failed(&mut self, kind: &'static str) {
        self.error = Some(kind);
    }
}

impl Drop for ServedRequest {
    fn drop(&mut self) {
        let elapsed = self.start.elapsed().as_secs_f64();
        let method = KeyValue::new(METHOD, self.method.clone());
        let tool = self.tool.take().map(|t| KeyValue::new(TOOL, t));
        let error = self.error.map(|e| KeyValue::new(ERROR, e));
        let histogram = &instruments().server_duration;
        match (tool, error) {
            (Some(tool), Some(error)) => histogram.record(elapsed, &[method, tool, error]),
            (Some(tool), None) => histogram.record(elapsed, &[method, tool]),
            (None, Some(error)) => histogram.record(elapsed, &[method, error]),
            (None, None) => histogram.record(elapsed, &[method]),
        }
    }
}

/// Times a served session's life; records `mcp.server.session.duration` when dropped.
pub struct SessionTimer {
    start: Instant,
}

impl SessionTimer {
    /// A session starting now.
    pub fn start() -> Self {
        Self {
            start: Instant::now(),
        }
    }
}

impl Drop for SessionTimer {
    fn drop(&mut self) {
        let elapsed = self.start.elapsed().as_secs_f64();
        instruments().session_duration.record(elapsed, &[]);
    }
}

/// An upstream server's label, made once per upstream.
#[derive(Clone)]
pub struct UpstreamLabel {
    server: KeyValue,
}

impl UpstreamLabel {
    /// The label of upstream `name`.
    pub fn new(name: &str) -> Self {
        Self {
            server: KeyValue::new(SERVER, Value::from(Arc::<str>::from(name))),
        }
    }

    /// Starts timing one request to this upstream.
    pub fn request(&self, method: &str) -> UpstreamRequest {
        UpstreamRequest {
            start: Instant::now(),
            attributes: [
                KeyValue::new(METHOD, method_value(method)),
                self.server.clone(),
            ],
        }
    }
}

/// One request to an upstream; records `mcp.client.operation.duration` when dropped.
pub struct UpstreamRequest {
    start: Instant,
    attributes: [KeyValue; 2],
}

impl Drop for UpstreamRequest {
    fn drop(&mut self) {
        let elapsed = self.start.elapsed().as_secs_f64();
        instruments()
            .client_duration
            .record(elapsed, &self.attributes);
    }
}

/// A model client's labels, made once per client.
#[derive(Clone)]
pub struct ModelLabels {
    model: Arc<str>,
    operation: [KeyValue; 2],
    input: [KeyValue; 2],
    output: [KeyValue; 2],
}

impl ModelLabels {
    /// The labels of requests for `model` at `provider` (`openai`, `anthropic`, ...).
    pub fn new(model: &str, provider: &'static str) -> Self {
        let model: Arc<str> = Arc::from(model);
        let name = KeyValue::new(MODEL, Value::from(Arc::clone(&model)));
        Self {
            operation: [name.clone(), KeyValue::new(PROVIDER, provider)],
            input: [KeyValue::new(TOKEN_TYPE, "input"), name.clone()],
            output: [KeyValue::new(TOKEN_TYPE, "output"), name],
            model,
        }
    }

    /// The model's name.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// Starts timing one model request.
    pub fn request(self: &Arc<Self>) -> ModelRequest {
        ModelRequest {
            start: Instant::now(),
            labels: Arc::clone(self),
        }
    }
}

/// One model request; records `gen_ai.client.operation.duration` when dropped.
pub struct ModelRequest {
    start: Instant,
    labels: Arc<ModelLabels>,
}

impl ModelRequest {
    /// The requested model.
    pub fn model(&self) -> &str {
        self.labels.model()
    }

    /// The request was answered with this usage: records `gen_ai.client.token.usage` and the
    /// cost (when the model has a price, see [`super::cost`]); returns that cost.
    pub fn answered(&self, prompt_tokens: u64, completion_tokens: u64) -> Option<f64> {
        let i = instruments();
        i.token_usage.record(prompt_tokens, &self.labels.input);
        i.token_usage.record(completion_tokens, &self.labels.output);
        let cost = super::cost::cost_of(&self.labels.model, prompt_tokens, completion_tokens)?;
        i.cost.add(cost, &self.labels.operation[..1]);
        Some(cost)
    }
}

impl Drop for ModelRequest {
    fn drop(&mut self) {
        let elapsed = self.start.elapsed().as_secs_f64();
        instruments()
            .model_duration
            .record(elapsed, &self.labels.operation);
    }
}

/// A team run ended with `stop_reason` (`error` or `cancelled` when it did not stop normally).
pub fn team_run_ended(team: &str, stop_reason: &str) {
    instruments().team_runs.add(
        1,
        &[
            KeyValue::new(TEAM, NAMES.value(team)),
            KeyValue::new(STOP_REASON, stop_reason.to_string()),
        ],
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::metrics_export::prometheus_text;

    #[test]
    fn prometheus_names_are_the_contract() {
        {
            let mut served = served_request("tools/call", Some("everything__echo"));
            served.failed("tool_error");
        }
        drop(SessionTimer::start());
        drop(UpstreamLabel::new("everything").request("tools/call"));
        let model = Arc::new(ModelLabels::new("m-test", "openai"));
        model.request().answered(10, 5);
        team_run_ended("t", "done");
        observe_upstreams(Arc::new(|| vec![("everything".into(), true)]));
        observe_tasks(Arc::new(HashMap::new));
        let text = prometheus_text();
        for expected in [
            "mcp_server_operation_duration_seconds_count{error_type=\"tool_error\",gen_ai_tool_name=\"everything__echo\",mcp_method_name=\"tools/call\"} 1",
            "mcp_client_operation_duration_seconds_count{mcp_method_name=\"tools/call\",server=\"everything\"} 1",
            "mcp_server_session_duration_seconds_count 1",
            "gen_ai_client_operation_duration_seconds_count{gen_ai_provider_name=\"openai\",gen_ai_request_model=\"m-test\"} 1",
            "gen_ai_client_token_usage_sum{gen_ai_request_model=\"m-test\",gen_ai_token_type=\"input\"} 10",
            "gen_ai_client_token_usage_sum{gen_ai_request_model=\"m-test\",gen_ai_token_type=\"output\"} 5",
            "toolyard_team_runs_total{stop_reason=\"done\",team=\"t\"} 1",
            "toolyard_upstream_up{server=\"everything\"} 1",
            "toolyard_tasks{status=\"working\"} 0",
            "toolyard_telemetry_dropped_total 0",
        ] {
            assert!(text.contains(expected), "missing {expected} in\n{text}");
        }
    }
}
