//! `toolyard serve` driven by real clients: the Python `mcp` SDK over stdio, streamable HTTP
//! (legacy and auto modes) and SSE, with the demo server and server-everything behind it.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{
    ChildGuard, example_bin, free_port, healthz, marked_processes, npm_bin, python, python_report,
    report_tools, spawn_until_healthy,
};
use serde_json::Value;

fn toolyard() -> &'static str {
    env!("CARGO_BIN_EXE_toolyard")
}

/// A servers.toml with our demo server and server-everything, both over stdio.
fn write_config(dir: &Path) -> PathBuf {
    let path = dir.join("servers.toml");
    let text = format!(
        r#"
[gateway]
prefix = "always"

[servers.demo]
command = "{demo}"
timeout_secs = 20

[servers.everything]
command = "{everything}"
timeout_secs = 20
# It asks the client (sampling, elicitation) outside of any request stream: each caller gets
# its own session so those questions reach the caller whose call asked them.
session = "per_caller"

[servers.py]
command = "{python}"
args = ["{py_server}", "stdio"]
protocol = "2025-11-25"
session = "per_caller"
"#,
        demo = example_bin("demo_server").display(),
        everything = npm_bin("mcp-server-everything").display(),
        python = python().display(),
        py_server = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/fastmcp_upstream.py"),
    );
    std::fs::write(&path, text).expect("write servers.toml");
    path
}

struct Served {
    guard: ChildGuard,
    base: String,
    _dir: Option<tempfile::TempDir>,
}

/// Start `toolyard serve` with the standard test config and wait until every upstream is ready.
fn serve() -> Served {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut served = serve_with(&write_config(dir.path()));
    served._dir = Some(dir);
    served
}

/// Start `toolyard serve --config config` on a free port; wait until `/healthz` says ready.
fn serve_with(config: &Path) -> Served {
    let port = free_port();
    let (guard, base) = spawn_until_healthy(
        Command::new(toolyard())
            .args(["serve", "--config"])
            .arg(config)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null()),
        port,
    );
    Served {
        guard,
        base,
        _dir: None,
    }
}

/// Run the Python client scenario; returns its JSON report.
fn python_client(args: &[&str]) -> Value {
    python_report("gateway_client.py", args)
}

fn text(report: &Value, key: &str) -> String {
    report[key]["text"].as_str().unwrap_or_default().to_string()
}

/// What every transport and era must give.
fn assert_core(report: &Value) {
    let tools = report_tools(report);
    for expected in [
        "demo__echo",
        "demo__add",
        "everything__echo",
        "everything__get-sum",
    ] {
        assert!(
            tools.contains(&expected),
            "{expected} missing from {tools:?}"
        );
    }
    assert_eq!(text(report, "echo"), "hello", "{report}");
    assert_eq!(report["echo"]["is_error"], false);
    assert_eq!(report["invalid"]["is_error"], true, "{report}");
    let invalid = text(report, "invalid");
    assert!(
        invalid.contains("/message") && invalid.contains("string"),
        "{invalid}"
    );
    let unknown = report["unknown"].to_string();
    assert!(unknown.contains("unknown tool `no_such_tool`"), "{unknown}");
    assert!(text(report, "resource").contains("demo"), "{report}");
    assert!(text(report, "prompt").contains("Ada"), "{report}");
    // Progress is best-effort in MCP; what is relayed must arrive in order.
    let progress: Vec<f64> = report["progress"]["progress"]
        .as_array()
        .expect("progress list")
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    assert!(progress.len() >= 2, "progress relayed: {report}");
    assert!(
        progress.windows(2).all(|w| w[0] < w[1]),
        "in order: {progress:?}"
    );
    assert!(text(report, "progress").contains("completed"), "{report}");
}

/// An upstream's tools/list_changed reaches a 2025-era session, and the new tool is listed.
fn assert_list_changed(report: &Value) {
    assert_eq!(report["list_changed"]["notified"], true, "{report}");
    assert_eq!(report["list_changed"]["touched_listed"], true, "{report}");
}

/// A tool field rmcp does not model (`execution`) reaches the 2025-era client unchanged.
fn assert_extras(report: &Value) {
    assert_eq!(
        report["execution"]["py__slow_report"], "optional",
        "{report}"
    );
}

