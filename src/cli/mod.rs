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
use std::time::Duration;

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;
use toolyard::config::Config;
use toolyard::gateway::Gateway;

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

/// Wait for upstreams for one-shot commands: as long as the slowest start-up allows.
pub async fn wait_for_upstreams(config: &Config, gateway: &Gateway) {
    let longest = config
        .servers
        .iter()
        .map(|s| s.startup_timeout)
        .max()
        .unwrap_or(Duration::ZERO);
    gateway
        .wait_ready(longest + Duration::from_millis(500))
        .await;
}
