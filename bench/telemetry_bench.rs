//! Tracing overhead benchmark: echo calls through `toolyard serve --stdio` to the demo upstream
//! with nothing configured, and with every span exported over OTLP/HTTP to a local receiver
//! (this process, answering 200); optionally the same calls through an older toolyard binary
//! (`--before`, nothing configured) to compare the off path with the code before telemetry.
//! The conditions run in alternating rounds in one process; the figures are the median over
//! rounds of each round's p50 / p99.
//!
//! Usage: telemetry_bench --toolyard PATH --demo PATH [--before PATH] [--calls N] [--rounds R]
//! (see bench/telemetry.sh)

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Parser;
use rmcp::model::CallToolRequestParams;
use rmcp::service::RunningService;
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};

#[derive(Parser)]
struct Args {
    /// The toolyard binary under test.
    #[arg(long)]
    toolyard: PathBuf,
    /// The demo_server example binary (the upstream).
    #[arg(long)]
    demo: PathBuf,
    /// An older toolyard binary, measured with nothing configured.
    #[arg(long)]
    before: Option<PathBuf>,
    /// Sequential calls per measurement.
    #[arg(long, default_value_t = 3000)]
    calls: usize,
    /// Alternating rounds of every condition.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

type Client = RunningService<RoleClient, ()>;

/// The local OTLP receiver: answers every POST 200 (an empty export response) and counts.
#[derive(Default)]
struct Receiver {
    requests: AtomicU64,
    bytes: AtomicU64,
}

async fn start_receiver() -> Result<(Arc<Receiver>, String)> {
    let receiver = Arc::new(Receiver::default());
    let counts = Arc::clone(&receiver);
    let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
        let counts = Arc::clone(&counts);
        async move {
            counts.requests.fetch_add(1, Ordering::Relaxed);
            counts.bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
            (
                [("content-type", "application/x-protobuf")],
                Vec::<u8>::new(),
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((receiver, format!("http://{addr}")))
}

async fn client(toolyard: &PathBuf, config: &PathBuf, env: &[(&str, &str)]) -> Result<Client> {
    let cmd = tokio::process::Command::new(toolyard).configure(|c| {
        c.args(["serve", "--stdio", "--config"])
            .arg(config)
            .env("RUST_LOG", "warn");
        for key in [
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        ] {
            c.env_remove(key);
        }
        for (k, v) in env {
            c.env(k, v);
        }
    });
    let (transport, _stderr) = TokioChildProcess::builder(cmd)
        .stderr(Stdio::null())
        .spawn()?;
    Ok(().serve(transport).await?)
}

async fn echo(client: &Client) -> Result<()> {
    let mut params = CallToolRequestParams::new("demo__echo".to_string());
    params.arguments = serde_json::json!({"message": "ping"}).as_object().cloned();
    let r = client.peer().call_tool(params).await?;
    anyhow::ensure!(r.is_error != Some(true), "tool error");
    Ok(())
}

/// p50 and p99 in µs of `calls` sequential echo calls (after 200 warm-up calls).
async fn measure(client: &Client, calls: usize) -> Result<(f64, f64)> {
    for _ in 0..200 {
        echo(client).await?;
    }
    let mut lat = Vec::with_capacity(calls);
    for _ in 0..calls {
        let t = Instant::now();
        echo(client).await?;
        lat.push(t.elapsed());
    }
    lat.sort();
    let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p) as usize].as_secs_f64() * 1e6;
    Ok((pct(0.50), pct(0.99)))
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

struct Condition {
    name: &'static str,
    binary: PathBuf,
    env: Vec<(&'static str, String)>,
    p50: Vec<f64>,
    p99: Vec<f64>,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let (receiver, endpoint) = start_receiver().await?;
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("servers.toml");
    std::fs::write(
        &config,
        format!("[servers.demo]\ncommand = \"{}\"\n", args.demo.display()),
    )?;
    let mut conditions = Vec::new();
    if let Some(before) = &args.before {
        conditions.push(Condition {
            name: "before (nothing configured)",
            binary: before.clone(),
            env: Vec::new(),
            p50: Vec::new(),
            p99: Vec::new(),
        });
    }
    conditions.push(Condition {
        name: "off (nothing configured)",
        binary: args.toolyard.clone(),
        env: Vec::new(),
        p50: Vec::new(),
        p99: Vec::new(),
    });
    conditions.push(Condition {
        name: "on (every span exported)",
        binary: args.toolyard.clone(),
        env: vec![
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.clone()),
            ("OTEL_BSP_SCHEDULE_DELAY", "200".into()),
        ],
        p50: Vec::new(),
        p99: Vec::new(),
    });
    println!(
        "telemetry_bench: {} sequential echo calls per measurement, {} rounds, stdio face, stdio upstream",
        args.calls, args.rounds
    );
    for round in 0..args.rounds {
        for condition in &mut conditions {
            let env: Vec<(&str, &str)> = condition
                .env
                .iter()
                .map(|(k, v)| (*k, v.as_str()))
                .collect();
            let client = client(&condition.binary, &config, &env)
                .await
                .with_context(|| format!("starting {}", condition.name))?;
            let (p50, p99) = measure(&client, args.calls).await?;
            let _ = client.cancel().await;
            println!(
                "round {round}: {:<30} p50 {p50:>8.1} us   p99 {p99:>8.1} us",
                condition.name
            );
            condition.p50.push(p50);
            condition.p99.push(p99);
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    println!();
    let figures: Vec<(&str, f64, f64)> = conditions
        .iter()
        .map(|c| (c.name, median(c.p50.clone()), median(c.p99.clone())))
        .collect();
    for (name, p50, p99) in &figures {
        println!("{name:<30} p50 {p50:>8.1} us   p99 {p99:>8.1} us   (median of rounds)");
    }
    let find = |prefix: &str| figures.iter().find(|f| f.0.starts_with(prefix));
    println!();
    if let (Some(off), Some(on)) = (find("off"), find("on")) {
        println!(
            "tracing on vs off: p50 +{:.1} us (x{:.3}), p99 +{:.1} us (x{:.3})",
            on.1 - off.1,
            on.1 / off.1,
            on.2 - off.2,
            on.2 / off.2
        );
    }
    if let (Some(before), Some(off)) = (find("before"), find("off")) {
        println!(
            "off vs before:     p50 {:+.1} us (x{:.3}), p99 {:+.1} us (x{:.3})",
            off.1 - before.1,
            off.1 / before.1,
            off.2 - before.2,
            off.2 / before.2
        );
    }
    println!(
        "the receiver got {} export requests ({} KB)",
        receiver.requests.load(Ordering::Relaxed),
        receiver.bytes.load(Ordering::Relaxed) / 1024
    );
    Ok(())
}
