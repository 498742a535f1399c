//! The task store behind MCP tasks for tool calls (2025-11-25 experimental tasks and the
//! 2026-07-28 tasks extension, SEP-2663): each task is one tool call run in the background
//! with its own `CallContext`, its status, times, TTL, result or error, and the token that
//! cancels it. The wire shapes of both eras are rendered from the same entry.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use rmcp::model::{
    CallToolResult, ContentBlock, DetailedTask, InputRequests, InputResponses, JsonObject,
    LoggingLevel, Task, TaskPayload, TaskStatus,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::handler::severity;
use super::observer::CallEvent;
use super::relay::relay;
use crate::workbench::{ToolSpec, WorkbenchError};

/// TTL given to a task whose creator asked for none (5 minutes).
pub const DEFAULT_TTL_MS: u64 = 300_000;
/// The longest TTL granted (1 hour); longer requests are cut to this.
pub const MAX_TTL_MS: u64 = 3_600_000;
/// Suggested polling interval.
pub const POLL_INTERVAL_MS: u64 = 500;
/// How long shutdown waits for a cancelled run to finish before aborting it.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Whether a tool may (or must) run as a task: its definition's `execution.taskSupport`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskSupport {
    /// Never as a task (also when the field is absent).
    Forbidden,
    /// As a task when the caller asks (2025) or supports it (2026).
    Optional,
    /// Only as a task.
    Required,
}

impl TaskSupport {
    /// The support a tool definition declares.
    pub fn of(spec: &ToolSpec) -> Self {
        let declared = spec
            .extra
            .get("execution")
            .and_then(|e| e.get("taskSupport"))
            .and_then(Value::as_str);
        match declared {
            Some("optional") => Self::Optional,
            Some("required") => Self::Required,
            _ => Self::Forbidden,
        }
    }

    /// The `execution` extra that declares this support (for tool definitions).
    pub fn extra(self) -> JsonObject {
        let value = match self {
            Self::Forbidden => "forbidden",
            Self::Optional => "optional",
            Self::Required => "required",
        };
        let mut extra = JsonObject::new();
        extra.insert("execution".into(), json!({ "taskSupport": value }));
        extra
    }
}

/// Where a 2025-era task's progress, logs, input requests and status notifications go: the
/// session that created it.
#[derive(Clone)]
pub struct SessionRelay {
    /// The creating request's context (its peer is the session; its progress token is kept).
    pub context: RequestContext<RoleServer>,
    /// The session's minimum log level at creation.
    pub log_level: Option<LoggingLevel>,
}

/// What a new task needs besides the call itself.
pub struct NewTask {
    /// Requested TTL in milliseconds (cut to [`MAX_TTL_MS`]).
    pub ttl_ms: Option<u64>,
    /// The owning session (2025-era tasks are visible to their session only).
    pub owner: Option<String>,
    /// Where events go for 2025-era callers; `None`: input requests wait for `tasks/update`.
    pub relay: Option<SessionRelay>,
}

struct PendingInput {
    /// Outstanding requests under task-unique keys.
    requests: InputRequests,
    /// Task-unique key → the key the call asked under.
    keys: HashMap<String, String>,
    answers: InputResponses,
    reply: oneshot::Sender<Result<InputResponses, ErrorData>>,
}

enum Ending {
    Result(JsonObject),
    Error(JsonObject),
    Cancelled,
}

struct Entry {
    task: Task,
    created: Instant,
    ending: Option<Ending>,
    cancel: CancellationToken,
    owner: Option<String>,
    input: Option<PendingInput>,
    input_seq: u64,
    done: watch::Sender<bool>,
    run: Option<JoinHandle<()>>,
    relay: Option<SessionRelay>,
}

impl Entry {
    fn touch(&mut self) {
        self.task.last_updated_at = now();
    }

    fn status(&self) -> TaskStatus {
        match (&self.ending, &self.input) {
            (Some(Ending::Result(_)), _) => TaskStatus::Completed,
            (Some(Ending::Error(_)), _) => TaskStatus::Failed,
            (Some(Ending::Cancelled), _) => TaskStatus::Cancelled,
            (None, Some(_)) => TaskStatus::InputRequired,
            (None, None) if self.task.status == TaskStatus::InputRequired => {
                TaskStatus::InputRequired
            }
            (None, None) => TaskStatus::Working,
        }
    }

