//! Every termination condition, AutoGen's exact stop reasons, `|` / `&` composition on deltas,
//! reset, and component round trips (including a config dumped by AutoGen 0.7.5).
#![allow(clippy::unwrap_used)]

mod common_agents;

use common_agents::fixture;
use toolyard::component::ComponentModel;
use toolyard::messages::{
    AgentEvent, AgentMessage, ChatMessage, MessageMeta, ToolCallExecutionEvent,
};
use toolyard::models::{FunctionExecutionResult, RequestUsage};
use toolyard::termination::*;

fn text(source: &str, content: &str) -> AgentMessage {
    ChatMessage::text(source, content).into()
}

fn with_usage(source: &str, prompt: u64, completion: u64) -> AgentMessage {
    let mut m = ChatMessage::text(source, "x");
    m.meta_mut().models_usage = Some(RequestUsage {
        prompt_tokens: prompt,
        completion_tokens: completion,
    });
    m.into()
}

async fn reason(c: &mut impl TerminationCondition, msgs: &[AgentMessage]) -> Option<String> {
    c.check(msgs).await.unwrap().map(|s| s.content)
}

#[tokio::test]
async fn max_message() {
    let mut c = MaxMessageTermination::new(3);
    assert_eq!(
        reason(&mut c, &[text("a", "1"), text("b", "2")]).await,
        None
    );
    assert_eq!(
        reason(&mut c, &[text("a", "3")]).await.as_deref(),
        Some("Maximum number of messages 3 reached, current message count: 3")
    );
    assert!(c.terminated());
    assert!(matches!(
        c.check(&[]).await,
        Err(TerminationError::AlreadyTerminated { .. })
    ));
    c.reset().await;
    assert!(!c.terminated());
    let event: AgentMessage =
        AgentEvent::ThoughtEvent(toolyard::messages::TextBody::new("a", "t")).into();
    assert_eq!(
        reason(&mut c, &[event.clone(), event.clone(), event.clone()]).await,
        None
    );
    let mut with_events = MaxMessageTermination::new(2).including_events();
    assert!(
        reason(&mut with_events, &[event.clone(), event])
            .await
            .is_some()
    );
}

#[tokio::test]
async fn text_mention_with_and_without_sources() {
    let mut c = TextMentionTermination::new("TERMINATE");
    assert_eq!(
        reason(&mut c, &[text("a", "ok TERMINATE")])
            .await
            .as_deref(),
        Some("Text 'TERMINATE' mentioned")
    );
    let mut only_b = TextMentionTermination::new("TERMINATE").with_sources(vec!["b".into()]);
    assert_eq!(reason(&mut only_b, &[text("a", "TERMINATE")]).await, None);
    assert!(
        reason(&mut only_b, &[text("b", "TERMINATE")])
            .await
            .is_some()
    );
}

#[tokio::test]
async fn token_usage() {
    assert!(TokenUsageTermination::new(None, None, None).is_err());
    let mut c = TokenUsageTermination::new(Some(100), None, None).unwrap();
    assert_eq!(reason(&mut c, &[with_usage("a", 40, 10)]).await, None);
    assert_eq!(
        reason(&mut c, &[with_usage("a", 40, 10)]).await.as_deref(),
        Some(
            "Token usage limit reached, total token count: 100, prompt token count: 80, completion token count: 20."
        )
    );
    let mut p = TokenUsageTermination::new(None, Some(5), None).unwrap();
    assert!(reason(&mut p, &[with_usage("a", 5, 0)]).await.is_some());
}

#[tokio::test]
async fn timeout() {
    let mut c = TimeoutTermination::new(0.0);
    assert_eq!(
        reason(&mut c, &[]).await.as_deref(),
        Some("Timeout of 0.0 seconds reached")
    );
    let mut long = TimeoutTermination::new(3600.0);
    assert_eq!(reason(&mut long, &[text("a", "x")]).await, None);
    let mut half = TimeoutTermination::new(0.000001);
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    assert_eq!(
        reason(&mut half, &[]).await.as_deref(),
        Some("Timeout of 0.000001 seconds reached")
    );
}

