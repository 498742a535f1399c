//! Team JSON dumped by the real AutoGen 0.7.5 (tests/fixtures/teams/autogen_teams.py) loads here
//! and, run on the same scripted model server, gives the same message sequence (sources, types,
//! contents) and stop reason as AutoGen itself gives.
#![allow(clippy::unwrap_used)]

mod common_agents;
mod common_teams;

use common_agents::*;
use common_teams::*;
use serde_json::{Value, json};
use toolyard::agents::Task;
use toolyard::messages::ChatMessage;
use toolyard::models::scripted::ScriptedServer;
use toolyard::teams::GroupChat;

const TOOL: &str = "autogen_teams.py";

fn agent_says(name: &str, reply: Value) -> Value {
    json!({"when": {"system_contains": format!("agent {name}.")}, "steps": [reply]})
}

/// Loads the fixture pointed at a fresh server, then AutoGen's saved state into it; checks our
/// state has the same keys as AutoGen's.
async fn continue_from_autogen_state(
    name: &str,
    script: &Value,
    state: &Value,
) -> (ScriptedServer, GroupChat) {
    let (server, team, ours) = fixture_with_state(name, script, state).await;
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
    assert_same_state_keys(&ours, state);
    (server, team)
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
        agent_says("alice", text("a")),
        agent_says("bob", json!({"kind": "stop_after", "turns": 2, "text": "b"})),
    ], "when_done": "cycle"});
    let (run, state) = agrees_with_autogen(TOOL, "round_robin", &script).await;
    assert_eq!(sources(&run).len(), 5);
    assert_eq!(run["stop_reason"], "Text 'TERMINATE' mentioned");
    // AutoGen's saved TeamState loads here and the conversation continues with alice.
    let (server, team) = continue_from_autogen_state("round_robin", &script, &state).await;
    let r = run_team(&team, Task::None).await;
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
            text("bob"), text("nobody"), text("alice"), text("carol"),
        ]},
        agent_says("alice", text("a")),
        agent_says("bob", text("b")),
        agent_says("carol", text("c")),
    ], "when_done": "cycle"});
    let (run, _) = agrees_with_autogen(TOOL, "selector", &script).await;
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
    let (run, state) = agrees_with_autogen(TOOL, "swarm", &script).await;
    assert_eq!(run["stop_reason"], "Handoff to user from bob detected.");
    assert!(sources(&run).contains(&"bob:HandoffMessage".to_string()));
    // From AutoGen's state after the handoff to user: resume with a handoff back to bob.
    let (_server, team) = continue_from_autogen_state("swarm", &script, &state).await;
    let back = ChatMessage::handoff("user", "bob", "answered");
    let r = run_team(&team, back).await;
    let chats: Vec<&str> = r
        .messages
        .iter()
        .filter_map(|m| m.as_chat())
        .map(|m| m.source())
        .collect();
    assert_eq!(chats, ["user", "bob"]);
    assert_eq!(r.stop_reason.unwrap(), "Handoff to user from bob detected.");
}
