//! The stdio face: MCP over this process's stdin/stdout (what an IDE launches), one JSON-RPC
//! message per line. Each line is parsed once and checked ([`super::incoming`]); a line that is
//! not a message is answered with its JSON-RPC error on stdout, like the HTTP faces answer it.

use std::os::fd::AsFd;

use futures::channel::mpsc;
use futures::{SinkExt, StreamExt};
use rmcp::ServiceExt;
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::unix::pipe;
use tokio_util::sync::CancellationToken;

use super::handler::WorkbenchServer;
use super::incoming::{Rejection, check};
use super::metered::Metered;
use super::rewrite::{OutgoingRewrite, rewrite_json_text};
use super::task_calls::with_legacy_tasks;
use crate::telemetry::metrics::SessionTimer;

/// Messages buffered per direction before the sender waits.
const BUFFER: usize = 64;

/// A UTF-8 byte order mark, which some clients put before their first line.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Why the stdio face stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum StdioServeError {
    /// The MCP session could not start.
    #[error("stdio session failed to start")]
    Start(#[source] Box<rmcp::service::ServerInitializeError>),
    /// The session task panicked or was aborted.
    #[error("stdio session task failed")]
    Join(#[from] tokio::task::JoinError),
    /// Writing to stdout failed.
    #[error("cannot write to stdout")]
    Write(#[source] std::io::Error),
}

/// Serve `server` on stdin/stdout until the client disconnects or `shutdown` is cancelled.
/// `rewrite`, if given, edits every outgoing message (e.g. to restore preserved tool fields).
pub async fn serve_stdio(
    server: WorkbenchServer,
    rewrite: Option<OutgoingRewrite>,
    shutdown: CancellationToken,
) -> Result<(), StdioServeError> {
    serve_lines(server, stdin(), stdout(), rewrite, shutdown).await
}

/// This process's stdin: an async pipe when it is one (what a launching client gives), read
/// on the runtime's own threads; otherwise tokio's stdin, which hands every read to a blocking
/// thread (the profile of a stdio call showed those hand-offs among its largest costs).
fn stdin() -> Box<dyn AsyncRead + Unpin + Send> {
    let pipe = std::io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .ok()
        .and_then(|fd| pipe::Receiver::from_owned_fd(fd).ok());
    match pipe {
        Some(pipe) => Box::new(pipe),
        None => Box::new(tokio::io::stdin()),
    }
}

/// This process's stdout, as an async pipe when it is one (see [`stdin`]).
fn stdout() -> Box<dyn AsyncWrite + Unpin + Send> {
    let pipe = std::io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .ok()
        .and_then(|fd| pipe::Sender::from_owned_fd(fd).ok());
    match pipe {
        Some(pipe) => Box::new(pipe),
        None => Box::new(tokio::io::stdout()),
    }
}

/// Serve `server` on newline-delimited JSON-RPC: messages from `input`, answers to `output`.
pub async fn serve_lines<R, W>(
    server: WorkbenchServer,
    input: R,
    output: W,
    rewrite: Option<OutgoingRewrite>,
    shutdown: CancellationToken,
) -> Result<(), StdioServeError>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (to_service, from_client) = mpsc::channel(BUFFER);
    let (to_client, outgoing) = mpsc::channel(BUFFER);
    let (refuse, refusals) = mpsc::channel(BUFFER);
    let reader = tokio::spawn(read_lines(input, to_service, refuse));
    let writer = tokio::spawn(write_lines(
        outgoing,
        refusals,
        output,
        with_legacy_tasks(rewrite),
    ));
    // The stdio face's lifetime is its one session.
    let _session = SessionTimer::start();
    let outcome = match Metered(server)
        .serve_with_ct((to_client, from_client), shutdown)
        .await
    {
        Ok(running) => running.waiting().await.map(|_| ()).map_err(Into::into),
        Err(e) => Err(StdioServeError::Start(Box::new(e))),
    };
    // Reading stdin cannot be interrupted otherwise; the writer ends once both of its inputs
    // are closed (the service's sink went with the service), after writing what they held.
    reader.abort();
    let _ = reader.await;
    let written = writer.await;
    outcome?;
    written?.map_err(StdioServeError::Write)
}

/// Read messages, one per line, until end of input; refused lines go to `refuse`.
async fn read_lines(
    input: impl AsyncRead + Unpin,
    mut to_service: mpsc::Sender<ClientJsonRpcMessage>,
    mut refuse: mpsc::Sender<Value>,
) {
    let mut input = BufReader::new(input);
    let mut line = Vec::new();
    loop {
        line.clear();
        match input.read_until(b'\n', &mut line).await {
            Ok(0) => return,
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, "cannot read stdin");
                return;
            }
        }
        let text = line.strip_prefix(UTF8_BOM).unwrap_or(&line).trim_ascii();
        if text.is_empty() {
            continue;
        }
        let sent = match decode(text) {
            Ok(message) => to_service.send(message).await.is_ok(),
            Err(Some(rejection)) => refuse.send(rejection.to_json()).await.is_ok(),
            Err(None) => true,
        };
        if !sent {
            return;
        }
    }
}

/// One line as a message; `Err(None)` for a notification rmcp cannot read (never answered).
fn decode(line: &[u8]) -> Result<ClientJsonRpcMessage, Option<Rejection>> {
    let incoming = check(line, true).map_err(Some)?;
    let id = incoming.id();
    let notification = incoming.method().is_some() && id.is_none();
    serde_json::from_value(incoming.value).map_err(|error| {
        if notification {
            tracing::debug!(%error, "ignoring a notification that does not decode");
            None
        } else {
            Some(Rejection::invalid(error, id))
        }
    })
}

/// Write the service's messages and the refusals, one per line, until both inputs close.
async fn write_lines(
    mut outgoing: mpsc::Receiver<ServerJsonRpcMessage>,
    mut refusals: mpsc::Receiver<Value>,
    mut output: impl AsyncWrite + Unpin,
    rewrite: OutgoingRewrite,
) -> std::io::Result<()> {
    loop {
        let mut line = tokio::select! {
            Some(message) = outgoing.next() => match serde_json::to_string(&message) {
                Ok(json) => rewrite_json_text(&json, &rewrite).unwrap_or(json),
                Err(error) => {
                    tracing::warn!(%error, "dropping an outgoing message that does not serialize");
                    continue;
                }
            },
            Some(refusal) = refusals.next() => refusal.to_string(),
            else => return output.flush().await,
        };
        line.push('\n');
        output.write_all(line.as_bytes()).await?;
        output.flush().await?;
    }
}
