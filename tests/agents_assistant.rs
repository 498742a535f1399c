//! AssistantAgent against the scripted model server: text, tools with and without reflection,
//! tool loops, parallel calls, failing tools, handoffs, structured output, streaming, memory,
//! cancellation.
#![allow(clippy::unwrap_used)]

mod common_agents;

use std::sync::Arc;
use std::time::Duration;

use common_agents::*;
use futures::StreamExt;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use toolyard::agents::{
    AgentError, AssistantAgent, ChatAgent, Handoff, RunItem, StructuredOutput, Task,
};
use toolyard::memory::{ListMemory, MemoryContent};
use toolyard::messages::{AgentEvent, AgentMessage, ChatMessage};
use toolyard::models::scripted::{Action, CallSpec, Script, Step, WhenDone};
use toolyard::models::{ReplayClient, ReplayEntry};
use toolyard::tools::{FunctionTool, Tool};

fn agent(server: &toolyard::models::scripted::ScriptedServer) -> AssistantAgent {
    AssistantAgent::builder("assistant", client(server))
        .tool(add_tool())
        .build()
        .unwrap()
}

#[tokio::test]
async fn text_reply() {
    let server = server(vec![Step::text("Hello there.")]).await;
    let a = AssistantAgent::builder("assistant", client(&server))
        .build()
        .unwrap();
    let result = a
        .run("Say hello".into(), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(types(&result.messages), ["TextMessage", "TextMessage"]);
    let ChatMessage::TextMessage(reply) = last_chat(&result.messages) else {
        panic!("not text")
    };
    assert_eq!(reply.content, "Hello there.");
    assert_eq!(reply.meta.source, "assistant");
    assert!(reply.meta.models_usage.is_some());
    assert_eq!(result.stop_reason, None);
    let body = &server.requests()[0].body;
    assert_eq!(body["messages"][0]["role"], "system");
    assert!(
        body["messages"][0]["content"]
            .as_str()
            .unwrap()
            .contains("helpful AI assistant")
    );
    assert_eq!(body["messages"][1]["content"], "Say hello");
}

#[tokio::test]
async fn tool_round_trip_without_reflection() {
    let server = server(vec![call_add()]).await;
    let result = agent(&server)
        .run("add".into(), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(
        types(&result.messages),
        [
            "TextMessage",
            "ToolCallRequestEvent",
            "ToolCallExecutionEvent",
            "ToolCallSummaryMessage"
        ]
    );
    let ChatMessage::ToolCallSummaryMessage(s) = last_chat(&result.messages) else {
        panic!()
    };
    assert_eq!(s.content, "3");
    assert_eq!(s.results[0].is_error, Some(false));
    assert_eq!(server.request_count(), 1);
    let tools = &server.requests()[0].body["tools"];
    assert_eq!(tools[0]["function"]["name"], "add");
}

#[tokio::test]
async fn tool_round_trip_with_reflection() {
    let server = server(vec![call_add(), Step::text("The sum is 3.")]).await;
    let a = AssistantAgent::builder("assistant", client(&server))
        .tool(add_tool())
        .reflect_on_tool_use(true)
        .build()
        .unwrap();
    let result = a.run("add".into(), CancellationToken::new()).await.unwrap();
    assert_eq!(
        types(&result.messages),
        [
            "TextMessage",
            "ToolCallRequestEvent",
            "ToolCallExecutionEvent",
            "TextMessage"
        ]
    );
    assert_eq!(last_chat(&result.messages).to_text(), "The sum is 3.");
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let second = &requests[1].body;
    assert!(second.get("tools").is_none() || second["tools"].as_array().unwrap().is_empty());
    let msgs = second["messages"].as_array().unwrap();
    assert_eq!(msgs.last().unwrap()["role"], "tool");
    assert_eq!(msgs.last().unwrap()["content"], "3");
}

#[tokio::test]
async fn custom_summary_format_and_formatter() {
    let server = server(vec![call_add(), call_add()]).await;
    let a = AssistantAgent::builder("assistant", client(&server))
        .tool(add_tool())
        .tool_call_summary_format("{tool_name}({arguments}) = {result} error={is_error}")
        .build()
        .unwrap();
    let r = a.run("x".into(), CancellationToken::new()).await.unwrap();
    assert_eq!(
        last_chat(&r.messages).to_text(),
        r#"add({"a":1,"b":2}) = 3 error=False"#
    );
    let b = AssistantAgent::builder("b", client(&server))
        .tool(add_tool())
        .tool_call_summary_formatter(Arc::new(|c, r| format!("{}->{}", c.name, r.content)))
        .build()
        .unwrap();
    let r = b.run("x".into(), CancellationToken::new()).await.unwrap();
    assert_eq!(last_chat(&r.messages).to_text(), "add->3");
}

#[tokio::test]
async fn max_tool_iterations_stops_a_tool_loop() {
    let script = Script {
        when_done: WhenDone::RepeatLast,
        ..Script::steps(vec![call_add()])
    };
    let server = server_with(script).await;
    let a = AssistantAgent::builder("assistant", client(&server))
        .tool(add_tool())
        .max_tool_iterations(3)
        .build()
        .unwrap();
    let r = a
        .run("loop".into(), CancellationToken::new())
        .await
        .unwrap();
    let requests = types(&r.messages)
        .iter()
        .filter(|t| **t == "ToolCallRequestEvent")
        .count();
    assert_eq!(requests, 3);
    assert_eq!(server.request_count(), 3);
    assert_eq!(types(&r.messages).last(), Some(&"ToolCallSummaryMessage"));
}

#[tokio::test]
async fn tool_loop_ends_when_the_model_answers_text() {
    let server = server(vec![call_add(), call_add(), Step::text("done")]).await;
    let a = AssistantAgent::builder("assistant", client(&server))
        .tool(add_tool())
        .max_tool_iterations(10)
        .build()
        .unwrap();
    let r = a
        .run("loop".into(), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(server.request_count(), 3);
    assert_eq!(last_chat(&r.messages).to_text(), "done");
    assert_eq!(types(&r.messages).last(), Some(&"TextMessage"));
}

#[tokio::test]
async fn parallel_tool_calls_run_concurrently() {
    // Each call waits at a barrier for the other: run one after the other, they would never finish.
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let make = |name: &str| -> Arc<dyn Tool> {
        let barrier = barrier.clone();
        Arc::new(
            FunctionTool::new(name, "waits", json!({"type": "object"}), move |_, _| {
                let barrier = barrier.clone();
                async move {
                    barrier.wait().await;
                    Ok(json!("ok"))
                }
            })
            .unwrap(),
        )
    };
    let step = Step::new(Action::Parallel {
        calls: vec![
            CallSpec {
                name: "left".into(),
                arguments: Some(json!({})),
            },
            CallSpec {
                name: "right".into(),
                arguments: Some(json!({})),
            },
        ],
    });
    let server = server(vec![step]).await;
    let a = AssistantAgent::builder("assistant", client(&server))
        .tool(make("left"))
        .tool(make("right"))
        .build()
        .unwrap();
    let r = tokio::time::timeout(
        Duration::from_secs(30),
        a.run("go".into(), CancellationToken::new()),
    )
    .await
    .expect("parallel calls deadlocked: they ran one after the other")
    .unwrap();
    let ChatMessage::ToolCallSummaryMessage(s) = last_chat(&r.messages) else {
        panic!()
    };
    assert_eq!(s.results.len(), 2);
    assert_eq!(s.content, "ok\nok");
}

#[tokio::test]
async fn failing_tool_goes_back_to_the_model() {
    let failing: Arc<dyn Tool> = Arc::new(
        FunctionTool::new("boom", "fails", json!({"type": "object"}), |_, _| async {
            Err::<Value, _>("the disk is on fire".to_string())
        })
        .unwrap(),
    );
    let step = Step::new(Action::Parallel {
        calls: vec![
            CallSpec {
                name: "boom".into(),
                arguments: Some(json!({})),
            },
            CallSpec {
                name: "missing".into(),
                arguments: Some(json!({})),
            },
            CallSpec {
                name: "add".into(),
                arguments: Some(json!({"a": "x"})),
            },
        ],
    });
    let server = server(vec![step, Step::text("Sorry, that failed.")]).await;
    let a = AssistantAgent::builder("assistant", client(&server))
        .tool(failing)
        .tool(add_tool())
        .reflect_on_tool_use(true)
        .build()
        .unwrap();
    let r = a.run("go".into(), CancellationToken::new()).await.unwrap();
    let exec = r
        .messages
        .iter()
        .find_map(|m| match m {
            AgentMessage::Event(AgentEvent::ToolCallExecutionEvent(e)) => Some(e),
            _ => None,
        })
        .unwrap();
    assert!(exec.content.iter().all(|r| r.is_error == Some(true)));
    assert_eq!(exec.content[0].content, "the disk is on fire");
    assert_eq!(
        exec.content[1].content,
        "Error: tool 'missing' not found in any workbench"
    );
    assert!(exec.content[2].content.contains("invalid arguments"));
    assert_eq!(last_chat(&r.messages).to_text(), "Sorry, that failed.");
    let second = &server.requests()[1].body["messages"];
    assert!(second.to_string().contains("the disk is on fire"));
}

#[tokio::test]
async fn handoff_yields_a_handoff_message_with_context() {
    let step = Step::new(Action::Parallel {
        calls: vec![
            CallSpec {
                name: "add".into(),
                arguments: Some(json!({"a": 2, "b": 2})),
            },
            CallSpec {
                name: "transfer_to_planner".into(),
                arguments: Some(json!({})),
            },
        ],
    });
    let server = server(vec![step]).await;
    let a = AssistantAgent::builder("triage", client(&server))
        .tool(add_tool())
        .handoff(Handoff::new("planner"))
        .build()
        .unwrap();
    let r = a
        .run("plan".into(), CancellationToken::new())
        .await
        .unwrap();
    let ChatMessage::HandoffMessage(h) = last_chat(&r.messages) else {
        panic!("not a handoff: {:?}", r.messages)
    };
    assert_eq!(h.target, "planner");
    assert_eq!(
        h.content,
        "Transferred to planner, adopting the role of planner immediately."
    );
    assert_eq!(
        h.context.len(),
        2,
        "the add call and its result travel with the handoff"
    );
    let offered = server.requests()[0].body["tools"].to_string();
    assert!(offered.contains("transfer_to_planner"));
    assert_eq!(
        a.produced_message_types(),
        ["TextMessage", "ToolCallSummaryMessage", "HandoffMessage"]
    );
}

#[tokio::test]
async fn handoff_name_clash_is_rejected() {
    let server = server(vec![]).await;
    let err = AssistantAgent::builder("a", client(&server))
        .tool(add_tool())
        .handoff(Handoff::new("add"))
        .build()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("Handoff names must be unique from tool names")
    );
}

fn person() -> StructuredOutput {
    StructuredOutput {
        name: "Person".into(),
        schema: json!({
            "type": "object",
            "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
            "required": ["name", "age"],
            "additionalProperties": false
        }),
        format_string: Some("{name} is {age}".into()),
    }
}

#[tokio::test]
async fn structured_output_valid() {
    let server = server(vec![Step::new(Action::Json {
        value: json!({"name": "Ada", "age": 36}),
    })])
    .await;
    let a = AssistantAgent::builder("assistant", client(&server))
        .output_content_type(person())
        .build()
        .unwrap();
    let r = a.run("who".into(), CancellationToken::new()).await.unwrap();
    let ChatMessage::StructuredMessage(s) = last_chat(&r.messages) else {
        panic!()
    };
    assert_eq!(s.content, json!({"name": "Ada", "age": 36}));
    assert_eq!(last_chat(&r.messages).to_text(), "Ada is 36");
    let body = &server.requests()[0].body;
    assert_eq!(body["response_format"]["type"], "json_schema");
}

#[tokio::test]
async fn structured_output_invalid_is_an_error() {
    let replay = Arc::new(ReplayClient::new(vec![ReplayEntry::Text(
        r#"{"name": "Ada"}"#.into(),
    )]));
    let a = AssistantAgent::builder("assistant", replay)
        .output_content_type(person())
        .build()
        .unwrap();
    let err = a
        .run("who".into(), CancellationToken::new())
        .await
        .unwrap_err();
    assert!(matches!(err, AgentError::StructuredOutput { .. }), "{err}");
    assert!(err.to_string().contains("age"));
    // Over HTTP the client validates first and the agent reports the model error.
    let server = server(vec![Step::new(Action::Json {
        value: json!({"name": 1}),
    })])
    .await;
    let b = AssistantAgent::builder("b", client(&server))
        .output_content_type(person())
        .build()
        .unwrap();
    let err = b
        .run("who".into(), CancellationToken::new())
        .await
        .unwrap_err();
    assert!(matches!(err, AgentError::Model { .. }), "{err}");
}

#[tokio::test]
async fn streaming_chunks() {
    let server = server(vec![Step::text("one two three four")]).await;
    let a = AssistantAgent::builder("assistant", client(&server))
        .model_client_stream(true)
        .build()
        .unwrap();
    let mut stream = a.run_stream("go".into(), CancellationToken::new());
    let mut chunks = Vec::new();
    let mut ids = Vec::new();
    let mut result = None;
    while let Some(item) = stream.next().await {
        match item.unwrap() {
            RunItem::Message(AgentMessage::Event(AgentEvent::ModelClientStreamingChunkEvent(
                c,
            ))) => {
                ids.push(c.full_message_id.clone().unwrap());
                chunks.push(c.content);
            }
            RunItem::Message(_) => {}
            RunItem::Result(r) => result = Some(r),
        }
    }
    let result = result.unwrap();
    assert!(chunks.len() > 1, "{chunks:?}");
    assert_eq!(chunks.concat(), "one two three four");
    let last = last_chat(&result.messages);
    assert_eq!(last.to_text(), "one two three four");
    assert!(ids.iter().all(|id| *id == last.meta().id));
    assert_eq!(
        types(&result.messages),
        ["TextMessage", "TextMessage"],
        "chunks are not kept"
    );
    assert_eq!(server.requests()[0].body["stream"], true);
}

#[tokio::test]
async fn memory_is_injected_before_the_model_call() {
    let server = server(vec![Step::text("Tea it is.")]).await;
    let memory = Arc::new(ListMemory::with_contents(
        Some("prefs"),
        vec![
            MemoryContent::text("User likes tea"),
            MemoryContent::text("User is in Oslo"),
        ],
    ));
    let a = AssistantAgent::builder("assistant", client(&server))
        .memory(memory)
        .build()
        .unwrap();
    let r = a
        .run("drink?".into(), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(
        types(&r.messages),
        ["TextMessage", "MemoryQueryEvent", "TextMessage"]
    );
    let msgs = server.requests()[0].body["messages"].clone();
    let last = msgs.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["role"], "system");
    assert_eq!(
        last["content"],
        "\nRelevant memory content (in chronological order):\n1. User likes tea\n2. User is in Oslo\n"
    );
}

#[tokio::test]
async fn cancellation_mid_model_call() {
    let server = server(vec![Step::text("late").delayed(60_000)]).await;
    let a = AssistantAgent::builder("assistant", client(&server))
        .build()
        .unwrap();
    let cancel = CancellationToken::new();
    let c = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        c.cancel();
    });
    let err = a.run("go".into(), cancel).await.unwrap_err();
    assert!(matches!(err, AgentError::Cancelled { .. }), "{err}");
}

