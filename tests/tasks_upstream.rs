//! Tasks through `toolyard serve` with real upstreams and real clients:
//!
//! - several callers at once on one upstream, each with a task and a plain call: each sees
//!   only its own events, in order;
//! - tasks forwarded to upstreams that support them, driven by the Python `mcp` SDK client in
//!   both eras (tests/py/upstream_tasks_client.py): server-everything's task-required
//!   `simulate-research-query` (a 2025-11-25 upstream, with its question on the related task)
//!   and the Python SDK server's 2026-07-28 task tools (tests/py/fastmcp_upstream.py); two
//!   callers at once each see only their own task; a cancel reaches the upstream.
#![allow(clippy::unwrap_used)]

mod common;
mod common_tasks;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use common::{
    ChildGuard, free_port, npm_bin, python, python_report, spawn_until_healthy,
    write_fastmcp_tasks_config,
};
use common_tasks::{Legacy, PATIENCE, standalone_stream};
use serde_json::{Value, json};

/// Steps of progress each `count` run reports.
const STEPS: u32 = 40;

/// `toolyard serve` over `config` on a free port, once every upstream is ready.
fn serve_blocking(config: &Path) -> (ChildGuard, String) {
    let port = free_port();
    spawn_until_healthy(
        Command::new(env!("CARGO_BIN_EXE_toolyard"))
            .args(["serve", "--config"])
            .arg(config)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null()),
        port,
    )
}

async fn serve(config: PathBuf) -> (ChildGuard, String) {
    tokio::task::spawn_blocking(move || serve_blocking(&config))
        .await
        .unwrap()
}

