//! The stdio face: MCP over this process's stdin/stdout (what an IDE launches).

use rmcp::ServiceExt;
use tokio_util::sync::CancellationToken;

use super::handler::GatewayServer;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};

use super::rewrite::{OutgoingRewrite, RewriteWriter};
use super::task_calls::{rewrite_legacy_request, with_legacy_tasks};

/// Why the stdio face stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum StdioServeError {
    /// The MCP session could not start.
    #[error("stdio session failed to start: {0}")]
    Start(String),
    /// The session task panicked or was aborted.
    #[error("stdio session task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// Serve `server` on stdin/stdout until the client disconnects or `shutdown` is cancelled.
/// `rewrite`, if given, edits every outgoing message (e.g. to restore preserved tool fields).
pub async fn serve_stdio(
    server: GatewayServer,
    rewrite: Option<OutgoingRewrite>,
    shutdown: CancellationToken,
) -> Result<(), StdioServeError> {
    let rewrite = with_legacy_tasks(rewrite);
    let (incoming, pump_end) = tokio::io::duplex(64 * 1024);
    let pump = tokio::spawn(pump_incoming(tokio::io::stdin(), pump_end));
    let transport = (incoming, RewriteWriter::new(tokio::io::stdout(), rewrite));
    let running = server
        .serve_with_ct(transport, shutdown)
        .await
        .map_err(|e| StdioServeError::Start(e.to_string()));
    let outcome = match running {
        Ok(running) => running.waiting().await.map(|_| ()).map_err(Into::into),
        Err(e) => Err(e),
    };
    pump.abort();
    outcome
}

/// Copy newline-delimited messages from `input` to `output`, renaming 2025-era task requests
/// (see [`rewrite_legacy_request`]); ends at end of input.
async fn pump_incoming(
    input: impl AsyncRead + Unpin,
    mut output: impl AsyncWrite + Unpin,
) -> std::io::Result<()> {
    let mut input = BufReader::new(input);
    let mut line = Vec::new();
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line).await? == 0 {
            return output.shutdown().await;
        }
        match rewrite_legacy_request(line.trim_ascii()) {
            Some(renamed) => {
                output.write_all(&renamed).await?;
                output.write_all(b"\n").await?;
            }
            None => output.write_all(&line).await?,
        }
        output.flush().await?;
    }
}
