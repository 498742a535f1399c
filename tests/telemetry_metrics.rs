//! The metrics of issue 14 seen by a real Prometheus scraping `toolyard serve`: a known number
//! of calls by two Python SDK clients at once (upstream tool calls and a served team on the
//! scripted model), each metric queried through Prometheus's HTTP API with exact counts; an
//! upstream that dies goes to `toolyard_upstream_up 0` while the healthy one stays 1; and
//! `--metrics-listen` next to the stdio face.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::peers::Peer;
use common::{ChildGuard, free_port, python_report, spawn_until_healthy};
use serde_json::{Value, json};

fn toolyard() -> &'static str {
    env!("CARGO_BIN_EXE_toolyard")
}

const INPUT_PRICE: f64 = 2.0;
const OUTPUT_PRICE: f64 = 10.0;

/// A servers.toml with the demo server on stdio (`demo`), `extra` servers, and the scripted
/// model answering one fixed text, priced; and a folder with one team `solo_team` (one agent,
/// stops after its first answer: one model request per run).
fn write_setup(dir: &Path, extra: &str) -> (PathBuf, PathBuf) {
    let script = dir.join("solo.toml");
    std::fs::write(
        &script,
        "when_done = \"cycle\"\ndelay_ms = 0\n\n[[steps]]\nkind = \"text\"\ntext = \"All done here.\"\n",
    )
    .expect("write script");
    let config = dir.join("servers.toml");
    std::fs::write(
        &config,
        format!(
            r#"[gateway]
prefix = "always"

[servers.demo]
command = "{toolyard}"
args = ["demo-server"]
timeout_secs = 30
{extra}
[models.scripted]
provider = "scripted"
script = "{script}"
price_input_per_mtok = {INPUT_PRICE}
price_output_per_mtok = {OUTPUT_PRICE}
"#,
            toolyard = toolyard(),
            script = script.display(),
        ),
    )
    .expect("write servers.toml");
    let wb = dir.join("wb");
    std::fs::create_dir(&wb).expect("mkdir");
    std::fs::write(
        wb.join("solo_team.toml"),
        r#"provider = "autogen_agentchat.teams.RoundRobinGroupChat"
component_type = "team"

[toolyard]
description = "One agent answers once."

[config]
name = "solo_team"

[[config.participants]]
provider = "autogen_agentchat.agents.AssistantAgent"
[config.participants.config]
name = "solo"
model_client = "scripted"
system_message = "You answer."

[config.termination_condition]
provider = "autogen_agentchat.conditions.MaxMessageTermination"
config = { max_messages = 2 }
"#,
    )
    .expect("write team");
    (config, wb)
}

/// The value of a Prometheus query (a single sample), `None` when it has no sample.
fn query(prometheus: &str, q: &str) -> Option<f64> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let body: Value = rt.block_on(async {
        let response = reqwest::Client::new()
            .post(format!("{prometheus}/api/v1/query"))
            .form(&[("query", q)])
            .send()
            .await
            .ok()?;
        response.json().await.ok()
    })?;
    assert_eq!(body["status"], "success", "{q}: {body}");
    let result = body["data"]["result"].as_array()?;
    assert!(result.len() <= 1, "{q} has several series: {body}");
    result.first()?["value"][1].as_str()?.parse().ok()
}

