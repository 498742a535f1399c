//! Upstream start-up never stalls a client: slow starters connect, a hung upstream next to a
//! healthy one never holds up lists (its tools come later with a change notice), a call for a
//! tool of a starting upstream waits for it, and a failed start names its cause.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::{example_bin, free_port};
use rmcp::model::{CallToolResult, JsonObject};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use toolyard::config::Config;
use toolyard::gateway::Gateway;
use toolyard::workbench::{CallContext, Workbench, WorkbenchChange};

fn gateway(toml: &str) -> Arc<Gateway> {
    let config = Config::parse(toml, Path::new("/tmp/servers.toml"), &|_| None)
        .unwrap_or_else(|e| panic!("config: {e}\n{toml}"));
    Gateway::from_config(&config, CancellationToken::new())
}

fn demo() -> String {
    example_bin("demo_server").display().to_string()
}

/// A stdio server that starts answering only after `secs` seconds.
fn slow_server(name: &str, secs: u32, startup_timeout: u32) -> String {
    format!(
        r#"
[servers.{name}]
command = "bash"
args = ["-c", "sleep {secs}; exec {demo}"]
startup_timeout_secs = {startup_timeout}
"#,
        demo = demo()
    )
}

fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect()
}

fn echo(message: &str) -> Option<JsonObject> {
    json!({ "message": message }).as_object().cloned()
}

/// Bound on anything that must not hang (a failure, never a performance assertion).
const HANG: Duration = Duration::from_secs(90);

#[tokio::test]
async fn a_server_slower_than_the_discover_probe_still_connects() {
    // rmcp gives up on its `server/discover` probe after 10 s and falls back to `initialize`;
    // the server's late reply to the probe must not be taken as the `initialize` reply.
    let gw = gateway(&slow_server("slow", 12, 60));
    let ready = gw.wait_ready(HANG).await;
    let status = gw.statuses()[0].clone();
    assert!(
        ready,
        "a 12 s start within a 60 s start-up timeout connects: {status:?}"
    );
    let r = gw
        .call_tool("slow__echo", echo("late but here"), CallContext::default())
        .await
        .expect("echo");
    assert_eq!(text(&r), "late but here");
    gw.shutdown().await;
}

#[tokio::test]
async fn a_hung_upstream_never_holds_up_lists_and_late_ones_are_announced() {
    let config = format!(
        r#"
[servers.demo]
command = "{demo}"

[servers.hung]
command = "bash"
args = ["-c", "exec sleep 600"]
startup_timeout_secs = 120
{late}"#,
        demo = demo(),
        late = slow_server("late", 3, 60),
    );
    let gw = gateway(&config);
    let mut changes = gw.changes().expect("changes");
    // Two listers at once, right after start: both answer with what is ready while `hung` is
    // still starting (it never answers; its start-up timeout is two minutes).
    let (a, b) = tokio::time::timeout(HANG, async {
        tokio::join!(gw.list_tools(), gw.list_tools())
    })
    .await
    .expect("lists must not wait for a hung upstream");
    for list in [a.expect("list"), b.expect("list")] {
        let names: Vec<String> = list.iter().map(|t| t.name().to_string()).collect();
        assert!(names.iter().any(|n| n == "demo__echo"), "{names:?}");
        assert!(!names.iter().any(|n| n.starts_with("late__")), "{names:?}");
    }
    let hung = gw
        .statuses()
        .into_iter()
        .find(|s| s.name == "hung")
        .expect("hung");
    assert_eq!(
        hung.state, "starting",
        "the list did not wait for it: {hung:?}"
    );
    // `late` becomes ready after ~3 s: listeners hear that the tool list changed.
    tokio::time::timeout(HANG, async {
        loop {
            match changes.recv().await {
                Ok(WorkbenchChange::Tools) => {
                    let list = gw.list_tools().await.expect("list");
                    if list.iter().any(|t| t.name() == "late__echo") {
                        break;
                    }
                }
                Ok(_) => {}
                Err(e) => panic!("change stream ended: {e}"),
            }
        }
    })
    .await
    .expect("late__echo announced");
    gw.shutdown().await;
}

#[tokio::test]
async fn calls_for_a_starting_upstream_wait_for_it_instead_of_failing() {
    let config = format!(
        "[servers.demo]\ncommand = \"{}\"\n{}",
        demo(),
        slow_server("late", 3, 60)
    );
    let gw = gateway(&config);
    // Two callers at once, before `late` is up: both wait and get their answers; a call for a
    // tool no upstream has fails once every upstream has started.
    let (a, b, unknown) = tokio::time::timeout(HANG, async {
        tokio::join!(
            gw.call_tool("late__echo", echo("one"), CallContext::default()),
            gw.call_tool("late__echo", echo("two"), CallContext::default()),
            gw.call_tool("late__no_such_tool", echo("x"), CallContext::default()),
        )
    })
    .await
    .expect("calls end");
    assert_eq!(text(&a.expect("first call")), "one");
    assert_eq!(text(&b.expect("second call")), "two");
    let err = unknown.expect_err("unknown tool");
    assert!(err.to_string().contains("unknown tool"), "{err}");
    gw.shutdown().await;
}

async fn start_error(toml: &str) -> String {
    let gw = gateway(toml);
    tokio::time::timeout(HANG, gw.wait_settled())
        .await
        .expect("a failing start settles");
    let status = gw.statuses()[0].clone();
    gw.shutdown().await;
    let report = format!("{status:?}");
    status.error.unwrap_or_else(|| panic!("no error: {report}"))
}

#[tokio::test]
async fn a_failed_start_names_its_cause() {
    let port = free_port();
    let refused = start_error(&format!(
        "[servers.web]\nurl = \"http://127.0.0.1:{port}/mcp\"\nstartup_timeout_secs = 5\n"
    ))
    .await;
    assert!(
        refused.to_lowercase().contains("connection refused"),
        "{refused}"
    );
    assert!(
        !refused.contains("WorkerTransport") && !refused.contains("rmcp::"),
        "{refused}"
    );

    let missing = start_error("[servers.gone]\ncommand = \"/no/such/command\"\n").await;
    assert!(
        missing.contains("/no/such/command") && missing.contains("No such file"),
        "{missing}"
    );

    let exited = start_error(
        "[servers.dies]\ncommand = \"bash\"\nargs = [\"-c\", \"echo 'cannot open the database' >&2; exit 3\"]\n",
    )
    .await;
    assert!(exited.contains("exit status: 3"), "{exited}");
    assert!(exited.contains("cannot open the database"), "{exited}");
    assert!(!exited.contains("Broken pipe"), "{exited}");
}

#[test]
fn check_fails_fast_on_a_command_that_does_not_exist() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("servers.toml");
    std::fs::write(
        &config,
        format!(
            "[servers.demo]\ncommand = \"{}\"\n\n[servers.gone]\ncommand = \"/no/such/command\"\nstartup_timeout_secs = 600\n",
            demo()
        ),
    )
    .expect("write config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_toolyard"))
        .args(["check", "--config"])
        .arg(&config)
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn check");
    let deadline = std::time::Instant::now() + HANG;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("check waited for the 600 s start-up timeout of a command that cannot start");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let output = child.wait_with_output().expect("output");
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!status.success(), "{out}");
    assert!(out.contains("/no/such/command"), "{out}");
}
