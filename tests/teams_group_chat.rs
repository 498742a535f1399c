//! Teams against the scripted model server: round-robin and swarm speaking order and stop
//! reasons, max_turns, resume, reset, cancellation, a failing participant, save → load → continue.
#![allow(clippy::unwrap_used)]

mod common_agents;

use std::sync::Arc;

use common_agents::*;
use futures::StreamExt;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use toolyard::agents::{AssistantAgent, ChatAgent, Handoff, RunItem, Task};
use toolyard::messages::{AgentMessage, ChatMessage};
use toolyard::models::scripted::{Script, ScriptedServer};
use toolyard::teams::{GroupChat, TeamError};
use toolyard::termination::{HandoffTermination, MaxMessageTermination, TextMentionTermination};

/// A script where each agent (matched by its system message) answers with its own rule.
async fn scripted(rules: serde_json::Value) -> ScriptedServer {
    let script = Script::from_json(&json!({"rules": rules, "when_done": "cycle"}).to_string());
    server_with(script.unwrap()).await
}

fn agent(server: &ScriptedServer, name: &str, handoffs: &[&str]) -> Arc<dyn ChatAgent> {
    let mut b = AssistantAgent::builder(name, client(server))
        .system_message(Some(format!("You are agent {name}.")));
    for h in handoffs {
        b = b.handoff(Handoff::new(*h));
    }
    Arc::new(b.build().unwrap())
}

fn says(name: &str, text: &str) -> serde_json::Value {
    json!({"when": {"system_contains": format!("agent {name}.")}, "reply": {"kind": "text", "text": text}})
}

/// (source, type) of each chat message.
fn chats(messages: &[AgentMessage]) -> Vec<(String, &'static str)> {
    messages
        .iter()
        .filter_map(AgentMessage::as_chat)
        .map(|m| (m.source().to_string(), m.type_name()))
        .collect()
}

fn sources(messages: &[AgentMessage]) -> Vec<String> {
    messages
        .iter()
        .filter_map(AgentMessage::as_chat)
        .map(|m| m.source().to_string())
        .collect()
}

async fn two(server: &ScriptedServer) -> Vec<Arc<dyn ChatAgent>> {
    vec![agent(server, "alice", &[]), agent(server, "bob", &[])]
}

