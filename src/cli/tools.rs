//! `toolyard tools`: list the aggregated tools.

use std::process::ExitCode;

use super::{
    ConfigArgs, WorkbenchArgs, init_logging, start_gateway_with_workbenches, wait_for_upstreams,
};

/// Options of `toolyard tools`.
#[derive(Debug, clap::Args)]
pub struct ToolsArgs {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    workbenches: WorkbenchArgs,
    /// Print the full tool definitions as JSON.
    #[arg(long)]
    json: bool,
}

/// List tools: name, server, description (or JSON).
pub async fn run(args: ToolsArgs) -> anyhow::Result<ExitCode> {
    init_logging("warn");
    let folder = args.workbenches.folder()?;
    let (_config, gateway, _shutdown, _set) =
        start_gateway_with_workbenches(&args.config, folder.as_deref()).await?;
    wait_for_upstreams(&gateway).await;
    let tools = gateway.exposed_tools().await;
    if args.json {
        let all: Vec<_> = tools.iter().map(|t| t.spec.to_json()).collect();
        println!("{}", serde_json::to_string_pretty(&all)?);
    } else {
        let width = tools.iter().map(|t| t.name.len()).max().unwrap_or(4).max(4);
        let server_width = tools
            .iter()
            .map(|t| t.server.len())
            .max()
            .unwrap_or(6)
            .max(6);
        println!("{:width$}  {:server_width$}  DESCRIPTION", "NAME", "SERVER");
        for t in &tools {
            let description = t.spec.tool.description.as_deref().unwrap_or("");
            let first_line = description.lines().next().unwrap_or("");
            println!(
                "{:width$}  {:server_width$}  {first_line}",
                t.name, t.server
            );
        }
    }
    for status in gateway.statuses().iter().filter(|s| s.state != "ready") {
        eprintln!(
            "warning: server `{}` is {}: {}",
            status.name,
            status.state,
            status.error.as_deref().unwrap_or("no detail")
        );
    }
    gateway.shutdown().await;
    Ok(ExitCode::SUCCESS)
}
