//! OpenTelemetry traces end to end, against a real backend (Arize Phoenix) and broken
//! collectors: a Python SDK client calls a served team whose agent calls an upstream tool, with
//! a `traceparent` in `_meta`; Phoenix's REST API must hold one trace per caller, with the tree
//! SERVER → invoke_workflow → invoke_agent → chat / execute_tool → CLIENT upstream and the
//! conventions' attributes, over OTLP http/protobuf (streamable HTTP and SSE faces) and gRPC
//! (stdio face). A collector that never answers or answers 500 slows no call, and the spans it
//! loses are counted; JSON logs parse line by line and carry the trace id inside a span.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::peers::Peer;
use common::{ChildGuard, free_port, python, spawn_until_healthy};
use serde_json::Value;

fn toolyard() -> &'static str {
    env!("CARGO_BIN_EXE_toolyard")
}

/// A config with toolyard's demo server as upstream `demo` and a scripted model whose
/// researcher calls `demo__echo` once, then answers; and the workbench folder with the
/// round-robin team `research` of that one researcher.
fn setup(dir: &Path) -> (PathBuf, PathBuf) {
    let script = dir.join("script.json");
    std::fs::write(
        &script,
        r#"{"rules": [
  {"when": {"system_contains": "You are the researcher", "after_tool_result": false},
   "reply": {"kind": "call_tool", "name": "demo__echo", "arguments": {"message": "traced"}}},
  {"when": {"system_contains": "You are the researcher"}, "reply": {"kind": "text", "text": "Found it. TERMINATE"}}
], "steps": [{"kind": "text", "text": "done TERMINATE"}], "when_done": "repeat_last"}"#,
    )
    .expect("write script");
    let config = dir.join("servers.toml");
    std::fs::write(
        &config,
        format!(
            "[servers.demo]\ncommand = \"{exe}\"\nargs = [\"demo-server\"]\n\n\
             [models.scripted]\nprovider = \"scripted\"\nscript = \"{script}\"\n",
            exe = toolyard(),
            script = script.display(),
        ),
    )
    .expect("write config");
    let wb = dir.join("wb");
    std::fs::create_dir_all(&wb).expect("mkdir wb");
    std::fs::write(
        wb.join("research.toml"),
        r#"provider = "autogen_agentchat.teams.RoundRobinGroupChat"
[config]
name = "research"
[[config.participants]]
provider = "autogen_agentchat.agents.AssistantAgent"
[config.participants.config]
name = "researcher"
description = "Looks things up."
model_client = "scripted"
system_message = "You are the researcher."
workbench = ["demo"]
[config.termination_condition]
provider = "TextMentionTermination"
config = { text = "TERMINATE" }
"#,
    )
    .expect("write team");
    (config, wb)
}

/// `toolyard serve` on HTTP with `env`, stderr to `log`; waits until healthy.
fn serve(config: &Path, wb: &Path, env: &[(&str, String)], log: &Path) -> (ChildGuard, String) {
    serve_with(config, wb, env, log, &[])
}

/// [`serve`] with more `serve` arguments.
fn serve_with(
    config: &Path,
    wb: &Path,
    env: &[(&str, String)],
    log: &Path,
    args: &[&str],
) -> (ChildGuard, String) {
    let port = free_port();
    let mut command = Command::new(toolyard());
    command
        .args(["serve", "--config"])
        .arg(config)
        .arg("--workbenches")
        .arg(wb)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(args)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).expect("log file"));
    for (k, v) in env {
        command.env(k, v);
    }
    spawn_until_healthy(&mut command, port)
}

/// Runs tests/py/traced_client.py (one call of `tool` per traceparent, at the same time) with
/// `env`; returns its report.
fn traced_calls(
    tool: &str,
    args: &str,
    traceparents: &[String],
    target: &[String],
    env: &[(&str, String)],
) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/traced_client.py");
    let mut command = Command::new(python());
    command.arg(script).args(["--tool", tool, "--args", args]);
    for tp in traceparents {
        command.args(["--traceparent", tp]);
    }
    command.args(target);
    for (k, v) in env {
        command.env(k, v);
    }
    let output = command.output().expect("run python client");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "python client failed: {stdout}\n{stderr}"
    );
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("bad report {last}: {e}\n{stderr}"))
}

