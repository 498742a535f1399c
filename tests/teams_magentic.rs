//! MagenticOneGroupChat against the scripted model server: the orchestrator's ledgers and the
//! agents' replies are scripted by step; speaking order, orchestrator messages, final answer,
//! stop reasons, re-planning, ledger retries, the round limit, model errors, save → load →
//! continue and component configs.
#![allow(clippy::unwrap_used)]

mod common_agents;
mod common_teams;

use std::sync::Arc;

use common_agents::*;
use common_teams::ledger;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use toolyard::agents::{AssistantAgent, ChatAgent, LoadOptions, Task};
use toolyard::component::from_json;
use toolyard::messages::{AgentEvent, AgentMessage};
use toolyard::models::scripted::ScriptedServer;
use toolyard::teams::{GroupChat, MagenticOne, TeamError, load_team};
use toolyard::termination::{MaxMessageTermination, TextMentionTermination};

const ORCH: &str = "MagenticOneOrchestrator";

/// Agents answer by rule (matched on their system message); the orchestrator's calls (no
/// system message) take the ordered steps.
async fn scripted(steps: Vec<Value>, rules: Vec<Value>, when_done: &str) -> ScriptedServer {
    server_json(&json!({"steps": steps, "rules": rules, "when_done": when_done})).await
}

fn agent_says(name: &str, replies: &[&str]) -> Value {
    let steps: Vec<Value> = replies.iter().map(|r| text(r)).collect();
    json!({"when": {"system_contains": format!("agent {name}.")}, "steps": steps})
}

fn agent(server: &ScriptedServer, name: &str) -> Arc<dyn ChatAgent> {
    Arc::new(
        AssistantAgent::builder(name, client(server))
            .system_message(Some(format!("You are agent {name}.")))
            .description(format!("{name} is a helper"))
            .build()
            .unwrap(),
    )
}

fn team(server: &ScriptedServer, orchestrator: MagenticOne) -> GroupChat {
    let members = vec![agent(server, "alice"), agent(server, "bob")];
    GroupChat::magentic_one(members, orchestrator)
        .emit_team_events(true)
        .build()
        .unwrap()
}

/// `source: text` of each chat message.
fn chats(messages: &[AgentMessage]) -> Vec<String> {
    messages
        .iter()
        .filter_map(AgentMessage::as_chat)
        .map(|m| format!("{}: {}", m.source(), m.to_text()))
        .collect()
}

/// The bodies of the requests whose system message names `agent`.
fn agent_requests(server: &ScriptedServer, agent: &str) -> Vec<String> {
    server
        .requests()
        .into_iter()
        .map(|r| r.body.to_string())
        .filter(|b| b.contains(&format!("You are agent {agent}.")))
        .collect()
}

