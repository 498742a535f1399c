//! Agent state (save → load → continue, AutoGen's state shape), component configs (AutoGen's
//! AssistantAgent / UserProxyAgent JSON load and run here), messages in AutoGen's JSON, the user
//! proxy, and a custom agent through `BaseChatAgent`.
#![allow(clippy::unwrap_used)]

mod common_agents;

use std::sync::Arc;

use async_trait::async_trait;
use common_agents::*;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use toolyard::agents::*;
use toolyard::component::ComponentModel;
use toolyard::messages::{AgentMessage, ChatMessage, TaskResult};
use toolyard::models::scripted::Step;

#[tokio::test]
async fn save_load_continue() {
    let server = server(vec![
        Step::text("Nice to meet you, Ada."),
        Step::text("Your name is Ada."),
    ])
    .await;
    let first = AssistantAgent::builder("assistant", client(&server))
        .build()
        .unwrap();
    first
        .run("My name is Ada.".into(), CancellationToken::new())
        .await
        .unwrap();
    let state = first.save_state().await.unwrap();
    assert_eq!(state["type"], "AssistantAgentState");
    assert_eq!(state["version"], "1.0.0");
    assert_eq!(
        state["llm_context"]["messages"].as_array().unwrap().len(),
        2
    );
    // Through JSON text, into a fresh agent.
    let text = serde_json::to_string(&state).unwrap();
    let second = AssistantAgent::builder("assistant", client(&server))
        .build()
        .unwrap();
    second
        .load_state(&serde_json::from_str(&text).unwrap())
        .await
        .unwrap();
    let r = second
        .run("What is my name?".into(), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(last_chat(&r.messages).to_text(), "Your name is Ada.");
    let sent = server.requests()[1].body["messages"].clone();
    let contents: Vec<&str> = sent
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert!(contents.contains(&"My name is Ada."));
    assert!(contents.contains(&"Nice to meet you, Ada."));
    assert_eq!(contents.last(), Some(&"What is my name?"));
    second.on_reset(CancellationToken::new()).await.unwrap();
    assert!(
        second.save_state().await.unwrap()["llm_context"]["messages"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        second
            .load_state(&json!({"type": "AssistantAgentState"}))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn loads_state_saved_by_autogen() {
    let server = server(vec![Step::text("ok")]).await;
    let a = AssistantAgent::builder("assistant", client(&server))
        .build()
        .unwrap();
    let state = fixture("assistant_state.json");
    a.load_state(&state).await.unwrap();
    assert_eq!(a.save_state().await.unwrap(), state, "same shape back");
    a.run("next".into(), CancellationToken::new())
        .await
        .unwrap();
    let sent = server.requests()[0].body["messages"].to_string();
    assert!(
        sent.contains("Say hello")
            && sent.contains("Hello from replay.")
            && sent.contains("User likes tea")
    );
}

#[tokio::test]
async fn assistant_config_from_autogen_loads_and_runs() {
    let model: ComponentModel = serde_json::from_value(fixture("assistant_agent.json")).unwrap();
    let agent = load_agent(&model, &LoadOptions::default()).unwrap();
    assert_eq!(agent.name(), "assistant");
    assert_eq!(agent.description(), "A terse helper");
    let r = agent
        .run("Say hello".into(), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(
        types(&r.messages),
        ["TextMessage", "MemoryQueryEvent", "TextMessage"]
    );
    assert_eq!(last_chat(&r.messages).to_text(), "Hello from replay.");
    // Same state as AutoGen saved after the same run (ids aside, messages are equal).
    assert_eq!(
        agent.save_state().await.unwrap(),
        fixture("assistant_state.json")
    );
    // Dump → JSON → load → dump gives the same config.
    let dumped = agent.dump_component().unwrap();
    let again = load_agent(
        &serde_json::from_str(&serde_json::to_string(&dumped).unwrap()).unwrap(),
        &LoadOptions::default(),
    )
    .unwrap()
    .dump_component()
    .unwrap();
    assert_eq!(again, dumped);
    for key in [
        "name",
        "description",
        "system_message",
        "handoffs",
        "reflect_on_tool_use",
        "tool_call_summary_format",
        "max_tool_iterations",
        "metadata",
        "model_client_stream",
    ] {
        assert_eq!(dumped.config[key], model.config[key], "{key}");
    }
    assert_eq!(
        dumped.config["model_context"]["config"],
        model.config["model_context"]["config"]
    );
    assert_eq!(
        dumped.config["memory"][0]["config"],
        model.config["memory"][0]["config"]
    );
}

#[tokio::test]
async fn tools_in_configs_resolve_by_name() {
    let server = server(vec![call_add()]).await;
    let a = AssistantAgent::builder("calc", client(&server))
        .tool(add_tool())
        .build()
        .unwrap();
    let dumped = a.dump_component().unwrap();
    assert!(
        load_agent(&dumped, &LoadOptions::default()).is_err(),
        "tools are code"
    );
    let options = LoadOptions {
        tools: vec![add_tool()],
        ..LoadOptions::default()
    };
    let loaded = load_agent(&dumped, &options).unwrap();
    let r = loaded
        .run("add".into(), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(last_chat(&r.messages).to_text(), "3");
}

#[tokio::test]
async fn user_proxy_from_autogen_config_and_input_fn() {
    let model: ComponentModel = serde_json::from_value(fixture("user_proxy.json")).unwrap();
    let loaded = load_agent(&model, &LoadOptions::default()).unwrap();
    assert_eq!(loaded.description(), "A human");
    assert_eq!(loaded.dump_component().unwrap().config, model.config);
    let input: InputFn =
        Arc::new(|prompt, _| Box::pin(async move { Ok(format!("typed after '{prompt}'")) }));
    let user = UserProxyAgent::new("user").with_input(input);
    let r = user
        .run("question".into(), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(
        types(&r.messages),
        ["TextMessage", "UserInputRequestedEvent", "TextMessage"]
    );
    assert_eq!(
        last_chat(&r.messages).to_text(),
        "typed after 'Enter your response: '"
    );
    // Answering a handoff hands back to the sender.
    let r = user
        .run(
            ChatMessage::handoff("triage", "user", "need you").into(),
            CancellationToken::new(),
        )
        .await
        .unwrap();
    let ChatMessage::HandoffMessage(h) = last_chat(&r.messages) else {
        panic!()
    };
    assert_eq!(h.target, "triage");
    let failing = UserProxyAgent::new("u").with_input(Arc::new(|_, _| {
        Box::pin(async { Err("stdin closed".to_string()) })
    }));
    let err = failing
        .run("q".into(), CancellationToken::new())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("stdin closed"));
}

#[test]
fn messages_round_trip_with_autogen_json() {
    let original = fixture("messages.json");
    let parsed: Vec<AgentMessage> = serde_json::from_value(original.clone()).unwrap();
    let names: Vec<&str> = parsed.iter().map(|m| m.type_name()).collect();
    assert_eq!(
        names,
        [
            "TextMessage",
            "TextMessage",
            "StopMessage",
            "HandoffMessage",
            "ToolCallSummaryMessage",
            "MultiModalMessage",
            "ToolCallRequestEvent",
            "ToolCallExecutionEvent",
            "MemoryQueryEvent",
            "ModelClientStreamingChunkEvent",
            "ThoughtEvent",
            "UserInputRequestedEvent",
            "StructuredMessage"
        ]
    );
    let mut dumped = serde_json::to_value(&parsed).unwrap();
    // AutoGen names structured messages after their model (`StructuredMessage[Person]`).
    dumped[12]["type"] = json!("StructuredMessage[Person]");
    assert_eq!(dumped, original, "dumped back in the same shape");
    assert_eq!(parsed[12].to_text(), "Ada is 36");
    let result: TaskResult = serde_json::from_value(fixture("task_result.json")).unwrap();
    assert_eq!(result.stop_reason, None);
    assert_eq!(result.messages.len(), 3);
}

#[test]
fn toolyard_messages_load_in_autogen() {
    let messages: Vec<AgentMessage> = vec![
        ChatMessage::text("user", "hi").into(),
        ChatMessage::handoff("a", "b", "go").into(),
        ChatMessage::stop("a", "bye").into(),
    ];
    let json = serde_json::to_string(&messages).unwrap();
    let script = r#"
import json, sys
from autogen_agentchat.messages import MessageFactory
f = MessageFactory()
out = [f.create(m).dump() for m in json.load(sys.stdin)]
print(json.dumps([[m["type"], m["source"], m["content"], m["created_at"]] for m in out]))
"#;
    let python = std::env::var("TOOLYARD_AUTOGEN_PYTHON")
        .unwrap_or_else(|_| "/work/cache/venv-autogen/bin/python".into());
    if !std::path::Path::new(&python).exists() {
        panic!("AutoGen venv python not found at {python}; set TOOLYARD_AUTOGEN_PYTHON");
    }
    let mut child = std::process::Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(json.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let parsed: Vec<Vec<String>> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(parsed[0][..3], ["TextMessage", "user", "hi"]);
    assert_eq!(parsed[1][..3], ["HandoffMessage", "a", "go"]);
    assert_eq!(parsed[2][..3], ["StopMessage", "a", "bye"]);
    let original: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        parsed[0][3].trim_end_matches('Z'),
        original[0]["created_at"]
            .as_str()
            .unwrap()
            .trim_end_matches('Z')
    );
}

struct Counter {
    count: std::sync::Mutex<usize>,
}

#[async_trait]
impl BaseChatAgent for Counter {
    fn name(&self) -> &str {
        "counter"
    }

    fn description(&self) -> &str {
        "Counts messages"
    }

    async fn on_messages(
        &self,
        messages: Vec<ChatMessage>,
        _cancel: CancellationToken,
    ) -> Result<Response, AgentError> {
        let mut c = self.count.lock().unwrap();
        *c += messages.len();
        Ok(Response {
            chat_message: ChatMessage::text("counter", c.to_string()),
            inner_messages: vec![],
        })
    }
}

#[tokio::test]
async fn custom_agent_gets_run_for_free() {
    let agent: Arc<dyn ChatAgent> = Arc::new(Counter {
        count: std::sync::Mutex::new(0),
    });
    let r = agent
        .run(
            vec![ChatMessage::text("u", "a"), ChatMessage::text("u", "b")].into(),
            CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(last_chat(&r.messages).to_text(), "2");
    assert_eq!(r.messages.len(), 3);
    let r = agent
        .run("c".into(), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(last_chat(&r.messages).to_text(), "3");
}

#[tokio::test]
async fn user_proxy_waiting_for_input_is_cancellable() {
    let never: InputFn = Arc::new(|_, _| Box::pin(futures::future::pending()));
    let user = UserProxyAgent::new("user").with_input(never);
    let cancel = CancellationToken::new();
    let c = cancel.clone();
    let run = tokio::spawn(async move { user.run("q".into(), c).await });
    tokio::task::yield_now().await;
    cancel.cancel();
    let err = run.await.unwrap().unwrap_err();
    assert!(matches!(err, AgentError::Cancelled { .. }), "{err}");
}
