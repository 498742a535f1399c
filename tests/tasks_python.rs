//! 2025-11-25 tasks through `toolyard serve` (streamable HTTP) driven by the Python `mcp` SDK
//! client (tests/py/tasks_client.py), for an upstream tool that declares `taskSupport`.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{ChildGuard, free_port, python, wait_for_port, write_fastmcp_tasks_config};
use serde_json::Value;

fn healthy(base: &str) -> bool {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let Ok(response) = reqwest::get(format!("{base}/healthz")).await else {
            return false;
        };
        response
            .json::<Value>()
            .await
            .is_ok_and(|v| v["status"] == "ok")
    })
}

#[test]
fn python_sdk_client_runs_a_legacy_task() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_fastmcp_tasks_config(dir.path());
    let port = free_port();
    let _serve = ChildGuard::spawn(
        Command::new(env!("CARGO_BIN_EXE_toolyard"))
            .args(["serve", "--config"])
            .arg(&config)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    wait_for_port(
        format!("127.0.0.1:{port}").parse().unwrap(),
        Duration::from_secs(30),
    );
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !healthy(&base) {
        assert!(Instant::now() < deadline, "upstream never became ready");
        std::thread::sleep(Duration::from_millis(100));
    }

    let out = Command::new(python())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/py/tasks_client.py"
        ))
        .arg(format!("{base}/mcp"))
        .arg("slow_report")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "no report ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });

    assert_eq!(report["protocol_version"], "2025-11-25", "{report}");
    assert!(
        report["capabilities"]["tasks"]["requests"]["tools"]["call"].is_object(),
        "{report}"
    );
    assert_eq!(report["execution"]["slow_report"], "optional", "{report}");
    let task = &report["created"]["task"];
    assert_eq!(task["status"], "working", "{report}");
    assert_eq!(task["ttl"], 30000, "{report}");
    let id = task["taskId"].as_str().unwrap();
    assert_eq!(
        report["result"]["content"][0]["text"], "report ready",
        "{report}"
    );
    assert_eq!(
        report["result"]["_meta"]["io.modelcontextprotocol/related-task"]["taskId"],
        id
    );
    assert_eq!(report["get"]["status"], "completed", "{report}");
    assert_eq!(report["list"]["tasks"][0]["taskId"], id, "{report}");
    let ended = report["cancel_ended"]["exception"]
        .as_str()
        .unwrap_or_default();
    assert!(ended.contains("already ended (\"completed\")"), "{report}");
    let unknown = report["unknown"]["exception"].as_str().unwrap_or_default();
    assert!(unknown.contains("unknown task id `nope`"), "{report}");
}
