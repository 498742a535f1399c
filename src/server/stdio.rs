//! The stdio face: MCP over this process's stdin/stdout (what an IDE launches).

use rmcp::ServiceExt;
use tokio_util::sync::CancellationToken;

use super::handler::GatewayServer;
use super::rewrite::{OutgoingRewrite, RewriteWriter};

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
    let rewrite = rewrite.unwrap_or_else(|| OutgoingRewrite::new(|_| {}));
    let transport = (
        tokio::io::stdin(),
        RewriteWriter::new(tokio::io::stdout(), rewrite),
    );
    let running = server
        .serve_with_ct(transport, shutdown)
        .await
        .map_err(|e| StdioServeError::Start(e.to_string()))?;
    running.waiting().await?;
    Ok(())
}