    fn detailed(&self) -> DetailedTask {
        let payload = match (&self.ending, &self.input) {
            (Some(Ending::Result(r)), _) => TaskPayload::Completed { result: r.clone() },
            (Some(Ending::Error(e)), _) => TaskPayload::Failed { error: e.clone() },
            (Some(Ending::Cancelled), _) => TaskPayload::Cancelled,
            (None, Some(input)) => TaskPayload::InputRequired {
                input_requests: input.requests.clone(),
            },
            (None, None) => TaskPayload::Working,
        };
        DetailedTask::new(self.task.clone(), payload)
    }

    /// The 2025-11-25 `Task` object.
    fn legacy(&self) -> Value {
        legacy_task(&self.task, self.status())
    }

    fn expired(&self) -> bool {
        self.task
            .ttl_ms
            .is_some_and(|ttl| self.created.elapsed() >= Duration::from_millis(ttl))
    }

    fn finish(&mut self, ending: Ending) {
        if self.ending.is_some() {
            return;
        }
        self.ending = Some(ending);
        self.input = None;
        self.task.status = self.status();
        self.touch();
        self.done.send_replace(true);
    }
}

/// A task in the 2025-11-25 wire shape (`ttl` / `pollInterval` instead of `ttlMs` /
/// `pollIntervalMs`).
pub fn legacy_task(task: &Task, status: TaskStatus) -> Value {
    let mut value = json!({
        "taskId": task.task_id,
        "status": status,
        "createdAt": task.created_at,
        "lastUpdatedAt": task.last_updated_at,
        "ttl": task.ttl_ms,
        "pollInterval": task.poll_interval_ms,
    });
    if let (Some(message), Some(obj)) = (&task.status_message, value.as_object_mut()) {
        obj.insert("statusMessage".into(), json!(message));
    }
    value
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn unknown(task_id: &str) -> ErrorData {
    ErrorData::invalid_params(
        format!("unknown task id `{task_id}` (never issued, expired, or not yours)"),
        Some(json!({ "taskId": task_id })),
    )
}

fn to_object(value: impl serde::Serialize) -> JsonObject {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => map,
        _ => JsonObject::new(),
    }
}

struct Inner {
    tasks: Mutex<HashMap<String, Entry>>,
    root: CancellationToken,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.root.cancel();
    }
}

/// Tasks of every session of one served workbench (2026-07-28 callers are sessionless).
/// Dropping the last handle, or [`TaskStore::shutdown`], cancels every run.
#[derive(Clone)]
pub struct TaskStore {
    inner: Arc<Inner>,
}

impl Default for TaskStore {
    fn default() -> Self {
        Self {
            inner: Arc::new(Inner {
                tasks: Mutex::new(HashMap::new()),
                root: CancellationToken::new(),
            }),
        }
    }
}

/// The owner key of one session's 2025-era tasks. Dropping it (the session ended) cancels and
/// drops them: nobody else can reach them.
pub struct SessionTasks {
    key: String,
    store: Weak<Inner>,
}

impl SessionTasks {
    /// The owner key.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl Drop for SessionTasks {
    fn drop(&mut self) {
        let Some(inner) = self.store.upgrade() else {
            return;
        };
        let Ok(mut tasks) = inner.tasks.lock() else {
            return;
        };
        tasks.retain(|id, entry| {
            if entry.owner.as_deref() != Some(self.key.as_str()) {
                return true;
            }
            if entry.ending.is_none() {
                tracing::info!(task = %id, "session ended: task cancelled");
            }
            entry.cancel.cancel();
            false
        });
    }
}

/// The run a task wraps: the tool call and the events its observer sends.
pub struct Run {
    /// The call, started with a context whose cancel token is [`Run::cancel`].
    pub call: BoxFuture<'static, Result<CallToolResult, WorkbenchError>>,
    /// Its observer's events.
    pub events: mpsc::UnboundedReceiver<CallEvent>,
    /// The token the call was given.
    pub cancel: CancellationToken,
}

impl TaskStore {
    /// A new session's owner key for its 2025-era tasks.
    pub fn session(&self) -> Arc<SessionTasks> {
        Arc::new(SessionTasks {
            key: uuid::Uuid::new_v4().simple().to_string(),
            store: Arc::downgrade(&self.inner),
        })
    }

