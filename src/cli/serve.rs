//! `toolyard serve`: the gateway on streamable HTTP + legacy SSE, or on stdio; and its stop:
//! on Ctrl-C / SIGTERM stop accepting, drain the calls in flight, close the sessions, then stop
//! the upstreams. Secure by default: HTTP on a non-loopback address needs `[auth]` (or an
//! explicit `--no-auth`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio_util::sync::CancellationToken;
use toolyard::config::Config;
use toolyard::gateway::Gateway;
use toolyard::server::WorkbenchServer;
use toolyard::server::auth::Authenticator;
use toolyard::server::drain::{Drain, Stopped};
use toolyard::server::http::{HttpConfig, metrics_router, router};
use toolyard::server::listen::{ListenConfig, serve};
use toolyard::server::origin::OriginPolicy;
use toolyard::server::rewrite::{OutgoingRewrite, tool_extras};
use toolyard::server::sessions::SessionLimits;
use toolyard::server::stdio::serve_stdio;
use toolyard::server::tasks::TaskStore;
use toolyard::telemetry::{events, metrics, metrics_export};
use toolyard::workbench::{AuthMethod, Principal, Workbench};

use super::{
    ConfigArgs, StoreArgs, StoreDefault, TELEMETRY_FLUSH, WorkbenchArgs, init_telemetry,
    start_over_config,
};

/// Options of `toolyard serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    workbenches: WorkbenchArgs,
    #[command(flatten)]
    store: StoreArgs,
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
    /// Seconds a client may take to send a request's headers (and to stay idle between requests
    /// on a kept-alive connection) before the connection is closed.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..), conflicts_with = "stdio")]
    header_read_timeout_secs: u64,
    /// Seconds a client may take to send a request body once its headers are in (then 408).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..), conflicts_with = "stdio")]
    body_read_timeout_secs: u64,
    /// Connections one client address may hold open at once; more are refused with 503.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..), conflicts_with = "stdio")]
    max_connections_per_client: u64,
    /// Most 2025-era HTTP sessions open at once (default: `[gateway] max_sessions`, 10000); an
    /// `initialize` beyond it is refused with 503 and a JSON-RPC error that says so.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..), conflicts_with = "stdio")]
    max_sessions: Option<u64>,
    /// Seconds a 2025-era HTTP session may stay idle (no request or stream in progress) before
    /// it ends (default: `[gateway] session_idle_secs`, 1800).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..), conflicts_with = "stdio")]
    session_idle_secs: Option<u64>,
    /// Seconds after which an idle 2025-era HTTP session with no subscriptions, log level or
    /// tasks gives its memory up; its next request restores it without the client noticing.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..), conflicts_with = "stdio")]
    session_park_secs: u64,
    /// Seconds the calls in flight get to finish on Ctrl-C / SIGTERM; calls still running after
    /// it are answered with a JSON-RPC error (-32603 "server shutting down").
    #[arg(long, default_value_t = 10)]
    shutdown_grace_secs: u64,
    /// Serve HTTP on a non-loopback address without `[auth]`: anyone who reaches the address
    /// may call every tool. Without it, `serve` refuses to start there. An `[auth]` table, when
    /// present, is enforced all the same.
    #[arg(long, conflicts_with = "stdio")]
    no_auth: bool,
    /// Also serve `GET /metrics` (Prometheus text) on this address, a listener of its own (the
    /// HTTP listener serves `/metrics` anyway; with `--stdio` this is the only way to scrape).
    #[arg(long)]
    metrics_listen: Option<SocketAddr>,
    /// Append AutoGen-style events (one JSON object per line: each LLM call, tool call, chat
    /// message and agent event of the runs served) to this file.
    #[arg(long)]
    events: Option<PathBuf>,
}

