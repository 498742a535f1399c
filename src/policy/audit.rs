//! `[audit]`: one JSON line per decided call, written by one writer task through a bounded
//! channel (the call never waits on the disk unless the channel is full), to a file or stderr.
//! The writer belongs to the [`Audit`] (its owner closes it at shutdown, which writes out
//! what is queued); no arguments, results or secrets are written unless
//! `include_arguments = true`.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::PolicyError;
use super::evaluate::{DecidedBy, Decision, Request};
use crate::config::AuditConfig;
use crate::workbench::{AuthMethod, CallerInfo};

/// Lines queued for the writer before a call waits for room.
const QUEUE: usize = 4096;

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

/// The audit log: a queue to its writer task.
pub struct Audit {
    tx: mpsc::Sender<String>,
    stop: CancellationToken,
    writer: Mutex<Option<JoinHandle<()>>>,
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
    /// Opens the audit file (appending) or stderr, and starts the writer. Must be called
    /// inside a tokio runtime.
    pub fn open(config: &AuditConfig) -> Result<Self, PolicyError> {
        let out: Box<dyn AsyncWrite + Send + Unpin> = match &config.path {
            Some(path) => Box::new(open_append(path)?),
            None => Box::new(tokio::io::stderr()),
        };
        let (tx, rx) = mpsc::channel(QUEUE);
        let stop = CancellationToken::new();
        let writer = tokio::spawn(write_lines(rx, out, stop.clone()));
        Ok(Self {
            tx,
            stop,
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
        let _ = self.tx.send(line).await;
    }

    /// Writes out every queued line and stops the writer (later lines are dropped).
    pub async fn close(&self) {
        self.stop.cancel();
        let writer = self.writer.lock().ok().and_then(|mut w| w.take());
        if let Some(writer) = writer {
            let _ = writer.await;
        }
    }
}

fn open_append(path: &Path) -> Result<tokio::fs::File, PolicyError> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map(tokio::fs::File::from_std)
        .map_err(|source| PolicyError::AuditOpen {
            path: path.to_path_buf(),
            source,
        })
}

async fn write_lines(
    mut rx: mpsc::Receiver<String>,
    mut out: Box<dyn AsyncWrite + Send + Unpin>,
    stop: CancellationToken,
) {
    let mut failed = false;
    loop {
        let first = tokio::select! {
            line = rx.recv() => line,
            () = stop.cancelled() => None,
        };
        let Some(first) = first else { break };
        let mut batch = first;
        while let Ok(line) = rx.try_recv() {
            batch.push_str(&line);
        }
        write(&mut out, &batch, &mut failed).await;
    }
    rx.close();
    let mut rest = String::new();
    while let Some(line) = rx.recv().await {
        rest.push_str(&line);
    }
    write(&mut out, &rest, &mut failed).await;
}

async fn write(out: &mut (dyn AsyncWrite + Send + Unpin), text: &str, failed: &mut bool) {
    if text.is_empty() {
        return;
    }
    let written = async {
        out.write_all(text.as_bytes()).await?;
        out.flush().await
    };
    if let Err(error) = written.await
        && !std::mem::replace(failed, true)
    {
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
        "trace_id": Value::Null,
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
