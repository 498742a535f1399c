//! `[audit]`: one JSON line per decided call, written by one writer thread through a bounded
//! channel (a call never waits on the disk unless the channel is full), to a file or stderr.
//! The writer belongs to the [`Audit`]: [`Audit::close`] (the gateway's shutdown) writes out
//! what is queued and ends it, as dropping the `Audit` does. No arguments, results or secrets
//! are written unless `include_arguments = true`.

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};

use super::PolicyError;
use super::evaluate::{DecidedBy, Decision, Request};
use crate::config::AuditConfig;
use crate::workbench::{AuthMethod, CallerInfo};

/// Lines queued for the writer before a call waits for room.
const QUEUE: usize = 4096;

/// What the writer thread is sent.
enum Message {
    /// One line, newline included.
    Line(String),
    /// Write out what is queued and stop; answer when done.
    Close(oneshot::Sender<()>),
}

/// How a decided call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It answered.
    Ok,
    /// It answered with a tool error (`isError: true`).
    ToolError,
    /// It failed (an error instead of an answer).
    Error,
    /// The policy refused it.
    Refused,
    /// A rate limit refused it.
    RateLimited,
}

impl Outcome {
    /// The name written to the audit line.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::ToolError => "tool_error",
            Outcome::Error => "error",
            Outcome::Refused => "refused",
            Outcome::RateLimited => "rate_limited",
        }
    }
}

/// The audit log: a queue to its writer thread.
pub struct Audit {
    tx: mpsc::Sender<Message>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    include_arguments: bool,
}

impl std::fmt::Debug for Audit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Audit")
            .field("include_arguments", &self.include_arguments)
            .finish_non_exhaustive()
    }
}

/// One line's facts.
pub struct Entry<'a> {
    /// Who called.
    pub caller: &'a CallerInfo,
    /// What for.
    pub request: Request<'a>,
    /// What the policy said.
    pub decision: &'a Decision,
    /// How it ended.
    pub outcome: Outcome,
    /// How long it took (decision included).
    pub duration: Duration,
    /// The arguments, when `include_arguments` is on.
    pub arguments: Option<&'a Value>,
}

impl Audit {
    /// Opens the audit file (appending) or stderr, and starts the writer thread.
    pub fn open(config: &AuditConfig) -> Result<Self, PolicyError> {
        let out: Box<dyn Write + Send> = match &config.path {
            Some(path) => Box::new(open_append(path)?),
            None => Box::new(std::io::stderr()),
        };
        let (tx, rx) = mpsc::channel(QUEUE);
        let writer = std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || write_lines(rx, out))
            .map_err(|source| PolicyError::AuditWriter { source })?;
        Ok(Self {
            tx,
            writer: Mutex::new(Some(writer)),
            include_arguments: config.include_arguments,
        })
    }

    /// Whether call arguments go into the lines.
    pub fn include_arguments(&self) -> bool {
        self.include_arguments
    }

    /// Queues one line (waits only while the queue is full; dropped once the log is closed).
    pub async fn record(&self, entry: Entry<'_>) {
        let line = line(&entry, self.include_arguments);
        let _ = self.tx.send(Message::Line(line)).await;
    }

    /// Writes out every queued line and stops the writer (later lines are dropped).
    pub async fn close(&self) {
        let (done, written) = oneshot::channel();
        if self.tx.send(Message::Close(done)).await.is_ok() {
            let _ = written.await;
        }
        let writer = self.writer.lock().ok().and_then(|mut w| w.take());
        if let Some(writer) = writer {
            // The thread has answered (or is gone): joining it does not wait on the disk.
            let _ = tokio::task::spawn_blocking(move || writer.join()).await;
        }
    }
}

fn open_append(path: &Path) -> Result<std::fs::File, PolicyError> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|source| PolicyError::AuditOpen {
            path: path.to_path_buf(),
            source,
        })
}