/// A fresh W3C traceparent (random trace and parent span ids, sampled) and its two ids.
fn traceparent() -> (String, String, String) {
    let trace = uuid::Uuid::new_v4().simple().to_string();
    let span = uuid::Uuid::new_v4().simple().to_string()[..16].to_string();
    (format!("00-{trace}-{span}-01"), trace, span)
}

/// Every span Phoenix holds (default project), newest first.
fn phoenix_spans(base: &str) -> Vec<Value> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let body: Value = rt.block_on(async {
        let url = format!("{base}/v1/projects/default/spans?limit=1000");
        match reqwest::get(url).await {
            Ok(r) => r.json().await.unwrap_or(Value::Null),
            Err(_) => Value::Null,
        }
    });
    body["data"].as_array().cloned().unwrap_or_default()
}

/// The spans of `trace`, once Phoenix holds at least `count` of them (waits up to 60 s).
fn trace_spans(base: &str, trace: &str, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let spans: Vec<Value> = phoenix_spans(base)
            .into_iter()
            .filter(|s| s["context"]["trace_id"] == trace)
            .collect();
        if spans.len() >= count {
            return spans;
        }
        assert!(
            Instant::now() < deadline,
            "trace {trace}: {} spans in Phoenix, expected {count}: {spans:#?}",
            spans.len()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The one span named `name` whose parent is `parent` (panics naming the trace otherwise).
fn child<'a>(spans: &'a [Value], name: &str, parent: &str) -> Vec<&'a Value> {
    spans
        .iter()
        .filter(|s| s["name"] == name && s["parent_id"] == parent)
        .collect()
}

fn id(span: &Value) -> &str {
    span["context"]["span_id"].as_str().expect("span id")
}

fn attr<'a>(span: &'a Value, key: &str) -> &'a Value {
    &span["attributes"][key]
}

