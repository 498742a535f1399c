//! toolyard side of bench/agents.sh: AssistantAgent scenarios against a running scripted server.
//! Prints one JSON object: {scenario: ms_per_run}.
//!
//! `agents_bench <openai_base_url> <runs> <warmup>`

use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use toolyard::agents::{AssistantAgent, ChatAgent};
use toolyard::models::{ChatCompletionClient, OpenAiClient, OpenAiConfig};
use toolyard::tools::{FunctionTool, Tool};

fn client(base_url: &str) -> anyhow::Result<Arc<dyn ChatCompletionClient>> {
    let mut config = OpenAiConfig::new("gpt-4o");
    config.api_key = Some("sk-bench".into());
    config.base_url = Some(base_url.to_string());
    config.max_retries = Some(0);
    Ok(Arc::new(OpenAiClient::new(config)?))
}

fn add_tool() -> anyhow::Result<Arc<dyn Tool>> {
    let schema = json!({
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"]
    });
    let tool = FunctionTool::new(
        "add",
        "Adds two integers.",
        schema,
        |args: Value, _| async move {
            Ok(json!(
                args["a"].as_i64().unwrap_or(0) + args["b"].as_i64().unwrap_or(0)
            ))
        },
    )?;
    Ok(Arc::new(tool))
}

const STREAMED: &str = "Streaming is a way to show the answer as it is produced, one small piece after another, so the user sees progress at once.";

async fn time_runs(
    agent: &AssistantAgent,
    runs: usize,
    warmup: usize,
    expected: &str,
) -> anyhow::Result<f64> {
    for _ in 0..warmup {
        agent.run("Go".into(), CancellationToken::new()).await?;
        agent.on_reset(CancellationToken::new()).await?;
    }
    let start = Instant::now();
    for _ in 0..runs {
        let result = agent.run("Go".into(), CancellationToken::new()).await?;
        let last = result.messages.last().map(|m| m.to_text());
        anyhow::ensure!(
            last.as_deref() == Some(expected),
            "unexpected result {last:?}"
        );
        agent.on_reset(CancellationToken::new()).await?;
    }
    Ok(start.elapsed().as_secs_f64() * 1000.0 / runs as f64)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let base_url = args
        .get(1)
        .map(String::as_str)
        .unwrap_or("http://127.0.0.1:8089/v1");
    let runs: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(200);
    let warmup: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(20);
    let make = |system: &str| {
        AssistantAgent::builder("assistant", client(base_url)?)
            .system_message(Some(system.to_string()))
            .build()
            .map_err(anyhow::Error::from)
    };
    let text = make("bench-text")?;
    let tool = AssistantAgent::builder("assistant", client(base_url)?)
        .system_message(Some("bench-tool".into()))
        .tool(add_tool()?)
        .build()?;
    let reflect = AssistantAgent::builder("assistant", client(base_url)?)
        .system_message(Some("bench-tool".into()))
        .tool(add_tool()?)
        .reflect_on_tool_use(true)
        .build()?;
    let stream = AssistantAgent::builder("assistant", client(base_url)?)
        .system_message(Some("bench-stream".into()))
        .model_client_stream(true)
        .build()?;
    let out = json!({
        "text": time_runs(&text, runs, warmup, "Hello! How can I help you today?").await?,
        "tool_no_reflection": time_runs(&tool, runs, warmup, "3").await?,
        "tool_reflection": time_runs(&reflect, runs, warmup, "The sum of 1 and 2 is 3.").await?,
        "streaming": time_runs(&stream, runs, warmup, STREAMED).await?,
    });
    println!("{out}");
    Ok(())
}
