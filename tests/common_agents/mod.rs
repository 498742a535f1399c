//! Shared helpers for the agent tests: clients for the scripted server, tools, fixtures.
#![allow(dead_code)]

use std::sync::Arc;

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use toolyard::agents::Task;
use toolyard::messages::{AgentMessage, ChatMessage, TaskResult};
use toolyard::models::ChatCompletionClient;
use toolyard::models::scripted::{Script, ScriptedServer, Step};
use toolyard::teams::GroupChat;
use toolyard::tools::{FunctionTool, Tool};

/// Starts a scripted server with these steps.
pub async fn server(steps: Vec<Step>) -> ScriptedServer {
    ScriptedServer::start(Script::steps(steps))
        .await
        .expect("start scripted server")
}

/// Starts a scripted server with a full script.
pub async fn server_with(script: Script) -> ScriptedServer {
    ScriptedServer::start(script)
        .await
        .expect("start scripted server")
}

/// Starts a scripted server with a script written as JSON.
pub async fn server_json(script: &Value) -> ScriptedServer {
    server_with(Script::from_json(&script.to_string()).expect("script json")).await
}

/// A scripted text reply (a step of a JSON script).
pub fn text(t: &str) -> Value {
    json!({"kind": "text", "text": t})
}

/// A script rule: the agent `name` (its system message says "agent NAME.") answers with
/// `texts`, one per request, in turn.
pub fn agent_steps(name: &str, texts: &[&str]) -> Value {
    let steps: Vec<Value> = texts.iter().map(|t| text(t)).collect();
    json!({"when": {"system_contains": format!("agent {name}.")}, "steps": steps})
}

/// A script rule: the agent `name` answers `text` after `delay_ms` milliseconds.
pub fn agent_says_after(name: &str, text: &str, delay_ms: u64) -> Value {
    json!({"when": {"system_contains": format!("agent {name}.")},
           "steps": [{"kind": "text", "text": text, "delay_ms": delay_ms}]})
}

/// Runs `team` on `task` to its end; panics on a team error.
pub async fn run_team(team: &GroupChat, task: impl Into<Task>) -> TaskResult {
    team.run(task.into(), CancellationToken::new())
        .await
        .expect("team run")
}

/// A token cancelled after `ms` milliseconds.
pub fn cancel_after(ms: u64) -> CancellationToken {
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        trigger.cancel();
    });
    cancel
}

/// An OpenAI client for the server.
pub fn client(server: &ScriptedServer) -> Arc<dyn ChatCompletionClient> {
    server.openai_client().expect("openai client")
}

/// `add(a, b)`: returns the sum.
pub fn add_tool() -> Arc<dyn Tool> {
    let schema = json!({
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"]
    });
    Arc::new(
        FunctionTool::new(
            "add",
            "Adds two integers.",
            schema,
            |args: Value, _| async move {
                let a = args["a"].as_i64().unwrap_or(0);
                let b = args["b"].as_i64().unwrap_or(0);
                Ok(json!(a + b))
            },
        )
        .expect("tool"),
    )
}

/// A step calling `add` with 1 and 2.
pub fn call_add() -> Step {
    Step::new(toolyard::models::scripted::Action::CallTool {
        name: "add".into(),
        arguments: Some(json!({"a": 1, "b": 2})),
    })
}

/// The `type` names of messages, in order.
pub fn types(messages: &[AgentMessage]) -> Vec<&'static str> {
    messages.iter().map(|m| m.type_name()).collect()
}

/// The final chat message of a result.
pub fn last_chat(messages: &[AgentMessage]) -> &ChatMessage {
    messages
        .iter()
        .rev()
        .find_map(|m| m.as_chat())
        .expect("a chat message")
}

/// Reads a fixture under tests/fixtures/agentchat.
pub fn fixture(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/agentchat")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("fixture json")
}
