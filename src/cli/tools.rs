//! `toolyard tools`: list the aggregated tools (of a gateway started here, or at `--url`).

use std::process::ExitCode;

use super::target::{Target, UrlArgs};
use super::{ConfigArgs, StoreArgs, WorkbenchArgs, init_logging};

/// Options of `toolyard tools`.
#[derive(Debug, clap::Args)]
pub struct ToolsArgs {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    workbenches: WorkbenchArgs,
    #[command(flatten)]
    url: UrlArgs,
    /// Print the full tool definitions as JSON.
    #[arg(long)]
    json: bool,
    /// Seconds to wait for upstreams that are still starting before listing what is ready
    /// (the others are named on stderr); an upstream that fails sooner costs no waiting.
    #[arg(long, default_value_t = 10)]
    wait_secs: u64,
}

/// List tools: name, server, description (or JSON).
pub async fn run(args: ToolsArgs) -> anyhow::Result<ExitCode> {
    init_logging(Target::log_filter(&args.url));
    let target = Target::open(
        &args.url,
        &args.config,
        &args.workbenches,
        &StoreArgs::memory(),
    )
    .await?;
    let listed = target
        .tools(std::time::Duration::from_secs(args.wait_secs))
        .await;
    let warnings = target.warnings();
    target.shutdown().await;
    let tools = listed?;
    if args.json {
        let all: Vec<_> = tools.iter().map(|t| t.spec.to_json()).collect();
        println!("{}", serde_json::to_string_pretty(&all)?);
    } else {
        let width = tools.iter().map(|t| t.name.len()).max().unwrap_or(4).max(4);
        let server = |t: &super::target::Listed| t.server.clone().unwrap_or_else(|| "-".into());
        let server_width = tools
            .iter()
            .map(|t| server(t).len())
            .max()
            .unwrap_or(6)
            .max(6);
        println!("{:width$}  {:server_width$}  DESCRIPTION", "NAME", "SERVER");
        for t in &tools {
            let description = t.spec.tool.description.as_deref().unwrap_or("");
            let first_line = description.lines().next().unwrap_or("");
            println!(
                "{:width$}  {:server_width$}  {first_line}",
                t.name,
                server(t)
            );
        }
    }
    for warning in warnings {
        eprintln!("warning: {warning}");
    }
    Ok(ExitCode::SUCCESS)
}