    /// A fresh token for a run, cancelled with the store.
    pub fn run_token(&self) -> CancellationToken {
        self.inner.root.child_token()
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Entry>) -> T) -> Option<T> {
        let mut tasks = self.inner.tasks.lock().ok()?;
        sweep(&mut tasks);
        Some(f(&mut tasks))
    }

    /// Start `run` as a task; returns the seed state (2026 `Task`; see [`Self::legacy`]).
    pub fn spawn(&self, run: Run, new: NewTask) -> Task {
        let id = uuid::Uuid::new_v4().to_string();
        let stamp = now();
        let mut task = Task::new(id.clone(), TaskStatus::Working, stamp.clone(), stamp)
            .with_ttl_ms(new.ttl_ms.unwrap_or(DEFAULT_TTL_MS).min(MAX_TTL_MS))
            .with_poll_interval_ms(POLL_INTERVAL_MS);
        task.status_message = None;
        let entry = Entry {
            task: task.clone(),
            created: Instant::now(),
            ending: None,
            cancel: run.cancel.clone(),
            owner: new.owner,
            input: None,
            input_seq: 0,
            done: watch::channel(false).0,
            run: None,
            relay: new.relay.clone(),
        };
        self.with(|tasks| tasks.insert(id.clone(), entry));
        let handle = tokio::spawn(drive(
            Arc::downgrade(&self.inner),
            id.clone(),
            run,
            new.relay,
        ));
        let stored = self.with(|tasks| match tasks.get_mut(&id) {
            Some(entry) => {
                entry.run = Some(handle);
                None
            }
            None => Some(handle),
        });
        if let Some(Some(orphan)) = stored {
            orphan.abort();
        }
        if let Some(ttl) = task.ttl_ms {
            tokio::spawn(expire_after(
                Arc::downgrade(&self.inner),
                Duration::from_millis(ttl),
                self.inner.root.clone(),
            ));
        }
        tracing::info!(task = %id, "task created");
        task
    }

    fn entry<T>(
        &self,
        task_id: &str,
        owner: Option<&str>,
        f: impl FnOnce(&mut Entry) -> Result<T, ErrorData>,
    ) -> Result<T, ErrorData> {
        self.with(|tasks| match tasks.get_mut(task_id) {
            // 2025-era tasks belong to their session; 2026-era tasks to no one.
            Some(entry) if entry.owner.as_deref() == owner => f(entry),
            _ => Err(unknown(task_id)),
        })
        .unwrap_or_else(|| Err(ErrorData::internal_error("task store is unavailable", None)))
    }

    /// The 2026-07-28 `tasks/get` view.
    pub fn detailed(&self, task_id: &str) -> Result<DetailedTask, ErrorData> {
        self.entry(task_id, None, |e| Ok(e.detailed()))
    }

    /// The 2025-11-25 `Task` object, for the owning session.
    pub fn legacy(&self, task_id: &str, owner: &str) -> Result<Value, ErrorData> {
        self.entry(task_id, Some(owner), |e| Ok(e.legacy()))
    }

    /// The owning session's tasks (2025-11-25 `tasks/list`), oldest first.
    pub fn list(&self, owner: &str) -> Vec<Value> {
        let mut entries = self
            .with(|tasks| {
                tasks
                    .values()
                    .filter(|e| e.owner.as_deref() == Some(owner))
                    .map(|e| (e.created, e.legacy()))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        entries.sort_by_key(|(created, _)| *created);
        entries.into_iter().map(|(_, task)| task).collect()
    }

    /// Cancel a task: it becomes `cancelled` and its run is stopped. A task that already
    /// ended is an error when `strict` (2025-11-25), an acknowledged no-op otherwise (2026).
    pub fn cancel(
        &self,
        task_id: &str,
        owner: Option<&str>,
        strict: bool,
    ) -> Result<Value, ErrorData> {
        let relay = self.entry(task_id, owner, |e| {
            if e.ending.is_some() {
                if strict {
                    return Err(ErrorData::invalid_params(
                        format!("task `{task_id}` has already ended ({})", json!(e.status())),
                        None,
                    ));
                }
                return Ok(None);
            }
            e.cancel.cancel();
            e.finish(Ending::Cancelled);
            tracing::info!(task = %task_id, "task cancelled");
            Ok(Some(e.relay.clone()))
        })?;
        let task = self.entry(task_id, owner, |e| Ok(e.legacy()))?;
        if let Some(Some(relay)) = relay {
            notify_status(&relay, task.clone());
        }
        Ok(task)
    }

    /// Deliver `tasks/update` answers to the outstanding input requests (unknown keys are
    /// ignored, as SEP-2663 says); the run goes on once every request is answered.
    pub fn update(&self, task_id: &str, responses: InputResponses) -> Result<(), ErrorData> {
        self.entry(task_id, None, |e| {
            let Some(input) = e.input.as_mut() else {
                return Ok(());
            };
            for (key, value) in responses {
                if input.requests.remove(&key).is_some()
                    && let Some(original) = input.keys.remove(&key)
                {
                    input.answers.insert(original, value);
                }
            }
            if input.requests.is_empty()
                && let Some(input) = e.input.take()
            {
                let _ = input.reply.send(Ok(input.answers));
                e.task.status = TaskStatus::Working;
            }
            e.touch();
            Ok(())
        })
    }

    /// Wait until the task ends (or `cancelled` fires), then return its 2025-11-25
    /// `tasks/result`: the call's result, or its error.
    pub async fn result(
        &self,
        task_id: &str,
        owner: &str,
        cancelled: &CancellationToken,
    ) -> Result<Value, ErrorData> {
        let mut done = self.entry(task_id, Some(owner), |e| Ok(e.done.subscribe()))?;
        tokio::select! {
            _ = done.wait_for(|d| *d) => {}
            _ = cancelled.cancelled() => {
                return Err(ErrorData::invalid_request("tasks/result was cancelled", None));
            }
        }
        let ending = self.entry(task_id, Some(owner), |e| match &e.ending {
            Some(Ending::Result(r)) => Ok(Ok(r.clone())),
            Some(Ending::Error(err)) => Ok(Err(err.clone())),
            Some(Ending::Cancelled) | None => Err(ErrorData::invalid_request(
                format!("task `{task_id}` was cancelled; it has no result"),
                Some(json!({ "taskId": task_id })),
            )),
        })?;
        match ending {
            Ok(mut result) => {
                let meta = result
                    .entry("_meta")
                    .or_insert_with(|| Value::Object(JsonObject::new()));
                if let Some(meta) = meta.as_object_mut() {
                    meta.insert(
                        "io.modelcontextprotocol/related-task".into(),
                        json!({ "taskId": task_id }),
                    );
                }
                Ok(Value::Object(result))
            }
            Err(error) => Err(
                serde_json::from_value(Value::Object(error)).unwrap_or_else(|_| {
                    ErrorData::internal_error(format!("task `{task_id}` failed"), None)
                }),
            ),
        }
    }

    /// How many tasks have not ended.
    pub fn running(&self) -> usize {
        self.with(|tasks| tasks.values().filter(|e| e.ending.is_none()).count())
            .unwrap_or_default()
    }

    /// Cancel every task and wait for the runs to stop (aborting any that do not stop in time).
    pub async fn shutdown(&self) {
        self.inner.root.cancel();
        let handles: Vec<JoinHandle<()>> = self
            .with(|tasks| {
                tasks
                    .values_mut()
                    .filter_map(|e| {
                        e.finish(Ending::Cancelled);
                        e.run.take()
                    })
                    .collect()
            })
            .unwrap_or_default();
        for mut handle in handles {
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut handle)
                .await
                .is_err()
            {
                handle.abort();
            }
        }
    }
}

