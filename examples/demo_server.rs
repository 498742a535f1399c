//! demo_server: toolyard's small everyday example MCP server (the code is `toolyard::demo`; the
//! `toolyard` binary serves the same with `toolyard demo-server`).
//!
//! Serves MCP over stdio by default, or streamable HTTP at `/mcp` with `--http ADDR`
//! (e.g. `--http 127.0.0.1:0`; the bound address is logged to stderr as `listening on ...`).
//! Tools: echo, add, sleep, crash, hang, touch_tools (see `toolyard::demo`).

use std::net::SocketAddr;

use clap::Parser;

#[derive(Parser, Debug)]
#[command(about = "toolyard's small example MCP server")]
struct Args {
    /// Serve streamable HTTP at /mcp on this address instead of stdio.
    #[arg(long, value_name = "ADDR")]
    http: Option<SocketAddr>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    match args.http {
        Some(addr) => toolyard::demo::serve_http(addr).await?,
        None => toolyard::demo::serve_stdio().await?,
    }
    Ok(())
}
