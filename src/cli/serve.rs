//! `toolyard serve`: the gateway on streamable HTTP + legacy SSE, or on stdio.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use toolyard::server::GatewayServer;
use toolyard::server::http::{HttpConfig, router};
use toolyard::server::origin::OriginPolicy;
use toolyard::server::rewrite::tool_extras;
use toolyard::server::stdio::serve_stdio;
use toolyard::workbench::Workbench;

use super::{ConfigArgs, WorkbenchArgs, init_logging, start_gateway_with_workbenches};

/// Options of `toolyard serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    workbenches: WorkbenchArgs,
    /// Address of the HTTP listener (`/mcp`, `/sse`, `/messages`, `/healthz`).
    #[arg(long, default_value = "127.0.0.1:8080", conflicts_with = "stdio")]
    listen: SocketAddr,
    /// Serve MCP on stdin/stdout instead of HTTP (what an IDE launches).
    #[arg(long)]
    stdio: bool,
    /// Also accept this Host (and Origin host) besides loopback names; repeatable.
    #[arg(long = "allow-host")]
    allow_hosts: Vec<String>,
    /// Also accept this browser Origin (e.g. `https://app.example.com`); repeatable.
    #[arg(long = "allow-origin")]
    allow_origins: Vec<String>,
    /// Largest accepted HTTP request body in bytes.
    #[arg(long, default_value_t = 4 * 1024 * 1024)]
    max_body_bytes: usize,
}

/// Run `serve` until Ctrl-C / SIGTERM (or the stdio client leaves); then stop every upstream.
pub async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    init_logging("info,rmcp=warn");
    let (config, gateway, shutdown, set) =
        start_gateway_with_workbenches(&args.config, &args.workbenches).await?;
    let server = GatewayServer::new(
        Arc::clone(&gateway) as Arc<dyn Workbench>,
        config.gateway.name.clone(),
    );
    let tasks = server.task_store();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    let rewrite = tool_extras(gateway.tool_extras_table());
    let outcome = if args.stdio {
        serve_stdio(server, Some(rewrite), shutdown.clone())
            .await
            .map_err(anyhow::Error::from)
    } else {
        let policy = OriginPolicy::default()
            .with_hosts(args.allow_hosts)
            .with_origins(args.allow_origins);
        let health_gateway = Arc::clone(&gateway);
        let app = router(
            server,
            Arc::new(move || health_gateway.statuses()),
            HttpConfig {
                origin_policy: policy,
                max_body_bytes: args.max_body_bytes,
                shutdown: shutdown.clone(),
                rewrite: Some(rewrite),
            },
        );
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let local = listener.local_addr()?;
        tracing::info!(address = %local, "serving MCP at http://{local}/mcp (legacy SSE at /sse)");
        let stop = shutdown.clone();
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled_owned().await })
            .await
            .context("HTTP server failed")
    };
    shutdown.cancel();
    tasks.shutdown().await;
    if let Some(set) = &set {
        set.shutdown().await;
    }
    gateway.shutdown().await;
    tracing::info!("stopped");
    outcome.map(|()| ExitCode::SUCCESS)
}

async fn stop_on_signal(shutdown: tokio_util::sync::CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                    _ = shutdown.cancelled() => return,
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
    tracing::info!("shutting down");
    shutdown.cancel();
}