/// Sweep once a task's TTL has passed (so expiry does not wait for the next request).
async fn expire_after(store: Weak<Inner>, ttl: Duration, stop: CancellationToken) {
    tokio::select! {
        _ = tokio::time::sleep(ttl) => {}
        _ = stop.cancelled() => return,
    }
    if let Some(inner) = store.upgrade()
        && let Ok(mut tasks) = inner.tasks.lock()
    {
        sweep(&mut tasks);
    }
}

/// Drop expired tasks; a run still going is cancelled.
fn sweep(tasks: &mut HashMap<String, Entry>) {
    tasks.retain(|id, entry| {
        if !entry.expired() {
            return true;
        }
        entry.cancel.cancel();
        tracing::info!(task = %id, "task expired");
        false
    });
}

/// A 2025-era `notifications/tasks/status` to the owning session (best effort).
fn notify_status(relay: &SessionRelay, task: Value) {
    let peer = relay.context.peer.clone();
    tokio::spawn(async move {
        let notification =
            rmcp::model::CustomNotification::new("notifications/tasks/status", Some(task));
        let _ = peer
            .send_notification(rmcp::model::ServerNotification::CustomNotification(
                notification,
            ))
            .await;
    });
}

fn ending_of(output: Result<CallToolResult, WorkbenchError>) -> Ending {
    match output {
        Ok(result) => Ending::Result(to_object(result)),
        Err(WorkbenchError::Cancelled) => Ending::Cancelled,
        Err(e) if e.is_tool_error() => {
            Ending::Result(to_object(CallToolResult::error(vec![ContentBlock::text(
                e.to_string(),
            )])))
        }
        Err(e) => Ending::Error(to_object(e.to_error_data())),
    }
}

