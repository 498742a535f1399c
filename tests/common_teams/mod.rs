//! Shared helpers for the team tests: Magentic-One ledger replies and the AutoGen fixture
//! plumbing (a fixture under tests/fixtures/teams pointed at a scripted server, a team JSON file
//! run by the real AutoGen 0.7.5, our run of the same fixture, saved-state key checks), and the
//! McpWorkbench team fixtures' script and copies pointed at a real MCP server.
//!
//! Use with `mod common_agents; mod common_teams;` (it builds on `common_agents`).
#![allow(dead_code)] // each test binary uses a different subset of these helpers

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use toolyard::agents::LoadOptions;
use toolyard::component::from_json;
use toolyard::messages::TaskResult;
use toolyard::models::scripted::ScriptedServer;
use toolyard::teams::{GroupChat, load_team};

use crate::common_agents::{run_team, server_json, text};

/// A Magentic-One progress ledger reply; the request counts as satisfied for reason "all done".
pub fn ledger(satisfied: bool, progress: bool, next: &str, instruction: &str) -> Value {
    let e = |reason: &str, answer: Value| json!({"reason": reason, "answer": answer});
    let value = json!({
        "is_request_satisfied": e(if satisfied { "all done" } else { "not yet" }, json!(satisfied)),
        "is_in_loop": e("no", json!(false)),
        "is_progress_being_made": e("p", json!(progress)),
        "next_speaker": e("n", json!(next)),
        "instruction_or_question": e("i", json!(instruction)),
    });
    text(&value.to_string())
}

/// The path of the team fixture `tests/fixtures/teams/<name>.json`.
pub fn fixture_path(name: &str) -> String {
    format!(
        "{}/tests/fixtures/teams/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// Replaces every `base_url` in a config.
pub fn point_at(value: &Value, url: &str) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if k == "base_url" {
                        json!(url)
                    } else {
                        point_at(v, url)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| point_at(v, url)).collect()),
        other => other.clone(),
    }
}

/// The fixture `name` loaded as a team whose model clients talk to `server`.
pub fn load_fixture(name: &str, server: &ScriptedServer) -> GroupChat {
    let text = std::fs::read_to_string(fixture_path(name)).expect("team fixture");
    let config = point_at(
        &serde_json::from_str(&text).expect("fixture json"),
        &server.openai_base_url(),
    );
    load_team(
        &from_json(&config.to_string()).expect("component json"),
        &LoadOptions::default(),
    )
    .expect("load team fixture")
}

/// AutoGen's run of a team JSON file (task "go") on a fresh server with `script`, through the
/// fixture script `tool` (e.g. `autogen_teams.py`): `{"messages", "stop_reason", "state"}`;
/// also the number of model requests.
pub async fn autogen_run(tool: &str, path: &str, script: &Value) -> (Value, usize) {
    let server = server_json(script).await;
    let url = server.openai_base_url();
    let run = autogen_script(tool, &["run", path, &url]).await;
    (run, server.requests().len())
}