/// The tree of one team call: SERVER tools/call research (child of the caller's span) →
/// invoke_workflow research → invoke_agent researcher (twice: tool call, then answer) →
/// chat scripted per turn, execute_tool demo__echo → CLIENT tools/call echo to `demo`.
fn assert_team_trace(spans: &[Value], parent: &str, transport: &str, content: bool) {
    let names: BTreeSet<&str> = spans.iter().filter_map(|s| s["name"].as_str()).collect();
    let served = child(spans, "tools/call research", parent);
    assert_eq!(
        served.len(),
        1,
        "one SERVER span under the caller's: {names:?}"
    );
    let served = served[0];
    assert_eq!(attr(served, "mcp.method.name"), "tools/call");
    assert_eq!(attr(served, "gen_ai.tool.name"), "research");
    assert_eq!(attr(served, "network.transport"), transport);
    assert!(attr(served, "jsonrpc.request.id").is_string(), "{served}");
    assert!(attr(served, "mcp.protocol.version").is_string(), "{served}");

    let workflow = child(spans, "invoke_workflow research", id(served));
    assert_eq!(workflow.len(), 1, "{names:?}");
    let workflow = workflow[0];
    assert_eq!(attr(workflow, "gen_ai.operation.name"), "invoke_workflow");
    assert!(attr(workflow, "toolyard.run.id").is_string(), "{workflow}");
    assert_eq!(
        attr(workflow, "toolyard.stop_reason"),
        "Text 'TERMINATE' mentioned"
    );

    let turns = child(spans, "invoke_agent researcher", id(workflow));
    assert_eq!(turns.len(), 2, "two turns: {names:?}");
    for turn in &turns {
        assert_eq!(attr(turn, "gen_ai.operation.name"), "invoke_agent");
        assert_eq!(attr(turn, "gen_ai.agent.name"), "researcher");
        assert_eq!(attr(turn, "gen_ai.agent.description"), "Looks things up.");
        assert_eq!(
            attr(turn, "gen_ai.conversation.id"),
            attr(workflow, "toolyard.run.id")
        );
        let chats = child(spans, "chat scripted", id(turn));
        assert!(!chats.is_empty(), "a chat span per turn: {names:?}");
        for chat in chats {
            assert_eq!(attr(chat, "gen_ai.operation.name"), "chat");
            assert_eq!(attr(chat, "gen_ai.request.model"), "scripted");
            assert!(attr(chat, "gen_ai.provider.name").is_string(), "{chat}");
            assert!(
                attr(chat, "gen_ai.usage.input_tokens").as_i64() > Some(0),
                "{chat}"
            );
            assert!(
                attr(chat, "gen_ai.usage.output_tokens").is_number(),
                "{chat}"
            );
            assert!(
                attr(chat, "gen_ai.response.finish_reasons").is_array(),
                "{chat}"
            );
        }
    }
    let tools: Vec<&Value> = turns
        .iter()
        .flat_map(|turn| child(spans, "execute_tool demo__echo", id(turn)))
        .collect();
    assert_eq!(tools.len(), 1, "{names:?}");
    let tool = tools[0];
    assert_eq!(attr(tool, "gen_ai.operation.name"), "execute_tool");
    assert_eq!(attr(tool, "gen_ai.tool.name"), "demo__echo");
    assert_eq!(attr(tool, "gen_ai.tool.type"), "function");
    assert!(attr(tool, "gen_ai.tool.call.id").is_string(), "{tool}");
    // Contents only with the opt-in.
    if content {
        let arguments = attr(tool, "gen_ai.tool.call.arguments")
            .as_str()
            .unwrap_or_default();
        let arguments: Value = serde_json::from_str(arguments).unwrap_or(Value::Null);
        assert_eq!(
            arguments,
            serde_json::json!({"message": "traced"}),
            "{tool}"
        );
        assert!(
            attr(tool, "gen_ai.tool.call.result")
                .as_str()
                .is_some_and(|r| r.contains("traced")),
            "{tool}"
        );
        let served = child(spans, "tools/call research", parent)[0];
        assert!(
            attr(served, "gen_ai.tool.call.arguments").is_string(),
            "{served}"
        );
    } else {
        assert!(attr(tool, "gen_ai.tool.call.arguments").is_null(), "{tool}");
        assert!(attr(tool, "gen_ai.tool.call.result").is_null(), "{tool}");
    }

    let upstream = child(spans, "tools/call echo", id(tool));
    assert_eq!(upstream.len(), 1, "{names:?}");
    let upstream = upstream[0];
    assert_eq!(attr(upstream, "mcp.method.name"), "tools/call");
    assert_eq!(attr(upstream, "gen_ai.tool.name"), "echo");
    assert_eq!(attr(upstream, "toolyard.upstream.name"), "demo");
    assert_eq!(attr(upstream, "network.transport"), "pipe");
    assert!(
        attr(upstream, "jsonrpc.request.id").is_string(),
        "{upstream}"
    );
}

/// Spans in one team call's trace: server, workflow, 2 turns, 2 chats, tool, upstream.
const TEAM_SPANS: usize = 8;

