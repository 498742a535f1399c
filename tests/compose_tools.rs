//! AgentTool and TeamTool against the scripted model server: called by an AssistantAgent,
//! AutoGen's result formatting, `return_value_as_last_message`, nesting (a team member using a
//! TeamTool whose team uses an AgentTool), and component config dump → load → run.
#![allow(clippy::unwrap_used)]

mod common_agents;

use std::sync::Arc;

use common_agents::*;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use toolyard::agents::{AssistantAgent, ChatAgent, LoadOptions};
use toolyard::compose::{AGENT_TOOL_PROVIDER, AgentTool, TEAM_TOOL_PROVIDER, TeamTool};
use toolyard::models::scripted::ScriptedServer;
use toolyard::teams::GroupChat;
use toolyard::termination::MaxMessageTermination;
use toolyard::tools::Tool;

async fn scripted(rules: Value) -> ScriptedServer {
    server_json(&json!({"rules": rules, "when_done": "cycle"})).await
}

fn says(name: &str, text: &str) -> Value {
    json!({"when": {"system_contains": format!("agent {name}.")}, "reply": {"kind": "text", "text": text}})
}

fn calls(name: &str, tool: &str, task: &str) -> Value {
    json!({"when": {"system_contains": format!("agent {name}.")},
           "reply": {"kind": "call_tool", "name": tool, "arguments": {"task": task}}})
}

fn agent(server: &ScriptedServer, name: &str, tools: Vec<Arc<dyn Tool>>) -> AssistantAgent {
    let mut b = AssistantAgent::builder(name, client(server))
        .description(format!("The {name} agent."))
        .system_message(Some(format!("You are agent {name}.")))
        .reflect_on_tool_use(false);
    for t in tools {
        b = b.tool(t);
    }
    b.build().unwrap()
}

/// The text of the caller's final message (the tool call summary: the tool's output).
async fn outer_answer(outer: &AssistantAgent) -> String {
    let result = outer
        .run("go".into(), CancellationToken::new())
        .await
        .unwrap();
    let last = last_chat(&result.messages);
    assert_eq!(last.type_name(), "ToolCallSummaryMessage");
    last.to_model_text()
}

#[tokio::test]
async fn agent_tool_called_by_assistant_returns_all_messages() {
    let server = scripted(json!([
        says("poet", "a poem"),
        calls("outer", "poet", "write")
    ]))
    .await;
    let poet: Arc<dyn ChatAgent> = Arc::new(agent(&server, "poet", vec![]));
    let tool = AgentTool::new(poet);
    assert_eq!(tool.name(), "poet");
    assert_eq!(tool.description(), "The poet agent.");
    assert_eq!(tool.parameters()["required"], json!(["task"]));
    let outer = agent(&server, "outer", vec![Arc::new(tool)]);
    // AutoGen: every chat message not from `user`, as `source: text`.
    assert_eq!(outer_answer(&outer).await, "poet: a poem");
}

#[tokio::test]
async fn agent_tool_return_value_as_last_message() {
    let server = scripted(json!([
        says("poet", "a poem"),
        calls("outer", "poet", "write")
    ]))
    .await;
    let poet: Arc<dyn ChatAgent> = Arc::new(agent(&server, "poet", vec![]));
    let tool = AgentTool::new(poet).return_value_as_last_message(true);
    let outer = agent(&server, "outer", vec![Arc::new(tool)]);
    assert_eq!(outer_answer(&outer).await, "a poem");
}

#[tokio::test]
async fn agent_tool_keeps_agent_state_between_calls_as_autogen() {
    let server = scripted(json!([says("poet", "a poem")])).await;
    let poet: Arc<dyn ChatAgent> = Arc::new(agent(&server, "poet", vec![]));
    let tool = AgentTool::new(poet);
    for _ in 0..2 {
        let out = tool
            .run(json!({"task": "write"}), CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(out, "poet: a poem");
    }
    // The second model request carries the first call's conversation (no reset, as in AutoGen).
    let requests = server.requests();
    let second = requests.last().unwrap().body.to_string();
    assert_eq!(second.matches("write").count(), 2, "{second}");
    assert!(second.contains("a poem"), "{second}");
}

#[tokio::test]
async fn agent_tool_rejects_missing_task() {
    let server = scripted(json!([says("poet", "a poem")])).await;
    let poet: Arc<dyn ChatAgent> = Arc::new(agent(&server, "poet", vec![]));
    let err = AgentTool::new(poet)
        .run(json!({"topic": "x"}), CancellationToken::new())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("task"), "{err}");
}

fn pair_team(server: &ScriptedServer) -> GroupChat {
    let writer: Arc<dyn ChatAgent> = Arc::new(agent(server, "writer", vec![]));
    let reviewer: Arc<dyn ChatAgent> = Arc::new(agent(server, "reviewer", vec![]));
    GroupChat::round_robin(vec![writer, reviewer])
        .termination(MaxMessageTermination::new(3))
        .build()
        .unwrap()
}

/// A server where the writer drafts, the reviewer approves and `outer` calls the `pair` team
/// tool (as `configure` makes it) with "write a story".
async fn outer_calling_pair(
    configure: impl FnOnce(TeamTool) -> TeamTool,
) -> (ScriptedServer, AssistantAgent) {
    let server = scripted(json!([
        says("writer", "draft"),
        says("reviewer", "looks good"),
        calls("outer", "pair", "write a story")
    ]))
    .await;
    let tool = TeamTool::new(
        Arc::new(pair_team(&server)),
        "pair",
        "A writer and a reviewer.",
    );
    let outer = agent(&server, "outer", vec![Arc::new(configure(tool))]);
    (server, outer)
}