#[tokio::test]
async fn completes_a_scripted_task() {
    let server = scripted(
        vec![
            text("FACTS-1"),
            text("PLAN-1"),
            ledger(false, true, "alice", "alice, add it up"),
            ledger(false, true, "bob", "bob, check it"),
            ledger(true, true, "", ""),
            text("The answer is 42."),
        ],
        vec![
            agent_says("alice", &["a: 42"]),
            agent_says("bob", &["b: ok"]),
        ],
        "error",
    )
    .await;
    let team = team(&server, MagenticOne::new(client(&server)));
    let result = run_team(&team, "What is 6 x 7?").await;
    let chats = chats(&result.messages);
    assert_eq!(chats.len(), 7, "{chats:#?}");
    assert_eq!(chats[0], "user: What is 6 x 7?");
    let ledger_msg = &chats[1];
    assert!(ledger_msg.starts_with(ORCH), "{ledger_msg}");
    for part in [
        "What is 6 x 7?",
        "FACTS-1",
        "PLAN-1",
        "alice: alice is a helper",
    ] {
        assert!(ledger_msg.contains(part), "{part} missing in {ledger_msg}");
    }
    assert_eq!(
        chats[2..],
        [
            format!("{ORCH}: alice, add it up"),
            "alice: a: 42".into(),
            format!("{ORCH}: bob, check it"),
            "bob: b: ok".into(),
            format!("{ORCH}: The answer is 42."),
        ]
    );
    assert_eq!(result.stop_reason.as_deref(), Some("all done"));
    // A SelectSpeakerEvent from the orchestrator follows each instruction.
    let selected: Vec<Vec<String>> = result
        .messages
        .iter()
        .filter_map(|m| match m {
            AgentMessage::Event(AgentEvent::SelectSpeakerEvent(e)) => {
                assert_eq!(e.meta.source, ORCH);
                Some(e.content.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        selected,
        [vec!["alice".to_string()], vec!["bob".to_string()]]
    );
    // 6 orchestrator calls + 2 agent turns; bob saw the ledger, both instructions and alice.
    assert_eq!(server.requests().len(), 8);
    let bob = &agent_requests(&server, "bob")[0];
    for part in ["FACTS-1", "alice, add it up", "a: 42", "bob, check it"] {
        assert!(bob.contains(part), "{part} missing in bob's request {bob}");
    }
    // The final-answer call saw the whole thread and our default prompt with the task.
    let last = server.requests().last().unwrap().body.to_string();
    assert!(
        last.contains("b: ok") && last.contains("What is 6 x 7?"),
        "{last}"
    );
}

#[tokio::test]
async fn replans_after_max_stalls_and_resets_participants() {
    let server = scripted(
        vec![
            text("FACTS-1"),
            text("PLAN-1"),
            ledger(false, false, "alice", "alice, try once"),
            // Second stall: n_stalls reaches 2 → new facts and plan, agents reset.
            ledger(false, false, "alice", "unused"),
            text("FACTS-2"),
            text("PLAN-2"),
            ledger(false, true, "alice", "alice, try again"),
            ledger(true, true, "", ""),
            text("Done."),
        ],
        vec![agent_says("alice", &["first-try", "second-try"])],
        "error",
    )
    .await;
    let team = team(&server, MagenticOne::new(client(&server)).max_stalls(2));
    let result = run_team(&team, "Find it.").await;
    let chats = chats(&result.messages);
    let ledgers: Vec<&String> = chats.iter().filter(|c| c.contains("FACTS-")).collect();
    assert_eq!(ledgers.len(), 2, "{chats:#?}");
    assert!(ledgers[1].contains("FACTS-2") && ledgers[1].contains("PLAN-2"));
    assert!(!ledgers[1].contains("FACTS-1"));
    assert_eq!(
        chats.iter().filter(|c| c.starts_with("alice:")).count(),
        2,
        "{chats:#?}"
    );
    assert!(!chats.iter().any(|c| c.contains("unused")));
    assert_eq!(result.stop_reason.as_deref(), Some("all done"));
    // The facts update saw the conversation so far.
    let update = server.requests()[5].body.to_string();
    assert!(
        update.contains("first-try") && update.contains("FACTS-1"),
        "{update}"
    );
    // After the reset alice's context holds only the new ledger and instruction.
    let alice = agent_requests(&server, "alice");
    assert_eq!(alice.len(), 2);
    assert!(alice[1].contains("FACTS-2") && alice[1].contains("alice, try again"));
    for stale in ["first-try", "FACTS-1", "alice, try once"] {
        assert!(
            !alice[1].contains(stale),
            "{stale} survived the reset: {}",
            alice[1]
        );
    }
    // The orchestrator's thread starts again at the new ledger; the stall count is kept.
    let state = team.save_state().await.unwrap();
    let orch = &state["agent_states"][ORCH];
    assert_eq!(orch["facts"], "FACTS-2");
    assert_eq!(orch["plan"], "PLAN-2");
    assert_eq!(orch["n_rounds"], 4);
    assert_eq!(orch["n_stalls"], 1);
    let thread = orch["message_thread"].as_array().unwrap();
    assert!(thread[0]["content"].as_str().unwrap().contains("FACTS-2"));
}

#[tokio::test]
async fn invalid_ledgers_are_retried() {
    let server = scripted(
        vec![
            text("F"),
            text("P"),
            text("not json at all"),
            ledger(false, true, "carol", "carol is not on the team"),
            text(r#"{"is_request_satisfied": {"reason": "r", "answer": false}}"#),
            ledger(false, true, "bob", "bob, go"),
            ledger(true, true, "", ""),
            text("Final."),
        ],
        vec![agent_says("bob", &["b"])],
        "error",
    )
    .await;
    let team = team(&server, MagenticOne::new(client(&server)));
    let result = run_team(&team, "go").await;
    let chats = chats(&result.messages);
    assert_eq!(
        chats[2..],
        [
            format!("{ORCH}: bob, go"),
            "bob: b".into(),
            format!("{ORCH}: Final.")
        ]
    );
    assert_eq!(server.requests().len(), 9);
}

#[tokio::test]
async fn invalid_ledgers_end_the_run_after_the_retries() {
    let server = scripted(
        vec![text("F"), text("P"), text("{\"nope\": 1}")],
        vec![],
        "repeat_last",
    )
    .await;
    let team = team(
        &server,
        MagenticOne::new(client(&server)).max_json_retries(4),
    );
    let err = team
        .run("go".into(), CancellationToken::new())
        .await
        .unwrap_err();
    assert!(matches!(err, TeamError::Selection { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(ORCH) && text.contains("4 attempts"), "{text}");
    assert_eq!(server.requests().len(), 2 + 4);
}

#[tokio::test]
async fn a_failing_model_call_names_the_orchestrator() {
    let server = scripted(
        vec![
            text("F"),
            json!({"kind": "error", "status": 500, "message": "boom"}),
        ],
        vec![],
        "error",
    )
    .await;
    let team = team(&server, MagenticOne::new(client(&server)));
    let err = team
        .run("go".into(), CancellationToken::new())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(ORCH) && err.contains("plan model call failed"),
        "{err}"
    );
}

#[tokio::test]
async fn max_turns_forces_the_final_answer() {
    let server = scripted(
        vec![
            text("F"),
            text("P"),
            ledger(false, true, "alice", "again"),
            ledger(false, true, "alice", "again"),
            ledger(false, true, "alice", "again"),
            text("Best effort."),
        ],
        vec![agent_says("alice", &["x", "x", "x"])],
        "error",
    )
    .await;
    let team = team(
        &server,
        MagenticOne::new(client(&server)).max_turns(Some(2)),
    );
    let result = run_team(&team, "go").await;
    let chats = chats(&result.messages);
    // As in AutoGen, the limit is checked before counting: max_turns + 1 steps run.
    assert_eq!(chats.iter().filter(|c| *c == "alice: x").count(), 3);
    assert_eq!(chats.last().unwrap(), &format!("{ORCH}: Best effort."));
    assert_eq!(result.stop_reason.as_deref(), Some("Max rounds reached."));
}

#[tokio::test]
async fn cancellation_ends_the_run() {
    let server = scripted(
        vec![json!({"kind": "text", "text": "F", "delay_ms": 30000})],
        vec![],
        "error",
    )
    .await;
    let team = team(&server, MagenticOne::new(client(&server)));
    let cancel = cancel_after(100);
    let err = team.run("go".into(), cancel).await.unwrap_err();
    assert!(matches!(err, TeamError::Cancelled { .. }), "{err:?}");
}

#[tokio::test]
async fn save_load_continue() {
    let server = scripted(
        vec![
            text("F"),
            text("P"),
            ledger(false, true, "alice", "alice, start"),
            ledger(false, true, "bob", "bob, finish"),
            ledger(true, true, "", ""),
            text("All finished."),
        ],
        vec![
            agent_says("alice", &["PAUSE here"]),
            agent_says("bob", &["finished"]),
        ],
        "error",
    )
    .await;
    let build = || {
        GroupChat::magentic_one(
            vec![agent(&server, "alice"), agent(&server, "bob")],
            MagenticOne::new(client(&server)),
        )
        .termination(TextMentionTermination::new("PAUSE"))
        .build()
        .unwrap()
    };
    let first = build();
    let r = run_team(&first, "Do the thing.").await;
    assert_eq!(r.stop_reason.as_deref(), Some("Text 'PAUSE' mentioned"));
    let state = first.save_state().await.unwrap();
    let orch = state["agent_states"][ORCH].as_object().unwrap();
    let mut keys: Vec<&str> = orch.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "current_turn",
            "facts",
            "message_thread",
            "n_rounds",
            "n_stalls",
            "plan",
            "task",
            "type",
            "version"
        ]
    );
    assert_eq!(orch["type"], "MagenticOneOrchestratorState");
    assert_eq!(orch["task"], "Do the thing.");
    assert_eq!(orch["n_rounds"], 1);

    let second = build();
    second.load_state(&state).await.unwrap();
    let r = run_team(&second, Task::None).await;
    assert_eq!(
        chats(&r.messages),
        [
            format!("{ORCH}: bob, finish"),
            "bob: finished".into(),
            format!("{ORCH}: All finished."),
        ]
    );
    assert_eq!(r.stop_reason.as_deref(), Some("all done"));
    // The resumed ledger call saw the saved thread; bob got his unseen messages.
    let resumed = server.requests()[4].body.to_string();
    assert!(
        resumed.contains("PAUSE here") && resumed.contains("alice, start"),
        "{resumed}"
    );
    let bob = &agent_requests(&server, "bob")[0];
    assert!(
        bob.contains("PAUSE here") && bob.contains("bob, finish"),
        "{bob}"
    );
    assert_eq!(
        second.save_state().await.unwrap()["agent_states"][ORCH]["n_rounds"],
        3
    );
}

#[tokio::test]
async fn a_team_without_a_task_cannot_start() {
    let server = scripted(vec![], vec![], "error").await;
    let team = team(&server, MagenticOne::new(client(&server)));
    let err = team
        .run(Task::None, CancellationToken::new())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("needs a task"), "{err}");
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn component_config_round_trips() {
    let server = scripted(vec![], vec![], "error").await;
    let team = GroupChat::magentic_one(
        vec![agent(&server, "alice")],
        MagenticOne::new(client(&server))
            .max_turns(Some(7))
            .max_stalls(4)
            .final_answer_prompt("Answer {task} now."),
    )
    .termination(TextMentionTermination::new("STOP"))
    .build()
    .unwrap();
    let dumped = team.dump_component().unwrap();
    let value = serde_json::to_value(&dumped).unwrap();
    assert_eq!(
        value["provider"],
        "autogen_agentchat.teams.MagenticOneGroupChat"
    );
    let config = &value["config"];
    assert_eq!(config["max_turns"], 7);
    assert_eq!(config["max_stalls"], 4);
    assert_eq!(config["final_answer_prompt"], "Answer {task} now.");
    assert!(config["model_client"]["provider"].is_string());
    let loaded = load_team(
        &from_json(&value.to_string()).unwrap(),
        &LoadOptions::default(),
    )
    .unwrap();
    assert_eq!(
        loaded.max_turns(),
        None,
        "the loop itself has no turn limit"
    );
    let again = serde_json::to_value(loaded.dump_component().unwrap()).unwrap();
    assert_eq!(again, value);
}

#[tokio::test]
async fn the_termination_condition_sees_only_the_participants() {
    let server = scripted(
        vec![
            text("F"),
            text("P"),
            ledger(false, true, "alice", "alice, one"),
            ledger(false, true, "bob", "bob, two"),
        ],
        vec![agent_says("alice", &["a"]), agent_says("bob", &["b"])],
        "error",
    )
    .await;
    let team = GroupChat::magentic_one(
        vec![agent(&server, "alice"), agent(&server, "bob")],
        MagenticOne::new(client(&server)),
    )
    .termination(MaxMessageTermination::new(2))
    .build()
    .unwrap();
    let r = run_team(&team, "go").await;
    // The task, the ledger and the instructions are not counted (as in AutoGen).
    assert_eq!(chats(&r.messages).len(), 6, "{:#?}", chats(&r.messages));
    let reason = r.stop_reason.unwrap();
    assert!(
        reason.contains("Maximum number of messages 2 reached"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_new_task_starts_a_new_outer_loop() {
    let server = scripted(
        vec![
            text("F-1"),
            text("P-1"),
            ledger(false, true, "alice", "alice, first"),
            ledger(true, true, "", ""),
            text("One."),
            text("F-2"),
            text("P-2"),
            ledger(false, true, "alice", "alice, second"),
            ledger(true, true, "", ""),
            text("Two."),
        ],
        vec![agent_says("alice", &["first-answer", "second-answer"])],
        "error",
    )
    .await;
    let team = team(&server, MagenticOne::new(client(&server)));
    run_team(&team, "task one").await;
    let r = run_team(&team, "task two").await;
    let chats = chats(&r.messages);
    assert_eq!(chats[0], "user: task two");
    assert!(
        chats[1].contains("F-2") && chats[1].contains("task two"),
        "{}",
        chats[1]
    );
    assert_eq!(chats.last().unwrap(), &format!("{ORCH}: Two."));
    // alice was reset: her second request does not carry the first task's conversation.
    let alice = agent_requests(&server, "alice");
    assert!(
        !alice[1].contains("first-answer") && !alice[1].contains("F-1"),
        "{}",
        alice[1]
    );
    let state = team.save_state().await.unwrap();
    let orch = &state["agent_states"][ORCH];
    assert_eq!(orch["task"], "task two");
    // As in AutoGen, the round count carries over between tasks until reset().
    assert_eq!(orch["n_rounds"], 4);
    team.reset().await.unwrap();
    let state = team.save_state().await.unwrap();
    assert_eq!(state["agent_states"][ORCH]["n_rounds"], 0);
    assert_eq!(state["agent_states"][ORCH]["task"], "");
}

#[tokio::test]
async fn a_run_cancelled_while_planning_plans_again_on_resume() {
    let server = scripted(
        vec![
            json!({"kind": "text", "text": "never seen", "delay_ms": 30000}),
            text("F"),
            text("P"),
            ledger(true, true, "", ""),
            text("Answer."),
        ],
        vec![],
        "error",
    )
    .await;
    let team = team(&server, MagenticOne::new(client(&server)));
    let cancel = cancel_after(100);
    let err = team.run("plan me".into(), cancel).await.unwrap_err();
    assert!(matches!(err, TeamError::Cancelled { .. }), "{err:?}");
    let r = run_team(&team, Task::None).await;
    let chats = chats(&r.messages);
    assert!(
        chats[0].contains("plan me") && chats[0].contains("F"),
        "{chats:#?}"
    );
    assert_eq!(chats.last().unwrap(), &format!("{ORCH}: Answer."));
}
