//! Benchmark: the OpenAI-compatible client against the scripted model server, next to a raw
//! reqwest POST of the same body to the same server, streaming and not. Run via bench/models.sh.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Parser;
use futures::StreamExt;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use toolyard::models::scripted::{Script, ScriptedServer, Step};
use toolyard::models::{ChatCompletionClient, CreateRequest, LlmMessage, OpenAiClient, StreamItem};

/// Command-line options.
#[derive(Parser)]
struct Args {
    /// Requests per sequential (latency) run.
    #[arg(long, default_value_t = 2000)]
    sequential: usize,
    /// Requests per concurrent (throughput) run.
    #[arg(long, default_value_t = 10000)]
    requests: usize,
    /// Concurrent requests in flight for throughput runs.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
}

const REPLY: &str = "The quick brown fox jumps over the lazy dog and keeps running far away.";

#[derive(Clone, Copy)]
enum Mode {
    RawJson,
    RawStream,
    ClientJson,
    ClientStream,
}

impl Mode {
    fn label(self) -> &'static str {
        match self {
            Mode::RawJson => "raw reqwest POST (json)",
            Mode::RawStream => "raw reqwest POST (sse)",
            Mode::ClientJson => "OpenAiClient::create",
            Mode::ClientStream => "OpenAiClient::create_stream",
        }
    }
}

struct Ctx {
    http: reqwest::Client,
    url: String,
    client: OpenAiClient,
    json_body: bytes::Bytes,
    sse_body: bytes::Bytes,
}

fn request() -> CreateRequest {
    CreateRequest::new(vec![
        LlmMessage::system("You are a benchmark."),
        LlmMessage::user("Say something about foxes.", "user"),
    ])
}

async fn once(ctx: &Ctx, mode: Mode) -> Result<()> {
    match mode {
        Mode::RawJson | Mode::RawStream => {
            let body = if matches!(mode, Mode::RawJson) {
                &ctx.json_body
            } else {
                &ctx.sse_body
            };
            let response = ctx
                .http
                .post(&ctx.url)
                .header("content-type", "application/json")
                .bearer_auth("bench")
                .body(body.clone())
                .send()
                .await?;
            anyhow::ensure!(
                response.status().is_success(),
                "status {}",
                response.status()
            );
            let bytes = response.bytes().await?;
            anyhow::ensure!(!bytes.is_empty(), "empty body");
        }
        Mode::ClientJson => {
            let r = ctx
                .client
                .create(request(), CancellationToken::new())
                .await?;
            anyhow::ensure!(r.content.as_text() == Some(REPLY), "unexpected reply");
        }
        Mode::ClientStream => {
            let mut stream = ctx
                .client
                .create_stream(request(), CancellationToken::new());
            let mut done = false;
            while let Some(item) = stream.next().await {
                if let StreamItem::Done(r) = item? {
                    anyhow::ensure!(r.content.as_text() == Some(REPLY), "unexpected reply");
                    done = true;
                }
            }
            anyhow::ensure!(done, "stream without Done");
        }
    }
    Ok(())
}

async fn sequential(ctx: &Ctx, mode: Mode, n: usize) -> Result<Duration> {
    for _ in 0..n / 10 {
        once(ctx, mode).await?;
    }
    let start = Instant::now();
    for _ in 0..n {
        once(ctx, mode).await?;
    }
    Ok(start.elapsed() / n as u32)
}

async fn concurrent(ctx: Arc<Ctx>, mode: Mode, n: usize, c: usize) -> Result<f64> {
    let start = Instant::now();
    let results: Vec<Result<()>> = futures::stream::iter(0..n)
        .map(|_| {
            let ctx = ctx.clone();
            async move { once(&ctx, mode).await }
        })
        .buffer_unordered(c)
        .collect()
        .await;
    let failed = results.iter().filter(|r| r.is_err()).count();
    anyhow::ensure!(failed == 0, "{failed} requests failed");
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

fn main() -> Result<()> {
    let args = Args::parse();
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let script = Script {
        record: false,
        ..Script::steps(vec![Step::text(REPLY)])
    };
    let server = server_rt
        .block_on(ScriptedServer::start(script))
        .context("server")?;
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let client = OpenAiClient::new(server.openai_config())?;
    let messages = json!([{"role": "system", "content": "You are a benchmark."},
        {"role": "user", "content": "Say something about foxes.", "name": "user"}]);
    let json_body = serde_json::to_vec(&json!({"model": "gpt-4o", "messages": messages}))?;
    let sse_body = serde_json::to_vec(&json!({"model": "gpt-4o", "messages": messages,
        "stream": true, "stream_options": {"include_usage": true}}))?;
    let ctx = Arc::new(Ctx {
        http: reqwest::Client::new(),
        url: client.url().to_string(),
        client,
        json_body: json_body.into(),
        sse_body: sse_body.into(),
    });
    println!(
        "scripted server at {} (1 server thread, 1 client thread)",
        server.base_url()
    );
    println!(
        "{:<30} {:>14} {:>16}",
        "mode",
        "latency (us)",
        format!("req/s (c={})", args.concurrency)
    );
    let mut lat = Vec::new();
    for mode in [
        Mode::RawJson,
        Mode::ClientJson,
        Mode::RawStream,
        Mode::ClientStream,
    ] {
        let latency = client_rt.block_on(sequential(&ctx, mode, args.sequential))?;
        let rps = client_rt.block_on(concurrent(
            ctx.clone(),
            mode,
            args.requests,
            args.concurrency,
        ))?;
        println!(
            "{:<30} {:>14.1} {:>16.0}",
            mode.label(),
            latency.as_secs_f64() * 1e6,
            rps
        );
        lat.push(latency.as_secs_f64() * 1e6);
    }
    println!(
        "client overhead per request vs raw reqwest: json {:.1} us, sse {:.1} us",
        lat[1] - lat[0],
        lat[3] - lat[2]
    );
    println!(
        "scripted server requests/s (raw json, c={}): see first row",
        args.concurrency
    );
    Ok(())
}
