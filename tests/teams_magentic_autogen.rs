//! MagenticOneGroupChat JSON dumped by the real AutoGen 0.7.5
//! (tests/fixtures/teams/magentic_autogen.py) loads here and, run on the same scripted model
//! server script, makes the same model calls in the same order and gives the same messages
//! (sources, types, contents; the task-ledger texts differ because the prompts are our own) and
//! stop reason as AutoGen; AutoGen's saved state loads here; AutoGen runs our dump the same way.
#![allow(clippy::unwrap_used)]

mod common_agents;

use common_agents::*;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use toolyard::agents::{LoadOptions, Task};
use toolyard::component::from_json;
use toolyard::models::scripted::{Script, ScriptedServer};
use toolyard::teams::load_team;

const ORCH: &str = "MagenticOneOrchestrator";

fn fixture_path() -> String {
    format!(
        "{}/tests/fixtures/teams/magentic_one.json",
        env!("CARGO_MANIFEST_DIR")
    )
}

async fn start(script: &Value) -> ScriptedServer {
    server_with(Script::from_json(&script.to_string()).unwrap()).await
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

fn text(t: &str) -> Value {
    json!({"kind": "text", "text": t})
}

fn ledger(satisfied: bool, progress: bool, next: &str, instruction: &str) -> Value {
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

/// AutoGen's run of a team JSON file on a fresh server with `script`; also the request count.
async fn autogen_run(path: &str, script: &Value) -> (Value, usize) {
    let server = start(script).await;
    let python = std::env::var("TOOLYARD_AUTOGEN_PYTHON")
        .unwrap_or_else(|_| "/work/cache/venv-autogen/bin/python".into());
    assert!(
        std::path::Path::new(&python).exists(),
        "AutoGen venv python not found at {python}; set TOOLYARD_AUTOGEN_PYTHON"
    );
    let tool = format!(
        "{}/tests/fixtures/teams/magentic_autogen.py",
        env!("CARGO_MANIFEST_DIR")
    );
    let out = tokio::process::Command::new(python)
        .args([
            tool,
            "run".into(),
            path.to_string(),
            server.openai_base_url(),
        ])
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
    (
        serde_json::from_slice(&out.stdout).unwrap(),
        server.requests().len(),
    )
}

/// Our run of the fixture on a fresh server with `script`; also the state and request count.
async fn toolyard_run(script: &Value) -> (Value, usize) {
    let server = start(script).await;
    let text = std::fs::read_to_string(fixture_path()).unwrap();
    let config = point_at(
        &serde_json::from_str(&text).unwrap(),
        &server.openai_base_url(),
    );
    let team = load_team(
        &from_json(&config.to_string()).unwrap(),
        &LoadOptions::default(),
    )
    .unwrap();
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
    let state = team.save_state().await.unwrap();
    (
        json!({"messages": messages, "stop_reason": result.stop_reason, "state": state}),
        server.requests().len(),
    )
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

#[tokio::test]
async fn autogen_fixture_runs_like_autogen() {
    let script = replan_script();
    let (theirs, their_calls) = autogen_run(&fixture_path(), &script).await;
    let (ours, our_calls) = toolyard_run(&script).await;
    assert_eq!(our_calls, their_calls, "model calls: toolyard vs AutoGen");
    assert_eq!(our_calls, 11);
    assert_eq!(
        normalised(&ours),
        normalised(&theirs),
        "toolyard (left) vs AutoGen (right)"
    );
    assert_eq!(ours["stop_reason"], theirs["stop_reason"]);
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
    assert_eq!(
        orchestrator_state(&ours["state"]),
        orchestrator_state(&theirs["state"]),
        "orchestrator state: toolyard vs AutoGen"
    );
}

#[tokio::test]
async fn autogen_state_loads_and_continues() {
    let script = replan_script();
    let (theirs, _) = autogen_run(&fixture_path(), &script).await;
    let state = &theirs["state"];
    // Continue after AutoGen's final answer: one more step, which ends the run again.
    let more =
        json!({"steps": [ledger(true, true, "", ""), text("Still final.")], "when_done": "error"});
    let server = start(&more).await;
    let text = std::fs::read_to_string(fixture_path()).unwrap();
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
    for (agent, their) in state["agent_states"].as_object().unwrap() {
        let mut a: Vec<_> = their.as_object().unwrap().keys().collect();
        let mut b: Vec<_> = ours["agent_states"][agent]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        a.sort();
        b.sort();
        assert_eq!(b, a, "state keys of {agent}");
    }
    assert_eq!(orchestrator_state(&ours), orchestrator_state(state));
    let r = team
        .run(Task::None, CancellationToken::new())
        .await
        .unwrap();
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
    let text = std::fs::read_to_string(fixture_path()).unwrap();
    let original: Value = serde_json::from_str(&text).unwrap();
    let team = load_team(&from_json(&text).unwrap(), &LoadOptions::default()).unwrap();
    let dumped = serde_json::to_value(team.dump_component().unwrap()).unwrap();
    assert_eq!(dumped["provider"], original["provider"]);
    let keys = |v: &Value| {
        let mut k: Vec<String> = v["config"].as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&dumped), keys(&original));
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
    let (from_ours, _) = autogen_run(path.to_str().unwrap(), &script).await;
    let (from_theirs, _) = autogen_run(&fixture_path(), &script).await;
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
    let (theirs, their_calls) = autogen_run(&fixture_path(), &script).await;
    let (ours, our_calls) = toolyard_run(&script).await;
    assert_eq!(our_calls, their_calls, "model calls: toolyard vs AutoGen");
    assert_eq!(our_calls, 2 + 11 + 11 + 1);
    assert_eq!(
        normalised(&ours),
        normalised(&theirs),
        "toolyard (left) vs AutoGen (right)"
    );
    assert_eq!(ours["stop_reason"], theirs["stop_reason"]);
    assert_eq!(ours["stop_reason"], "Max rounds reached.");
    assert_eq!(
        orchestrator_state(&ours["state"]),
        orchestrator_state(&theirs["state"])
    );
}
