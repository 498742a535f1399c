//! AutoGen teams whose assistant has an `McpWorkbench` (stdio, examples/demo_server): the team
//! AutoGen 0.7.5 dumps (tests/fixtures/teams/mcp_autogen.py, `echo` overridden to `say`) and the
//! same kind of team as AutoGen Studio exports it (studio_mcp_team.json: Studio's gallery
//! round-robin team with the gallery's MCP workbench and local model, the workbench pointed at
//! the demo server) give the same transcript in AutoGen, in toolyard's workbench layer and in
//! `toolyard run`, on the same scripted model. The server toolyard starts is gone when the run
//! ends, and a command that does not exist is a clear error naming it.
#![allow(clippy::unwrap_used)]

mod common;
mod common_agents;
mod common_teams;

use std::path::Path;

use common::{example_bin, marked_processes};
use common_agents::{run_team, server_json};
use common_teams::{autogen_run, mcp_fixture_copy as fixture_copy, mcp_script as script, summary};
use serde_json::{Value, json};
use toolyard::compose::prepare::{Built, Mode, build, no_input_channel};
use toolyard::compose::{GatewayHandle, McpServers, ModelTable, RunEnv, WorkbenchFile};

const TOOL: &str = "mcp_autogen.py";

fn demo() -> String {
    example_bin("demo_server").display().to_string()
}

/// AutoGen's run of the fixture (without its state).
async fn autogen(name: &str, dir: &Path) -> Value {
    let path = fixture_copy(name, dir, &demo(), &uuid::Uuid::new_v4().to_string(), None);
    let (mut run, _) = autogen_run(TOOL, path.to_str().unwrap(), &script()).await;
    run.as_object_mut().unwrap().remove("state");
    run
}

/// toolyard's workbench layer runs the fixture loaded as a workbench file; its MCP server is
/// gone once the run's servers are shut down.
async fn in_process(name: &str, dir: &Path) -> Value {
    let model = server_json(&script()).await;
    let marker = uuid::Uuid::new_v4().to_string();
    let url = model.openai_base_url();
    let path = fixture_copy(name, dir, &demo(), &marker, Some(&url));
    let file = WorkbenchFile::load(&path).expect("loads unchanged");
    let servers = McpServers::default();
    let (models, gateway, env) = (
        ModelTable::default(),
        GatewayHandle::default(),
        RunEnv::default(),
    );
    let mode = Mode::Run {
        models: &models,
        gateway: &gateway,
        env: &env,
        servers: &servers,
    };
    let Ok(Built::Team(team)) = build(&file, &mode, no_input_channel()) else {
        panic!("{name} must load as a team");
    };
    let result = run_team(&team, "go").await;
    assert_eq!(marked_processes(&marker).len(), 1, "one server for the run");
    servers.shutdown().await;
    assert_eq!(
        marked_processes(&marker),
        Vec::<u32>::new(),
        "no server left"
    );
    summary(&result)
}

/// `toolyard run FILE --task go --json` as a process; its MCP server is gone when it exits.
async fn as_process(name: &str, dir: &Path) -> Value {
    let model = server_json(&script()).await;
    let marker = uuid::Uuid::new_v4().to_string();
    let url = model.openai_base_url();
    let path = fixture_copy(name, dir, &demo(), &marker, Some(&url));
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_toolyard"))
        .arg("run")
        .arg(&path)
        .args(["--task", "go", "--json", "--config"])
        .arg(dir.join("no-servers.toml"))
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "toolyard run failed: {stderr}");
    assert_eq!(
        marked_processes(&marker),
        Vec::<u32>::new(),
        "no server left"
    );
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    let messages: Vec<Value> = result["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| json!([m["source"], m["type"], m["content"]]))
        .collect();
    json!({"messages": messages, "stop_reason": result["stop_reason"]})
}

/// AutoGen, the workbench layer and `toolyard run` agree on the fixture `name`.
async fn all_agree(name: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let theirs = autogen(name, dir.path()).await;
    let ours = in_process(name, dir.path()).await;
    assert_eq!(ours, theirs, "toolyard (left) vs AutoGen (right)");
    let run = as_process(name, dir.path()).await;
    assert_eq!(run, theirs, "toolyard run (left) vs AutoGen (right)");
    ours
}

fn kinds(run: &Value) -> Vec<String> {
    run["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| format!("{}:{}", m[0].as_str().unwrap(), m[1].as_str().unwrap()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_autogen_team_with_an_mcp_workbench_matches_autogen() {
    let run = all_agree("mcp_team").await;
    assert_eq!(
        kinds(&run),
        [
            "user:TextMessage",
            "alice:ToolCallRequestEvent",
            "alice:ToolCallExecutionEvent",
            "alice:ToolCallSummaryMessage",
            "alice:TextMessage"
        ]
    );
    // `echo` was offered and called as `say` (AutoGen's tool override), `add` as it is.
    let results = &run["messages"][2][2];
    assert_eq!(results[0]["name"], "say");
    assert_eq!(results[0]["content"], "hello from the demo server");
    assert_eq!(results[1]["name"], "add");
    assert_eq!(run["stop_reason"], "Text 'TERMINATE' mentioned");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_autogen_studio_export_with_an_mcp_workbench_loads_unchanged_and_matches_autogen() {
    let run = all_agree("studio_mcp_team").await;
    let results = &run["messages"][2][2];
    assert_eq!(results[0]["name"], "echo");
    assert_eq!(results[0]["content"], "hello from the demo server");
    assert_eq!(run["messages"][4][2], "done TERMINATE");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_mcp_server_command_is_a_clear_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let model = server_json(&script()).await;
    let missing = "/nonexistent/toolyard-mcp-demo-server";
    let path = fixture_copy(
        "mcp_team",
        dir.path(),
        missing,
        "unused",
        Some(&model.openai_base_url()),
    );
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_toolyard"))
        .arg("run")
        .arg(&path)
        .args(["--task", "go", "--config"])
        .arg(dir.path().join("no-servers.toml"))
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let error = stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("no error line in {stderr}"));
    assert!(
        error.contains("did not start") && error.contains(&format!("cannot start `{missing}`")),
        "{error}"
    );
    assert!(model.requests().is_empty(), "the run must not begin");
}
