//! GraphFlow parity with the real AutoGen 0.7.5: the GraphFlow JSON it dumped
//! (tests/fixtures/teams/graph_autogen.py) loads here and, run on the same scripted model
//! server, gives the same message sequence (sources, types, contents) and stop reason; AutoGen
//! runs our dump of it the same way; AutoGen's saved state loads here and the run continues.
#![allow(clippy::unwrap_used)]

mod common_agents;
mod common_teams;

use common_agents::*;
use common_teams::*;
use serde_json::{Value, json};
use toolyard::agents::Task;
use toolyard::models::scripted::ScriptedServer;
use toolyard::teams::GroupChat;

/// The AutoGen script that dumped the GraphFlow fixtures and runs them.
const TOOL: &str = "graph_autogen.py";

fn script(rules: Vec<Value>) -> Value {
    json!({"rules": rules, "when_done": "cycle"})
}

/// AutoGen's `graph_autogen.py` with `args` (the server URL after the first two) on a fresh
/// server.
async fn autogen(args: &[&str], script: &Value) -> Value {
    let server = server_json(script).await;
    let url = server.openai_base_url();
    let args: Vec<&str> = args[..2]
        .iter()
        .copied()
        .chain([url.as_str()])
        .chain(args[2..].iter().copied())
        .collect();
    autogen_script(TOOL, &args).await
}

/// [`agrees_with_autogen`] for a GraphFlow fixture; our dump also keeps AutoGen's graph as it is.
async fn same_as_autogen(name: &str, script: &Value) -> (Value, Value) {
    let (original, dumped) = dump_of_fixture(name);
    assert_eq!(dumped["config"]["graph"], original["config"]["graph"]);
    agrees_with_autogen(TOOL, name, script).await
}

/// Loads AutoGen's state into a fresh load of the fixture; our state then has AutoGen's keys
/// (the manager's plus our `type` / `version`) and the same graph execution state.
async fn load_autogen_state(
    name: &str,
    script: &Value,
    state: &Value,
) -> (ScriptedServer, GroupChat) {
    let (server, team, ours) = fixture_with_state(name, script, state).await;
    let theirs = &state["agent_states"]["GraphManager"];
    let mine = &ours["agent_states"]["GraphManager"];
    for key in theirs.as_object().unwrap().keys() {
        assert!(mine.get(key).is_some(), "manager state key {key}");
    }
    for key in ["remaining", "enqueued_any", "ready", "current_turn"] {
        assert_eq!(mine[key], theirs[key], "manager state {key}");
    }
    assert_eq!(
        mine["message_thread"].as_array().unwrap().len(),
        theirs["message_thread"].as_array().unwrap().len()
    );
    (server, team)
}

fn sources(run: &Value) -> Vec<String> {
    run["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m[0].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn review_loop_with_fan_out_join_and_filter_matches_autogen() {
    // critic2 answers later, so AutoGen (which records concurrent answers as they arrive)
    // records critic1 first, as we do (in selection order).
    let script = script(vec![
        agent_steps("writer", &["draft"]),
        agent_says_after("critic1", "c1 fine", 0),
        agent_says_after("critic2", "c2 fine", 400),
        agent_steps("editor", &["REVISE it", "APPROVE it"]),
        agent_steps("publisher", &["published"]),
    ]);
    let (run, state) = same_as_autogen("graph_review", &script).await;
    assert_eq!(
        sources(&run),
        [
            "user",
            "writer",
            "critic1",
            "critic2",
            "editor",
            "writer",
            "critic1",
            "critic2",
            "editor",
            "publisher"
        ]
    );
    assert_eq!(run["stop_reason"], "Digraph execution is complete");
    // From AutoGen's state (graph complete, back at the start) a new task runs it again.
    let (_server, team) = load_autogen_state("graph_review", &script, &state).await;
    let r = run_team(&team, "again").await;
    assert_eq!(summary(&r)["messages"].as_array().unwrap().len(), 10);
}

#[tokio::test]
async fn any_join_matches_autogen() {
    let script = script(vec![
        agent_steps("start", &["S"]),
        agent_says_after("fast", "F", 0),
        agent_says_after("slow", "SL", 400),
        agent_steps("merge", &["M"]),
    ]);
    let (run, _) = same_as_autogen("graph_any", &script).await;
    assert_eq!(sources(&run), ["user", "start", "fast", "slow", "merge"]);
}

#[tokio::test]
async fn activation_groups_and_max_turns_mid_loop_match_autogen() {
    // b never says "exit": the loop runs until max_turns (10) stops it mid-graph.
    let script = script(vec![
        agent_steps("a", &["A"]),
        agent_steps("b", &["loop"]),
        agent_says_after("c1", "C1", 0),
        agent_says_after("c2", "C2", 400),
        agent_steps("e", &["E"]),
    ]);
    let (run, state) = same_as_autogen("graph_groups", &script).await;
    assert_eq!(run["stop_reason"], "Maximum number of turns 10 reached.");
    assert_eq!(
        state["agent_states"]["GraphManager"]["ready"],
        json!(["c1", "c2"])
    );
    // AutoGen's mid-loop state loads here; with b now saying "exit" the graph finishes.
    let exits = script_with_exit();
    let (_server, team) = load_autogen_state("graph_groups", &exits, &state).await;
    let r = run_team(&team, Task::None).await;
    assert_eq!(sources(&summary(&r)), ["c1", "c2", "b", "e"]);
    assert_eq!(
        r.stop_reason.as_deref(),
        Some("Digraph execution is complete")
    );
}

/// b says "exit"; c2 answers later than c1 (AutoGen records concurrent answers as they arrive).
fn script_with_exit() -> Value {
    script(vec![
        agent_steps("a", &["A"]),
        agent_steps("b", &["exit"]),
        agent_says_after("c1", "C1", 0),
        agent_says_after("c2", "C2", 400),
        agent_steps("e", &["E"]),
    ])
}

#[tokio::test]
async fn autogen_continues_from_our_state_as_we_do() {
    // Ours stops mid-loop at max_turns; AutoGen loads our saved state and continues exactly
    // as we continue from it.
    let looping = script(vec![
        agent_steps("a", &["A"]),
        agent_steps("b", &["loop"]),
        agent_steps("c1", &["C1"]),
        agent_steps("c2", &["C2"]),
        agent_steps("e", &["E"]),
    ]);
    let server = server_json(&looping).await;
    let team = load_fixture("graph_groups", &server);
    let r = run_team(&team, "go").await;
    assert_eq!(
        r.stop_reason.as_deref(),
        Some("Maximum number of turns 10 reached.")
    );
    let state = team.save_state().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state_path = dir.path().join("state.json");
    std::fs::write(&state_path, state.to_string()).unwrap();

    let exits = script_with_exit();
    let mut theirs = autogen(
        &[
            "resume",
            &fixture_path("graph_groups"),
            state_path.to_str().unwrap(),
        ],
        &exits,
    )
    .await;
    theirs.as_object_mut().unwrap().remove("state");
    let server = server_json(&exits).await;
    let team = load_fixture("graph_groups", &server);
    team.load_state(&state).await.unwrap();
    let ours = summary(&run_team(&team, Task::None).await);
    assert_eq!(ours, theirs, "toolyard (left) vs AutoGen (right)");
    assert_eq!(sources(&ours), ["c1", "c2", "b", "e"]);
}