/// server-everything (a 2025-11-25 server with experimental tasks) and the Python SDK server
/// (2026-07-28, tasks extension), both over stdio and both shared by every caller.
fn task_upstreams_config(dir: &Path) -> PathBuf {
    let path = dir.join("servers.toml");
    let text = format!(
        r#"
[servers.everything]
command = "{everything}"
timeout_secs = 30

[servers.py]
command = "{python}"
args = ["{py_server}", "stdio"]
timeout_secs = 30
"#,
        everything = npm_bin("mcp-server-everything").display(),
        python = python().display(),
        py_server = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/fastmcp_upstream.py"),
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs tests/py/upstream_tasks_client.py against `url` in `mode` for `tool`, one session per
/// `name=arguments` caller, with `extra` options.
fn run_callers(
    url: &str,
    mode: &str,
    tool: &str,
    callers: &[(&str, Value)],
    extra: &[&str],
) -> Value {
    let mut args: Vec<String> = vec![url.into(), mode.into(), tool.into()];
    for (name, arguments) in callers {
        args.push("--caller".into());
        args.push(format!("{name}={arguments}"));
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    python_report("upstream_tasks_client.py", args)
}

fn result_text(report: &Value, caller: &str) -> String {
    report[caller]["result"]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no result for {caller}: {report}"))
        .to_string()
}

fn statuses(report: &Value, caller: &str) -> Vec<(String, String)> {
    report[caller]["statuses"]
        .as_array()
        .unwrap_or_else(|| panic!("no statuses for {caller}: {report}"))
        .iter()
        .map(|s| {
            let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
            (text(&s[0]), text(&s[1]))
        })
        .collect()
}

/// What the Python upstream says happened to its tasks (its `task_log` tool), once `wanted` is
/// there (the cancel travels to the upstream after the caller's task is already cancelled).
fn upstream_log_with(url: &str, wanted: &str) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let report = python_report("upstream_tasks_client.py", [url, "plain", "py__task_log"]);
        let log = report["log"].as_str().unwrap_or_default().to_string();
        if log.lines().any(|l| l == wanted) || Instant::now() > deadline {
            return log;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// The JSON-RPC messages in an SSE (or JSON) body.
fn messages(body: &str) -> Vec<Value> {
    if let Ok(one) = serde_json::from_str::<Value>(body) {
        return vec![one];
    }
    body.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        .collect()
}

/// The progress messages among `messages`, checked to carry `token`.
fn progress_of(messages: &[Value], token: &str) -> Vec<String> {
    messages
        .iter()
        .filter(|m| m["method"] == "notifications/progress")
        .map(|m| {
            assert_eq!(m["params"]["progressToken"], token, "{m}");
            m["params"]["message"].as_str().unwrap().to_string()
        })
        .collect()
}

fn expected(label: &str) -> Vec<String> {
    (1..=STEPS).map(|s| format!("{label} {s}")).collect()
}

/// What one caller saw: its task's progress and its plain call's progress.
struct Seen {
    task: Vec<String>,
    call: Vec<String>,
    everything: Vec<Value>,
}

/// One caller: a task of `count` and a plain call of `count` at the same time.
async fn caller(url: &str, name: &str) -> Seen {
    let session = Legacy::open(url).await;
    let mut stream = standalone_stream(&session).await;
    let task_label = format!("{name}-task");
    let call_label = format!("{name}-call");
    let start = session.request_with_body(
        "tools/call",
        json!({"name": "count", "arguments": {"steps": STEPS, "label": task_label},
               "task": {"ttl": 60000}, "_meta": {"progressToken": task_label}}),
    );
    let call = session.request_with_body(
        "tools/call",
        json!({"name": "count", "arguments": {"steps": STEPS, "label": call_label},
               "_meta": {"progressToken": call_label}}),
    );
    let ((created, created_body), (called, called_body)) = tokio::join!(start, call);
    assert_eq!(
        called["result"]["content"][0]["text"],
        format!("{call_label} counted {STEPS}"),
        "{called}"
    );
    let task = created["result"]["task"]["taskId"]
        .as_str()
        .unwrap_or_else(|| panic!("no task: {created}"))
        .to_string();
    // Progress sent before the task handle went out rides the creating request's stream.
    let mut everything = messages(&created_body);
    let mut task_messages = everything.clone();
    loop {
        let message = tokio::time::timeout(PATIENCE, stream.recv())
            .await
            .expect("the task's notifications")
            .expect("the stream stays open");
        everything.push(message.clone());
        task_messages.push(message.clone());
        if message["method"] == "notifications/tasks/status" {
            assert_eq!(message["params"]["taskId"], task.as_str(), "{message}");
            assert_eq!(message["params"]["status"], "completed", "{message}");
            break;
        }
    }
    let call_messages = messages(&called_body);
    everything.extend(call_messages.iter().cloned());
    Seen {
        task: progress_of(&task_messages, &task_label),
        call: progress_of(&call_messages, &call_label),
        everything,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_on_one_upstream_each_see_only_their_own_task_and_call_events() {
    let dir = tempfile::tempdir().unwrap();
    let (_serve, base) = serve(write_fastmcp_tasks_config(dir.path())).await;
    let url = format!("{base}/mcp");
    let (alice, bob) = tokio::join!(caller(&url, "alice"), caller(&url, "bob"));
    for (name, other, seen) in [("alice", "bob", &alice), ("bob", "alice", &bob)] {
        assert_eq!(
            seen.task,
            expected(&format!("{name}-task")),
            "{name}'s task"
        );
        assert_eq!(
            seen.call,
            expected(&format!("{name}-call")),
            "{name}'s call"
        );
        for message in &seen.everything {
            assert!(
                !message.to_string().contains(other),
                "{name} saw {other}'s traffic: {message}"
            );
        }
    }
}

/// server-everything's `simulate-research-query` declares `taskSupport: "required"`: a plain
/// upstream call of it is refused, so it works only forwarded as a task. Two 2025-era callers
/// at once (one of them asked to clarify an ambiguous topic, by an elicitation the upstream
/// marks with its task) each see only their own task; a third one cancels its task.
#[test]
fn a_task_required_upstream_tool_runs_for_2025_callers() {
    let dir = tempfile::tempdir().unwrap();
    let (_serve, base) = serve_blocking(&task_upstreams_config(dir.path()));
    let url = format!("{base}/mcp");
    let callers = [
        ("alice", json!({"topic": "python", "ambiguous": true})),
        ("bob", json!({"topic": "rust"})),
        ("carol", json!({"topic": "go"})),
    ];
    let extra = ["--answer", "interpretation=snake", "--cancel", "carol"];
    let report = run_callers(
        &url,
        "legacy",
        "everything__simulate-research-query",
        &callers,
        &extra,
    );
    for (name, topic, other) in [
        ("alice", "python (snake)", "rust"),
        ("bob", "rust", "python"),
    ] {
        let caller = &report[name];
        assert_eq!(caller["protocol_version"], "2025-11-25", "{report}");
        let id = caller["task_id"].as_str().unwrap();
        assert_eq!(caller["final"]["status"], "completed", "{name}: {report}");
        let text = result_text(&report, name);
        assert!(
            text.contains(&format!("Research Report: {topic}")),
            "{name}: {text}"
        );
        assert!(
            !text.contains(&format!("Report: {other}")),
            "{name}: {text}"
        );
        // The result names the caller's task, never the upstream's.
        assert_eq!(
            caller["result"]["meta"]["io.modelcontextprotocol/related-task"]["taskId"],
            id
        );
        // The upstream's status messages reach the task's owner.
        assert!(
            statuses(&report, name)
                .iter()
                .any(|(_, m)| m == "Generating report..."),
            "{name}: {report}"
        );
        // Status notifications name its own task only, and carry the upstream's messages.
        let notified = caller["notified"].as_array().unwrap();
        assert!(notified.iter().all(|n| n[0] == id), "{name}: {report}");
        assert!(
            notified.iter().any(|n| n[2] == "Gathering sources..."),
            "{name}: {report}"
        );
        assert!(
            notified.iter().any(|n| n[1] == "completed"),
            "{name}: {report}"
        );
        // Only its own task is listed; the others' ids are refused.
        assert_eq!(caller["listed"], json!([id]), "{report}");
        for (other_name, seen) in caller["others"].as_object().unwrap() {
            let error = seen["exception"].as_str().unwrap_or_default();
            assert!(
                error.contains("unknown task id"),
                "{name} saw {other_name}'s task: {seen}"
            );
        }
    }
    // alice was asked to clarify (on her own session), bob and carol never were.
    assert_eq!(
        report["alice"]["elicitations"].as_array().unwrap().len(),
        1,
        "{report}"
    );
    assert_eq!(report["bob"]["elicitations"], json!([]), "{report}");
    assert_eq!(report["carol"]["elicitations"], json!([]), "{report}");
    assert_eq!(report["carol"]["final"]["status"], "cancelled", "{report}");
    assert!(report["carol"].get("result").is_none(), "{report}");
}

/// The same tool for 2026-07-28 callers (the Python SDK client declares the tasks extension):
/// the 2025 upstream's task is theirs as a 2026 task; its question comes as the task's
/// `input_required`, answered with `tasks/update`.
#[test]
fn a_task_required_upstream_tool_runs_for_2026_callers() {
    let dir = tempfile::tempdir().unwrap();
    let (_serve, base) = serve_blocking(&task_upstreams_config(dir.path()));
    let url = format!("{base}/mcp");
    let callers = [
        ("alice", json!({"topic": "python", "ambiguous": true})),
        ("bob", json!({"topic": "rust"})),
    ];
    let extra = ["--answer", "interpretation=comedy"];
    let report = run_callers(
        &url,
        "auto",
        "everything__simulate-research-query",
        &callers,
        &extra,
    );
    assert_ne!(
        report["alice"]["task_id"], report["bob"]["task_id"],
        "{report}"
    );
    for (name, topic, other) in [
        ("alice", "python (comedy)", "rust"),
        ("bob", "rust", "python"),
    ] {
        assert_eq!(report[name]["protocol_version"], "2026-07-28", "{report}");
        assert_eq!(report[name]["result"]["is_error"], false, "{report}");
        let text = result_text(&report, name);
        assert!(
            text.contains(&format!("Research Report: {topic}")),
            "{name}: {text}"
        );
        assert!(
            !text.contains(&format!("Report: {other}")),
            "{name}: {text}"
        );
        // The inlined result carries no related-task mark (SEP-2663).
        assert!(
            report[name]["final"]["result"]["_meta"]
                .get("io.modelcontextprotocol/related-task")
                .is_none(),
            "{report}"
        );
    }
    let alice = statuses(&report, "alice");
    assert!(
        alice.iter().any(|(s, _)| s == "input_required"),
        "{alice:?}"
    );
    assert_eq!(
        report["alice"]["elicitations"].as_array().unwrap().len(),
        1,
        "{report}"
    );
    assert_eq!(report["bob"]["elicitations"], json!([]), "{report}");
}

/// The Python SDK server speaks the 2026-07-28 tasks extension: its task tools run there for
/// callers of both eras, each caller answering its own task's question; cancelling a task at
/// toolyard cancels it at the upstream.
#[test]
fn a_2026_upstreams_tasks_run_for_callers_of_both_eras_and_cancel_there() {
    let dir = tempfile::tempdir().unwrap();
    let (_serve, base) = serve_blocking(&task_upstreams_config(dir.path()));
    let url = format!("{base}/mcp");
    for mode in ["legacy", "auto"] {
        let callers = [
            ("ann", json!({"label": format!("{mode}-ann")})),
            ("ben", json!({"label": format!("{mode}-ben")})),
        ];
        let report = run_callers(
            &url,
            mode,
            "py__ask_task",
            &callers,
            &["--answer", "name=Zoe"],
        );
        for name in ["ann", "ben"] {
            let label = format!("{mode}-{name}");
            assert_eq!(
                result_text(&report, name),
                format!("{label} done for Zoe"),
                "{report}"
            );
            let asked = report[name]["elicitations"].as_array().unwrap();
            assert_eq!(asked.len(), 1, "{mode}: {report}");
            assert_eq!(asked[0], format!("who is {label} for?"), "{mode}: {report}");
        }
        let label = format!("{mode}-wait");
        let callers = [("waiter", json!({"label": label}))];
        let report = run_callers(
            &url,
            mode,
            "py__wait_task",
            &callers,
            &["--cancel", "waiter"],
        );
        assert_eq!(
            report["waiter"]["final"]["status"], "cancelled",
            "{mode}: {report}"
        );
        let log = upstream_log_with(&url, &format!("cancelled {label}"));
        assert!(
            log.lines().any(|l| l == format!("created {label}")),
            "{mode}: {log}"
        );
        assert!(
            log.lines().any(|l| l == format!("cancelled {label}")),
            "{mode}: {log}"
        );
    }
}
