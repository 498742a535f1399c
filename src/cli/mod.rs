//! Command-line arguments and dispatch; each subcommand lives in its own file.

mod call;
mod check;
mod run;
mod runner;
mod serve;
mod tools;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;
use toolyard::config::Config;
use toolyard::gateway::{Gateway, Member};
use toolyard::workbenches::{ModelTable, WorkbenchSet};

/// MCP gateway and tool-orchestration service.
#[derive(Debug, Parser)]
#[command(name = "toolyard", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

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
    /// Run one agent or team from a file in the terminal (like AutoGen's Console).
    Run(run::RunArgs),
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

/// Where the workbench files are (`toolyard serve` / `check`).
#[derive(Debug, clap::Args)]
pub struct WorkbenchArgs {
    /// Folder of workbench files (agents and teams served as tools); default `./workbenches`,
    /// skipped when that default folder does not exist.
    #[arg(long, env = "TOOLYARD_WORKBENCHES")]
    workbenches: Option<PathBuf>,
}

impl WorkbenchArgs {
    /// The folder to use, if any; an explicitly named folder must exist.
    pub fn folder(&self) -> anyhow::Result<Option<PathBuf>> {
        match &self.workbenches {
            Some(dir) if dir.is_dir() => Ok(Some(dir.clone())),
            Some(dir) => anyhow::bail!("workbench folder {} does not exist", dir.display()),
            None => {
                let default = PathBuf::from("workbenches");
                Ok(default.is_dir().then_some(default))
            }
        }
    }
}

/// The models table of `config` (scripted model servers started when `start`).
pub async fn model_table(config: &Config, start: bool) -> anyhow::Result<ModelTable> {
    let base = config
        .path
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let mut models = ModelTable::parse(&config.models, &base)?;
    if start {
        models.start().await?;
    }
    Ok(models)
}

/// Load the config and start the gateway over it plus the workbench tools of `folder`.
pub async fn start_gateway_with_workbenches(
    args: &ConfigArgs,
    folder: Option<&std::path::Path>,
) -> anyhow::Result<(
    Config,
    Arc<Gateway>,
    CancellationToken,
    Option<Arc<WorkbenchSet>>,
)> {
    let config = Config::load(&args.config)?;
    let shutdown = CancellationToken::new();
    let Some(folder) = folder else {
        let gateway = Gateway::from_config(&config, shutdown.clone());
        return Ok((config, gateway, shutdown, None));
    };
    let models = Arc::new(model_table(&config, true).await?);
    let set = WorkbenchSet::load(folder, models);
    let member = Member {
        name: String::new(),
        workbench: Arc::clone(&set) as Arc<dyn toolyard::workbench::Workbench>,
        filter: Default::default(),
    };
    let gateway = Gateway::from_config_with(&config, vec![member], shutdown.clone());
    set.gateway_handle().bind(&gateway);
    set.watch(shutdown.clone());
    Ok((config, gateway, shutdown, Some(set)))
}

/// Run the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Tools(args) => tools::run(args).await,
        Command::Call(args) => call::run(args).await,
        Command::Check(args) => check::run(args).await,
        Command::Run(args) => run::run(args).await,
    }
}

/// Log to stderr (never stdout: stdout may be the MCP channel). `RUST_LOG` overrides `default`.
pub fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// Load the config and start the gateway over it.
pub fn start_gateway(
    args: &ConfigArgs,
) -> anyhow::Result<(Config, Arc<Gateway>, CancellationToken)> {
    let config = Config::load(&args.config)?;
    let shutdown = CancellationToken::new();
    let gateway = Gateway::from_config(&config, shutdown.clone());
    Ok((config, gateway, shutdown))
}

/// Wait until every upstream has connected or failed its first attempt (each bounded by its
/// start-up timeout), for commands that report on all of them (`check`, `tools`).
pub async fn wait_for_upstreams(gateway: &Gateway) {
    gateway.wait_settled().await;
}
