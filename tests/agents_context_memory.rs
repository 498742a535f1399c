//! Model contexts (trimming, state, configs) and ListMemory, including configs dumped by AutoGen.
#![allow(clippy::unwrap_used)]

mod common_agents;

use std::sync::Arc;

use common_agents::fixture;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use toolyard::component::ComponentModel;
use toolyard::memory::{ListMemory, Memory, MemoryContent, load_memory};
use toolyard::model_context::*;
use toolyard::models::{FunctionCall, FunctionExecutionResult, LlmMessage, ReplayClient};

fn user(i: usize) -> LlmMessage {
    LlmMessage::user(format!("message {i}"), "user")
}

fn call() -> LlmMessage {
    LlmMessage::tool_calls(
        vec![FunctionCall {
            id: "c1".into(),
            arguments: "{}".into(),
            name: "t".into(),
        }],
        "a",
    )
}

fn result() -> LlmMessage {
    LlmMessage::tool_results(vec![FunctionExecutionResult {
        content: "r".into(),
        name: "t".into(),
        call_id: "c1".into(),
        is_error: Some(false),
    }])
}

async fn fill(ctx: &dyn ChatCompletionContext, messages: Vec<LlmMessage>) {
    for m in messages {
        ctx.add_message(m).await;
    }
}

#[tokio::test]
async fn unbounded_keeps_everything() {
    let ctx = UnboundedContext::new();
    fill(&ctx, (0..20).map(user).collect()).await;
    assert_eq!(ctx.get_messages().await.len(), 20);
}

#[tokio::test]
async fn buffered_keeps_the_last_n_without_orphan_results() {
    let ctx = BufferedContext::new(3).unwrap();
    fill(&ctx, vec![user(0), user(1), user(2), user(3)]).await;
    assert_eq!(ctx.get_messages().await, vec![user(1), user(2), user(3)]);
    ctx.clear().await;
    fill(&ctx, vec![user(0), call(), result(), user(1)]).await;
    // The last three start with a tool result whose call was cut: it is dropped.
    assert_eq!(ctx.get_messages().await, vec![call(), result(), user(1)]);
    fill(&ctx, vec![user(2)]).await;
    assert_eq!(ctx.get_messages().await, vec![user(1), user(2)]);
    assert!(BufferedContext::new(0).is_err());
}

#[tokio::test]
async fn head_and_tail_with_skip_note() {
    let ctx = HeadAndTailContext::new(2, 2).unwrap();
    fill(&ctx, (0..4).map(user).collect()).await;
    assert_eq!(ctx.get_messages().await.len(), 4, "nothing skipped yet");
    fill(&ctx, (4..7).map(user).collect()).await;
    assert_eq!(
        ctx.get_messages().await,
        vec![
            user(0),
            user(1),
            LlmMessage::user("Skipped 3 messages.", "System"),
            user(5),
            user(6)
        ]
    );
    let ctx = HeadAndTailContext::new(2, 1).unwrap();
    fill(&ctx, vec![user(0), call(), result(), user(1), user(2)]).await;
    // The head ends with a call whose result is skipped: the call is dropped too.
    assert_eq!(
        ctx.get_messages().await,
        vec![
            user(0),
            LlmMessage::user("Skipped 2 messages.", "System"),
            user(2)
        ]
    );
}

#[tokio::test]
async fn token_limited_drops_from_the_middle() {
    let client = Arc::new(ReplayClient::new(vec![]));
    let ctx = TokenLimitedContext::new(client.clone(), Some(40)).unwrap();
    let messages: Vec<LlmMessage> = (0..10).map(user).collect();
    fill(&ctx, messages.clone()).await;
    let kept = ctx.get_messages().await;
    use toolyard::models::ChatCompletionClient;
    assert!(kept.len() < 10);
    assert!(client.count_tokens(&kept, &[]) <= 40);
    assert_eq!(kept.first(), Some(&user(0)), "the oldest survives");
    assert_eq!(kept.last(), Some(&user(9)), "the newest survives");
    let all_fit = TokenLimitedContext::new(client, None).unwrap();
    fill(&all_fit, messages).await;
    assert_eq!(all_fit.get_messages().await.len(), 10);
}

