//! Command-line arguments and dispatch; each subcommand lives in its own file.

mod call;
mod check;
mod conversations;
mod demo_server;
mod health;
mod policy;
mod run;
mod runner;
mod serve;
mod target;
mod tools;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;
use toolyard::compose::{Conversations, ModelTable, WorkbenchSet};
use toolyard::config::{Config, DEFAULT_STORE_URL, StoreUrl};
use toolyard::gateway::{Gateway, Member};
use toolyard::policy::Guard;
use toolyard::store::Store;
use toolyard::telemetry::{LogFormat, Telemetry};

/// MCP gateway and tool-orchestration service.
#[derive(Debug, Parser)]
#[command(name = "toolyard", version, about)]
pub struct Cli {
    /// Log lines on stderr: `text`, or `json` (one object per line, with trace_id / span_id
    /// inside a traced span).
    #[arg(
        long,
        global = true,
        env = "TOOLYARD_LOG_FORMAT",
        default_value = "text"
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// The command line's `--log-format`, for whichever subcommand sets logging up.
static LOG_FORMAT: OnceLock<LogFormat> = OnceLock::new();

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the aggregated upstream servers as one MCP server.
    Serve(serve::ServeArgs),
    /// List the aggregated tools.
    Tools(tools::ToolsArgs),
    /// Call one tool and print its result.
    Call(call::CallArgs),
    /// Validate the config, connect to every upstream and report on each.
    Check(check::CheckArgs),
    /// List the conversations with served teams and agents kept in the store.
    Conversations(conversations::ConversationsArgs),
    /// Run one agent or team from a file in the terminal (like AutoGen's Console).
    Run(run::RunArgs),
    /// Work with the `[policy]` rules (`toolyard policy test`).
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// Ask a running gateway's /healthz; exit 0 when every upstream is ready (for health checks).
    Health(health::HealthArgs),
    /// Serve toolyard's example MCP server (what the bundled servers.toml starts as `demo`).
    #[command(hide = true)]
    DemoServer(demo_server::DemoServerArgs),
}

/// Options every subcommand that reads a config takes.
#[derive(Debug, clap::Args)]
pub struct ConfigArgs {
    /// Path of servers.toml.
    #[arg(
        long,
        short = 'c',
        default_value = "servers.toml",
        env = "TOOLYARD_CONFIG"
    )]
    config: PathBuf,
}

/// Where the workbench files are (`toolyard serve` / `tools` / `call` / `check`).
#[derive(Debug, clap::Args)]
pub struct WorkbenchArgs {
    /// Folder of workbench files (agents and teams served as tools); default: `workbenches`
    /// next to the config file, skipped when that folder does not exist.
    #[arg(long, env = "TOOLYARD_WORKBENCHES")]
    workbenches: Option<PathBuf>,
}

impl WorkbenchArgs {
    /// The folder to use for `config`, if any: the named one (which must exist), else
    /// `workbenches/` in the config file's folder when it exists. Logs which one is served.
    pub fn folder(&self, config: &Config) -> anyhow::Result<Option<PathBuf>> {
        let folder = match &self.workbenches {
            Some(dir) if dir.is_dir() => Some(dir.clone()),
            Some(dir) => anyhow::bail!("workbench folder {} does not exist", dir.display()),
            None => {
                let default = config.dir.join("workbenches");
                if !default.is_dir() {
                    tracing::info!(
                        "no workbench folder: {} does not exist (name one with --workbenches)",
                        default.display()
                    );
                }
                default.is_dir().then_some(default)
            }
        };
        if let Some(dir) = &folder {
            let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.clone());
            tracing::info!("serving the workbench folder {}", dir.display());
        }
        Ok(folder)
    }
}

/// Where durable state is kept (`serve`, `call`, `conversations`).
#[derive(Debug, clap::Args)]
pub struct StoreArgs {
    /// The store: `sqlite://PATH` (relative to the current folder), `postgres://user@host/db`
    /// or `memory://` (nothing kept). Default: `[store] url` of the config, else the command's
    /// own default (`serve`: sqlite://.toolyard/state.db next to the config file).
    #[arg(long = "store", env = "TOOLYARD_STORE", value_name = "URL")]
    store: Option<String>,
}

/// What a command uses when neither `--store`, `TOOLYARD_STORE` nor `[store] url` names a store.
#[derive(Debug, Clone, Copy)]
pub enum StoreDefault {
    /// `sqlite://.toolyard/state.db` next to the config file (`serve`, `conversations`).
    File,
    /// `memory://` (`call`, `tools`).
    Memory,
}

impl StoreArgs {
    /// `memory://`, whatever the environment says (`tools` runs nothing worth keeping).
    pub fn memory() -> Self {
        Self {
            store: Some("memory://".into()),
        }
    }

    /// The store to use with `config`.
    pub fn url(&self, config: &Config, default: StoreDefault) -> anyhow::Result<StoreUrl> {
        if let Some(text) = &self.store {
            let here = std::env::current_dir().unwrap_or_default();
            return StoreUrl::parse(text, &here)
                .map_err(|message| anyhow::anyhow!("--store: {message}"));
        }
        if let Some(url) = &config.store.url {
            return Ok(url.clone());
        }
        Ok(match default {
            StoreDefault::File => StoreUrl::parse(DEFAULT_STORE_URL, &config.dir)
                .map_err(|message| anyhow::anyhow!("{message}"))?,
            StoreDefault::Memory => StoreUrl::Memory,
        })
    }
}