/// Waits (scrapes are every second) until `q` reads `expected`; panics with the last value.
fn expect_value(prometheus: &str, q: &str, expected: f64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let value = query(prometheus, q);
        if value.is_some_and(|v| (v - expected).abs() < 1e-9 * expected.abs().max(1.0)) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{q} = {value:?}, expected {expected}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn prometheus_counts_every_call_of_two_concurrent_clients_and_sees_an_upstream_die() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A second upstream that the test kills half-way: a demo server started by a shell that
    // refuses to start it again once the flag file is gone (so it stays down).
    let flag = dir.path().join("doomed.flag");
    let pidfile = dir.path().join("doomed.pid");
    std::fs::write(&flag, "").expect("flag");
    let extra = format!(
        "\n[servers.doomed]\ncommand = \"sh\"\nargs = [\"-c\", \"[ -f '{flag}' ] || exit 1; echo $$$$ > '{pid}'; exec '{bin}' demo-server\"]\ntimeout_secs = 30\n",
        flag = flag.display(),
        pid = pidfile.display(),
        bin = toolyard(),
    );
    let (config, wb) = write_setup(dir.path(), &extra);
    let port = free_port();
    let (_serve, base) = spawn_until_healthy(
        Command::new(toolyard())
            .args(["serve", "--config"])
            .arg(&config)
            .arg("--workbenches")
            .arg(&wb)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null()),
        port,
    );
    let prometheus = Peer::start("prometheus.sh", &[&format!("127.0.0.1:{port}")]);
    let prom = prometheus.get("url").to_string();

    // Two callers at once: each 5 upstream echoes and 2 team runs.
    let (echoes, team_calls) = (5_u32, 2_u32);
    let url = format!("{base}/mcp");
    let reports: Vec<Value> = std::thread::scope(|s| {
        let callers: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    python_report(
                        "metrics_client.py",
                        [
                            url.as_str(),
                            "--echo",
                            &echoes.to_string(),
                            "--team",
                            "solo_team",
                            "--team-calls",
                            &team_calls.to_string(),
                            "--wait-for",
                            "demo__echo",
                            "--wait-for",
                            "solo_team",
                        ],
                    )
                })
            })
            .collect();
        callers
            .into_iter()
            .map(|c| c.join().expect("caller"))
            .collect()
    });
    let usages: Vec<&Value> = reports
        .iter()
        .flat_map(|r| r["usage"].as_array().expect("usage").iter())
        .collect();
    assert_eq!(usages.len(), 4, "{reports:?}");
    for r in &reports {
        assert_eq!(r["echo_errors"], 0, "{r}");
    }
    let tokens = |key: &str| -> f64 {
        usages
            .iter()
            .map(|u| u[key].as_u64().expect("tokens") as f64)
            .sum()
    };
    let (prompt, completion) = (tokens("prompt_tokens"), tokens("completion_tokens"));
    assert!(prompt > 0.0 && completion > 0.0, "{usages:?}");
    // Each run's usage carries its cost (one model request at the configured prices).
    for u in &usages {
        let expected = (u["prompt_tokens"].as_f64().unwrap_or(0.0) * INPUT_PRICE
            + u["completion_tokens"].as_f64().unwrap_or(0.0) * OUTPUT_PRICE)
            / 1e6;
        let cost = u["cost_usd"].as_f64().expect("cost_usd");
        assert!((cost - expected).abs() < 1e-12, "{u}: {cost} vs {expected}");
    }

    let calls = f64::from(2 * (echoes + team_calls));
    let runs = f64::from(2 * team_calls);
    expect_value(
        &prom,
        r#"sum(mcp_server_operation_duration_seconds_count{mcp_method_name="tools/call"})"#,
        calls,
    );
    expect_value(
        &prom,
        r#"sum(mcp_server_operation_duration_seconds_count{mcp_method_name="tools/call",gen_ai_tool_name="demo__echo",error_type=""})"#,
        f64::from(2 * echoes),
    );
    expect_value(
        &prom,
        r#"sum(mcp_server_operation_duration_seconds_count{mcp_method_name="tools/call",gen_ai_tool_name="solo_team"})"#,
        runs,
    );
    expect_value(
        &prom,
        r#"mcp_client_operation_duration_seconds_count{mcp_method_name="tools/call",server="demo"}"#,
        f64::from(2 * echoes),
    );
    expect_value(
        &prom,
        r#"gen_ai_client_operation_duration_seconds_count{gen_ai_request_model="scripted",gen_ai_provider_name="openai"}"#,
        runs,
    );
    expect_value(
        &prom,
        r#"gen_ai_client_token_usage_count{gen_ai_token_type="input",gen_ai_request_model="scripted"}"#,
        runs,
    );
    expect_value(
        &prom,
        r#"gen_ai_client_token_usage_sum{gen_ai_token_type="input",gen_ai_request_model="scripted"}"#,
        prompt,
    );
    expect_value(
        &prom,
        r#"gen_ai_client_token_usage_sum{gen_ai_token_type="output",gen_ai_request_model="scripted"}"#,
        completion,
    );
    expect_value(
        &prom,
        r#"sum(toolyard_team_runs_total{team="solo_team"})"#,
        runs,
    );
    expect_value(
        &prom,
        r#"toolyard_cost_usd_total{gen_ai_request_model="scripted"}"#,
        (prompt * INPUT_PRICE + completion * OUTPUT_PRICE) / 1e6,
    );
    // Both callers ended their sessions.
    expect_value(&prom, "mcp_server_session_duration_seconds_count", 2.0);
    expect_value(&prom, r#"toolyard_tasks{status="working"}"#, 0.0);
    expect_value(&prom, "toolyard_telemetry_dropped_total", 0.0);
    expect_value(&prom, r#"toolyard_upstream_up{server="demo"}"#, 1.0);
    expect_value(&prom, r#"toolyard_upstream_up{server="doomed"}"#, 1.0);

    // The doomed upstream dies: it goes to 0, the healthy one stays 1.
    std::fs::remove_file(&flag).expect("remove flag");
    let pid = std::fs::read_to_string(&pidfile).expect("pid");
    let killed = Command::new("kill")
        .args(["-KILL", pid.trim()])
        .status()
        .expect("kill");
    assert!(killed.success());
    expect_value(&prom, r#"toolyard_upstream_up{server="doomed"}"#, 0.0);
    expect_value(&prom, r#"toolyard_upstream_up{server="demo"}"#, 1.0);
}

/// Reads JSON-RPC lines until the answer to `id` (notifications and other lines skipped).
fn answer(lines: &mut impl Iterator<Item = std::io::Result<String>>, id: u64) -> Value {
    for line in lines {
        let line = line.expect("read stdout");
        let Ok(message) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if message["id"] == json!(id) {
            return message;
        }
    }
    panic!("stdout ended before the answer to {id}");
}

/// A `toolyard serve --stdio` driven over its stdin/stdout: initialized, with `demo__echo`
/// listed (the upstream is up).
struct StdioFace {
    serve: ChildGuard,
    stdin: Option<std::process::ChildStdin>,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
    id: u64,
}

impl StdioFace {
    /// Spawns `command` (`serve --stdio ...`; its stdin and stdout are piped here).
    fn start(command: &mut Command) -> Self {
        let mut serve = ChildGuard::spawn(
            command
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null()),
        );
        let stdin = serve.child_mut().stdin.take().expect("stdin");
        let stdout = serve.child_mut().stdout.take().expect("stdout");
        let mut face = Self {
            serve,
            stdin: Some(stdin),
            lines: BufReader::new(stdout).lines(),
            id: 0,
        };
        let initialized = face.request(
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "metrics-test", "version": "1"}}),
        );
        assert!(initialized["result"].is_object(), "{initialized}");
        face.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let listed = face.request("tools/list", json!({}));
            let tools = listed["result"]["tools"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if tools.iter().any(|t| t["name"] == "demo__echo") {
                return face;
            }
            assert!(Instant::now() < deadline, "demo__echo never listed");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn send(&mut self, message: Value) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        writeln!(stdin, "{message}").expect("write stdin");
        stdin.flush().expect("flush");
    }

    /// Sends the request `method` and returns its answer.
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.id += 1;
        let id = self.id;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        answer(&mut self.lines, id)
    }

    /// Calls the tool `name` with `arguments`.
    fn call(&mut self, name: &str, arguments: Value) -> Value {
        self.request("tools/call", json!({"name": name, "arguments": arguments}))
    }

    /// Closes stdin (the client leaves) and waits for serve to exit.
    fn close(mut self) {
        self.stdin.take();
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.serve.child_mut().try_wait().expect("wait").is_none() {
            assert!(Instant::now() < deadline, "serve did not exit");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn metrics_listen_serves_metrics_next_to_the_stdio_face() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, wb) = write_setup(dir.path(), "");
    let metrics_port = free_port();
    let mut face = StdioFace::start(
        Command::new(toolyard())
            .args(["serve", "--stdio", "--config"])
            .arg(&config)
            .arg("--workbenches")
            .arg(&wb)
            .args(["--metrics-listen", &format!("127.0.0.1:{metrics_port}")]),
    );
    for i in 0..3 {
        let called = face.call("demo__echo", json!({"message": format!("hi {i}")}));
        assert_eq!(called["result"]["isError"], json!(false), "{called}");
    }
    let ran = face.call("solo_team", json!({"task": "go"}));
    assert!(
        ran["result"]["structuredContent"]["usage"]["cost_usd"]
            .as_f64()
            .is_some(),
        "{ran}"
    );

    let prometheus = Peer::start("prometheus.sh", &[&format!("127.0.0.1:{metrics_port}")]);
    let prom = prometheus.get("url");
    expect_value(
        prom,
        r#"sum(mcp_server_operation_duration_seconds_count{mcp_method_name="tools/call",gen_ai_tool_name="demo__echo"})"#,
        3.0,
    );
    expect_value(
        prom,
        r#"sum(toolyard_team_runs_total{team="solo_team"})"#,
        1.0,
    );
    expect_value(prom, r#"toolyard_upstream_up{server="demo"}"#, 1.0);
    drop(face);
}

/// GET `url`: the status and the body.
fn get(url: &str, bearer: Option<&str>) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut request = reqwest::Client::new().get(url);
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("GET");
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    })
}