/// Refuse to serve HTTP on a non-loopback address without authentication, unless `--no-auth`.
fn check_exposure(args: &ServeArgs, config: &Config) -> anyhow::Result<()> {
    if args.stdio || config.auth.http.is_some() {
        if args.no_auth && config.auth.http.is_some() {
            tracing::warn!("--no-auth has no effect: [auth] is configured and enforced");
        }
        return Ok(());
    }
    let address = args.listen;
    if address.ip().is_loopback() {
        return Ok(());
    }
    if args.no_auth {
        tracing::warn!(
            %address,
            "serving without authentication (--no-auth): anyone who can reach this address can call every tool"
        );
        return Ok(());
    }
    anyhow::bail!(
        "refusing to serve on {address} without authentication: anyone who can reach it could \
         call every tool.\n  Add an [auth] table to {config}, e.g.\n\n    [auth]\n    \
         issuer = \"https://idp.example.com\"\n    audience = \"https://mcp.example.com/mcp\"\n    \
         scopes = [\"mcp:tools\"]\n\n  or API keys ([[auth.api_keys]] name = \"ci\", key_env = \"CI_KEY\"); \
         see the README's \"Authentication\".\n  Or listen on 127.0.0.1 only, or pass --no-auth \
         to serve unauthenticated on purpose.",
        config = config.path.display(),
    )
}

/// Run `serve` until Ctrl-C / SIGTERM (or the stdio client leaves); then drain the calls in
/// flight, close the sessions and stop every upstream.
pub async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(&args.config.config)?;
    let telemetry = init_telemetry("info,rmcp=warn", &config.telemetry)?;
    check_exposure(&args, &config)?;
    let auth = match (&config.auth.http, args.stdio) {
        (Some(http), false) => Some(Authenticator::new(http, &config.gateway.name)?),
        _ => None,
    };
    if let Some(path) = &args.events {
        events::open(path)?;
    }
    let metrics_listener = match args.metrics_listen {
        Some(address) => Some(
            tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("cannot listen on {address} (--metrics-listen)"))?,
        ),
        None => None,
    };
    let store = args.store.url(&config, StoreDefault::File)?;
    let (config, gateway, shutdown, set) =
        start_over_config(config, &args.workbenches, &store).await?;
    let server = WorkbenchServer::new(
        Arc::clone(&gateway) as Arc<dyn Workbench>,
        config.gateway.name.clone(),
    );
    let tasks = server.task_store();
    observe(&gateway, &tasks);
    let metrics_stop = CancellationToken::new();
    let metrics_serving = serve_metrics(metrics_listener, metrics_stop.clone());
    let stop = Stop {
        drain: server.drain(),
        grace: Duration::from_secs(args.shutdown_grace_secs),
        signalled: CancellationToken::new(),
        sessions: CancellationToken::new(),
    };
    let rewrite = tool_extras(gateway.tool_extras_table());
    let serving = async {
        let outcome = serve_faces(&args, &config, &gateway, server, &stop, rewrite, auth).await;
        metrics_stop.cancel();
        outcome
    };
    let (outcome, ()) = tokio::join!(serving, metrics_serving);
    stop.sessions.cancel();
    tasks.shutdown().await;
    if let Some(set) = &set {
        set.shutdown().await;
    }
    shutdown.cancel();
    gateway.shutdown().await;
    events::close();
    let _ = tokio::task::spawn_blocking(metrics_export::shutdown).await;
    telemetry.shutdown(TELEMETRY_FLUSH).await;
    tracing::info!("stopped");
    outcome.map(|()| ExitCode::SUCCESS)
}

/// `toolyard_upstream_up` and `toolyard_tasks` read the served gateway and task store.
fn observe(gateway: &Arc<Gateway>, tasks: &TaskStore) {
    let gateway = Arc::downgrade(gateway);
    metrics::observe_upstreams(Arc::new(move || {
        gateway.upgrade().map_or_else(Vec::new, |g| {
            g.statuses()
                .into_iter()
                .map(|s| (s.name, s.state == "ready"))
                .collect()
        })
    }));
    let tasks = tasks.clone();
    metrics::observe_tasks(Arc::new(move || tasks.counts()));
}