/// The models table of `config` (scripted model servers started when `start`); relative
/// `script` paths resolve against the config file's folder.
pub async fn model_table(config: &Config, start: bool) -> anyhow::Result<ModelTable> {
    let mut models = ModelTable::parse(&config.models, &config.dir)?;
    if start {
        models.start().await?;
    }
    Ok(models)
}

/// A started gateway: the config, the gateway (upstreams plus workbench tools), its shutdown
/// token and the workbench set (kept alive while the gateway serves).
pub type Started = (
    Config,
    Arc<Gateway>,
    CancellationToken,
    Option<Arc<WorkbenchSet>>,
);

/// Load the config and start the gateway over it plus the workbench tools of the folder
/// `workbenches` names (or the default one next to the config).
pub async fn start_gateway_with_workbenches(
    args: &ConfigArgs,
    workbenches: &WorkbenchArgs,
    store: &StoreArgs,
    default: StoreDefault,
) -> anyhow::Result<Started> {
    let config = Config::load(&args.config)?;
    let store = store.url(&config, default)?;
    start_over_config(config, workbenches, &store).await
}

/// [`start_gateway_with_workbenches`] over a config already loaded; the workbench tools keep
/// their conversations in `store` (opened only when there is a workbench folder).
pub async fn start_over_config(
    config: Config,
    workbenches: &WorkbenchArgs,
    store: &StoreUrl,
) -> anyhow::Result<Started> {
    let guard = Guard::from_config(&config)?;
    let folder = workbenches.folder(&config)?;
    let shutdown = CancellationToken::new();
    let Some(folder) = folder.as_deref() else {
        let gateway = Gateway::from_config_guarded(&config, Vec::new(), guard, shutdown.clone());
        return Ok((config, gateway, shutdown, None));
    };
    let models = Arc::new(model_table(&config, true).await?);
    let store = Store::open(store).await?;
    tracing::info!(store = store.url(), "conversations are kept in the store");
    let set = WorkbenchSet::load(folder, models);
    set.keep_conversations(Arc::new(Conversations::new(
        store,
        config.store.conversation_ttl,
    )));
    let member = Member {
        name: String::new(),
        workbench: Arc::clone(&set) as Arc<dyn toolyard::workbench::Workbench>,
        filter: Default::default(),
    };
    let gateway = Gateway::from_config_guarded(&config, vec![member], guard, shutdown.clone());
    set.gateway_handle().bind(&gateway);
    set.watch(shutdown.clone());
    Ok((config, gateway, shutdown, Some(set)))
}

/// Run the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let _ = LOG_FORMAT.set(cli.log_format);
    match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Tools(args) => tools::run(args).await,
        Command::Call(args) => call::run(args).await,
        Command::Check(args) => check::run(args).await,
        Command::Run(args) => run::run(args).await,
        Command::Conversations(args) => conversations::run(args).await,
        Command::Health(args) => health::run(args).await,
        Command::Policy(command) => policy::run(command),
        Command::DemoServer(args) => demo_server::run(args).await,
    }
}

/// Log to stderr (never stdout: stdout may be the MCP channel) in the `--log-format`;
/// `RUST_LOG` overrides `default`. Text has colours only when stderr is a terminal and
/// `NO_COLOR` is not set (an IDE's log pane or a container log shows escape codes as garbage).
/// No traces: see [`init_telemetry`].
pub fn init_logging(default: &str) {
    let format = LOG_FORMAT.get().copied().unwrap_or_default();
    let _ = toolyard::telemetry::install(format, default, None);
}

/// [`init_logging`], plus OpenTelemetry traces when the `OTEL_*` environment or `traces`
/// (`[telemetry]`) name a collector. Flush with [`Telemetry::shutdown`] before exiting.
pub fn init_telemetry(
    default: &str,
    traces: &toolyard::config::TelemetryConfig,
) -> anyhow::Result<Telemetry> {
    let format = LOG_FORMAT.get().copied().unwrap_or_default();
    Ok(toolyard::telemetry::install(format, default, Some(traces))?)
}

/// How long shutdown waits for the last spans to reach the collector.
pub const TELEMETRY_FLUSH: std::time::Duration = std::time::Duration::from_secs(5);

/// The log filter of one-shot commands: the library's warnings, and the command line's own
/// notes (which workbench folder, which gateway).
pub const ONE_SHOT_LOG: &str = "warn,toolyard::cli=info";

/// Load the config and start the gateway over it, without its `[policy]` guard (for `check`,
/// which compiles the rules itself and writes no audit line).
pub fn start_gateway(
    args: &ConfigArgs,
) -> anyhow::Result<(Config, Arc<Gateway>, CancellationToken)> {
    let config = Config::load(&args.config)?;
    let shutdown = CancellationToken::new();
    let gateway = Gateway::from_config(&config, shutdown.clone());
    Ok((config, gateway, shutdown))
}

/// Wait for upstreams for one-shot commands: until each one's first connection attempt has
/// succeeded or failed (bounded by its start-up timeout), so a broken server costs no waiting.
pub async fn wait_for_upstreams(gateway: &Gateway) {
    gateway.wait_settled().await;
}