#[tokio::test]
async fn team_tool_called_by_assistant() {
    let (_server, outer) = outer_calling_pair(|tool| tool).await;
    assert_eq!(
        outer_answer(&outer).await,
        "writer: draft\n\nreviewer: looks good"
    );
}

#[tokio::test]
async fn team_tool_return_value_as_last_message() {
    let (_server, outer) = outer_calling_pair(|tool| tool.return_value_as_last_message(true)).await;
    assert_eq!(outer_answer(&outer).await, "looks good");
}

#[tokio::test]
async fn nested_team_tool_whose_member_uses_an_agent_tool() {
    let server = scripted(json!([
        says("leaf", "leaf answer"),
        calls("member", "leaf", "inner task"),
        calls("outer", "crew", "outer task")
    ]))
    .await;
    let leaf: Arc<dyn ChatAgent> = Arc::new(agent(&server, "leaf", vec![]));
    let member: Arc<dyn ChatAgent> = Arc::new(agent(
        &server,
        "member",
        vec![Arc::new(AgentTool::new(leaf))],
    ));
    let team = GroupChat::round_robin(vec![member])
        .termination(MaxMessageTermination::new(2))
        .build()
        .unwrap();
    let crew = TeamTool::new(
        Arc::new(team),
        "crew",
        "A crew whose member asks a leaf agent.",
    );
    let outer = agent(&server, "outer", vec![Arc::new(crew)]);
    // outer → crew (team) → member → leaf (agent tool): each level formats the one below. As in
    // AutoGen 0.7.5, the member's streamed tool call puts leaf's message into the crew's
    // transcript too, so the crew's result lists it before the member's summary.
    assert_eq!(
        outer_answer(&outer).await,
        "leaf: leaf answer\n\nmember: leaf: leaf answer"
    );
    let leaf_requests = server
        .requests()
        .iter()
        .filter(|r| r.body.to_string().contains("agent leaf."))
        .count();
    assert_eq!(leaf_requests, 1);
}

#[tokio::test]
async fn agent_tool_config_dump_load_run() {
    let server = scripted(json!([says("poet", "a poem")])).await;
    let poet: Arc<dyn ChatAgent> = Arc::new(agent(&server, "poet", vec![]));
    let tool = AgentTool::new(poet).return_value_as_last_message(true);
    let model = tool.dump_component().unwrap();
    assert_eq!(model.provider, AGENT_TOOL_PROVIDER);
    assert_eq!(model.component_type.as_deref(), Some("tool"));
    assert_eq!(model.config["return_value_as_last_message"], json!(true));
    assert_eq!(
        model.config["agent"]["provider"],
        json!("autogen_agentchat.agents.AssistantAgent")
    );
    let loaded = AgentTool::from_component(&model, &LoadOptions::default()).unwrap();
    assert_eq!(loaded.name(), "poet");
    let out = loaded
        .run(json!({"task": "write"}), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(out, "a poem");
}

#[tokio::test]
async fn team_tool_config_dump_load_run() {
    let server = scripted(json!([says("writer", "draft"), says("reviewer", "ok")])).await;
    let tool = TeamTool::new(Arc::new(pair_team(&server)), "pair", "A pair.");
    let model = tool.dump_component().unwrap();
    assert_eq!(model.provider, TEAM_TOOL_PROVIDER);
    assert_eq!(model.config["name"], json!("pair"));
    assert_eq!(model.config["description"], json!("A pair."));
    assert_eq!(model.config["return_value_as_last_message"], json!(false));
    let loaded = TeamTool::from_component(&model, &LoadOptions::default()).unwrap();
    assert_eq!(loaded.name(), "pair");
    let out = loaded
        .run(json!({"task": "write"}), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(out, "writer: draft\n\nreviewer: ok");
}

#[tokio::test]
async fn team_tool_streams_inner_messages_into_the_callers_stream() {
    use futures::StreamExt;
    use toolyard::agents::RunItem;
    let (_server, outer) = outer_calling_pair(|tool| tool).await;
    let mut stream = outer.run_stream("go".into(), CancellationToken::new());
    let mut streamed = Vec::new();
    let mut result = None;
    while let Some(item) = stream.next().await {
        match item.unwrap() {
            RunItem::Message(m) => streamed.push(m),
            RunItem::Result(r) => result = Some(r),
        }
    }
    let seen: Vec<(String, &str)> = streamed
        .iter()
        .map(|m| (m.source().to_string(), m.type_name()))
        .collect();
    // AutoGen 0.7.5: the inner team's messages (its task message included) are yielded between
    // the tool call request and the execution event, and are part of the caller's messages.
    let expected: Vec<(String, &str)> = vec![
        ("user".into(), "TextMessage"),
        ("outer".into(), "ToolCallRequestEvent"),
        ("user".into(), "TextMessage"),
        ("writer".into(), "TextMessage"),
        ("reviewer".into(), "TextMessage"),
        ("outer".into(), "ToolCallExecutionEvent"),
        ("outer".into(), "ToolCallSummaryMessage"),
    ];
    assert_eq!(seen, expected);
    let result = result.unwrap();
    assert_eq!(result.messages.len(), expected.len());
    assert_eq!(result.messages[3].to_text(), "draft");
}
