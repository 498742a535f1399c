//! fixture_server: the MCP conformance fixture, and toolyard's example of a full-featured rmcp server.
//!
//! The official conformance suite (`@modelcontextprotocol/conformance`, server mode) calls tools,
//! resources and prompts with fixed names and fixed answers; this server provides all of them:
//!
//! - content tools (`test_simple_text`, `test_image_content`, `test_audio_content`,
//!   `test_embedded_resource`, `test_multiple_content_types`, `test_error_handling`);
//! - notification tools (`test_tool_with_logging`, `test_tool_with_progress`);
//! - server→client requests, 2025-11-25 era (`test_sampling`, `test_elicitation`,
//!   `test_elicitation_sep1034_defaults`, `test_elicitation_sep1330_enums`);
//! - 2026-07-28 era: multi-round-trip `input_required` results (`test_input_required_result_*`),
//!   stateless diagnostics (`test_missing_capability`, `test_streaming_elicitation`,
//!   `test_logging_tool`) and list-change triggers for `subscriptions/listen`
//!   (`test_trigger_tool_change`, `test_trigger_prompt_change`);
//! - resources `test://static-text`, `test://static-binary`, template `test://template/{id}/data`,
//!   subscribe/unsubscribe; prompts `test_simple_prompt`, `test_prompt_with_arguments`,
//!   `test_prompt_with_embedded_resource`, `test_prompt_with_image`,
//!   `test_input_required_result_prompt`; completion for `test_prompt_with_arguments`.
//!
//! Transports: `--http 127.0.0.1:PORT` serves streamable HTTP at `/mcp` (rmcp's
//! `StreamableHttpService` in axum, Host and Origin checked against loopback: DNS-rebinding
//! protection), `--stdio` serves stdin/stdout. Logs go to stderr.
// Sampling, roots and logging are marked deprecated in rmcp (SEP-2577), but the 2025-11-25
// scenarios exercise exactly them.
#![allow(deprecated)]

mod catalog;
mod handler;
mod mrtr;
mod tools;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use clap::Parser;
use rmcp::ServiceExt;
use rmcp::handler::server::router::prompt::PromptRouter;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// A 1x1 red PNG, base64.
const PNG_1X1: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
/// A minimal WAV file (header only, no samples), base64.
const WAV_EMPTY: &str = "UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YQAAAAA=";

#[derive(Parser, Debug)]
#[command(about = "MCP conformance fixture server (rmcp)")]
struct Args {
    /// Serve streamable HTTP at /mcp on this address.
    #[arg(long, value_name = "ADDR", conflicts_with = "stdio")]
    http: Option<SocketAddr>,
    /// Serve MCP over stdin/stdout.
    #[arg(long)]
    stdio: bool,
}

/// A change that open `subscriptions/listen` streams are told about.
#[derive(Debug, Clone, Copy)]
enum ListChange {
    Tools,
    Prompts,
}

/// State shared by every session of one server process.
#[derive(Debug)]
struct Shared {
    /// Broadcasts list changes to all `subscriptions/listen` streams (2026-07-28 era).
    changes: broadcast::Sender<ListChange>,
    /// URIs subscribed with `resources/subscribe` (2025-11-25 era).
    subscriptions: Mutex<HashSet<String>>,
}

/// The fixture server; the HTTP service makes one per session (or per stateless request).
#[derive(Clone)]
struct Fixture {
    tool_router: ToolRouter<Self>,
    prompt_router: PromptRouter<Self>,
    shared: Arc<Shared>,
}

impl Fixture {
    fn new(shared: Arc<Shared>) -> Self {
        Self {
            tool_router: Self::tool_router() + Self::mrtr_tool_router(),
            prompt_router: Self::prompt_router(),
            shared,
        }
    }
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
    let (changes, _) = broadcast::channel(64);
    let shared = Arc::new(Shared {
        changes,
        subscriptions: Mutex::new(HashSet::new()),
    });
    match (args.http, args.stdio) {
        (Some(addr), _) => serve_http(addr, shared).await,
        (None, true) => serve_stdio(shared).await,
        (None, false) => anyhow::bail!("pass --http ADDR or --stdio"),
    }
}

async fn serve_stdio(shared: Arc<Shared>) -> anyhow::Result<()> {
    let service = Fixture::new(shared).serve(rmcp::transport::stdio()).await?;
    service.waiting().await?;
    Ok(())
}

async fn serve_http(addr: SocketAddr, shared: Arc<Shared>) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    // DNS-rebinding protection: only loopback Host headers (rmcp's default) and loopback Origins.
    let config = StreamableHttpServerConfig::default()
        .with_allowed_origins(["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"])
        .with_cancellation_token(shutdown.child_token());
    let service = StreamableHttpService::new(
        move || Ok(Fixture::new(shared.clone())),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let app = axum::Router::new().nest_service("/mcp", service);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!("listening on http://{}/mcp", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = tokio::signal::ctrl_c().await;
            shutdown.cancel();
        })
        .await?;
    Ok(())
}