#[tokio::test]
async fn handoff() {
    let mut c = HandoffTermination::new("user".into());
    assert_eq!(
        reason(
            &mut c,
            &[ChatMessage::handoff("triage", "planner", "x").into()]
        )
        .await,
        None
    );
    assert_eq!(
        reason(
            &mut c,
            &[ChatMessage::handoff("triage", "user", "x").into()]
        )
        .await
        .as_deref(),
        Some("Handoff to user from triage detected.")
    );
}

#[tokio::test]
async fn source_match() {
    let mut c = SourceMatchTermination::new(vec!["critic".into()]);
    assert_eq!(reason(&mut c, &[text("writer", "x")]).await, None);
    assert_eq!(
        reason(&mut c, &[text("critic", "x")]).await.as_deref(),
        Some("'critic' answered")
    );
}

#[tokio::test]
async fn external_set_from_another_task() {
    let mut c = ExternalTermination::new();
    let handle = c.handle();
    assert_eq!(reason(&mut c, &[]).await, None);
    tokio::spawn(async move { handle.set() }).await.unwrap();
    assert_eq!(
        reason(&mut c, &[]).await.as_deref(),
        Some("External termination requested")
    );
    c.reset().await;
    assert_eq!(reason(&mut c, &[]).await, None, "reset clears the request");
}

#[tokio::test]
async fn stop_message() {
    let mut c = StopMessageTermination::new();
    assert_eq!(reason(&mut c, &[text("a", "x")]).await, None);
    assert_eq!(
        reason(&mut c, &[ChatMessage::stop("a", "bye").into()])
            .await
            .as_deref(),
        Some("Stop message received")
    );
}

#[tokio::test]
async fn text_message() {
    let mut any = TextMessageTermination::new(None);
    assert_eq!(
        reason(&mut any, &[text("bob", "x")]).await.as_deref(),
        Some("Text message received from 'bob'")
    );
    let mut only = TextMessageTermination::new(Some("alice".into()));
    assert_eq!(
        reason(
            &mut only,
            &[text("bob", "x"), ChatMessage::stop("alice", "s").into()]
        )
        .await,
        None
    );
    assert!(reason(&mut only, &[text("alice", "x")]).await.is_some());
}

#[tokio::test]
async fn function_call() {
    let exec = |name: &str| -> AgentMessage {
        AgentEvent::ToolCallExecutionEvent(ToolCallExecutionEvent {
            meta: MessageMeta::new("a"),
            content: vec![FunctionExecutionResult {
                content: "ok".into(),
                name: name.into(),
                call_id: "1".into(),
                is_error: Some(false),
            }],
        })
        .into()
    };
    let mut c = FunctionCallTermination::new("approve".into());
    assert_eq!(reason(&mut c, &[exec("other")]).await, None);
    assert_eq!(
        reason(&mut c, &[exec("approve")]).await.as_deref(),
        Some("Function 'approve' was executed.")
    );
}

#[tokio::test]
async fn functional_sync_and_async() {
    let mut c = FunctionalTermination::new(|msgs| msgs.iter().any(|m| m.to_text() == "stop"));
    assert_eq!(reason(&mut c, &[text("a", "go")]).await, None);
    assert_eq!(
        reason(&mut c, &[text("a", "stop")]).await.as_deref(),
        Some("Functional termination condition met")
    );
    let mut a = FunctionalTermination::new_async(|msgs| Box::pin(async move { msgs.len() == 2 }));
    assert!(
        reason(&mut a, &[text("a", "1"), text("a", "2")])
            .await
            .is_some()
    );
    assert!(
        a.dump_component().is_err(),
        "functions have no config, as in AutoGen"
    );
}

