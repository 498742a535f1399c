//! The AutoGen-style event log (`--events FILE`): one JSON object per line, in the shapes of
//! AutoGen 0.7.5's `autogen_core.logging` events (`LLMCall`, `ToolCall`, and each chat
//! message / agent event of a run), each with `run_id`, `agent_id` and `trace_id`. Also the
//! scope a run and an agent's turn put around their work (run id, agent, the run's cost), and
//! the model-request hook [`ModelCall`] (metrics, cost and the `LLMCall` line in one place).
//!
//! Lines go through a bounded channel to one writer thread; when it falls behind, lines are
//! dropped (counted, logged once) rather than slowing a call.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use serde_json::{Map, Value, json};

use super::metrics::{ModelLabels, ModelRequest};

/// Lines waiting for the writer thread at most.
const QUEUE: usize = 4096;

static LOG: RwLock<Option<SyncSender<Vec<u8>>>> = RwLock::new(None);
static WRITER: Mutex<Option<JoinHandle<()>>> = Mutex::new(None);
static ENABLED: AtomicBool = AtomicBool::new(false);
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// Why the event log could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot open the event log {path}")]
pub struct EventLogError {
    path: String,
    #[source]
    source: std::io::Error,
}

/// Opens `path` (appending) as the event log of this process.
pub fn open(path: &Path) -> Result<(), EventLogError> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|source| EventLogError {
            path: path.display().to_string(),
            source,
        })?;
    let (tx, rx) = sync_channel::<Vec<u8>>(QUEUE);
    let writer = std::thread::Builder::new()
        .name("toolyard-events".into())
        .spawn(move || {
            let mut out = std::io::BufWriter::new(file);
            while let Ok(line) = rx.recv() {
                let mut ok = out.write_all(&line).is_ok();
                // Flush when nothing else waits, so a reader sees whole runs promptly.
                while ok && let Ok(more) = rx.try_recv() {
                    ok = out.write_all(&more).is_ok();
                }
                if !ok || out.flush().is_err() {
                    tracing::warn!("the event log cannot be written; events are lost");
                }
            }
            let _ = out.flush();
        })
        .map_err(|source| EventLogError {
            path: path.display().to_string(),
            source,
        })?;
    if let Ok(mut slot) = LOG.write() {
        *slot = Some(tx);
    }
    if let Ok(mut slot) = WRITER.lock() {
        *slot = Some(writer);
    }
    ENABLED.store(true, Ordering::Release);
    Ok(())
}

/// Closes the event log: every line emitted so far is written when this returns.
pub fn close() {
    ENABLED.store(false, Ordering::Release);
    if let Ok(mut slot) = LOG.write() {
        slot.take();
    }
    let writer = WRITER.lock().ok().and_then(|mut w| w.take());
    if let Some(writer) = writer {
        let _ = writer.join();
    }
}

/// Whether an event log is open (events are built only then).
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Acquire)
}

/// Writes one event (an object; the scope's ids are added).
fn emit(mut event: Map<String, Value>) {
    let scope = current();
    event.insert(
        "run_id".into(),
        scope.as_ref().map_or(Value::Null, |s| json!(s.run_id)),
    );
    if !event.contains_key("agent_id") {
        event.insert(
            "agent_id".into(),
            scope
                .as_ref()
                .and_then(|s| s.agent.as_deref())
                .map_or(Value::Null, |a| json!(a)),
        );
    }
    event.insert("trace_id".into(), json!(trace_id()));
    event.insert("timestamp".into(), json!(chrono::Utc::now().to_rfc3339()));
    let Ok(mut line) = serde_json::to_vec(&event) else {
        return;
    };
    line.push(b'\n');
    let Ok(slot) = LOG.read() else { return };
    let Some(tx) = slot.as_ref() else { return };
    match tx.try_send(line) {
        Ok(()) | Err(TrySendError::Disconnected(_)) => {}
        Err(TrySendError::Full(_)) => {
            if DROPPED.fetch_add(1, Ordering::Relaxed) == 0 {
                tracing::warn!("the event log falls behind: events are dropped");
            }
        }
    }
}

/// The trace id of the traced span around the current point, empty when there is none.
fn trace_id() -> String {
    super::current_trace_id().unwrap_or_default()
}

/// What a run (and an agent's turn within it) puts around its work.
#[derive(Clone)]
pub struct Scope {
    run_id: Arc<str>,
    agent: Option<Arc<str>>,
    cost: Arc<Mutex<Option<f64>>>,
}

tokio::task_local! {
    static SCOPE: Scope;
}

fn current() -> Option<Scope> {
    SCOPE.try_with(Scope::clone).ok()
}

