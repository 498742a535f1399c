//! Gateway overhead benchmark: echo calls straight to an upstream vs through toolyard.
//!
//! Pairs (same client code, same upstream binary, same run):
//!   stdio: client ─stdio─▶ demo_server            vs  client ─stdio─▶ toolyard ─stdio─▶ demo_server
//!   http:  client ─HTTP──▶ demo_server --http     vs  client ─HTTP──▶ toolyard ─HTTP──▶ demo_server --http
//! For each: sequential latency (p50, p99) and calls/s at concurrency 1 and 32.
//!
//! Usage: gateway_bench --toolyard PATH --demo PATH [--calls N]   (see bench/gateway.sh)

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Parser;
use rmcp::model::CallToolRequestParams;
use rmcp::service::RunningService;
use rmcp::transport::{ConfigureCommandExt, StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};

#[derive(Parser)]
struct Args {
    /// The toolyard binary.
    #[arg(long)]
    toolyard: PathBuf,
    /// The demo_server example binary.
    #[arg(long)]
    demo: PathBuf,
    /// Calls per measurement.
    #[arg(long, default_value_t = 2000)]
    calls: usize,
    /// A byte relay (the stdio_relay example): the demo server is also measured through it, the
    /// floor for one more process on a stdio path.
    #[arg(long)]
    relay: Option<PathBuf>,
    /// Idle 2025-era sessions to open for the memory measurement.
    #[arg(long, default_value_t = 10_000)]
    sessions: usize,
}

type Client = RunningService<RoleClient, ()>;

struct Killer(std::process::Child);
impl Drop for Killer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn wait_port(port: u16) -> Result<()> {
    for _ in 0..300 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("nothing listens on {port}")
}

async fn stdio_client(program: &PathBuf, args: &[String]) -> Result<Client> {
    let cmd = tokio::process::Command::new(program).configure(|c| {
        c.args(args);
    });
    let (transport, _stderr) = TokioChildProcess::builder(cmd)
        .stderr(Stdio::null())
        .spawn()?;
    Ok(().serve(transport).await?)
}

async fn http_client(port: u16) -> Result<Client> {
    let transport = StreamableHttpClientTransport::from_uri(format!("http://127.0.0.1:{port}/mcp"));
    Ok(().serve(transport).await?)
}

fn spawn_demo_http(demo: &PathBuf) -> Result<(Killer, u16)> {
    let port = free_port()?;
    let child = std::process::Command::new(demo)
        .args(["--http", &format!("127.0.0.1:{port}")])
        .stderr(Stdio::null())
        .spawn()?;
    Ok((Killer(child), port))
}

fn write_config(dir: &std::path::Path, body: &str) -> Result<PathBuf> {
    let path = dir.join("servers.toml");
    std::fs::write(&path, body)?;
    Ok(path)
}

async fn echo(client: &Client, tool: &str) -> Result<()> {
    let mut params = CallToolRequestParams::new(tool.to_string());
    params.arguments = serde_json::json!({"message": "ping"}).as_object().cloned();
    let r = client.peer().call_tool(params).await?;
    anyhow::ensure!(r.is_error != Some(true), "tool error");
    Ok(())
}

struct Figures {
    p50_us: f64,
    p99_us: f64,
    rps_c1: f64,
    rps_c32: f64,
}

