//! Multi-round-trip calls for 2026-07-28 callers, who cannot be sent server→client requests:
//! input requests raised during a call (by a 2026 upstream's `input_required`, or a 2025
//! upstream's sampling/elicitation) become an `input_required` result; the caller's retry
//! carries the answers back to the waiting call, which goes on.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::ErrorData;
use rmcp::model::{
    CallToolResult, GetPromptResult, InputRequests, InputRequiredResult, InputResponses,
    ReadResourceResult,
};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::observer::CallEvent;
use crate::workbench::WorkbenchError;

/// How long a call may wait for its caller to come back with answers.
const PENDING_TTL: Duration = Duration::from_secs(600);

/// What a multi-round operation produces in the end.
pub enum RunOutput {
    /// `tools/call`.
    Tool(Result<CallToolResult, WorkbenchError>),
    /// `prompts/get`.
    Prompt(Result<GetPromptResult, WorkbenchError>),
    /// `resources/read`.
    Resource(Result<ReadResourceResult, WorkbenchError>),
}

struct Batch {
    requests: InputRequests,
    answers: InputResponses,
    reply: oneshot::Sender<Result<InputResponses, ErrorData>>,
}

/// An operation in flight across rounds: its task, its events, and the questions it asked.
pub struct PendingRun {
    task: JoinHandle<RunOutput>,
    cancel: CancellationToken,
    events: mpsc::UnboundedReceiver<CallEvent>,
    batch: Option<Batch>,
}

/// What one round ends with.
pub enum Round {
    /// The operation finished.
    Done(RunOutput),
    /// The operation waits for answers to these requests.
    InputRequired(InputRequests),
    /// Something the caller should see (progress, a log message); the round goes on.
    Event(CallEvent),
}

impl PendingRun {
    /// A run for a freshly spawned operation; `cancel` must stop it.
    pub fn new(
        task: JoinHandle<RunOutput>,
        cancel: CancellationToken,
        events: mpsc::UnboundedReceiver<CallEvent>,
    ) -> Self {
        Self {
            task,
            cancel,
            events,
            batch: None,
        }
    }

    /// Stop the operation (the caller went away).
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// Hand the caller's answers to the waiting operation. Unasked keys are an error.
    pub fn answer(&mut self, responses: InputResponses) -> Result<(), ErrorData> {
        let Some(batch) = self.batch.as_mut() else {
            return Err(ErrorData::invalid_params(
                "inputResponses were sent but nothing was asked",
                None,
            ));
        };
        for (key, value) in responses {
            if !batch.requests.contains_key(&key) {
                return Err(ErrorData::invalid_params(
                    format!("inputResponses has `{key}`, which was not asked"),
                    None,
                ));
            }
            batch.answers.insert(key, value);
        }
        if batch.answers.len() == batch.requests.len()
            && let Some(batch) = self.batch.take()
        {
            let _ = batch.reply.send(Ok(batch.answers));
        }
        Ok(())
    }

    /// Run until the operation finishes, asks for input, or reports something.
    pub async fn next(&mut self, cancelled: &CancellationToken) -> Round {
        if let Some(batch) = &self.batch {
            let open = batch
                .requests
                .iter()
                .filter(|(k, _)| !batch.answers.contains_key(*k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            return Round::InputRequired(open);
        }
        tokio::select! {
            biased;
            _ = cancelled.cancelled() => {
                self.cancel.cancel();
                Round::Done(cancelled_output(&mut self.task).await)
            }
            Some(event) = self.events.recv() => match event {
                CallEvent::Input(requests, reply, _withdrawn) => {
                    let open = requests.clone();
                    self.batch = Some(Batch { requests, answers: InputResponses::new(), reply });
                    Round::InputRequired(open)
                }
                other => Round::Event(other),
            },
            joined = &mut self.task => {
                Round::Done(joined.unwrap_or_else(|e| {
                    RunOutput::Tool(Err(WorkbenchError::Unsupported(format!("the call task failed: {e}"))))
                }))
            }
        }
    }

    /// Events still queued after the operation finished.
    pub fn leftover(&mut self) -> Vec<CallEvent> {
        let mut out = Vec::new();
        while let Ok(e) = self.events.try_recv() {
            out.push(e);
        }
        out
    }
}

async fn cancelled_output(task: &mut JoinHandle<RunOutput>) -> RunOutput {
    match tokio::time::timeout(Duration::from_secs(5), task).await {
        Ok(Ok(output)) => output,
        _ => RunOutput::Tool(Err(WorkbenchError::Cancelled)),
    }
}

/// Operations waiting for their caller's answers, by `requestState` token (shared by every
/// session: 2026-07-28 callers are sessionless).
#[derive(Clone, Default)]
pub struct PendingRuns {
    runs: Arc<Mutex<HashMap<String, PendingRun>>>,
}

impl PendingRuns {
    /// Park a run until its caller retries; returns the `requestState` token.
    pub fn park(&self, run: PendingRun) -> String {
        let token = uuid::Uuid::new_v4().simple().to_string();
        if let Ok(mut runs) = self.runs.lock() {
            runs.insert(token.clone(), run);
        }
        let runs = Arc::clone(&self.runs);
        let expired = token.clone();
        tokio::spawn(async move {
            tokio::time::sleep(PENDING_TTL).await;
            let run = runs.lock().ok().and_then(|mut r| r.remove(&expired));
            if let Some(run) = run {
                run.cancel();
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
                    "requestState does not name a pending request (it finished, expired, was altered or never issued)",
                    None,
                )
            })
    }
}

/// The `input_required` result for a parked run.
pub fn input_required(requests: InputRequests, token: String) -> InputRequiredResult {
    InputRequiredResult::new(Some(requests), Some(token))
}
