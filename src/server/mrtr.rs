//! Multi-round-trip translation for 2026-07-28 callers, who cannot be sent server→client
//! requests: sampling and elicitation raised during a call (e.g. by a 2025-era upstream) become an
//! `input_required` result, and the caller's retry carries the answers back to the waiting call.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::ErrorData;
use rmcp::model::{
    CallToolResult, CreateMessageRequest, CreateMessageResult, ElicitRequest, ElicitResult,
    InputRequest, InputRequiredResult, InputResponses,
};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::observer::CallEvent;
use crate::workbench::WorkbenchError;

/// How long a call may wait for the caller to come back with answers.
const PENDING_TTL: Duration = Duration::from_secs(600);

type CallTask = JoinHandle<Result<CallToolResult, WorkbenchError>>;

enum Waiting {
    Sampling(oneshot::Sender<Result<CreateMessageResult, ErrorData>>),
    Elicitation(oneshot::Sender<Result<ElicitResult, ErrorData>>),
}

/// A call in flight across rounds: its task, its event stream, and the questions it asked.
pub struct PendingRun {
    /// The running call.
    pub task: CallTask,
    /// Cancels the running call (and its upstream request).
    pub cancel: tokio_util::sync::CancellationToken,
    /// What the call reports or asks.
    pub events: mpsc::UnboundedReceiver<CallEvent>,
    waiting: BTreeMap<String, Waiting>,
    next_key: u64,
}

impl PendingRun {
    /// A run for a freshly spawned call.
    pub fn new(
        task: CallTask,
        cancel: tokio_util::sync::CancellationToken,
        events: mpsc::UnboundedReceiver<CallEvent>,
    ) -> Self {
        Self {
            task,
            cancel,
            events,
            waiting: BTreeMap::new(),
            next_key: 0,
        }
    }

    /// Turn a sampling or elicitation event into an input request; other events are returned.
    pub fn ask(
        &mut self,
        event: CallEvent,
        requests: &mut BTreeMap<String, InputRequest>,
    ) -> Option<CallEvent> {
        self.next_key += 1;
        match event {
            CallEvent::CreateMessage(params, reply) => {
                let key = format!("sampling-{}", self.next_key);
                requests.insert(
                    key.clone(),
                    InputRequest::CreateMessage(CreateMessageRequest::new(params)),
                );
                self.waiting.insert(key, Waiting::Sampling(reply));
                None
            }
            CallEvent::Elicit(params, reply) => {
                let key = format!("elicitation-{}", self.next_key);
                requests.insert(
                    key.clone(),
                    InputRequest::Elicitation(ElicitRequest::new(params)),
                );
                self.waiting.insert(key, Waiting::Elicitation(reply));
                None
            }
            other => Some(other),
        }
    }

    /// Hand the caller's answers to the questions they answer.
    pub fn answer(&mut self, responses: InputResponses) -> Result<(), ErrorData> {
        for (key, value) in responses {
            let Some(waiting) = self.waiting.remove(&key) else {
                return Err(ErrorData::invalid_params(
                    format!("inputResponses has `{key}`, which was not asked"),
                    None,
                ));
            };
            let bad = |e: serde_json::Error| {
                ErrorData::invalid_params(format!("inputResponses.{key}: {e}"), None)
            };
            match waiting {
                Waiting::Sampling(reply) => {
                    let _ = reply.send(Ok(serde_json::from_value(value).map_err(bad)?));
                }
                Waiting::Elicitation(reply) => {
                    let _ = reply.send(Ok(serde_json::from_value(value).map_err(bad)?));
                }
            }
        }
        Ok(())
    }
}

/// Runs waiting for their caller's answers, by `requestState` token (shared by all sessions:
/// 2026-07-28 callers are sessionless).
#[derive(Clone, Default)]
pub struct PendingRuns {
    runs: Arc<Mutex<HashMap<String, PendingRun>>>,
}

impl PendingRuns {
    /// Park a run until its caller retries; returns the `requestState` token.
    pub fn park(&self, run: PendingRun) -> String {
        let token = uuid::Uuid::new_v4().to_string();
        if let Ok(mut runs) = self.runs.lock() {
            runs.insert(token.clone(), run);
        }
        let runs = Arc::clone(&self.runs);
        let expired = token.clone();
        tokio::spawn(async move {
            tokio::time::sleep(PENDING_TTL).await;
            let run = runs.lock().ok().and_then(|mut r| r.remove(&expired));
            if let Some(run) = run {
                run.cancel.cancel();
            }
        });
        token
    }

    /// Take the run a retry names.
    pub fn resume(&self, token: &str) -> Result<PendingRun, ErrorData> {
        self.runs
            .lock()
            .ok()
            .and_then(|mut r| r.remove(token))
            .ok_or_else(|| {
                ErrorData::invalid_params(
                    "requestState does not name a pending call (it finished, expired or was never issued)",
                    None,
                )
            })
    }
}

/// What one round ends with.
pub enum Round {
    /// The call finished.
    Done(Result<CallToolResult, WorkbenchError>),
    /// The call waits for answers to these requests.
    InputRequired(BTreeMap<String, InputRequest>),
}

/// Build the `input_required` result for a parked run.
pub fn input_required(
    requests: BTreeMap<String, InputRequest>,
    token: String,
) -> InputRequiredResult {
    InputRequiredResult::new(Some(requests), Some(token))
}
