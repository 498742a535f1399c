//! SocietyOfMindAgent against the scripted model server: the inner team runs on the task, the
//! model summarises the transcript with AutoGen's default prompts, the team is reset, and the
//! next task carries the earlier messages as a handoff context.
#![allow(clippy::unwrap_used)]

mod common_agents;

use std::sync::Arc;

use common_agents::*;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use toolyard::agents::{AssistantAgent, ChatAgent};
use toolyard::messages::AgentMessage;
use toolyard::models::scripted::{Script, ScriptedServer};
use toolyard::teams::{
    DEFAULT_INSTRUCTION, DEFAULT_RESPONSE_PROMPT, GroupChat, SocietyOfMindAgent,
};
use toolyard::termination::MaxMessageTermination;

async fn scripted(rules: Value) -> ScriptedServer {
    let script = Script::from_json(&json!({"rules": rules, "when_done": "cycle"}).to_string());
    server_with(script.unwrap()).await
}

fn says(name: &str, text: &str) -> Value {
    json!({"when": {"system_contains": format!("agent {name}.")}, "reply": {"kind": "text", "text": text}})
}

fn agent(server: &ScriptedServer, name: &str) -> Arc<dyn ChatAgent> {
    Arc::new(
        AssistantAgent::builder(name, client(server))
            .system_message(Some(format!("You are agent {name}.")))
            .build()
            .unwrap(),
    )
}

#[tokio::test]
async fn society_of_mind_summarises_inner_team() {
    let server = scripted(json!([
        {"when": {"system_contains": "Here is a transcript"}, "reply": {"kind": "text", "text": "final answer"}},
        says("writer", "draft"),
        says("critic", "critique")
    ]))
    .await;
    let team = GroupChat::round_robin(vec![agent(&server, "writer"), agent(&server, "critic")])
        .termination(MaxMessageTermination::new(3))
        .build()
        .unwrap();
    let som = SocietyOfMindAgent::new("som", Arc::new(team), client(&server));

    let result = som
        .run("first task".into(), CancellationToken::new())
        .await
        .unwrap();
    let sources: Vec<&str> = result
        .messages
        .iter()
        .filter_map(AgentMessage::as_chat)
        .map(|m| m.source())
        .collect();
    assert_eq!(sources, ["user", "writer", "critic", "som"]);
    assert_eq!(last_chat(&result.messages).to_model_text(), "final answer");

    // The summary request: instruction, transcript, response prompt.
    let summary = server.requests().last().unwrap().body.to_string();
    for part in [
        DEFAULT_INSTRUCTION,
        "draft",
        "critique",
        DEFAULT_RESPONSE_PROMPT,
    ] {
        assert!(summary.contains(part), "{part} missing from {summary}");
    }

    // The team was reset; the next task brings the earlier messages as handoff context.
    let before = server.requests().len();
    let result = som
        .run("second task".into(), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(last_chat(&result.messages).to_model_text(), "final answer");
    let writer_request = server.requests()[before].body.to_string();
    assert!(writer_request.contains("agent writer."), "{writer_request}");
    assert!(writer_request.contains("first task"), "{writer_request}");
    assert!(writer_request.contains("second task"), "{writer_request}");
    assert!(!writer_request.contains("critique"), "{writer_request}");

    // State: AutoGen's SocietyOfMindAgentState wrapping the inner team's TeamState.
    let state = som.save_state().await.unwrap();
    assert_eq!(state["type"], json!("SocietyOfMindAgentState"));
    assert_eq!(state["inner_team_state"]["type"], json!("TeamState"));
    som.load_state(&state).await.unwrap();
    assert!(som.load_state(&json!({})).await.is_err());
}
