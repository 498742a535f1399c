//! `toolyard demo-server` (hidden): toolyard's example MCP server, so the bundled servers.toml
//! can start it as `${TOOLYARD_EXE} demo-server` with no cargo and no separate binary.

use std::net::SocketAddr;
use std::process::ExitCode;

use super::init_logging;

/// Options of `toolyard demo-server`.
#[derive(Debug, clap::Args)]
pub struct DemoServerArgs {
    /// Serve streamable HTTP at /mcp on this address instead of stdio.
    #[arg(long, value_name = "ADDR")]
    http: Option<SocketAddr>,
}

/// Serve until the stdio client leaves (or Ctrl-C for HTTP).
pub async fn run(args: DemoServerArgs) -> anyhow::Result<ExitCode> {
    init_logging("info,rmcp=warn");
    match args.http {
        Some(addr) => toolyard::demo::serve_http(addr).await?,
        None => toolyard::demo::serve_stdio().await?,
    }
    Ok(ExitCode::SUCCESS)
}