/// Runs `work` as the run `run` (the id its spans carry when traces are on; else a fresh
/// one); its model requests add their cost to the enclosing run's (a team inside a served call
/// counts towards that call), or to a fresh total.
pub async fn in_run<F: Future>(run: super::RunId, work: F) -> F::Output {
    let cost = current().map_or_else(Arc::default, |s| s.cost);
    let scope = Scope {
        run_id: Arc::from(run.unwrap_or_else(uuid::Uuid::new_v4).to_string()),
        agent: None,
        cost,
    };
    SCOPE.scope(scope, work).await
}

/// Runs `work` as the turn of `agent` within the current run (or alone).
pub async fn in_agent<F: Future>(agent: &str, work: F) -> F::Output {
    let mut scope = current().unwrap_or_else(|| Scope {
        run_id: Arc::from(uuid::Uuid::new_v4().to_string()),
        agent: None,
        cost: Arc::default(),
    });
    scope.agent = Some(Arc::from(agent));
    SCOPE.scope(scope, work).await
}

/// Runs `work` counting the cost of the model requests it makes; returns it with the output
/// (`None` when no request had a price).
pub async fn costed<F: Future>(work: F) -> (F::Output, Option<f64>) {
    let scope = Scope {
        run_id: Arc::from(uuid::Uuid::new_v4().to_string()),
        agent: None,
        cost: Arc::default(),
    };
    let cost = Arc::clone(&scope.cost);
    let output = SCOPE.scope(scope, work).await;
    let total = cost.lock().ok().and_then(|c| *c);
    (output, total)
}

/// One model request: times it (`gen_ai.client.operation.duration`), records its usage and
/// cost when answered, and writes its `LLMCall` line when the event log is open.
pub struct ModelCall {
    timer: ModelRequest,
    /// The request's messages, kept only when the event log is open.
    messages: Option<Value>,
}

impl ModelCall {
    /// A request with body `body` (JSON with `messages`) starts.
    pub fn start(labels: &Arc<ModelLabels>, body: &[u8]) -> Self {
        let messages = enabled().then(|| {
            serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|mut b| b.get_mut("messages").map(Value::take))
                .unwrap_or(Value::Array(Vec::new()))
        });
        Self {
            timer: labels.request(),
            messages,
        }
    }

    /// The request was answered with this usage; `response` makes the response object for the
    /// event log (called only when it is open).
    pub fn answered(
        &self,
        prompt_tokens: u64,
        completion_tokens: u64,
        response: impl FnOnce() -> Value,
    ) {
        let cost = self.timer.answered(prompt_tokens, completion_tokens);
        if let (Some(cost), Some(scope)) = (cost, current())
            && let Ok(mut total) = scope.cost.lock()
        {
            *total = Some(total.unwrap_or(0.0) + cost);
        }
        if let Some(messages) = &self.messages {
            let mut event = Map::new();
            event.insert("type".into(), json!("LLMCall"));
            event.insert("messages".into(), messages.clone());
            event.insert("response".into(), response());
            event.insert("prompt_tokens".into(), json!(prompt_tokens));
            event.insert("completion_tokens".into(), json!(completion_tokens));
            event.insert("model".into(), json!(self.timer.model()));
            if let Some(cost) = cost {
                event.insert("cost_usd".into(), json!(cost));
            }
            emit(event);
        }
    }
}

/// A tool executed by an agent (AutoGen's `ToolCallEvent`: `tool_name`, `arguments` as an
/// object when the model's text parses, `result`).
pub fn tool_call(tool_name: &str, arguments: &str, result: &str) {
    if !enabled() {
        return;
    }
    let arguments =
        serde_json::from_str::<Value>(arguments).unwrap_or_else(|_| Value::from(arguments));
    let mut event = Map::new();
    event.insert("type".into(), json!("ToolCall"));
    event.insert("tool_name".into(), json!(tool_name));
    event.insert("arguments".into(), arguments);
    event.insert("result".into(), json!(result));
    emit(event);
}

/// A chat message or agent event of a run, as its AutoGen JSON (`message`), with its
/// `type` (e.g. `TextMessage`) and `source` as the agent id.
pub fn message(make: impl FnOnce() -> Value) {
    if !enabled() {
        return;
    }
    let message = make();
    let mut event = Map::new();
    event.insert(
        "type".into(),
        message.get("type").cloned().unwrap_or(Value::Null),
    );
    if let Some(source) = message.get("source").and_then(Value::as_str) {
        event.insert("agent_id".into(), json!(source));
    }
    event.insert("message".into(), message);
    emit(event);
}
