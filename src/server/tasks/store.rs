//! `TaskStore`: the tasks of every session of one served workbench — each task's status, times,
//! TTL, how it ended, the questions it waits on, who owns it, the token that cancels its run,
//! and for a task forwarded to an upstream, where to ask about it. Both eras' views are
//! rendered from the same entry.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use rmcp::ErrorData;
use rmcp::model::{DetailedTask, InputRequests, InputResponses, Task, TaskPayload, TaskStatus};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::sink::TaskSink;
use super::wire::{Ending, legacy_result, legacy_task, now, unknown};
use super::{DEFAULT_TTL_MS, MAX_TTL_MS, POLL_INTERVAL_MS};
use crate::server::expiry::Expiry;
use crate::server::parked::ParkedInput;
use crate::server::relay::StreamRelay;
use crate::workbench::{RemoteTaskHandle, TaskUpdate};

/// How long shutdown waits for a cancelled run to finish before aborting it.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// How long `tasks/get` waits for a forwarded task's owner to say how it is.
const REFRESH_LIMIT: Duration = Duration::from_secs(2);

/// What a new task needs besides the call itself.
pub struct NewTask {
    /// Requested TTL in milliseconds (cut to [`MAX_TTL_MS`]).
    pub ttl_ms: Option<u64>,
    /// The owning session (2025-era tasks are visible to their session only).
    pub owner: Option<String>,
    /// The creating session, for 2025-era tasks: progress, logs, questions and status
    /// notifications go there. `None`: questions wait for `tasks/update`.
    pub relay: Option<StreamRelay>,
}

pub(super) struct Entry {
    pub task: Task,
    created: Instant,
    pub ending: Option<Ending>,
    cancel: CancellationToken,
    owner: Option<String>,
    /// Questions waiting for `tasks/update` (2026 tasks), under task-unique keys.
    inputs: Vec<ParkedInput>,
    input_seq: u64,
    /// Questions being asked of the creating session now (2025 tasks).
    pub asking: usize,
    done: watch::Sender<bool>,
    run: Option<JoinHandle<()>>,
    pub remote: Option<Arc<dyn RemoteTaskHandle>>,
}

impl Entry {
    pub fn touch(&mut self) {
        self.task.last_updated_at = now();
    }

    pub fn status(&self) -> TaskStatus {
        match &self.ending {
            Some(ending) => ending.status(),
            None if !self.inputs.is_empty() || self.asking > 0 => TaskStatus::InputRequired,
            None => TaskStatus::Working,
        }
    }

    fn open_inputs(&self) -> InputRequests {
        self.inputs
            .iter()
            .flat_map(|p| p.open().iter().map(|(k, v)| (k.clone(), v.clone())))
            .collect()
    }

    fn detailed(&self) -> DetailedTask {
        let payload = match &self.ending {
            Some(Ending::Result(r)) => TaskPayload::Completed { result: r.clone() },
            Some(Ending::Error(e)) => TaskPayload::Failed { error: e.clone() },
            Some(Ending::Cancelled) => TaskPayload::Cancelled,
            None if !self.inputs.is_empty() => TaskPayload::InputRequired {
                input_requests: self.open_inputs(),
            },
            None => TaskPayload::Working,
        };
        let mut task = self.task.clone();
        task.status = self.status();
        DetailedTask::new(task, payload)
    }

    /// The 2025-11-25 `Task` object.
    pub fn legacy(&self) -> Value {
        legacy_task(&self.task, self.status())
    }

    fn expired(&self) -> bool {
        self.task
            .ttl_ms
            .is_some_and(|ttl| self.created.elapsed() >= Duration::from_millis(ttl))
    }

    /// Record how the task ended (the first ending counts); answers nobody's questions.
    pub fn finish(&mut self, ending: Ending) {
        if self.ending.is_some() {
            return;
        }
        self.ending = Some(ending);
        self.inputs.clear();
        self.task.status = self.status();
        self.touch();
        self.done.send_replace(true);
    }

    /// Park questions for `tasks/update` under keys unique over the task's life.
    pub fn park(&mut self, parked: impl FnOnce(&mut dyn FnMut(&str) -> String) -> ParkedInput) {
        let mut seq = self.input_seq;
        let input = parked(&mut |key| {
            seq += 1;
            format!("{seq}-{key}")
        });
        self.input_seq = seq;
        self.inputs.push(input);
        self.task.status = self.status();
        self.touch();
    }

    /// Take what the task's owner says about it: its status message. The status itself stays
    /// what toolyard knows (a question shows when it is asked here). Whether anything changed.
    pub fn mirror(&mut self, update: TaskUpdate) -> bool {
        if self.ending.is_some() || self.task.status_message == update.message {
            return false;
        }
        self.task.status_message = update.message;
        self.touch();
        true
    }

    pub fn detach_run(&mut self) {
        self.run = None;
    }
}

pub(super) struct Inner {
    tasks: Mutex<HashMap<String, Entry>>,
    root: CancellationToken,
    expiry: Expiry,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.root.cancel();
    }
}

/// A task's place in its store, for the driver of its run.
#[derive(Clone)]
pub(super) struct TaskLink {
    store: Weak<Inner>,
    id: String,
}

