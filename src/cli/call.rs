//! `toolyard call`: call one tool and print its result.

use std::process::ExitCode;

use anyhow::Context;
use rmcp::model::JsonObject;
use toolyard::workbench::{CallContext, Workbench};

use super::{
    ConfigArgs, WorkbenchArgs, init_logging, start_gateway_with_workbenches, wait_for_upstreams,
};

/// Options of `toolyard call`.
#[derive(Debug, clap::Args)]
pub struct CallArgs {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    workbenches: WorkbenchArgs,
    /// The tool's served name (e.g. `everything__echo`).
    tool: String,
    /// Arguments as a JSON object.
    #[arg(long, default_value = "{}")]
    args: String,
    /// Print the whole result as JSON.
    #[arg(long)]
    json: bool,
}

/// Call the tool; exit 1 when the tool reports an error.
pub async fn run(args: CallArgs) -> anyhow::Result<ExitCode> {
    init_logging("warn");
    let arguments: JsonObject = serde_json::from_str(&args.args)
        .with_context(|| format!("--args is not a JSON object: {}", args.args))?;
    let folder = args.workbenches.folder()?;
    let (config, gateway, _shutdown, set) =
        start_gateway_with_workbenches(&args.config, folder.as_deref()).await?;
    wait_for_upstreams(&config, &gateway).await;
    let outcome = gateway
        .call_tool(&args.tool, Some(arguments), CallContext::default())
        .await;
    if let Some(set) = &set {
        set.shutdown().await;
    }
    gateway.shutdown().await;
    let result = outcome?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        for block in &result.content {
            match block.as_text() {
                Some(t) => println!("{}", t.text),
                None => println!("{}", serde_json::to_string(block)?),
            }
        }
        if let Some(structured) = &result.structured_content {
            println!("{}", serde_json::to_string_pretty(structured)?);
        }
    }
    Ok(if result.is_error == Some(true) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
