//! Component configs dumped by AutoGen 0.7.5 (`tests/fixtures/compose/dump_autogen.py`) load and
//! run here against the scripted model server: AgentTool, TeamTool, SocietyOfMindAgent.
#![allow(clippy::unwrap_used)]

mod common_agents;

use common_agents::*;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use toolyard::agents::LoadOptions;
use toolyard::component::ComponentModel;
use toolyard::compose::{AgentTool, TeamTool, load_agent};
use toolyard::models::scripted::{Script, ScriptedServer};
use toolyard::tools::Tool;

async fn scripted(rules: Value) -> ScriptedServer {
    let script = Script::from_json(&json!({"rules": rules, "when_done": "cycle"}).to_string());
    server_with(script.unwrap()).await
}

fn says(name: &str, text: &str) -> Value {
    json!({"when": {"system_contains": format!("agent {name}.")}, "reply": {"kind": "text", "text": text}})
}

/// Points every `base_url` of the fixture at the scripted server.
fn retarget(value: &mut Value, url: &str) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if k == "base_url" {
                    *v = json!(url);
                } else {
                    retarget(v, url);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| retarget(v, url)),
        _ => {}
    }
}

fn load(name: &str, server: &ScriptedServer) -> ComponentModel {
    let path = format!(
        "{}/tests/fixtures/compose/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut value: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    retarget(&mut value, &server.openai_base_url());
    serde_json::from_value(value).unwrap()
}

#[tokio::test]
async fn autogen_agent_tool_loads_and_runs() {
    let server = scripted(json!([says("poet", "a poem")])).await;
    let tool =
        AgentTool::from_component(&load("agent_tool.json", &server), &LoadOptions::default())
            .unwrap();
    assert_eq!(tool.name(), "poet");
    assert_eq!(tool.description(), "The poet agent.");
    let out = tool
        .run(json!({"task": "write"}), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(out, "a poem");
}

#[tokio::test]
async fn autogen_team_tool_loads_and_runs() {
    let server = scripted(json!([says("writer", "draft"), says("reviewer", "ok")])).await;
    let tool = TeamTool::from_component(&load("team_tool.json", &server), &LoadOptions::default())
        .unwrap();
    assert_eq!(tool.name(), "pair");
    assert_eq!(tool.description(), "A writer and a reviewer.");
    let out = tool
        .run(json!({"task": "write"}), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(out, "writer: draft\n\nreviewer: ok");
}

#[tokio::test]
async fn autogen_society_of_mind_loads_and_answers() {
    let server = scripted(json!([
        {"when": {"system_contains": "Here is a transcript"}, "reply": {"kind": "text", "text": "final answer"}},
        says("writer", "draft"),
        says("reviewer", "ok")
    ]))
    .await;
    let som = load_agent(
        &load("society_of_mind.json", &server),
        &LoadOptions::default(),
    )
    .unwrap();
    assert_eq!(som.name(), "som");
    let result = som
        .run("write".into(), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(last_chat(&result.messages).to_model_text(), "final answer");
    let dumped = som.dump_component().unwrap();
    assert_eq!(
        dumped.provider,
        "autogen_agentchat.agents.SocietyOfMindAgent"
    );
    assert_eq!(
        dumped.config["team"]["provider"],
        json!("autogen_agentchat.teams.RoundRobinGroupChat")
    );
}

/// The agents layer alone cannot build what is made of upper layers: it says where to load it.
#[tokio::test]
async fn without_the_compose_loader_a_society_or_team_tool_names_where_to_load_it() {
    let server = scripted(json!([says("writer", "draft")])).await;
    for fixture in ["society_of_mind.json", "assistant_with_team_tool.json"] {
        let model = load(fixture, &server);
        let err = toolyard::agents::load_agent(&model, &LoadOptions::default())
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("compose::load_agent"), "{fixture}: {err}");
    }
}

/// An AutoGen AssistantAgent whose workbench holds a TeamTool loads with no tools supplied and
/// runs as AutoGen 0.7.5 runs it on the same script: the team's messages are streamed into the
/// agent's messages between the tool call request and its execution event (recorded from
/// AutoGen 0.7.5 against this scripted server).
#[tokio::test]
async fn autogen_assistant_with_team_tool_loads_and_runs_as_autogen() {
    let server = scripted(json!([
        says("writer", "draft"),
        says("reviewer", "looks good"),
        {"when": {"system_contains": "agent outer."},
         "reply": {"kind": "call_tool", "name": "pair", "arguments": {"task": "write a story"}}}
    ]))
    .await;
    let outer = load_agent(
        &load("assistant_with_team_tool.json", &server),
        &LoadOptions::default(),
    )
    .unwrap();
    let result = outer
        .run("go".into(), CancellationToken::new())
        .await
        .unwrap();
    let seen: Vec<(String, String, String)> = result
        .messages
        .iter()
        .filter(|m| {
            m.type_name() != "ToolCallRequestEvent" && m.type_name() != "ToolCallExecutionEvent"
        })
        .map(|m| {
            (
                m.source().to_string(),
                m.type_name().to_string(),
                m.to_text(),
            )
        })
        .collect();
    let autogen = [
        ("user", "TextMessage", "go"),
        ("user", "TextMessage", "write a story"),
        ("writer", "TextMessage", "draft"),
        ("reviewer", "TextMessage", "looks good"),
        (
            "outer",
            "ToolCallSummaryMessage",
            "writer: draft\n\nreviewer: looks good",
        ),
    ];
    let autogen: Vec<(String, String, String)> = autogen
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(seen, autogen);
    let types: Vec<&str> = result.messages.iter().map(|m| m.type_name()).collect();
    assert_eq!(types[1], "ToolCallRequestEvent");
    assert_eq!(types[5], "ToolCallExecutionEvent");
    // Dumping it again keeps the TeamTool as a component, not as a bare schema.
    let again = outer.dump_component().unwrap();
    assert!(
        serde_json::to_string(&again)
            .unwrap()
            .contains("autogen_agentchat.tools.TeamTool")
    );
}