#[tokio::test]
async fn cancellation_mid_tool_call_reaches_the_tool() {
    // The tool keeps the token it was given; the run is cancelled while the tool waits on it.
    let seen: Arc<std::sync::Mutex<Option<CancellationToken>>> = Arc::default();
    let started = Arc::new(tokio::sync::Notify::new());
    let (seen2, started2) = (seen.clone(), started.clone());
    let slow: Arc<dyn Tool> = Arc::new(
        FunctionTool::new(
            "slow",
            "waits for cancel",
            json!({"type": "object"}),
            move |_, cancel: CancellationToken| {
                *seen2.lock().unwrap() = Some(cancel.clone());
                let started = started2.clone();
                async move {
                    started.notify_one();
                    cancel.cancelled().await;
                    Err("cancelled".to_string())
                }
            },
        )
        .unwrap(),
    );
    let server = server(vec![Step::new(Action::CallFirstTool)]).await;
    let a = AssistantAgent::builder("assistant", client(&server))
        .tool(slow)
        .build()
        .unwrap();
    let cancel = CancellationToken::new();
    let c = cancel.clone();
    tokio::spawn(async move {
        started.notified().await;
        c.cancel();
    });
    let err = a.run("go".into(), cancel).await.unwrap_err();
    assert!(matches!(err, AgentError::Cancelled { .. }), "{err}");
    let token = seen.lock().unwrap().clone().expect("the tool ran");
    assert!(token.is_cancelled(), "the tool's token was cancelled");
}