#[test]
fn one_trace_per_caller_from_the_traceparent_to_the_upstream_in_phoenix() {
    let phoenix = Peer::start("phoenix.sh", &[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, wb) = setup(dir.path());

    // OTLP http/protobuf; the streamable HTTP face, two callers at once.
    let env = [
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            phoenix.get("http").to_string(),
        ),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".into()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100".into()),
        ("OTEL_SERVICE_NAME", "toolyard-test".into()),
    ];
    let events = dir.path().join("events.jsonl");
    let events_arg = events.to_str().expect("utf-8 path");
    let (guard, base) = serve_with(
        &config,
        &wb,
        &env,
        &dir.path().join("http.log"),
        &["--events", events_arg],
    );
    let (tp1, trace1, parent1) = traceparent();
    let (tp2, trace2, parent2) = traceparent();
    let report = traced_calls(
        "research",
        r#"{"task": "find"}"#,
        &[tp1, tp2],
        &["http".into(), format!("{base}/mcp")],
        &[],
    );
    for call in report["calls"].as_array().expect("calls") {
        assert_eq!(call["is_error"], false, "{report}");
        assert!(
            call["text"].as_str().unwrap_or_default().contains("traced"),
            "{report}"
        );
    }
    let first = trace_spans(phoenix.get("http"), &trace1, TEAM_SPANS);
    let second = trace_spans(phoenix.get("http"), &trace2, TEAM_SPANS);
    assert_team_trace(&first, &parent1, "tcp", false);
    assert_team_trace(&second, &parent2, "tcp", false);
    // Two callers, two traces: no span of one run in the other's trace.
    let ids =
        |spans: &[Value]| -> BTreeSet<String> { spans.iter().map(|s| id(s).into()).collect() };
    assert!(ids(&first).is_disjoint(&ids(&second)));
    // The event log's lines of a run carry the run id its spans carry, and their trace id.
    let workflow = first
        .iter()
        .find(|s| s["name"] == "invoke_workflow research")
        .expect("invoke_workflow span");
    let run_id = attr(workflow, "toolyard.run.id").as_str().expect("run id");
    // Lines are written by the log's own thread: wait for them (up to 10 s).
    let deadline = Instant::now() + Duration::from_secs(10);
    let (text, llm_calls) = loop {
        let text = std::fs::read_to_string(&events).unwrap_or_default();
        let llm_calls: Vec<Value> = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|l| l["type"] == "LLMCall" && l["trace_id"] == trace1.as_str())
            .collect();
        if !llm_calls.is_empty() || Instant::now() > deadline {
            break (text, llm_calls);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        !llm_calls.is_empty(),
        "no LLMCall line of trace {trace1}:\n{text}"
    );
    assert!(
        llm_calls.iter().all(|l| l["run_id"] == run_id),
        "run {run_id}: {llm_calls:#?}"
    );

    // The legacy SSE face on the same server.
    let (tp, trace, parent) = traceparent();
    traced_calls(
        "research",
        r#"{"task": "find"}"#,
        &[tp],
        &["sse".into(), format!("{base}/sse")],
        &[],
    );
    let spans = trace_spans(phoenix.get("http"), &trace, TEAM_SPANS);
    assert_team_trace(&spans, &parent, "tcp", false);
    // Every request served gets its SERVER span, not only calls: the 2026-07-28 clients'
    // `server/discover` (no traceparent there: a trace of its own).
    let all = phoenix_spans(phoenix.get("http"));
    let names: BTreeSet<&str> = all.iter().filter_map(|s| s["name"].as_str()).collect();
    let discover: Vec<&Value> = all
        .iter()
        .filter(|s| s["name"] == "server/discover")
        .collect();
    assert!(
        !discover.is_empty(),
        "no server/discover spans among {names:?}"
    );
    for span in &discover {
        assert_eq!(
            attr(span, "mcp.method.name"),
            "server/discover",
            "{span:#?}"
        );
    }
    let served = child(&spans, "tools/call research", &parent)[0];
    assert!(attr(served, "mcp.session.id").is_string(), "{served}");
    drop(guard);

    // OTLP gRPC; the stdio face (the client launches `toolyard serve --stdio`); contents
    // captured on opt-in.
    let grpc = [
        (
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
            "true".to_string(),
        ),
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            phoenix.get("otlp_grpc").to_string(),
        ),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".into()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100".into()),
    ];
    let (tp, trace, parent) = traceparent();
    let stdio = [
        "stdio".to_string(),
        "--".into(),
        toolyard().into(),
        "serve".into(),
        "--stdio".into(),
        "--config".into(),
        config.display().to_string(),
        "--workbenches".into(),
        wb.display().to_string(),
    ];
    traced_calls("research", r#"{"task": "find"}"#, &[tp], &stdio, &grpc);
    let spans = trace_spans(phoenix.get("http"), &trace, TEAM_SPANS);
    assert_team_trace(&spans, &parent, "pipe", true);
}

/// A collector that accepts connections and never answers.
fn hanging_collector() -> (String, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let thread = std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(64).flatten() {
            held.push(stream);
        }
    });
    (format!("http://{addr}"), thread)
}

/// A collector that answers every request 500.
fn failing_collector() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 65536];
            let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(
                b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
        }
    });
    format!("http://{addr}")
}

/// Stops a `toolyard serve` gracefully (SIGTERM) and waits for it (at most 30 s).
fn stop(mut guard: ChildGuard) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(guard.id()).expect("pid"));
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = guard.child_mut().try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("serve did not stop within 30 s of SIGTERM");
}