/// Run one task: forward its events, then record how it ended.
async fn drive(store: Weak<Inner>, id: String, run: Run, relay_to: Option<SessionRelay>) {
    let Run {
        mut call,
        mut events,
        cancel,
    } = run;
    let output = loop {
        tokio::select! {
            biased;
            Some(event) = events.recv() => on_event(&store, &id, event, relay_to.as_ref()),
            output = &mut call => break output,
        }
    };
    while let Ok(event) = events.try_recv() {
        on_event(&store, &id, event, relay_to.as_ref());
    }
    let ending = if cancel.is_cancelled() {
        Ending::Cancelled
    } else {
        ending_of(output)
    };
    let Some(inner) = store.upgrade() else { return };
    let task = inner.tasks.lock().ok().and_then(|mut tasks| {
        let entry = tasks.get_mut(&id)?;
        let fresh = entry.ending.is_none();
        entry.finish(ending);
        entry.run = None;
        fresh.then(|| entry.legacy())
    });
    tracing::info!(task = %id, "task ended");
    if let (Some(task), Some(relay)) = (task, relay_to.as_ref()) {
        notify_status(relay, task);
    }
}

fn set_input_required(store: &Weak<Inner>, id: &str, waiting: bool) {
    let Some(inner) = store.upgrade() else { return };
    if let Ok(mut tasks) = inner.tasks.lock()
        && let Some(entry) = tasks.get_mut(id)
        && entry.ending.is_none()
    {
        entry.task.status = if waiting {
            TaskStatus::InputRequired
        } else {
            TaskStatus::Working
        };
        entry.touch();
    }
}

fn on_event(store: &Weak<Inner>, id: &str, event: CallEvent, relay_to: Option<&SessionRelay>) {
    match (event, relay_to) {
        (CallEvent::Input(requests, reply, _), None) => park_input(store, id, requests, reply),
        (event @ CallEvent::Input(..), Some(relay_to)) => {
            // The session answers on its own stream; the task shows input_required meanwhile.
            let (store, id, relay_to) = (store.clone(), id.to_string(), relay_to.clone());
            tokio::spawn(async move {
                set_input_required(&store, &id, true);
                let level = relay_to.log_level;
                relay(event, &relay_to.context, &|l| allows(level, l)).await;
                set_input_required(&store, &id, false);
            });
        }
        (event, Some(relay_to)) => {
            let relay_to = relay_to.clone();
            tokio::spawn(async move {
                let level = relay_to.log_level;
                relay(event, &relay_to.context, &|l| allows(level, l)).await;
            });
        }
        // 2026-07-28 callers are not streamed to after the task handle is returned.
        (_, None) => {}
    }
}

fn allows(min: Option<LoggingLevel>, level: LoggingLevel) -> bool {
    min.is_some_and(|min| severity(level) >= severity(min))
}

/// Keep input requests for `tasks/get` / `tasks/update` under keys unique over the task's life.
fn park_input(
    store: &Weak<Inner>,
    id: &str,
    requests: InputRequests,
    reply: oneshot::Sender<Result<InputResponses, ErrorData>>,
) {
    let Some(inner) = store.upgrade() else { return };
    let Ok(mut tasks) = inner.tasks.lock() else {
        return;
    };
    let Some(entry) = tasks.get_mut(id) else {
        return;
    };
    let mut input = PendingInput {
        requests: InputRequests::new(),
        keys: HashMap::new(),
        answers: InputResponses::new(),
        reply,
    };
    for (key, request) in requests {
        entry.input_seq += 1;
        let unique = format!("{}-{key}", entry.input_seq);
        input.keys.insert(unique.clone(), key);
        input.requests.insert(unique, request);
    }
    entry.input = Some(input);
    entry.task.status = TaskStatus::InputRequired;
    entry.touch();
}

#[cfg(test)]
#[path = "tasks_tests.rs"]
mod tests;