/// The writer thread: lines as they come, one write and flush per batch of queued lines; ends
/// on `Close` (after answering it) or when the `Audit` is dropped.
fn write_lines(mut rx: mpsc::Receiver<Message>, out: Box<dyn Write + Send>) {
    let mut out = std::io::BufWriter::new(out);
    let mut failed = false;
    while let Some(message) = rx.blocking_recv() {
        let mut close = None;
        let mut next = Some(message);
        while let Some(message) = next.take() {
            match message {
                Message::Line(line) => {
                    if let Err(error) = out.write_all(line.as_bytes()) {
                        report(&mut failed, &error);
                    }
                }
                Message::Close(done) => close = Some(done),
            }
            if close.is_none() {
                next = rx.try_recv().ok();
            }
        }
        if let Err(error) = out.flush() {
            report(&mut failed, &error);
        }
        if let Some(done) = close {
            let _ = done.send(());
            return;
        }
    }
    let _ = out.flush();
}

fn report(failed: &mut bool, error: &std::io::Error) {
    if !std::mem::replace(failed, true) {
        tracing::error!(%error, "cannot write the audit log; audit lines are being lost");
    }
}

/// The JSON line (with its newline) of one entry.
fn line(entry: &Entry<'_>, include_arguments: bool) -> String {
    let principal = entry.caller.principal.as_deref();
    let (index, effect, failed) = match &entry.decision.by {
        DecidedBy::Rule {
            index,
            effect,
            error,
        } => (Some(*index), effect.name(), error.is_some()),
        DecidedBy::Default => (None, "default", false),
    };
    let mut value = json!({
        "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "sub": principal.map(|p| p.subject.as_str()),
        "client_id": principal.and_then(|p| p.client_id.as_deref()),
        "auth": principal.map(|p| auth_name(&p.method)),
        "session": entry.caller.session.as_ref().map(|s| session_tag(s.key())),
        "method": entry.request.method,
        "name": entry.request.name(),
        "server": entry.request.server(),
        "decision": if entry.decision.allowed { "allow" } else { "deny" },
        "rule": {"index": index, "effect": effect, "failed": failed},
        "outcome": entry.outcome.name(),
        "duration_ms": (entry.duration.as_secs_f64() * 1e6).round() / 1e3,
        "trace_id": crate::telemetry::current_trace_id(),
    });
    if include_arguments
        && let (Some(arguments), Some(obj)) = (entry.arguments, value.as_object_mut())
    {
        obj.insert("arguments".into(), arguments.clone());
    }
    let mut text = value.to_string();
    text.push('\n');
    text
}

fn auth_name(method: &AuthMethod) -> &'static str {
    match method {
        AuthMethod::Bearer => "bearer",
        AuthMethod::ApiKey(_) => "api_key",
        AuthMethod::Stdio => "stdio",
    }
}

/// A stable tag for a caller session (its key routes traffic and is never written out): the
/// first 12 hex digits of its SHA-256.
fn session_tag(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    hex::encode(&digest[..6])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn close_writes_out_every_queued_line_and_later_ones_are_dropped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("audit.jsonl");
        let audit = Audit::open(&AuditConfig {
            path: Some(path.clone()),
            include_arguments: false,
        })
        .expect("open");
        let caller = CallerInfo::default();
        let decision = Decision::unguarded();
        let arguments = json!({"secret": "s3cret"});
        for _ in 0..500 {
            audit
                .record(Entry {
                    caller: &caller,
                    request: Request::tool("demo__echo", "demo"),
                    decision: &decision,
                    outcome: Outcome::Ok,
                    duration: Duration::from_micros(1500),
                    arguments: Some(&arguments),
                })
                .await;
        }
        audit.close().await;
        audit
            .record(Entry {
                caller: &caller,
                request: Request::prompt("late"),
                decision: &decision,
                outcome: Outcome::Ok,
                duration: Duration::ZERO,
                arguments: None,
            })
            .await;
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(text.lines().count(), 500);
        assert!(!text.contains("s3cret"), "arguments only when asked");
        let first: Value =
            serde_json::from_str(text.lines().next().expect("a line")).expect("json");
        assert_eq!(first["duration_ms"], 1.5);
        assert_eq!(first["rule"]["effect"], "default");
        assert!(first["sub"].is_null() && first["session"].is_null());
    }
}