/// `toolyard_telemetry_dropped_total` on `/metrics`, once it is above 0 (or 0 after 20 s).
fn dropped_total(base: &str) -> f64 {
    let address = base.trim_start_matches("http://").to_string();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut stream = std::net::TcpStream::connect(&address).expect("connect /metrics");
        write!(
            stream,
            "GET /metrics HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
        )
        .expect("request");
        let mut text = String::new();
        stream.read_to_string(&mut text).expect("metrics");
        let value = text
            .lines()
            .find_map(|l| l.strip_prefix("toolyard_telemetry_dropped_total "))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or(0.0);
        if value > 0.0 || Instant::now() > deadline {
            return value;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_hanging_or_failing_collector_slows_no_call_and_dropped_spans_are_counted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, wb) = setup(dir.path());
    let (hanging, _held) = hanging_collector();
    let failing = failing_collector();
    for (name, endpoint) in [("hanging", hanging), ("failing", failing)] {
        let env = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "4".to_string()),
            ("OTEL_BSP_SCHEDULE_DELAY", "50".to_string()),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2000".to_string()),
        ];
        let log = dir.path().join(format!("{name}.log"));
        let (guard, base) = serve(&config, &wb, &env, &log);
        let traceparents: Vec<String> = (0..12).map(|_| traceparent().0).collect();
        let started = Instant::now();
        let report = traced_calls(
            "demo__echo",
            r#"{"message": "hi"}"#,
            &traceparents,
            &["http".into(), format!("{base}/mcp")],
            &[],
        );
        let took = started.elapsed();
        let calls = report["calls"].as_array().expect("calls");
        assert_eq!(calls.len(), 12);
        assert!(calls.iter().all(|c| c["text"] == "hi"), "{report}");
        // Twelve calls (each its own session) take well under the export timeout.
        assert!(
            took < Duration::from_secs(10),
            "{name}: calls took {took:?}"
        );
        let dropped = dropped_total(&base);
        assert!(dropped > 0.0, "{name}: /metrics counts the dropped spans");
        stop(guard);
        let text = std::fs::read_to_string(&log).expect("log");
        assert!(
            text.contains("dropping trace spans"),
            "{name}: the drop is logged once:\n{text}"
        );
        assert_eq!(text.matches("dropping trace spans").count(), 1, "{text}");
        assert!(
            text.contains("trace spans were dropped (toolyard_telemetry_dropped_total)"),
            "{name}: the count is said at shutdown:\n{text}"
        );
        assert!(
            !text.contains('\u{1b}'),
            "no ANSI codes off a terminal:\n{text}"
        );
    }
}

#[test]
fn json_logs_parse_line_by_line_and_carry_the_trace_id_inside_a_span() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, wb) = setup(dir.path());
    let failing = failing_collector();
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", failing),
        ("TOOLYARD_LOG_FORMAT", "json".to_string()),
        ("RUST_LOG", "info,toolyard::agents=debug".to_string()),
    ];
    let log = dir.path().join("json.log");
    let (guard, base) = serve(&config, &wb, &env, &log);
    let (tp, trace, _) = traceparent();
    traced_calls(
        "research",
        r#"{"task": "find"}"#,
        &[tp],
        &["http".into(), format!("{base}/mcp")],
        &[],
    );
    stop(guard);
    let text = std::fs::read_to_string(&log).expect("log");
    let lines: Vec<BTreeMap<String, Value>> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    assert!(lines.len() > 3, "{text}");
    for line in &lines {
        for key in ["timestamp", "level", "target", "message", "fields"] {
            assert!(line.contains_key(key), "{key} missing: {line:?}");
        }
    }
    let in_span: Vec<_> = lines
        .iter()
        .filter(|l| l.get("trace_id").and_then(Value::as_str) == Some(trace.as_str()))
        .collect();
    assert!(
        !in_span.is_empty(),
        "a log line inside the call's spans carries its trace id {trace}:\n{text}"
    );
    assert!(
        in_span
            .iter()
            .all(|l| l["span_id"].as_str().is_some_and(|s| s.len() == 16))
    );
}

