//! Tasks and calls of several callers at once on one real upstream, through `toolyard serve`:
//! each caller sees only its own events, in order.
#![allow(clippy::unwrap_used)]

mod common;
mod common_tasks;

use std::process::{Command, Stdio};

use common::{ChildGuard, free_port, spawn_until_healthy, write_fastmcp_tasks_config};
use common_tasks::{Legacy, PATIENCE, standalone_stream};
use serde_json::{Value, json};

/// Steps of progress each `count` run reports.
const STEPS: u32 = 40;

/// `toolyard serve` over `config` on a free port, once every upstream is ready.
async fn serve(config: std::path::PathBuf) -> (ChildGuard, String) {
    tokio::task::spawn_blocking(move || {
        let port = free_port();
        spawn_until_healthy(
            Command::new(env!("CARGO_BIN_EXE_toolyard"))
                .args(["serve", "--config"])
                .arg(&config)
                .args(["--listen", &format!("127.0.0.1:{port}")])
                .stdout(Stdio::null()),
            port,
        )
    })
    .await
    .unwrap()
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