#[tokio::test]
async fn empty_task_list_is_an_error() {
    let server = server(vec![]).await;
    let a = AssistantAgent::builder("a", client(&server))
        .build()
        .unwrap();
    let err = a
        .run(Task::Messages(vec![]), CancellationToken::new())
        .await
        .unwrap_err();
    assert!(matches!(err, AgentError::EmptyTask));
}

#[tokio::test]
async fn thought_becomes_a_thought_event() {
    use toolyard::models::{CreateResult, RequestUsage};
    let mut result = CreateResult::text("Answer.", RequestUsage::default());
    result.thought = Some("Let me think.".into());
    let replay = Arc::new(ReplayClient::new(vec![ReplayEntry::Result(result)]));
    let a = AssistantAgent::builder("a", replay).build().unwrap();
    let r = a.run("q".into(), CancellationToken::new()).await.unwrap();
    assert_eq!(
        types(&r.messages),
        ["TextMessage", "ThoughtEvent", "TextMessage"]
    );
    assert_eq!(r.messages[1].to_text(), "Let me think.");
}

#[tokio::test]
async fn images_become_text_for_models_without_vision() {
    use toolyard::messages::{MessageMeta, MultiModalMessage};
    use toolyard::models::{Image, UserPart};
    let server = server(vec![Step::text("I see text only.")]).await;
    let mut config = toolyard::models::OpenAiConfig::new("gpt-3.5-turbo");
    config.api_key = Some("sk".into());
    config.base_url = Some(server.openai_base_url());
    let client = Arc::new(toolyard::models::OpenAiClient::new(config).unwrap());
    let a = AssistantAgent::builder("a", client).build().unwrap();
    let msg = ChatMessage::MultiModalMessage(MultiModalMessage {
        meta: MessageMeta::new("user"),
        content: vec![
            UserPart::Text("look".into()),
            UserPart::Image(Image::Url {
                url: "https://example.com/cat.png".into(),
            }),
        ],
    });
    a.run(msg.into(), CancellationToken::new()).await.unwrap();
    let body = &server.requests()[0].body;
    assert_eq!(body["messages"][1]["content"], "look\n<image>");
}
