//! 2025-11-25 tasks over `toolyard serve --stdio`, for an upstream tool that declares
//! `execution.taskSupport` (the Python `mcp` SDK server in tests/py/fastmcp_upstream.py): the
//! gateway runs the call as a local task over a normal upstream call.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{ChildGuard, write_fastmcp_tasks_config};
use serde_json::{Value, json};

const PATIENCE: Duration = Duration::from_secs(60);

/// A line-oriented JSON-RPC client on the child's stdin/stdout.
struct Client {
    _guard: ChildGuard,
    stdin: ChildStdin,
    lines: mpsc::Receiver<Value>,
    next: i64,
}

impl Client {
    fn start(config: &Path) -> Self {
        let mut guard = ChildGuard::spawn(
            Command::new(env!("CARGO_BIN_EXE_toolyard"))
                .args(["serve", "--stdio", "--config"])
                .arg(config)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null()),
        );
        let stdin = guard.child_mut().stdin.take().unwrap();
        let stdout = guard.child_mut().stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Ok(value) = serde_json::from_str::<Value>(&line)
                    && tx.send(value).is_err()
                {
                    break;
                }
            }
        });
        Self {
            _guard: guard,
            stdin,
            lines,
            next: 1,
        }
    }

    fn send(&mut self, message: &Value) {
        writeln!(self.stdin, "{message}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// Send a request and wait for its response (other messages are skipped).
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next;
        self.next += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no response to {method}"));
            if message["id"] == id && message.get("method").is_none() {
                return message;
            }
        }
    }
}

#[test]
fn legacy_task_over_stdio_for_an_upstream_tool() {
    let dir = tempfile::tempdir().unwrap();
    let mut client = Client::start(&write_fastmcp_tasks_config(dir.path()));
    let init = client.request(
        "initialize",
        json!({"protocolVersion": "2025-11-25", "capabilities": {},
               "clientInfo": {"name": "tasks-stdio-test", "version": "1"}}),
    );
    let caps = &init["result"]["capabilities"];
    assert!(
        caps["tasks"]["requests"]["tools"]["call"].is_object(),
        "{init}"
    );
    client.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));

    // Wait for the upstream's tools; slow_report keeps its taskSupport.
    let deadline = Instant::now() + PATIENCE;
    let tool = loop {
        let list = client.request("tools/list", json!({}));
        let found = list["result"]["tools"]
            .as_array()
            .and_then(|tools| tools.iter().find(|t| t["name"] == "slow_report").cloned());
        if let Some(tool) = found {
            break tool;
        }
        assert!(
            Instant::now() < deadline,
            "slow_report never listed: {list}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(tool["execution"]["taskSupport"], "optional", "{tool}");

    let created = client.request(
        "tools/call",
        json!({"name": "slow_report", "arguments": {}, "task": {"ttl": 30000}}),
    );
    let task = created["result"]["task"].clone();
    assert_eq!(task["status"], "working", "{created}");
    assert_eq!(task["ttl"], 30000, "{created}");
    let id = task["taskId"].as_str().unwrap().to_string();

    let result = client.request("tasks/result", json!({"taskId": id}));
    assert_eq!(
        result["result"]["content"][0]["text"], "report ready",
        "{result}"
    );
    assert_eq!(
        result["result"]["_meta"]["io.modelcontextprotocol/related-task"]["taskId"],
        id.as_str()
    );
    let got = client.request("tasks/get", json!({"taskId": id}));
    assert_eq!(got["result"]["status"], "completed", "{got}");
    let list = client.request("tasks/list", json!({}));
    assert_eq!(list["result"]["tasks"][0]["taskId"], id.as_str(), "{list}");

    // echo declares no task support: a task request for it is refused.
    let refused = client.request(
        "tools/call",
        json!({"name": "echo", "arguments": {"message": "x"}, "task": {}}),
    );
    assert_eq!(refused["error"]["code"], -32601, "{refused}");
    let unknown = client.request("tasks/get", json!({"taskId": "nope"}));
    assert_eq!(unknown["error"]["code"], -32602, "{unknown}");
    // Plain calls still work next to tasks.
    let echo = client.request(
        "tools/call",
        json!({"name": "echo", "arguments": {"message": "hi"}}),
    );
    assert_eq!(echo["result"]["content"][0]["text"], "py: hi", "{echo}");
}