#[tokio::test]
async fn or_fires_on_any_and_joins_reasons() {
    let mut c = MaxMessageTermination::new(2) | TextMentionTermination::new("DONE");
    assert_eq!(reason(&mut c, &[text("a", "x")]).await, None);
    assert_eq!(
        reason(&mut c, &[text("a", "DONE")]).await.as_deref(),
        Some(
            "Maximum number of messages 2 reached, current message count: 2, Text 'DONE' mentioned"
        )
    );
    let stop = {
        let mut c = MaxMessageTermination::new(1) | TextMentionTermination::new("zzz");
        c.check(&[text("a", "x")]).await.unwrap().unwrap()
    };
    assert_eq!(stop.meta.source, "MaxMessageTermination");
}

#[tokio::test]
async fn and_waits_for_all_across_deltas() {
    let mut c = TextMentionTermination::new("A") & TextMentionTermination::new("B");
    assert_eq!(
        reason(&mut c, &[text("x", "A")]).await,
        None,
        "only A so far"
    );
    assert_eq!(reason(&mut c, &[text("x", "nothing")]).await, None);
    let stop = c.check(&[text("x", "B")]).await.unwrap().unwrap();
    assert_eq!(stop.content, "Text 'A' mentioned, Text 'B' mentioned");
    assert_eq!(
        stop.meta.source,
        "TextMentionTermination, TextMentionTermination"
    );
    assert!(c.terminated());
    c.reset().await;
    assert!(!c.terminated());
    assert_eq!(
        reason(&mut c, &[text("x", "B")]).await,
        None,
        "reset forgets earlier hits"
    );
}

#[tokio::test]
async fn nested_composition() {
    let mut c = (MaxMessageTermination::new(10) | TextMentionTermination::new("X"))
        & SourceMatchTermination::new(vec!["judge".into()]);
    assert_eq!(reason(&mut c, &[text("a", "X")]).await, None);
    assert_eq!(
        reason(&mut c, &[text("judge", "fine")]).await.as_deref(),
        Some("Text 'X' mentioned, 'judge' answered")
    );
}

#[tokio::test]
async fn component_round_trip() {
    let c = (MaxMessageTermination::new(5) | TextMentionTermination::new("T"))
        & (HandoffTermination::new("user".into())
            | SourceMatchTermination::new(vec!["a".into()])
            | StopMessageTermination::new()
            | TextMessageTermination::new(Some("x".into()))
            | FunctionCallTermination::new("f".into())
            | TimeoutTermination::new(30.0)
            | TokenUsageTermination::new(Some(100), None, None).unwrap()
            | ExternalTermination::new());
    let dumped = c.dump_component().unwrap();
    assert_eq!(
        dumped.provider,
        "autogen_agentchat.base.AndTerminationCondition"
    );
    let json = serde_json::to_string(&dumped).unwrap();
    let loaded = load_termination(&serde_json::from_str::<ComponentModel>(&json).unwrap()).unwrap();
    assert_eq!(loaded.dump_component().unwrap(), dumped);
}

#[tokio::test]
async fn loads_autogen_dump_and_behaves() {
    let model: ComponentModel = serde_json::from_value(fixture("termination.json")).unwrap();
    let mut c = load_termination(&model).unwrap();
    // (Max 10 | "TERMINATE") & (handoff user | source a,b | stop | text from x | ...)
    assert_eq!(reason(&mut c, &[text("z", "TERMINATE")]).await, None);
    let stop = reason(&mut c, &[text("a", "hi")]).await.unwrap();
    assert_eq!(stop, "Text 'TERMINATE' mentioned, 'a' answered");
    let redumped = serde_json::to_value(c.dump_component().unwrap()).unwrap();
    let original = fixture("termination.json");
    assert_eq!(strip_descriptions(redumped), strip_descriptions(original));
}

/// AutoGen writes class docstrings as descriptions; we do not.
fn strip_descriptions(mut v: serde_json::Value) -> serde_json::Value {
    match &mut v {
        serde_json::Value::Object(o) => {
            o.remove("description");
            for (_, x) in o.iter_mut() {
                *x = strip_descriptions(x.take());
            }
        }
        serde_json::Value::Array(a) => {
            for x in a.iter_mut() {
                *x = strip_descriptions(x.take());
            }
        }
        _ => {}
    }
    v
}
