//! Team JSON dumped by the real AutoGen 0.7.5 (tests/fixtures/teams/autogen_teams.py) loads here
//! and, run on the same scripted model server, gives the same message sequence (sources, types,
//! contents) and stop reason as AutoGen itself gives.
#![allow(clippy::unwrap_used)]

mod common_agents;

use common_agents::*;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use toolyard::agents::{LoadOptions, Task};
use toolyard::component::from_json;
use toolyard::messages::ChatMessage;
use toolyard::models::scripted::{Script, ScriptedServer};
use toolyard::teams::load_team;

fn fixture_path(name: &str) -> String {
    format!(
        "{}/tests/fixtures/teams/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    )
}

async fn start(script: &Value) -> ScriptedServer {
    server_with(Script::from_json(&script.to_string()).unwrap()).await
}

fn agent_says(name: &str, reply: Value) -> Value {
    json!({"when": {"system_contains": format!("agent {name}.")}, "steps": [reply]})
}

/// Replaces every `base_url` in a config.
fn point_at(value: &Value, url: &str) -> Value {
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

/// AutoGen's run of the fixture on a fresh server with `script`.
async fn autogen_run(name: &str, script: &Value) -> Value {
    autogen_run_file(&fixture_path(name), script).await
}

/// AutoGen's run of a team JSON file on a fresh server with `script`.
async fn autogen_run_file(path: &str, script: &Value) -> Value {
    let server = start(script).await;
    let python = std::env::var("TOOLYARD_AUTOGEN_PYTHON")
        .unwrap_or_else(|_| "/work/cache/venv-autogen/bin/python".into());
    assert!(
        std::path::Path::new(&python).exists(),
        "AutoGen venv python not found at {python}; set TOOLYARD_AUTOGEN_PYTHON"
    );
    let tool = format!(
        "{}/tests/fixtures/teams/autogen_teams.py",
        env!("CARGO_MANIFEST_DIR")
    );
    let out = tokio::process::Command::new(python)
        .args([
            tool,
            "run".into(),
            path.to_string(),
            server.openai_base_url(),
        ])
        // Our dumps leave the API key out (AutoGen's carry it masked).
        .env("OPENAI_API_KEY", "sk-test")
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "autogen failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Our run of the fixture on a fresh server with `script`.
async fn toolyard_run(name: &str, script: &Value) -> Value {
    let server = start(script).await;
    let text = std::fs::read_to_string(fixture_path(name)).unwrap();
    let config: Value = serde_json::from_str(&text).unwrap();
    let config = point_at(&config, &server.openai_base_url());
    let model = from_json(&config.to_string()).unwrap();
    let team = load_team(&model, &LoadOptions::default()).unwrap();
    let result = team
        .run("go".into(), CancellationToken::new())
        .await
        .unwrap();
    let messages: Vec<Value> = result
        .messages
        .iter()
        .map(|m| {
            let content = serde_json::to_value(m).unwrap()["content"].clone();
            json!([m.source(), m.type_name(), content])
        })
        .collect();
    json!({"messages": messages, "stop_reason": result.stop_reason})
}

/// Runs the fixture in AutoGen and here, then our dump of it in AutoGen: all three must agree.
/// Returns our run and AutoGen's `TeamState` after its run.
async fn same_as_autogen(name: &str, script: Value) -> (Value, Value) {
    let mut theirs = autogen_run(name, &script).await;
    let state = theirs.as_object_mut().unwrap().remove("state").unwrap();
    let ours = toolyard_run(name, &script).await;
    assert_eq!(ours, theirs, "toolyard (left) vs AutoGen (right)");
    let dumped = dump_of_fixture(name);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{name}.json"));
    std::fs::write(&path, dumped.to_string()).unwrap();
    let mut from_our_dump = autogen_run_file(path.to_str().unwrap(), &script).await;
    from_our_dump.as_object_mut().unwrap().remove("state");
    assert_eq!(
        from_our_dump, theirs,
        "AutoGen on our dump (left) vs on its own (right)"
    );
    (ours, state)
}

/// Loads the fixture pointed at a fresh server, then AutoGen's saved state into it; checks our
/// state has the same keys as AutoGen's.
async fn continue_from_autogen_state(
    name: &str,
    script: &Value,
    state: &Value,
) -> (ScriptedServer, toolyard::teams::GroupChat) {
    let server = start(script).await;
    let text = std::fs::read_to_string(fixture_path(name)).unwrap();
    let config = point_at(
        &serde_json::from_str(&text).unwrap(),
        &server.openai_base_url(),
    );
    let team = load_team(
        &from_json(&config.to_string()).unwrap(),
        &LoadOptions::default(),
    )
    .unwrap();
    team.load_state(state).await.unwrap();
    let ours = team.save_state().await.unwrap();
    let keys = |v: &Value| {
        let mut k: Vec<String> = v["agent_states"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        k.sort();
        k
    };
    assert_eq!(keys(&ours), keys(state));
    for (agent, theirs) in state["agent_states"].as_object().unwrap() {
        let mut a: Vec<_> = theirs.as_object().unwrap().keys().collect();
        let mut b: Vec<_> = ours["agent_states"][agent]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        a.sort();
        b.sort();
        assert_eq!(b, a, "state keys of {agent}");
    }
    (server, team)
}

/// Loads the fixture and dumps it again; the provider and config keys match AutoGen's.
fn dump_of_fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(fixture_path(name)).unwrap();
    let original: Value = serde_json::from_str(&text).unwrap();
    let team = load_team(&from_json(&text).unwrap(), &LoadOptions::default()).unwrap();
    let dumped = serde_json::to_value(team.dump_component().unwrap()).unwrap();
    assert_eq!(dumped["provider"], original["provider"]);
    assert_eq!(dumped["component_type"], "team");
    let keys = |v: &Value| {
        let mut k: Vec<String> = v["config"].as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&dumped), keys(&original));
    dumped
}

fn sources(run: &Value) -> Vec<String> {
    run["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| format!("{}:{}", m[0].as_str().unwrap(), m[1].as_str().unwrap()))
        .collect()
}

#[tokio::test]
async fn round_robin_fixture_matches_autogen() {
    let script = json!({"rules": [
        agent_says("alice", json!({"kind": "text", "text": "a"})),
        agent_says("bob", json!({"kind": "stop_after", "turns": 2, "text": "b"})),
    ], "when_done": "cycle"});
    let (run, state) = same_as_autogen("round_robin", script.clone()).await;
    assert_eq!(sources(&run).len(), 5);
    assert_eq!(run["stop_reason"], "Text 'TERMINATE' mentioned");
    // AutoGen's saved TeamState loads here and the conversation continues with alice.
    let (server, team) = continue_from_autogen_state("round_robin", &script, &state).await;
    let r = team
        .run(Task::None, CancellationToken::new())
        .await
        .unwrap();
    let who: Vec<&str> = r.messages.iter().map(|m| m.source()).collect();
    assert_eq!(who, ["alice", "bob", "alice", "bob"]);
    let first = server.requests().remove(0).body.to_string();
    assert!(
        first.contains("go") && first.contains("TERMINATE"),
        "{first}"
    );
}

#[tokio::test]
async fn selector_fixture_matches_autogen() {
    let script = json!({"rules": [
        {"when": {"system_contains": "role play game"}, "steps": [
            {"kind": "text", "text": "bob"},
            {"kind": "text", "text": "nobody"},
            {"kind": "text", "text": "alice"},
            {"kind": "text", "text": "carol"},
        ]},
        agent_says("alice", json!({"kind": "text", "text": "a"})),
        agent_says("bob", json!({"kind": "text", "text": "b"})),
        agent_says("carol", json!({"kind": "text", "text": "c"})),
    ], "when_done": "cycle"});
    let (run, _) = same_as_autogen("selector", script).await;
    assert_eq!(
        sources(&run),
        [
            "user:TextMessage",
            "bob:TextMessage",
            "alice:TextMessage",
            "carol:TextMessage",
            "bob:TextMessage"
        ]
    );
}

#[tokio::test]
async fn swarm_fixture_matches_autogen() {
    let script = json!({"rules": [
        agent_says("alice", json!({"kind": "handoff", "target": "bob"})),
        agent_says("bob", json!({"kind": "handoff", "target": "user"})),
    ], "when_done": "cycle"});
    let (run, state) = same_as_autogen("swarm", script.clone()).await;
    assert_eq!(run["stop_reason"], "Handoff to user from bob detected.");
    assert!(sources(&run).contains(&"bob:HandoffMessage".to_string()));
    // From AutoGen's state after the handoff to user: resume with a handoff back to bob.
    let (_server, team) = continue_from_autogen_state("swarm", &script, &state).await;
    let back = ChatMessage::handoff("user", "bob", "answered");
    let r = team
        .run(back.into(), CancellationToken::new())
        .await
        .unwrap();
    let chats: Vec<&str> = r
        .messages
        .iter()
        .filter_map(|m| m.as_chat())
        .map(|m| m.source())
        .collect();
    assert_eq!(chats, ["user", "bob"]);
    assert_eq!(r.stop_reason.unwrap(), "Handoff to user from bob detected.");
}