#[tokio::test]
async fn state_round_trip_for_every_context() {
    let client = Arc::new(ReplayClient::new(vec![]));
    let contexts: Vec<Arc<dyn ChatCompletionContext>> = vec![
        Arc::new(UnboundedContext::new()),
        Arc::new(BufferedContext::new(2).unwrap()),
        Arc::new(HeadAndTailContext::new(1, 1).unwrap()),
        Arc::new(TokenLimitedContext::new(client, Some(1000)).unwrap()),
    ];
    for ctx in contexts {
        fill(ctx.as_ref(), vec![user(0), call(), result(), user(1)]).await;
        let state = ctx.save_state().await;
        assert_eq!(state["messages"].as_array().unwrap().len(), 4);
        assert_eq!(state["messages"][1]["type"], "AssistantMessage");
        ctx.clear().await;
        assert!(ctx.get_messages().await.is_empty());
        ctx.load_state(&state).await.unwrap();
        assert_eq!(ctx.save_state().await, state);
        assert!(
            ctx.load_state(&json!({"messages": [{"type": "Nope"}]}))
                .await
                .is_err()
        );
    }
}

#[tokio::test]
async fn contexts_load_from_autogen_configs_and_round_trip() {
    let dumped: Vec<ComponentModel> = serde_json::from_value(fixture("contexts.json")).unwrap();
    let expected = [
        "UnboundedChatCompletionContext",
        "BufferedChatCompletionContext",
        "HeadAndTailChatCompletionContext",
        "TokenLimitedChatCompletionContext",
    ];
    for (model, name) in dumped.iter().zip(expected) {
        let ctx = load_model_context(model).unwrap();
        let again = ctx.dump_component().unwrap();
        assert!(again.provider.ends_with(name));
        let reloaded = load_model_context(
            &serde_json::from_str(&serde_json::to_string(&again).unwrap()).unwrap(),
        )
        .unwrap();
        assert_eq!(reloaded.dump_component().unwrap(), again);
        for (k, v) in model.config.as_object().unwrap() {
            if k != "model_client" {
                assert_eq!(
                    again.config.get(k).unwrap_or(&serde_json::Value::Null),
                    v,
                    "{name}.{k}"
                );
            }
        }
    }
    let buffered = load_model_context(&dumped[1]).unwrap();
    fill(buffered.as_ref(), (0..5).map(user).collect()).await;
    assert_eq!(buffered.get_messages().await.len(), 3);
}

#[tokio::test]
async fn list_memory_formats_like_autogen() {
    let memory = ListMemory::new(None);
    assert_eq!(memory.name(), "default_list_memory");
    let ctx = UnboundedContext::new();
    let r = memory.update_context(&ctx).await.unwrap();
    assert!(r.memories.is_empty());
    assert!(
        ctx.get_messages().await.is_empty(),
        "no memories, no message"
    );
    memory
        .add(MemoryContent::text("likes tea"), CancellationToken::new())
        .await
        .unwrap();
    memory
        .add(
            MemoryContent {
                content: json!({"city": "Oslo"}),
                mime_type: "application/json".into(),
                metadata: None,
            },
            CancellationToken::new(),
        )
        .await
        .unwrap();
    memory.update_context(&ctx).await.unwrap();
    assert_eq!(
        ctx.get_messages().await,
        vec![LlmMessage::system(
            "\nRelevant memory content (in chronological order):\n1. likes tea\n2. {\"city\":\"Oslo\"}\n"
        )]
    );
    assert_eq!(
        memory
            .query("anything", CancellationToken::new())
            .await
            .unwrap()
            .len(),
        2
    );
    memory.clear().await.unwrap();
    assert!(
        memory
            .query("", CancellationToken::new())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn list_memory_loads_autogen_config_and_round_trips() {
    let model: ComponentModel = serde_json::from_value(fixture("list_memory.json")).unwrap();
    let memory = load_memory(&model).unwrap();
    assert_eq!(memory.name(), "prefs");
    let items = memory.query("", CancellationToken::new()).await.unwrap();
    assert_eq!(items, vec![MemoryContent::text("User likes tea")]);
    let dumped = memory.dump_component().unwrap();
    assert_eq!(dumped.config, model.config);
    assert_eq!(dumped.provider, model.provider);
}
