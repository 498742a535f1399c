//! `toolyard call`: call one tool and print its answer; progress goes to stderr meanwhile.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use rmcp::model::{CallToolResult, JsonObject};
use tokio_util::sync::CancellationToken;
use toolyard::workbench::{CallContext, WorkbenchError};

use super::target::{StderrProgress, Target, UrlArgs};
use super::{ConfigArgs, StoreArgs, TELEMETRY_FLUSH, WorkbenchArgs, init_telemetry};

/// Options of `toolyard call`.
#[derive(Debug, clap::Args)]
pub struct CallArgs {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    workbenches: WorkbenchArgs,
    #[command(flatten)]
    url: UrlArgs,
    #[command(flatten)]
    store: StoreArgs,
    /// The tool's served name (e.g. `everything__echo`).
    tool: String,
    /// Arguments as a JSON object.
    #[arg(long, default_value = "{}")]
    args: String,
    /// Print the whole result as JSON (content, structured content, error flag).
    #[arg(long)]
    json: bool,
}

/// Call the tool; exit 1 when the tool reports an error, 130 after Ctrl-C.
pub async fn run(args: CallArgs) -> anyhow::Result<ExitCode> {
    let telemetry = init_telemetry(Target::log_filter(&args.url), &Default::default())?;
    let arguments: JsonObject = serde_json::from_str(&args.args)
        .with_context(|| format!("--args is not a JSON object: {}", args.args))?;
    let target = Target::open(&args.url, &args.config, &args.workbenches, &args.store).await?;
    let cancel = CancellationToken::new();
    let ctx = CallContext {
        cancel: cancel.clone(),
        observer: Arc::new(StderrProgress),
        ..CallContext::default()
    };
    let call = target
        .workbench()
        .call_tool(&args.tool, Some(arguments), ctx);
    tokio::pin!(call);
    // Ctrl-C cancels the call (upstreams are told) and waits for it to end.
    let outcome = tokio::select! {
        outcome = &mut call => outcome,
        _ = tokio::signal::ctrl_c() => {
            cancel.cancel();
            call.await
        }
    };
    target.shutdown().await;
    telemetry.shutdown(TELEMETRY_FLUSH).await;
    let result = match outcome {
        Ok(result) => result,
        Err(WorkbenchError::Cancelled) => {
            eprintln!("cancelled");
            return Ok(ExitCode::from(130));
        }
        Err(e) => {
            return Err(e).with_context(|| format!("calling {} failed", args.tool));
        }
    };
    print_result(&result, args.json)?;
    Ok(if result.is_error == Some(true) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The answer's text (other content blocks as JSON lines), or the whole result with `json`.
fn print_result(result: &CallToolResult, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(result)?);
        return Ok(());
    }
    for block in &result.content {
        match block.as_text() {
            Some(t) => println!("{}", t.text),
            None => println!("{}", serde_json::to_string(block)?),
        }
    }
    Ok(())
}