#[tokio::test]
async fn round_robin_order_and_max_message_stop() {
    let server = scripted(json!([says("alice", "a"), says("bob", "b")])).await;
    let team = GroupChat::round_robin(two(&server).await)
        .termination(MaxMessageTermination::new(5))
        .build()
        .unwrap();
    let result = team
        .run("go".into(), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(
        sources(&result.messages),
        ["user", "alice", "bob", "alice", "bob"]
    );
    let reason = result.stop_reason.unwrap();
    assert!(
        reason.contains("Maximum number of messages 5 reached"),
        "{reason}"
    );
}

#[tokio::test]
async fn text_mention_stop_reason() {
    let server = scripted(json!([says("alice", "a"), says("bob", "done TERMINATE")])).await;
    let team = GroupChat::round_robin(two(&server).await)
        .termination(TextMentionTermination::new("TERMINATE"))
        .build()
        .unwrap();
    let result = team
        .run("go".into(), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(sources(&result.messages), ["user", "alice", "bob"]);
    assert_eq!(result.stop_reason.unwrap(), "Text 'TERMINATE' mentioned");
}

#[tokio::test]
async fn max_turns_then_resume_keeps_conversation_and_order() {
    let server = scripted(json!([says("alice", "a"), says("bob", "b")])).await;
    let team = GroupChat::round_robin(two(&server).await)
        .max_turns(3)
        .build()
        .unwrap();
    let first = team
        .run("go".into(), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(sources(&first.messages), ["user", "alice", "bob", "alice"]);
    assert_eq!(
        first.stop_reason.unwrap(),
        "Maximum number of turns 3 reached."
    );
    // Resume without a task: the next speaker is bob, and bob has seen everything.
    let second = team
        .run(Task::None, CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(sources(&second.messages), ["bob", "alice", "bob"]);
    assert_eq!(
        second.stop_reason.unwrap(),
        "Maximum number of turns 3 reached."
    );
    // A new task keeps the conversation: bob's last request holds every earlier message.
    let third = team
        .run("more".into(), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(sources(&third.messages), ["user", "alice", "bob", "alice"]);
    let last_bob = server
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.body.to_string().contains("agent bob."))
        .unwrap();
    let text = last_bob.body.to_string();
    assert!(text.contains("go") && text.contains("more"), "{text}");
}

#[tokio::test]
async fn reset_forgets_conversation_and_order() {
    let server = scripted(json!([says("alice", "a"), says("bob", "b")])).await;
    let team = GroupChat::round_robin(two(&server).await)
        .max_turns(1)
        .build()
        .unwrap();
    team.run("first".into(), CancellationToken::new())
        .await
        .unwrap();
    team.reset().await.unwrap();
    let r = team
        .run("second".into(), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(sources(&r.messages), ["user", "alice"]);
    let last = server.requests().pop().unwrap().body.to_string();
    assert!(last.contains("second") && !last.contains("first"), "{last}");
}

#[tokio::test]
async fn team_events_and_streaming_end_with_result() {
    let server = scripted(json!([says("alice", "a"), says("bob", "b")])).await;
    let team = GroupChat::round_robin(two(&server).await)
        .max_turns(2)
        .emit_team_events(true)
        .build()
        .unwrap();
    let items: Vec<_> = team
        .run_stream("go".into(), CancellationToken::new())
        .collect()
        .await;
    let items: Vec<RunItem> = items.into_iter().map(Result::unwrap).collect();
    let RunItem::Result(result) = items.last().unwrap() else {
        panic!("last item is not the result")
    };
    let streamed: Vec<_> = items[..items.len() - 1]
        .iter()
        .map(|i| match i {
            RunItem::Message(m) => m.type_name(),
            RunItem::Result(_) => "Result",
        })
        .collect();
    assert_eq!(
        streamed,
        [
            "TextMessage",
            "SelectSpeakerEvent",
            "TextMessage",
            "SelectSpeakerEvent",
            "TextMessage"
        ]
    );
    assert_eq!(types(&result.messages), streamed);
    assert_eq!(result.messages[1].source(), "RoundRobinGroupChatManager");
}

#[tokio::test]
async fn failing_participant_names_the_agent() {
    let server = scripted(json!([
        says("alice", "a"),
        {"when": {"system_contains": "agent bob."}, "reply": {"kind": "error", "status": 400, "message": "bad request"}}
    ]))
    .await;
    let team = GroupChat::round_robin(two(&server).await)
        .max_turns(4)
        .build()
        .unwrap();
    let err = team
        .run("go".into(), CancellationToken::new())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, TeamError::Agent { agent, .. } if agent == "bob"),
        "{err}"
    );
    assert!(err.to_string().contains("`bob`"), "{err}");
}

#[tokio::test]
async fn cancellation_mid_run_leaves_team_resumable() {
    let server = scripted(json!([
        says("alice", "a"),
        {"when": {"system_contains": "agent bob."}, "steps": [
            {"kind": "text", "text": "slow", "delay_ms": 3000},
            {"kind": "text", "text": "b"}
        ]}
    ]))
    .await;
    let team = GroupChat::round_robin(two(&server).await)
        .max_turns(2)
        .build()
        .unwrap();
    let cancel = CancellationToken::new();
    let mut stream = team.run_stream("go".into(), cancel.clone());
    let mut seen = Vec::new();
    let err = loop {
        match stream.next().await.unwrap() {
            Ok(RunItem::Message(m)) => {
                if m.source() == "alice" {
                    cancel.cancel();
                }
                seen.push(m.source().to_string());
            }
            Ok(RunItem::Result(_)) => panic!("run finished despite cancellation"),
            Err(e) => break e,
        }
    };
    drop(stream);
    assert!(matches!(err, TeamError::Cancelled { .. }), "{err}");
    assert_eq!(seen, ["user", "alice"]);
    // The team resumes: round robin moved past bob, and alice's completed turn still counts
    // towards max_turns (as in AutoGen), so one more turn ends the run.
    let r = team
        .run(Task::None, CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(r.stop_reason.unwrap(), "Maximum number of turns 2 reached.");
    assert_eq!(sources(&r.messages), ["alice"]);
    // bob's unseen messages were kept across the cancellation: his next turn sees the task.
    let r = team
        .run(Task::None, CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(sources(&r.messages), ["bob", "alice"]);
    let bob = server
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.body.to_string().contains("agent bob."))
        .unwrap();
    assert!(bob.body.to_string().contains("go"));
}

#[tokio::test]
async fn swarm_handoffs_and_resume_after_handoff_to_user() {
    let server = scripted(json!([
        {"when": {"system_contains": "agent alice."}, "reply": {"kind": "handoff", "target": "bob"}},
        {"when": {"system_contains": "agent bob."}, "steps": [
            {"kind": "handoff", "target": "user"},
            {"kind": "text", "text": "bob answers TERMINATE"}
        ]}
    ]))
    .await;
    let alice = agent(&server, "alice", &["bob"]);
    let bob = agent(&server, "bob", &["user"]);
    let team = GroupChat::swarm(vec![alice, bob])
        .termination(
            HandoffTermination::new("user".to_string()) | TextMentionTermination::new("TERMINATE"),
        )
        .build()
        .unwrap();
    let first = team
        .run("help".into(), CancellationToken::new())
        .await
        .unwrap();
    let handoffs: Vec<_> = chats(&first.messages);
    assert_eq!(
        handoffs,
        [
            ("user".to_string(), "TextMessage"),
            ("alice".to_string(), "HandoffMessage"),
            ("bob".to_string(), "HandoffMessage"),
        ]
    );
    assert_eq!(
        first.stop_reason.unwrap(),
        "Handoff to user from bob detected."
    );
    // Resuming without a valid handoff fails (the last handoff targets `user`).
    let err = team
        .run("more".into(), CancellationToken::new())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("existing handoff target user"),
        "{err}"
    );
    // A handoff to a non-participant is rejected.
    let bad = ChatMessage::handoff("user", "carol", "over to you");
    let err = team
        .run(bad.into(), CancellationToken::new())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("The target carol is not one of the participants"),
        "{err}"
    );
    // Resume with a handoff back to bob.
    let back = ChatMessage::handoff("user", "bob", "here is the answer");
    let second = team
        .run(back.into(), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(sources(&second.messages), ["user", "bob"]);
    assert_eq!(second.stop_reason.unwrap(), "Text 'TERMINATE' mentioned");
}

#[tokio::test]
async fn save_load_continue_round_robin() {
    let server = scripted(json!([says("alice", "a"), says("bob", "b")])).await;
    let team = GroupChat::round_robin(two(&server).await)
        .max_turns(3)
        .build()
        .unwrap();
    team.run("go".into(), CancellationToken::new())
        .await
        .unwrap();
    let state = team.save_state().await.unwrap();
    assert_eq!(state["type"], "TeamState");
    let manager = &state["agent_states"]["RoundRobinGroupChatManager"];
    assert_eq!(manager["type"], "RoundRobinManagerState");
    assert_eq!(manager["next_speaker_index"], 1);
    assert_eq!(manager["message_thread"].as_array().unwrap().len(), 4);
    assert_eq!(
        state["agent_states"]["bob"]["type"],
        "ChatAgentContainerState"
    );
    assert_eq!(
        state["agent_states"]["bob"]["message_buffer"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Through JSON text into a fresh team of fresh agents.
    let text = serde_json::to_string(&state).unwrap();
    let fresh = GroupChat::round_robin(two(&server).await)
        .max_turns(1)
        .build()
        .unwrap();
    fresh
        .load_state(&serde_json::from_str(&text).unwrap())
        .await
        .unwrap();
    let r = fresh
        .run(Task::None, CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(sources(&r.messages), ["bob"]);
    let body = server.requests().pop().unwrap().body.to_string();
    assert!(
        body.contains("go"),
        "bob's restored context holds the task: {body}"
    );
    assert_eq!(fresh.save_state().await.unwrap()["agent_states"]["RoundRobinGroupChatManager"]["message_thread"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn save_load_continue_swarm() {
    let server = scripted(json!([
        {"when": {"system_contains": "agent alice."}, "reply": {"kind": "handoff", "target": "bob"}},
        says("bob", "b")
    ]))
    .await;
    let make = || {
        let server = &server;
        async move { vec![agent(server, "alice", &["bob"]), agent(server, "bob", &[])] }
    };
    let team = GroupChat::swarm(make().await).max_turns(2).build().unwrap();
    team.run("go".into(), CancellationToken::new())
        .await
        .unwrap();
    let state = team.save_state().await.unwrap();
    assert_eq!(
        state["agent_states"]["SwarmGroupChatManager"]["current_speaker"],
        "bob"
    );
    let fresh = GroupChat::swarm(make().await).max_turns(1).build().unwrap();
    fresh.load_state(&state).await.unwrap();
    let r = fresh
        .run(Task::None, CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(sources(&r.messages), ["bob"]);
}

#[tokio::test]
async fn duplicate_names_and_empty_teams_are_config_errors() {
    let server = scripted(json!([says("alice", "a")])).await;
    let a = agent(&server, "alice", &[]);
    let err = GroupChat::round_robin(vec![a.clone(), a])
        .build()
        .err()
        .unwrap();
    assert!(err.to_string().contains("unique"), "{err}");
    let err = GroupChat::round_robin(vec![]).build().err().unwrap();
    assert!(matches!(err, TeamError::Config { .. }));
}

#[tokio::test]
async fn a_second_run_while_running_is_refused() {
    let server = scripted(json!([says("alice", "a"), says("bob", "b")])).await;
    let team = GroupChat::round_robin(two(&server).await)
        .max_turns(2)
        .build()
        .unwrap();
    let mut stream = team.run_stream("go".into(), CancellationToken::new());
    // The first item (the task) is out: the run holds the team until the stream ends.
    let first = stream.next().await.unwrap().unwrap();
    assert!(matches!(first, RunItem::Message(ref m) if m.source() == "user"));
    let err = team
        .run("again".into(), CancellationToken::new())
        .await
        .unwrap_err();
    assert!(matches!(err, TeamError::AlreadyRunning { .. }), "{err}");
    assert!(team.save_state().await.is_err());
    let rest: Vec<_> = stream.collect().await;
    assert!(matches!(rest.last(), Some(Ok(RunItem::Result(_)))));
    // Finished: the team is free again.
    assert!(team.save_state().await.is_ok());
}