/// Sampling and elicitation relayed from server-everything to the Python client and back.
fn assert_relays(report: &Value) {
    assert!(
        text(report, "sampling").contains("sampled by the python client"),
        "{report}"
    );
    assert!(text(report, "elicitation").contains("Ada"), "{report}");
}

#[test]
fn python_client_over_stdio() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path());
    let config = config.to_str().expect("utf-8 path");
    // Lists answer with what is ready; wait for the slower upstreams' tools (list_changed).
    let report = python_client(&[
        "stdio",
        "--wait-for",
        "py__slow_report",
        "--wait-for",
        "everything__trigger-long-running-operation",
        "--",
        toolyard(),
        "serve",
        "--stdio",
        "--config",
        config,
    ]);
    assert_eq!(report["protocol_version"], "2025-11-25");
    assert_core(&report);
    assert_relays(&report);
    assert_extras(&report);
    assert_list_changed(&report);
}

#[test]
fn python_client_over_streamable_http_legacy_mode() {
    let served = serve();
    let url = format!("{}/mcp", served.base);
    let report = python_client(&["http", &url, "--mode", "legacy"]);
    assert_eq!(report["protocol_version"], "2025-11-25");
    assert_core(&report);
    assert_relays(&report);
    assert_extras(&report);
    assert_list_changed(&report);
}

#[test]
fn python_client_over_streamable_http_auto_mode_speaks_2026() {
    let served = serve();
    let url = format!("{}/mcp", served.base);
    let report = python_client(&["http", &url, "--mode", "auto"]);
    assert_eq!(report["protocol_version"], "2026-07-28");
    assert_core(&report);
    // server-everything (2025 era) asks for sampling/elicitation; the 2026 caller gets them as
    // input_required rounds, answers, and the upstream call completes.
    assert_relays(&report);
}

#[test]
fn python_client_over_legacy_sse() {
    let served = serve();
    let url = format!("{}/sse", served.base);
    let report = python_client(&["sse", &url]);
    assert_eq!(report["protocol_version"], "2025-11-25");
    assert_core(&report);
    assert_relays(&report);
    assert_extras(&report);
    assert_list_changed(&report);
}

#[test]
fn healthz_reports_each_upstream() {
    let served = serve();
    let health = healthz(&served.base);
    let servers = health["servers"].as_array().expect("servers");
    assert_eq!(servers.len(), 3);
    for s in servers {
        assert_eq!(s["state"], "ready", "{s}");
        assert_eq!(s["transport"], "stdio");
        assert!(s["tools"].as_u64().unwrap_or(0) >= 3, "{s}");
    }
}

#[test]
fn sigterm_stops_serve_and_leaves_no_upstream_behind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let marker = uuid::Uuid::new_v4().to_string();
    let config = dir.path().join("servers.toml");
    let text = format!(
        "[servers.demo]\ncommand = \"{}\"\nenv = {{ TOOLYARD_TEST_MARKER = \"{marker}\" }}\n",
        example_bin("demo_server").display()
    );
    std::fs::write(&config, text).expect("config");
    let mut served = serve_with(&config);
    assert_eq!(marked_processes(&marker).len(), 1, "the demo upstream runs");

    let pid = nix::unistd::Pid::from_raw(i32::try_from(served.guard.id()).expect("pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = served.guard.child_mut().try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "serve did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "clean exit: {status}");
    assert_eq!(
        marked_processes(&marker),
        Vec::<u32>::new(),
        "no orphaned upstream"
    );
}

#[test]
fn an_upstream_that_withdraws_its_sampling_request_cancels_it_at_the_caller() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/slow_sampler.py");
    let output = Command::new(python())
        .args([
            script,
            "py__impatient_sample",
            "--",
            toolyard(),
            "serve",
            "--stdio",
            "--config",
        ])
        .arg(&config)
        .output()
        .expect("run slow sampler");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("bad report {stdout}: {e}"));
    assert_eq!(report["text"], "gave up", "{report}");
    assert!(
        report["cancel_notifications"].as_u64().unwrap_or(0) >= 1
            || report["callback_cancelled"] == true,
        "the caller's sampling request was cancelled: {report}"
    );
}