async fn measure(client: Arc<Client>, tool: &str, calls: usize) -> Result<Figures> {
    for _ in 0..100 {
        echo(&client, tool).await?;
    }
    let mut lat = Vec::with_capacity(calls);
    let start = Instant::now();
    for _ in 0..calls {
        let t = Instant::now();
        echo(&client, tool).await?;
        lat.push(t.elapsed());
    }
    let rps_c1 = calls as f64 / start.elapsed().as_secs_f64();
    lat.sort();
    let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p) as usize].as_secs_f64() * 1e6;
    let start = Instant::now();
    let per_task = calls / 32;
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let client = Arc::clone(&client);
        let tool = tool.to_string();
        tasks.push(tokio::spawn(async move {
            for _ in 0..per_task {
                echo(&client, &tool).await?;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let rps_c32 = (per_task * 32) as f64 / start.elapsed().as_secs_f64();
    Ok(Figures {
        p50_us: pct(0.50),
        p99_us: pct(0.99),
        rps_c1,
        rps_c32,
    })
}

fn row(name: &str, f: &Figures) {
    println!(
        "{name:<26} p50 {:>8.1} us   p99 {:>8.1} us   c1 {:>8.0} calls/s   c32 {:>8.0} calls/s",
        f.p50_us, f.p99_us, f.rps_c1, f.rps_c32
    );
}

fn ratio(name: &str, direct: &Figures, through: &Figures) {
    println!(
        "{name:<26} p50 x{:.2}   p99 x{:.2}   c1 throughput x{:.2}   c32 throughput x{:.2}   (through / direct)",
        through.p50_us / direct.p50_us,
        through.p99_us / direct.p99_us,
        through.rps_c1 / direct.rps_c1,
        through.rps_c32 / direct.rps_c32
    );
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    println!("gateway_bench: {} echo calls per measurement", args.calls);

    // stdio pair
    let direct = Arc::new(
        stdio_client(&args.demo, &[])
            .await
            .context("direct stdio")?,
    );
    let direct_stdio = measure(Arc::clone(&direct), "echo", args.calls).await?;
    drop(direct);
    let relayed_stdio = match &args.relay {
        Some(relay) => {
            let relayed = Arc::new(
                stdio_client(relay, &[args.demo.display().to_string()])
                    .await
                    .context("stdio relay")?,
            );
            let figures = measure(Arc::clone(&relayed), "echo", args.calls).await?;
            drop(relayed);
            Some(figures)
        }
        None => None,
    };
    let config = write_config(
        dir.path(),
        &format!("[servers.demo]\ncommand = \"{}\"\n", args.demo.display()),
    )?;
    let through = Arc::new(
        stdio_client(
            &args.toolyard,
            &[
                "serve".into(),
                "--stdio".into(),
                "--config".into(),
                config.display().to_string(),
            ],
        )
        .await
        .context("toolyard stdio")?,
    );
    let through_stdio = measure(Arc::clone(&through), "demo__echo", args.calls).await?;
    drop(through);

    // HTTP pair
    let (_demo, demo_port) = spawn_demo_http(&args.demo)?;
    wait_port(demo_port).await?;
    let direct = Arc::new(http_client(demo_port).await.context("direct http")?);
    let direct_http = measure(Arc::clone(&direct), "echo", args.calls).await?;
    drop(direct);
    let config = write_config(
        dir.path(),
        &format!(
            "[servers.demo]\nurl = \"http://127.0.0.1:{demo_port}/mcp\"\nprotocol = \"2025-11-25\"\n"
        ),
    )?;
    let port = free_port()?;
    let _toolyard = Killer(
        std::process::Command::new(&args.toolyard)
            .args(["serve", "--config"])
            .arg(&config)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "warn")
            .stderr(Stdio::null())
            .spawn()?,
    );
    wait_port(port).await?;
    let through = Arc::new(http_client(port).await.context("toolyard http")?);
    let through_http = measure(Arc::clone(&through), "demo__echo", args.calls).await?;
    drop(through);

    // Mixed: the HTTP face in front of a stdio upstream (what most IDE setups over HTTP run).
    let config = write_config(
        dir.path(),
        &format!("[servers.demo]\ncommand = \"{}\"\n", args.demo.display()),
    )?;
    let port = free_port()?;
    let _mixed = Killer(
        std::process::Command::new(&args.toolyard)
            .args(["serve", "--config"])
            .arg(&config)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "warn")
            .stderr(Stdio::null())
            .spawn()?,
    );
    wait_port(port).await?;
    let mixed = Arc::new(
        http_client(port)
            .await
            .context("toolyard http face, stdio upstream")?,
    );
    let mixed_figures = measure(Arc::clone(&mixed), "demo__echo", args.calls).await?;
    drop(mixed);

    // Idle 2025-era sessions: RSS of a serve process before and after opening them.
    let idle = idle_sessions(&args.toolyard, &config, args.sessions).await?;

    println!();
    row("direct stdio", &direct_stdio);
    if let Some(relayed) = &relayed_stdio {
        row("through a byte relay", relayed);
    }
    row("through toolyard (stdio)", &through_stdio);
    row("direct http", &direct_http);
    row("through toolyard (http)", &through_http);
    row("http face, stdio upstream", &mixed_figures);
    println!();
    if let Some(relayed) = &relayed_stdio {
        ratio("stdio byte relay (floor)", &direct_stdio, relayed);
    }
    ratio("stdio", &direct_stdio, &through_stdio);
    ratio("http", &direct_http, &through_http);
    println!();
    println!(
        "idle sessions: {} opened, RSS {:.1} MB -> {:.1} MB (+{:.1} KB per session) while active",
        idle.sessions,
        idle.rss_before_kb / 1024.0,
        idle.rss_after_kb / 1024.0,
        (idle.rss_after_kb - idle.rss_before_kb) / idle.sessions as f64
    );
    println!(
        "               parked after {PARK_AFTER_SECS} s idle: RSS {:.1} MB (+{:.1} KB per session); \
         {} of {} sampled parked sessions answered tools/list",
        idle.rss_parked_kb / 1024.0,
        (idle.rss_parked_kb - idle.rss_before_kb) / idle.sessions as f64,
        idle.answered,
        idle.sampled,
    );
    println!();
    println!("goals (issue: the hot path and the house)");
    goal(
        "added p50 per tools/call, stdio face -> stdio upstream",
        through_stdio.p50_us - direct_stdio.p50_us,
        "us",
        "<= 100 us",
        through_stdio.p50_us - direct_stdio.p50_us <= 100.0,
    );
    if let Some(relayed) = &relayed_stdio {
        println!(
            "    (a byte relay that parses nothing adds {:.2} us p50 and keeps {:.2}x of c=32 here)",
            relayed.p50_us - direct_stdio.p50_us,
            relayed.rps_c32 / direct_stdio.rps_c32
        );
    }
    goal(
        "added p50 per tools/call, HTTP face -> HTTP upstream",
        through_http.p50_us - direct_http.p50_us,
        "us",
        "<= 200 us",
        through_http.p50_us - direct_http.p50_us <= 200.0,
    );
    let stdio_share = through_stdio.rps_c32 / direct_stdio.rps_c32;
    goal(
        "throughput at c=32 through / direct, stdio",
        stdio_share,
        "x",
        ">= 0.8x",
        stdio_share >= 0.8,
    );
    let http_share = through_http.rps_c32 / direct_http.rps_c32;
    goal(
        "throughput at c=32 through / direct, HTTP",
        http_share,
        "x",
        ">= 0.8x",
        http_share >= 0.8,
    );
    let per_10k_mb =
        (idle.rss_parked_kb - idle.rss_before_kb) / idle.sessions as f64 * 10_000.0 / 1024.0;
    goal(
        "RSS with 10,000 idle 2025-era sessions (parked; extrapolated)",
        per_10k_mb + idle.rss_before_kb / 1024.0,
        "MB",
        "<= 200 MB",
        per_10k_mb + idle.rss_before_kb / 1024.0 <= 200.0,
    );
    Ok(())
}

fn goal(name: &str, value: f64, unit: &str, target: &str, met: bool) {
    let mark = if met { "met" } else { "NOT met" };
    println!("  {name:<55} {value:>9.2} {unit:<3} goal {target:<10} {mark}");
}

struct IdleFigures {
    sessions: usize,
    rss_before_kb: f64,
    /// Right after opening them (active: rmcp's worker per session).
    rss_after_kb: f64,
    /// Once idle sessions were parked.
    rss_parked_kb: f64,
    /// Parked sessions asked for their tools again, and how many answered.
    sampled: usize,
    answered: usize,
}

/// `serve --session-park-secs` for the idle-session run.
const PARK_AFTER_SECS: u64 = 2;

/// The resident set size of a process, in KiB (Linux /proc).
fn rss_kb(pid: u32) -> Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .context("no VmRSS")?;
    let kb: f64 = line
        .split_whitespace()
        .nth(1)
        .context("VmRSS value")?
        .parse()?;
    Ok(kb)
}