impl TaskLink {
    /// The task id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Run `f` on the entry, if the task is still there.
    pub fn with<T>(&self, f: impl FnOnce(&mut Entry) -> T) -> Option<T> {
        let inner = self.store.upgrade()?;
        let mut tasks = inner.tasks.lock().ok()?;
        tasks.get_mut(&self.id).map(f)
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
                expiry: Expiry::new(),
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

    /// A new task whose run is cancelled by `cancel`: its seed state (2026 `Task`; see
    /// [`legacy_task`]) and the sink its run's events go to.
    pub(in crate::server) fn create(
        &self,
        new: NewTask,
        cancel: CancellationToken,
    ) -> (Task, TaskSink) {
        let id = uuid::Uuid::new_v4().to_string();
        let stamp = now();
        let ttl = new.ttl_ms.unwrap_or(DEFAULT_TTL_MS).min(MAX_TTL_MS);
        let mut task = Task::new(id.clone(), TaskStatus::Working, stamp.clone(), stamp)
            .with_ttl_ms(ttl)
            .with_poll_interval_ms(POLL_INTERVAL_MS);
        task.status_message = None;
        let entry = Entry {
            task: task.clone(),
            created: Instant::now(),
            ending: None,
            cancel,
            owner: new.owner,
            inputs: Vec::new(),
            input_seq: 0,
            asking: 0,
            done: watch::channel(false).0,
            run: None,
            remote: None,
        };
        self.with(|tasks| tasks.insert(id.clone(), entry));
        let store = Arc::downgrade(&self.inner);
        self.inner
            .expiry
            .after(id.clone(), Duration::from_millis(ttl), || {
                Box::new(move |_| {
                    if let Some(inner) = store.upgrade()
                        && let Ok(mut tasks) = inner.tasks.lock()
                    {
                        sweep(&mut tasks);
                    }
                })
            });
        tracing::info!(task = %id, "task created");
        let link = TaskLink {
            store: Arc::downgrade(&self.inner),
            id,
        };
        (task, TaskSink::new(link, new.relay))
    }

    /// The task `task_id` is run by the driver `run` (stopped at shutdown).
    pub(in crate::server) fn adopt(&self, task_id: &str, run: Option<JoinHandle<()>>) {
        let orphan = self
            .with(|tasks| match tasks.get_mut(task_id) {
                Some(entry) if entry.ending.is_none() => {
                    entry.run = run;
                    None
                }
                _ => run,
            })
            .flatten();
        // A task that already ended (or expired) needs no run: its driver finishes by itself.
        drop(orphan);
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

    /// Ask the owner of a forwarded task how it is (bounded), so the caller sees its latest
    /// status message; tasks run here are always current.
    pub async fn refresh(&self, task_id: &str, owner: Option<&str>) -> Result<(), ErrorData> {
        let remote = self.entry(task_id, owner, |e| {
            Ok(e.remote.clone().filter(|_| e.ending.is_none()))
        })?;
        let Some(remote) = remote else {
            return Ok(());
        };
        match tokio::time::timeout(REFRESH_LIMIT, remote.status()).await {
            Ok(Ok(update)) => {
                let _ = self.entry(task_id, owner, |e| Ok(e.mirror(update)));
            }
            Ok(Err(e)) => {
                tracing::debug!(task = %task_id, server = %remote.server(), error = %e, "could not refresh a forwarded task");
            }
            Err(_) => {
                tracing::debug!(task = %task_id, server = %remote.server(), "the owner of a forwarded task did not answer in time");
            }
        }
        Ok(())
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

    /// Cancel a task: it becomes `cancelled` and its run is stopped (a forwarded task is
    /// cancelled at its owner by its run). A task that already ended is an error when `strict`
    /// (2025-11-25), an acknowledged no-op otherwise (2026). The 2025 status notification is
    /// sent by the run's driver, in order with the task's other notifications.
    pub fn cancel(
        &self,
        task_id: &str,
        owner: Option<&str>,
        strict: bool,
    ) -> Result<Value, ErrorData> {
        self.entry(task_id, owner, |e| {
            if e.ending.is_some() {
                if strict {
                    return Err(ErrorData::invalid_params(
                        format!("task `{task_id}` has already ended ({})", json!(e.status())),
                        None,
                    ));
                }
                return Ok(e.legacy());
            }
            e.cancel.cancel();
            e.finish(Ending::Cancelled);
            tracing::info!(task = %task_id, "task cancelled");
            Ok(e.legacy())
        })
    }

    /// Deliver `tasks/update` answers to the outstanding input requests (unknown keys are
    /// ignored, as SEP-2663 says); a call goes on once all its questions are answered.
    pub fn update(&self, task_id: &str, responses: InputResponses) -> Result<(), ErrorData> {
        self.entry(task_id, None, |e| {
            e.inputs = std::mem::take(&mut e.inputs)
                .into_iter()
                .filter_map(|p| p.answer(responses.clone()))
                .collect();
            e.task.status = e.status();
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
        self.entry(task_id, Some(owner), |e| match &e.ending {
            Some(ending) => legacy_result(task_id, ending),
            None => Err(ErrorData::internal_error("the task has not ended", None)),
        })
    }

    /// How many tasks are held in each status (`working`, `input_required`, `completed`,
    /// `failed`, `cancelled`), for `toolyard_tasks`.
    pub fn counts(&self) -> std::collections::HashMap<&'static str, u64> {
        let mut counts = std::collections::HashMap::new();
        self.with(|tasks| {
            for entry in tasks.values() {
                let status = match entry.status() {
                    TaskStatus::Working => "working",
                    TaskStatus::InputRequired => "input_required",
                    TaskStatus::Completed => "completed",
                    TaskStatus::Failed => "failed",
                    TaskStatus::Cancelled => "cancelled",
                    _ => continue,
                };
                *counts.entry(status).or_insert(0) += 1;
            }
        });
        counts
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