/// Runs the AutoGen 0.7.5 fixture script `tests/fixtures/teams/<tool>` with `args`; asserts
/// that it succeeded and returns the JSON it printed.
pub async fn autogen_script(tool: &str, args: &[&str]) -> Value {
    let python = std::env::var("TOOLYARD_AUTOGEN_PYTHON")
        .unwrap_or_else(|_| "/work/cache/venv-autogen/bin/python".into());
    assert!(
        std::path::Path::new(&python).exists(),
        "AutoGen venv python not found at {python}; set TOOLYARD_AUTOGEN_PYTHON"
    );
    let tool = format!("{}/tests/fixtures/teams/{tool}", env!("CARGO_MANIFEST_DIR"));
    let out = tokio::process::Command::new(python)
        .arg(tool)
        .args(args)
        // Our dumps leave the API key out (AutoGen's carry it masked).
        .env("OPENAI_API_KEY", "sk-test")
        .kill_on_drop(true)
        .output()
        .await
        .expect("run the AutoGen python");
    assert!(
        out.status.success(),
        "autogen failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("AutoGen run json")
}

/// Our run of the fixture `name` (task "go") on a fresh server with `script`, in the shape
/// `autogen_run` prints; also the number of model requests.
pub async fn toolyard_run(name: &str, script: &Value) -> (Value, usize) {
    let server = server_json(script).await;
    let team = load_fixture(name, &server);
    let mut run = summary(&run_team(&team, "go").await);
    run["state"] = team.save_state().await.expect("save state");
    (run, server.requests().len())
}

/// A run result as `[source, type, content]` messages and the stop reason, the shape the
/// AutoGen fixture scripts print.
pub fn summary(result: &TaskResult) -> Value {
    let messages: Vec<Value> = result
        .messages
        .iter()
        .map(|m| {
            let content = serde_json::to_value(m).expect("message json")["content"].clone();
            json!([m.source(), m.type_name(), content])
        })
        .collect();
    json!({"messages": messages, "stop_reason": result.stop_reason})
}

/// The fixture `name` as AutoGen dumped it and our dump of it loaded; checks the provider,
/// the component type and the config keys match.
pub fn dump_of_fixture(name: &str) -> (Value, Value) {
    let text = std::fs::read_to_string(fixture_path(name)).expect("team fixture");
    let original: Value = serde_json::from_str(&text).expect("fixture json");
    let team = load_team(
        &from_json(&text).expect("component json"),
        &LoadOptions::default(),
    )
    .expect("load team fixture");
    let dumped = serde_json::to_value(team.dump_component().expect("dump")).expect("dump json");
    assert_eq!(dumped["provider"], original["provider"]);
    assert_eq!(dumped["component_type"], "team");
    let keys = |v: &Value| {
        let mut k: Vec<String> = v["config"]
            .as_object()
            .expect("a config object")
            .keys()
            .cloned()
            .collect();
        k.sort();
        k
    };
    assert_eq!(keys(&dumped), keys(&original));
    (original, dumped)
}

/// Runs the fixture `name` in AutoGen (through the fixture script `tool`) and here, then our
/// dump of it in AutoGen: all three must agree. Returns our run (without state) and AutoGen's
/// `TeamState` after its run.
pub async fn agrees_with_autogen(tool: &str, name: &str, script: &Value) -> (Value, Value) {
    let (mut theirs, _) = autogen_run(tool, &fixture_path(name), script).await;
    let state = theirs
        .as_object_mut()
        .expect("AutoGen run object")
        .remove("state")
        .expect("AutoGen team state");
    let (mut ours, _) = toolyard_run(name, script).await;
    ours.as_object_mut().expect("run object").remove("state");
    assert_eq!(ours, theirs, "toolyard (left) vs AutoGen (right)");
    let (_, dumped) = dump_of_fixture(name);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(format!("{name}.json"));
    std::fs::write(&path, dumped.to_string()).expect("write our dump");
    let (mut from_our_dump, _) =
        autogen_run(tool, path.to_str().expect("utf-8 path"), script).await;
    from_our_dump
        .as_object_mut()
        .expect("AutoGen run object")
        .remove("state");
    assert_eq!(
        from_our_dump, theirs,
        "AutoGen on our dump (left) vs on its own (right)"
    );
    (ours, state)
}

/// The fixture `name` pointed at a fresh server with `script`, with AutoGen's saved team
/// `state` loaded into it; also our state saved right after loading.
pub async fn fixture_with_state(
    name: &str,
    script: &Value,
    state: &Value,
) -> (ScriptedServer, GroupChat, Value) {
    let server = server_json(script).await;
    let team = load_fixture(name, &server);
    team.load_state(state).await.expect("load AutoGen's state");
    let ours = team.save_state().await.expect("save state");
    (server, team, ours)
}

/// Each agent state in AutoGen's team state `theirs` has the same keys in ours.
pub fn assert_same_state_keys(ours: &Value, theirs: &Value) {
    let keys = |v: &Value| {
        let mut k: Vec<String> = v
            .as_object()
            .expect("a state object")
            .keys()
            .cloned()
            .collect();
        k.sort();
        k
    };
    for (agent, their) in theirs["agent_states"].as_object().expect("agent states") {
        assert_eq!(
            keys(&ours["agent_states"][agent]),
            keys(their),
            "state keys of {agent}"
        );
    }
}

/// The script of the McpWorkbench team fixtures (mcp_team, studio_mcp_team): the model calls
/// the (possibly renamed) echo tool and `add` at once, then ends.
pub fn mcp_script() -> Value {
    let calls = |echo: &str| {
        json!({"kind": "parallel", "calls": [
            {"name": echo, "arguments": {"message": "hello from the demo server"}},
            {"name": "add", "arguments": {"a": 2, "b": 3}},
        ]})
    };
    json!({"rules": [
        {"when": {"tool_offered": "say", "after_tool_result": false}, "reply": calls("say")},
        {"when": {"tool_offered": "echo", "after_tool_result": false}, "reply": calls("echo")},
        {"when": {"after_tool_result": true}, "reply": {"kind": "text", "text": "done TERMINATE"}},
    ], "when_done": "cycle"})
}

/// Every McpWorkbench's `server_params` in `value` runs `command`, with `marker` in its
/// environment.
fn retarget_mcp(value: &mut Value, command: &str, marker: &str) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Object(params)) = map.get_mut("server_params") {
                params.insert("command".into(), json!(command));
                params.insert("env".into(), json!({"TOOLYARD_TEST_MARKER": marker}));
            }
            map.values_mut()
                .for_each(|v| retarget_mcp(v, command, marker));
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| retarget_mcp(v, command, marker)),
        _ => {}
    }
}

/// The fixture `name` written to `dir` with its MCP server being `command` (marked `marker`)
/// and, when given, its model clients pointed at `url`.
pub fn mcp_fixture_copy(
    name: &str,
    dir: &Path,
    command: &str,
    marker: &str,
    url: Option<&str>,
) -> PathBuf {
    let text = std::fs::read_to_string(fixture_path(name)).expect("team fixture");
    let mut value: Value = serde_json::from_str(&text).expect("fixture json");
    retarget_mcp(&mut value, command, marker);
    if let Some(url) = url {
        value = point_at(&value, url);
    }
    let path = dir.join(format!("{name}.json"));
    let text = serde_json::to_string_pretty(&value).expect("fixture json");
    std::fs::write(&path, text).expect("write the fixture copy");
    path
}
