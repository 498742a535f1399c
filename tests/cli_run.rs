//! `toolyard run` as a user runs it: the binary, an AutoGen-dumped team file pointed at the
//! scripted model server, the console view, `--json`, `--state` resume, Ctrl-C.
#![allow(clippy::unwrap_used)]

mod common;
mod common_agents;
mod workbench_support;

use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common_agents::*;
use serde_json::{Value, json};
use toolyard::models::scripted::{Script, ScriptedServer};

fn toolyard() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_toolyard"));
    c.env("OPENAI_API_KEY", "sk-test").env("NO_COLOR", "1");
    c
}

/// The AutoGen round-robin fixture (alice, bob; stops on TERMINATE) pointed at `url`, written
/// into `dir` as JSON or TOML.
fn team_file(dir: &Path, url: &str, toml: bool) -> std::path::PathBuf {
    let path = format!(
        "{}/tests/fixtures/teams/round_robin.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(path).unwrap();
    let text = text.replace("http://127.0.0.1:9/v1", url);
    if toml {
        let value: Value = serde_json::from_str(&text).unwrap();
        let file = dir.join("team.toml");
        std::fs::write(&file, toml::to_string(&value).unwrap()).unwrap();
        file
    } else {
        let file = dir.join("team.json");
        std::fs::write(&file, text).unwrap();
        file
    }
}

/// Runs `toolyard` with `args` off the async runtime and asserts that it succeeded.
async fn run_ok<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let out = tokio::task::spawn_blocking(move || toolyard().args(args).output().unwrap())
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// [`run_ok`] with `--json`: the run result it prints.
async fn run_json<I, S>(args: I) -> Value
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let out = run_ok(args.into_iter().chain([OsString::from("--json")])).await;
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `toolyard run` of the shipped workbench `file` on `task`, with the test servers.toml
/// (upstreams and the scripted model): the run result it prints.
async fn run_shipped(file: &str, task: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let config = workbench_support::write_config(dir.path(), "");
    let file = workbench_support::shipped_workbenches().join(file);
    run_json([
        OsStr::new("run"),
        file.as_os_str(),
        OsStr::new("--config"),
        config.as_os_str(),
        OsStr::new("--task"),
        OsStr::new(task),
    ])
    .await
}

/// The `source` of every message of a run result, in order.
fn sources(result: &Value) -> Vec<&str> {
    result["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["source"].as_str().unwrap())
        .collect()
}

async fn scripted(bob: Value) -> ScriptedServer {
    let script = json!({"rules": [
        {"when": {"system_contains": "agent alice."}, "reply": {"kind": "text", "text": "alice here"}},
        {"when": {"system_contains": "agent bob."}, "reply": bob},
    ], "when_done": "cycle"});
    server_with(Script::from_json(&script.to_string()).unwrap()).await
}

#[tokio::test]
async fn console_view_shows_speakers_in_order_and_a_summary() {
    let server = scripted(json!({"kind": "text", "text": "bob says TERMINATE"})).await;
    let dir = tempfile::tempdir().unwrap();
    let file = team_file(dir.path(), &server.openai_base_url(), false);
    let out = run_ok(["run", file.to_str().unwrap(), "--task", "write a haiku"]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let alice = stdout.find("alice (TextMessage)").expect(&stdout);
    let bob = stdout.find("bob (TextMessage)").expect(&stdout);
    assert!(alice < bob, "{stdout}");
    assert!(
        stdout.contains("user (TextMessage) ----------\nwrite a haiku"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Finish reason: Text 'TERMINATE' mentioned"),
        "{stdout}"
    );
    assert!(stdout.contains("Number of messages: 3"), "{stdout}");
}

#[tokio::test]
async fn json_output_and_state_resume_from_a_toml_file() {
    let server = scripted(json!({"kind": "stop_after", "turns": 2, "text": "bob"})).await;
    let dir = tempfile::tempdir().unwrap();
    let file = team_file(dir.path(), &server.openai_base_url(), true);
    let state = dir.path().join("state.json");
    let (f, s) = (file.to_str().unwrap(), state.to_str().unwrap());
    let first = run_json(["run", f, "--task", "go", "--state", s]).await;
    assert_eq!(sources(&first), ["user", "alice", "bob", "alice", "bob"]);
    assert_eq!(first["stop_reason"], "Text 'TERMINATE' mentioned");
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(saved["type"], "TeamState");
    // No task: the saved conversation resumes and the next speaker is alice again.
    let second = run_json(["run", f, "--state", s]).await;
    assert_eq!(sources(&second)[0], "alice");
    // The resumed run's first model request carries the whole earlier conversation.
    let resumed = server
        .requests()
        .into_iter()
        .nth(4)
        .unwrap()
        .body
        .to_string();
    assert!(
        resumed.contains("go") && resumed.contains("TERMINATE"),
        "{resumed}"
    );
}

#[tokio::test]
async fn ctrl_c_cancels_cleanly_and_saves_state() {
    let server = scripted(json!({"kind": "text", "text": "slow bob", "delay_ms": 30000})).await;
    let dir = tempfile::tempdir().unwrap();
    let file = team_file(dir.path(), &server.openai_base_url(), false);
    let state = dir.path().join("state.json");
    let child = toolyard()
        .args(["run", file.to_str().unwrap(), "--task", "go", "--state"])
        .arg(&state)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until bob's (slow) model request has arrived, then press Ctrl-C.
    for _ in 0..200 {
        if server.requests().len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(server.requests().len(), 2);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("cancelled"));
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(saved["type"], "TeamState");
}

#[tokio::test]
async fn a_bad_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.json");
    std::fs::write(
        &file,
        r#"{"provider": "nope.Team", "component_type": "team", "config": {"participants": []}}"#,
    )
    .unwrap();
    let out = toolyard()
        .args(["run"])
        .arg(&file)
        .args(["--task", "x"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.json") && err.contains("nope.Team"),
        "{err}"
    );
}

/// A shipped workbench file whose agents use an upstream tool through the gateway and a model
/// named in servers.toml (`[models.scripted]`): `toolyard run` starts what it needs.
#[tokio::test]
async fn a_workbench_file_runs_with_its_models_and_upstream_tools() {
    let result = run_shipped("research_team.json", "What is MCP?").await;
    let messages = result["messages"].as_array().unwrap();
    let executed = messages
        .iter()
        .find(|m| m["type"] == "ToolCallExecutionEvent")
        .unwrap_or_else(|| panic!("no tool call: {result}"));
    assert_eq!(
        executed["content"][0]["name"], "everything__echo",
        "{result}"
    );
    assert_eq!(executed["content"][0]["is_error"], false, "{result}");
    assert!(result["stop_reason"].is_string(), "{result}");
}

/// The shipped GraphFlow workbench: the drafter, both checkers (run concurrently), then the
/// summarizer that joins them; the graph ends the run.
#[tokio::test]
async fn the_shipped_review_graph_runs_to_completion() {
    let result = run_shipped("review_graph.toml", "Describe toolyard").await;
    let who = sources(&result);
    assert_eq!(who.len(), 5, "{result}");
    assert_eq!((who[0], who[1], who[4]), ("user", "drafter", "summarizer"));
    let mut checkers = vec![who[2], who[3]];
    checkers.sort_unstable();
    assert_eq!(checkers, ["fact_checker", "style_checker"]);
    assert_eq!(result["stop_reason"], "Digraph execution is complete");
}