/// `GET /metrics` on the `--metrics-listen` listener, until `stop`.
async fn serve_metrics(listener: Option<tokio::net::TcpListener>, stop: CancellationToken) {
    let Some(listener) = listener else { return };
    if let Ok(local) = listener.local_addr() {
        tracing::info!(address = %local, "serving metrics at http://{local}/metrics");
    }
    let config = ListenConfig::default();
    serve(listener, metrics_router(), config, stop.clone(), stop).await;
}

/// Serves MCP on stdio or HTTP until the client leaves or a signal has drained the calls.
async fn serve_faces(
    args: &ServeArgs,
    config: &Config,
    gateway: &Arc<Gateway>,
    server: WorkbenchServer,
    stop: &Stop,
    rewrite: OutgoingRewrite,
    auth: Option<Arc<Authenticator>>,
) -> anyhow::Result<()> {
    if args.stdio {
        let local = Principal::new(AuthMethod::Stdio, config.auth.stdio.clone());
        let server = server.with_principal(Arc::new(local));
        let serving = serve_stdio(server, Some(rewrite), stop.sessions.clone());
        let mut serving = std::pin::pin!(serving);
        // The client leaving ends the session; a signal drains it first.
        let served = tokio::select! {
            served = serving.as_mut() => served,
            () = stop.on_signal() => serving.await,
        };
        served.map_err(anyhow::Error::from)
    } else {
        let policy = OriginPolicy::default()
            .with_hosts(args.allow_hosts.clone())
            .with_origins(args.allow_origins.clone());
        let health_gateway = Arc::clone(gateway);
        let app = router(
            server,
            Arc::new(move || health_gateway.statuses()),
            HttpConfig {
                origin_policy: policy,
                max_body_bytes: args.max_body_bytes,
                body_read_timeout: Duration::from_secs(args.body_read_timeout_secs),
                shutdown: stop.sessions.clone(),
                rewrite: Some(rewrite),
                sessions: SessionLimits {
                    max_sessions: args
                        .max_sessions
                        .map_or(config.gateway.max_sessions, |max| {
                            usize::try_from(max).unwrap_or(usize::MAX)
                        }),
                    idle: args
                        .session_idle_secs
                        .map_or(config.gateway.session_idle, Duration::from_secs),
                    park_after: Duration::from_secs(args.session_park_secs),
                },
                auth,
            },
        );
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let local = listener.local_addr()?;
        tracing::info!(address = %local, "serving MCP at http://{local}/mcp (legacy SSE at /sse)");
        let listen = ListenConfig {
            header_read_timeout: Duration::from_secs(args.header_read_timeout_secs),
            max_connections_per_client: usize::try_from(args.max_connections_per_client)
                .unwrap_or(usize::MAX),
            ..ListenConfig::default()
        };
        let serving = serve(
            listener,
            app,
            listen,
            stop.signalled.clone(),
            stop.sessions.clone(),
        );
        tokio::join!(serving, stop.on_signal());
        Ok(())
    }
}

/// The steps of a graceful stop.
struct Stop {
    /// The calls in flight.
    drain: Drain,
    /// How long they get.
    grace: Duration,
    /// Cancelled on Ctrl-C / SIGTERM: stop accepting connections.
    signalled: CancellationToken,
    /// Cancelled once the calls are answered: end every session and close the connections.
    sessions: CancellationToken,
}

impl Stop {
    /// On Ctrl-C / SIGTERM: stop accepting, drain the calls in flight, then end the sessions.
    async fn on_signal(&self) {
        wait_for_signal().await;
        tracing::info!(grace = ?self.grace, "shutting down: finishing the calls in flight");
        self.signalled.cancel();
        match self.drain.stop(self.grace).await {
            Stopped::Finished => tracing::info!("every call in flight finished"),
            Stopped::Expired { answered } => tracing::warn!(
                answered,
                "the shutdown grace ran out; calls still running were answered with an error"
            ),
        }
        self.sessions.cancel();
    }
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
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
}
