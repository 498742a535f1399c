//! What `toolyard tools` and `call` talk to: a gateway they start themselves over servers.toml,
//! or a running gateway at `--url` (rmcp's streamable HTTP client, through an `McpWorkbench`);
//! and the observer that shows a call's progress on stderr.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;
use toolyard::compose::WorkbenchSet;
use toolyard::config::ServerConfig;
use toolyard::gateway::Gateway;
use toolyard::mcp::McpWorkbench;
use toolyard::workbench::{CallObserver, ToolSpec, Workbench};
use url::Url;

use super::{
    ConfigArgs, StoreArgs, StoreDefault, WorkbenchArgs, start_gateway_with_workbenches,
    wait_for_upstreams,
};

/// How long a call through `--url` may take (a team run can be long; Ctrl-C cancels it).
const REMOTE_CALL_TIMEOUT: Duration = Duration::from_secs(600);
/// How long connecting to a running gateway may take.
const REMOTE_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Where to reach `--url`: a running gateway's streamable HTTP endpoint.
#[derive(Debug, clap::Args)]
pub struct UrlArgs {
    /// Talk to a running gateway (e.g. `http://127.0.0.1:8080/mcp`) instead of starting the
    /// upstream servers of --config.
    #[arg(long, value_name = "URL")]
    url: Option<Url>,
}

/// One tool as `toolyard tools` lists it.
pub struct Listed {
    /// The served name.
    pub name: String,
    /// The upstream server it comes from (unknown through `--url`).
    pub server: Option<String>,
    /// Its definition.
    pub spec: ToolSpec,
}

/// A gateway to list and call tools on.
pub enum Target {
    /// Started here over servers.toml (upstreams and workbench tools).
    Local {
        gateway: Arc<Gateway>,
        set: Option<Arc<WorkbenchSet>>,
    },
    /// A running gateway at a URL.
    Remote {
        gateway: McpWorkbench,
        shutdown: CancellationToken,
    },
}

impl Target {
    /// Connects to `--url` when given, else starts the gateway over `--config` and waits for
    /// its upstreams.
    pub async fn open(
        url: &UrlArgs,
        config: &ConfigArgs,
        workbenches: &WorkbenchArgs,
        store: &StoreArgs,
    ) -> anyhow::Result<Self> {
        let Some(url) = &url.url else {
            // A call waits only for the upstream it needs (the gateway does that); a listing
            // waits for the first connection attempts, up to a bound (see `tools`).
            let (_config, gateway, _shutdown, set) =
                start_gateway_with_workbenches(config, workbenches, store, StoreDefault::Memory)
                    .await?;
            return Ok(Self::Local { gateway, set });
        };
        tracing::info!("using the running gateway at {url}");
        reachable(url).await?;
        let mut server = ServerConfig::streamable_http("gateway", url.clone());
        server.timeout = REMOTE_CALL_TIMEOUT;
        server.startup_timeout = REMOTE_CONNECT_TIMEOUT;
        let shutdown = CancellationToken::new();
        let gateway = McpWorkbench::start(server, shutdown.clone());
        gateway.wait_settled(REMOTE_CONNECT_TIMEOUT).await;
        if gateway.status().state != "ready" {
            shutdown.cancel();
            gateway.stopped().await;
            let reason = gateway.status().error.unwrap_or_else(|| "no answer".into());
            anyhow::bail!("cannot reach the gateway at {url}: {reason}");
        }
        Ok(Self::Remote { gateway, shutdown })
    }

    /// The log filter for a command that opens `url`: through `--url` the one upstream is the
    /// gateway, whose failures the command reports itself.
    pub fn log_filter(url: &UrlArgs) -> &'static str {
        if url.url.is_some() {
            "off,toolyard::cli=info"
        } else {
            super::ONE_SHOT_LOG
        }
    }

    /// The tools and where they come from.
    pub async fn tools(&self, wait: std::time::Duration) -> anyhow::Result<Vec<Listed>> {
        if let Self::Local { gateway, .. } = self {
            // Each upstream's first connection attempt, but never longer than `wait`: one that
            // hangs is named by `warnings` instead of holding the listing up.
            let _ = tokio::time::timeout(wait, wait_for_upstreams(gateway)).await;
        }
        Ok(match self {
            Self::Local { gateway, .. } => gateway
                .exposed_tools()
                .await
                .into_iter()
                .map(|t| Listed {
                    name: t.name,
                    server: Some(t.server),
                    spec: t.spec,
                })
                .collect(),
            Self::Remote { gateway, .. } => gateway
                .list_tools()
                .await?
                .into_iter()
                .map(|spec| Listed {
                    name: spec.name().to_string(),
                    server: None,
                    spec,
                })
                .collect(),
        })
    }

    /// The gateway as a workbench, to call tools on.
    pub fn workbench(&self) -> &dyn Workbench {
        match self {
            Self::Local { gateway, .. } => gateway.as_ref(),
            Self::Remote { gateway, .. } => gateway,
        }
    }

    /// Warnings about servers that are not ready (local gateways only).
    pub fn warnings(&self) -> Vec<String> {
        match self {
            Self::Local { gateway, .. } => gateway
                .statuses()
                .into_iter()
                .filter(|s| s.state != "ready")
                .map(|s| match (s.state, s.error.as_deref()) {
                    ("starting", None) => format!(
                        "server `{}` is still starting: its tools are not listed \
                         (wait longer with --wait-secs)",
                        s.name
                    ),
                    (state, detail) => format!(
                        "server `{}` is {state}: {}",
                        s.name,
                        detail.unwrap_or("no detail")
                    ),
                })
                .collect(),
            Self::Remote { .. } => Vec::new(),
        }
    }

    /// Stops what `open` started (upstream processes, or the connection).
    pub async fn shutdown(&self) {
        match self {
            Self::Local { gateway, set } => {
                // Workbench files' own MCP servers stop first, then the upstreams.
                if let Some(set) = set {
                    set.shutdown().await;
                }
                gateway.shutdown().await
            }
            Self::Remote {
                gateway, shutdown, ..
            } => {
                shutdown.cancel();
                gateway.stopped().await;
            }
        }
    }
}

/// Fails with a plain reason ("connection refused") when nothing listens at `url`'s address,
/// before the MCP client wraps the same failure in transport detail.
async fn reachable(url: &Url) -> anyhow::Result<()> {
    let addrs = url
        .socket_addrs(|| None)
        .map_err(|e| anyhow::anyhow!("cannot reach the gateway at {url}: {e}"))?;
    let connect = tokio::net::TcpStream::connect(addrs.as_slice());
    match tokio::time::timeout(REMOTE_CONNECT_TIMEOUT, connect).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => anyhow::bail!(
            "cannot reach the gateway at {url}: {e} (is `toolyard serve` running there?)"
        ),
        Err(_) => anyhow::bail!("cannot reach the gateway at {url}: no answer"),
    }
}

/// Shows a call's progress notifications on stderr while it runs (stdout keeps the answer).
pub struct StderrProgress;

#[async_trait]
impl CallObserver for StderrProgress {
    async fn progress(&self, progress: f64, total: Option<f64>, message: Option<String>) {
        let count = match total {
            Some(total) => format!("{progress}/{total}"),
            None => progress.to_string(),
        };
        match message {
            Some(message) => eprintln!("progress {count}: {message}"),
            None => eprintln!("progress {count}"),
        }
    }
}