#[test]
fn metrics_are_not_behind_mcp_auth() {
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = "\n[auth]\n[[auth.api_keys]]\nname = \"ci\"\nkey_env = \"METRICS_TEST_KEY\"\n";
    let (config, wb) = write_setup(dir.path(), extra);
    let port = free_port();
    let (_serve, base) = spawn_until_healthy(
        Command::new(toolyard())
            .env("METRICS_TEST_KEY", "k-123")
            .args(["serve", "--config"])
            .arg(&config)
            .arg("--workbenches")
            .arg(&wb)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null()),
        port,
    );
    let (status, text) = get(&format!("{base}/metrics"), None);
    assert_eq!(status, 200, "{text}");
    assert!(
        text.contains("toolyard_upstream_up{server=\"demo\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("toolyard_telemetry_dropped_total 0"),
        "{text}"
    );
    let (status, _) = get(&format!("{base}/mcp"), None);
    assert_eq!(status, 401, "the MCP face stays behind auth");
}

/// A collector that accepts connections and never answers, and one that records what it gets.
async fn collectors() -> (
    String,
    String,
    tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>,
) {
    let hanging = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let hanging_url = format!("http://{}/v1/metrics", hanging.local_addr().expect("addr"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = hanging.accept().await {
            held.push(socket);
        }
    });
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/v1/metrics",
        axum::routing::post(move |body: axum::body::Bytes| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(body.to_vec());
                ""
            }
        }),
    );
    let recording = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let recording_url = format!(
        "http://{}/v1/metrics",
        recording.local_addr().expect("addr")
    );
    tokio::spawn(async move {
        let _ = axum::serve(recording, app).await;
    });
    (hanging_url, recording_url, rx)
}

