//! MagenticOneGroupChat JSON dumped by the real AutoGen 0.7.5
//! (tests/fixtures/teams/magentic_autogen.py) loads here and, run on the same scripted model
//! server script, makes the same model calls in the same order and gives the same messages
//! (sources, types, contents; the task-ledger texts differ because the prompts are our own) and
//! stop reason as AutoGen; AutoGen's saved state loads here; AutoGen runs our dump the same way.
#![allow(clippy::unwrap_used)]

mod common_agents;
mod common_teams;

use common_agents::*;
use common_teams::*;
use serde_json::{Value, json};
use toolyard::agents::{LoadOptions, Task};
use toolyard::component::from_json;
use toolyard::teams::load_team;

const ORCH: &str = "MagenticOneOrchestrator";
const FIXTURE: &str = "magentic_one";
const TOOL: &str = "magentic_autogen.py";

/// Two stalls (max_stalls is 2 in the fixture) force a re-plan, then bob finishes.
fn replan_script() -> Value {
    json!({
        "steps": [
            text("FACTS-1"), text("PLAN-1"),
            ledger(false, false, "alice", "alice, try"),
            ledger(false, false, "alice", "unused"),
            text("FACTS-2"), text("PLAN-2"),
            ledger(false, true, "bob", "bob, go"),
            ledger(true, true, "", ""),
            text("Final."),
        ],
        "rules": [
            {"when": {"system_contains": "agent alice."}, "reply": text("a1")},
            {"when": {"system_contains": "agent bob."}, "reply": text("b1")},
        ],
        "when_done": "error",
    })
}

/// Messages with the task-ledger texts (ours and AutoGen's prompts differ) reduced to the facts
/// and plan they carry.
fn normalised(run: &Value) -> Vec<Value> {
    run["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let content = m[2].as_str().unwrap_or_default();
            if m[0] == ORCH && content.contains("FACTS-") {
                let facts = ["FACTS-1", "FACTS-2", "PLAN-1", "PLAN-2"]
                    .into_iter()
                    .filter(|k| content.contains(k))
                    .collect::<Vec<_>>()
                    .join("+");
                json!([m[0], m[1], format!("<ledger {facts}>")])
            } else {
                m.clone()
            }
        })
        .collect()
}

/// The orchestrator's state fields besides the thread, and the thread's sources.
fn orchestrator_state(state: &Value) -> Value {
    let o = &state["agent_states"][ORCH];
    let sources: Vec<Value> = o["message_thread"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["source"].clone())
        .collect();
    json!({
        "type": o["type"], "task": o["task"], "facts": o["facts"], "plan": o["plan"],
        "n_rounds": o["n_rounds"], "n_stalls": o["n_stalls"], "thread_sources": sources,
    })
}

/// Runs the fixture in AutoGen and here on `script`: the model calls, the normalised messages,
/// the stop reason and the orchestrator state must agree. Returns our run and the call count.
async fn same_as_autogen(script: &Value) -> (Value, usize) {
    let (theirs, their_calls) = autogen_run(TOOL, &fixture_path(FIXTURE), script).await;
    let (ours, our_calls) = toolyard_run(FIXTURE, script).await;
    assert_eq!(our_calls, their_calls, "model calls: toolyard vs AutoGen");
    assert_eq!(
        normalised(&ours),
        normalised(&theirs),
        "toolyard (left) vs AutoGen (right)"
    );
    assert_eq!(ours["stop_reason"], theirs["stop_reason"]);
    assert_eq!(
        orchestrator_state(&ours["state"]),
        orchestrator_state(&theirs["state"]),
        "orchestrator state: toolyard vs AutoGen"
    );
    (ours, our_calls)
}

#[tokio::test]
async fn autogen_fixture_runs_like_autogen() {
    let (ours, calls) = same_as_autogen(&replan_script()).await;
    assert_eq!(calls, 11);
    assert_eq!(ours["stop_reason"], "all done");
    let sequence: Vec<String> = normalised(&ours)
        .iter()
        .map(|m| {
            format!(
                "{}: {}",
                m[0].as_str().unwrap(),
                m[2].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        sequence,
        [
            "user: go",
            "MagenticOneOrchestrator: <ledger FACTS-1+PLAN-1>",
            "MagenticOneOrchestrator: alice, try",
            "alice: a1",
            "MagenticOneOrchestrator: <ledger FACTS-2+PLAN-2>",
            "MagenticOneOrchestrator: bob, go",
            "bob: b1",
            "MagenticOneOrchestrator: Final.",
        ]
    );
}

#[tokio::test]
async fn autogen_state_loads_and_continues() {
    let script = replan_script();
    let (theirs, _) = autogen_run(TOOL, &fixture_path(FIXTURE), &script).await;
    let state = &theirs["state"];
    // Continue after AutoGen's final answer: one more step, which ends the run again.
    let more =
        json!({"steps": [ledger(true, true, "", ""), text("Still final.")], "when_done": "error"});
    let server = server_json(&more).await;
    let team = load_fixture(FIXTURE, &server);
    team.load_state(state).await.unwrap();
    let ours = team.save_state().await.unwrap();
    assert_same_state_keys(&ours, state);
    assert_eq!(orchestrator_state(&ours), orchestrator_state(state));
    let r = run_team(&team, Task::None).await;
    let last = r.messages.last().unwrap();
    assert_eq!(
        (last.source(), last.to_text()),
        (ORCH, "Still final.".to_string())
    );
    // The step saw AutoGen's thread (bob's answer) and the task from AutoGen's state.
    let first = server.requests()[0].body.to_string();
    assert!(first.contains("b1") && first.contains("go"), "{first}");
}

#[tokio::test]
async fn our_dump_of_the_fixture_round_trips_and_runs_in_autogen() {
    let (original, dumped) = dump_of_fixture(FIXTURE);
    for field in [
        "max_turns",
        "max_stalls",
        "final_answer_prompt",
        "emit_team_events",
        "name",
    ] {
        assert_eq!(
            dumped["config"][field], original["config"][field],
            "{field}"
        );
    }
    // dump → load → dump is stable.
    let again = load_team(
        &from_json(&dumped.to_string()).unwrap(),
        &LoadOptions::default(),
    )
    .unwrap()
    .dump_component()
    .unwrap();
    assert_eq!(serde_json::to_value(again).unwrap(), dumped);
    // AutoGen runs our dump exactly as it runs its own.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ours.json");
    std::fs::write(&path, dumped.to_string()).unwrap();
    let script = replan_script();
    let (from_ours, _) = autogen_run(TOOL, path.to_str().unwrap(), &script).await;
    let (from_theirs, _) = autogen_run(TOOL, &fixture_path(FIXTURE), &script).await;
    assert_eq!(from_ours["messages"], from_theirs["messages"]);
    assert_eq!(from_ours["stop_reason"], from_theirs["stop_reason"]);
}

#[tokio::test]
async fn max_rounds_runs_like_autogen() {
    // The fixture's max_turns is 10: AutoGen checks `n_rounds > max_turns` before counting, so
    // 11 steps run before the final answer.
    let mut steps = vec![text("FACTS-1"), text("PLAN-1")];
    steps.extend((0..11).map(|_| ledger(false, true, "alice", "again")));
    steps.push(text("Best effort."));
    let script = json!({
        "steps": steps,
        "rules": [{"when": {"system_contains": "agent alice."}, "steps": vec![text("x"); 11]}],
        "when_done": "error",
    });
    let (ours, calls) = same_as_autogen(&script).await;
    assert_eq!(calls, 2 + 11 + 11 + 1);
    assert_eq!(ours["stop_reason"], "Max rounds reached.");
}