/// Start a `serve` on `config`, open `count` 2025-era sessions over plain HTTP (initialize +
/// initialized, 32 at a time on keep-alive connections) and leave them idle; measure the
/// server's RSS before and after.
async fn idle_sessions(
    toolyard: &PathBuf,
    config: &std::path::Path,
    count: usize,
) -> Result<IdleFigures> {
    let port = free_port()?;
    let child = std::process::Command::new(toolyard)
        .args(["serve", "--config"])
        .arg(config)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--session-park-secs", &PARK_AFTER_SECS.to_string()])
        .env("RUST_LOG", "warn")
        .stderr(Stdio::null())
        .spawn()?;
    let pid = child.id();
    let _serve = Killer(child);
    wait_port(port).await?;
    let url = format!("http://127.0.0.1:{port}/mcp");
    let http = reqwest::Client::builder().tcp_nodelay(true).build()?;
    // One session first, so the process has warmed up (upstream started, tables built).
    open_session(&http, &url).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_kb(pid)?;
    let per_worker = count / 32;
    let mut workers = Vec::new();
    for _ in 0..32 {
        let http = http.clone();
        let url = url.clone();
        workers.push(tokio::spawn(async move {
            let mut first = None;
            for _ in 0..per_worker {
                let session = open_session(&http, &url).await?;
                first.get_or_insert(session);
            }
            anyhow::Ok(first)
        }));
    }
    let mut sample = Vec::new();
    for w in workers {
        sample.extend(w.await??);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kb(pid)?;
    // Every session has been idle for longer than the park time (the sweeper runs every
    // park_time / 4); the allocator returns freed pages after its decay time (jemalloc: 10 s).
    tokio::time::sleep(Duration::from_secs(PARK_AFTER_SECS * 2 + 15)).await;
    let parked = rss_kb(pid)?;
    let mut answered = 0;
    for session in &sample {
        if list_in_session(&http, &url, session).await.is_ok() {
            answered += 1;
        }
    }
    Ok(IdleFigures {
        sessions: per_worker * 32,
        rss_before_kb: before,
        rss_after_kb: after,
        rss_parked_kb: parked,
        sampled: sample.len(),
        answered,
    })
}

/// `tools/list` in `session`; Ok when it lists the demo's echo.
async fn list_in_session(http: &reqwest::Client, url: &str, session: &str) -> Result<()> {
    let list = serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let response = http
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", session)
        .header("mcp-protocol-version", "2025-11-25")
        .json(&list)
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "tools/list: {}",
        response.status()
    );
    let text = response.text().await?;
    anyhow::ensure!(text.contains("demo__echo"), "tools/list: {text}");
    Ok(())
}

async fn open_session(http: &reqwest::Client, url: &str) -> Result<String> {
    let init = serde_json::json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "idle-bench", "version": "1"}}
    });
    let response = http
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .json(&init)
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "initialize: {}",
        response.status()
    );
    let session = response
        .headers()
        .get("mcp-session-id")
        .context("no session id")?
        .to_str()?
        .to_string();
    let _ = response.bytes().await?;
    let initialized = serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let response = http
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", "2025-11-25")
        .json(&initialized)
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "initialized: {}",
        response.status()
    );
    let _ = response.bytes().await?;
    Ok(session)
}