/// An OpenAI-compatible endpoint that answers every chat request `done TERMINATE` and keeps
/// each request's `traceparent` header (empty string when absent).
fn recording_model() -> (String, std::sync::mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut data = Vec::new();
            let mut buf = [0u8; 8192];
            let head_end = loop {
                let n = stream.read(&mut buf).unwrap_or(0);
                if n == 0 {
                    break None;
                }
                data.extend_from_slice(&buf[..n]);
                if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                    break Some(at + 4);
                }
            };
            let Some(head_end) = head_end else { continue };
            let head = String::from_utf8_lossy(&data[..head_end]).to_ascii_lowercase();
            let header = |name: &str| {
                head.lines()
                    .find_map(|l| l.strip_prefix(&format!("{name}: ")).map(str::to_string))
                    .unwrap_or_default()
            };
            let length: usize = header("content-length").trim().parse().unwrap_or(0);
            while data.len() < head_end + length {
                let n = stream.read(&mut buf).unwrap_or(0);
                if n == 0 {
                    break;
                }
                data.extend_from_slice(&buf[..n]);
            }
            let _ = tx.send(header("traceparent").trim().to_string());
            let body = r#"{"id":"c1","object":"chat.completion","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":"done TERMINATE"},"finish_reason":"stop"}],"usage":{"prompt_tokens":7,"completion_tokens":2,"total_tokens":9}}"#;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (format!("http://{addr}/v1"), rx)
}

/// The trace id of a W3C traceparent (`00-TRACE-SPAN-01`), if well formed.
fn trace_of(traceparent: &str) -> Option<&str> {
    let parts: Vec<&str> = traceparent.split('-').collect();
    (parts.len() == 4 && parts[1].len() == 32 && parts[2].len() == 16).then(|| parts[1])
}

#[test]
fn upstream_requests_carry_meta_traceparent_and_model_requests_the_header() {
    let dir = tempfile::tempdir().expect("tempdir");
    let failing = failing_collector();
    let config = dir.path().join("servers.toml");
    std::fs::write(
        &config,
        format!(
            "[servers.meta]\ncommand = \"{python}\"\nargs = [\"{script}\"]\n",
            python = python().display(),
            script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/meta_upstream.py"),
        ),
    )
    .expect("write config");
    let call = |traced: bool| {
        let mut command = Command::new(toolyard());
        command
            .args(["call", "meta__trace_meta", "--config"])
            .arg(&config)
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT");
        if traced {
            command.env("OTEL_EXPORTER_OTLP_ENDPOINT", &failing);
        }
        let out = command.output().expect("toolyard call");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    // `toolyard call` with traces on: the upstream sees the CLIENT span's context in `_meta`.
    let sent = call(true);
    assert!(trace_of(&sent).is_some(), "traceparent upstream: {sent:?}");
    // Off: nothing is added.
    assert_eq!(call(false), "", "no trace context without telemetry");

    // `toolyard run` of a team on an OpenAI-compatible model: each model request carries the
    // `traceparent` header, all in the run's one trace.
    let (url, requests) = recording_model();
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/teams/round_robin.json"
    );
    let team = std::fs::read_to_string(fixture)
        .expect("fixture")
        .replace("http://127.0.0.1:9/v1", &url);
    let file = dir.path().join("team.json");
    std::fs::write(&file, team).expect("write team");
    let out = Command::new(toolyard())
        .args(["run"])
        .arg(&file)
        .args(["--task", "go", "--json", "--config"])
        .arg(dir.path().join("none.toml"))
        .env("OPENAI_API_KEY", "sk-test")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &failing)
        .output()
        .expect("toolyard run");
    assert!(out.status.success(), "{out:?}");
    let headers: Vec<String> = requests.try_iter().collect();
    assert!(!headers.is_empty(), "the model was asked");
    let traces: BTreeSet<&str> = headers.iter().filter_map(|h| trace_of(h)).collect();
    assert_eq!(
        traces.len(),
        1,
        "one trace for the run's model requests: {headers:?}"
    );
    assert!(headers.iter().all(|h| trace_of(h).is_some()), "{headers:?}");
}