/// `toolyard serve --stdio` exporting metrics to `endpoint` every 100 ms: makes `calls` echo
/// calls and returns how long the slowest took. `graceful`: end by closing stdin and wait for
/// the process to exit (its shutdown flushes the metrics); otherwise it is killed.
fn serve_stdio_with_collector(endpoint: &str, calls: u32, graceful: bool) -> Duration {
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, wb) = write_setup(dir.path(), "");
    let mut face = StdioFace::start(
        Command::new(toolyard())
            .env("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", endpoint)
            .env("OTEL_METRIC_EXPORT_INTERVAL", "100")
            .args(["serve", "--stdio", "--config"])
            .arg(&config)
            .arg("--workbenches")
            .arg(&wb),
    );
    let mut slowest = Duration::ZERO;
    for i in 0..calls {
        let started = Instant::now();
        let called = face.call("demo__echo", json!({"message": format!("hi {i}")}));
        slowest = slowest.max(started.elapsed());
        assert_eq!(called["result"]["isError"], json!(false), "{called}");
        std::thread::sleep(Duration::from_millis(20));
    }
    if graceful {
        face.close();
    }
    slowest
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_export_reaches_a_collector_and_a_hanging_one_slows_no_call() {
    let (hanging, recording, mut received) = collectors().await;
    // Calls go on at their usual pace while every export to the hanging collector waits.
    let slowest =
        tokio::task::spawn_blocking(move || serve_stdio_with_collector(&hanging, 30, false))
            .await
            .expect("hanging run");
    assert!(slowest < Duration::from_secs(1), "a call took {slowest:?}");
    // The same instruments reach a collector that answers (OTLP http/protobuf).
    tokio::task::spawn_blocking(move || serve_stdio_with_collector(&recording, 3, true))
        .await
        .expect("recording run");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_millis(200), received.recv()).await {
            Ok(Some(body)) => seen.extend(body),
            Ok(None) => break,
            Err(_) if !seen.is_empty() => break,
            Err(_) => {}
        }
    }
    let text = String::from_utf8_lossy(&seen);
    for name in [
        "mcp.server.operation.duration",
        "mcp.client.operation.duration",
        "toolyard.upstream.up",
    ] {
        assert!(text.contains(name), "{name} not exported");
    }
}
