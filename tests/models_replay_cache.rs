//! Replay client and the cache wrapper (memory and disk stores, hit flag).
#![allow(clippy::unwrap_used)]

mod common_models;

use std::sync::Arc;

use common_models::*;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use toolyard::models::scripted::Step;
use toolyard::models::{
    AssistantContent, CacheStore, ChatCompletionCache, ChatCompletionClient, CreateRequest,
    CreateResult, FinishReason, FunctionCall, LlmMessage, ModelError, OutputFormat, ReplayClient,
    ReplayEntry, RequestUsage,
};

fn req(text: &str) -> CreateRequest {
    CreateRequest::new(vec![LlmMessage::user(text, "user")])
}

#[tokio::test]
async fn replay_returns_text_tool_calls_and_structured_in_order() {
    let calls = CreateResult {
        finish_reason: FinishReason::FunctionCalls,
        content: AssistantContent::FunctionCalls(vec![FunctionCall {
            id: "1".into(),
            arguments: "{}".into(),
            name: "f".into(),
        }]),
        usage: RequestUsage {
            prompt_tokens: 3,
            completion_tokens: 2,
        },
        cached: false,
        logprobs: None,
        thought: None,
    };
    let client = ReplayClient::new(vec![
        ReplayEntry::Text("first answer".into()),
        ReplayEntry::Result(calls.clone()),
        ReplayEntry::Text(json!({"name": "Ada", "age": 3}).to_string()),
    ]);
    let a = client
        .create(req("1"), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(a.content.as_text(), Some("first answer"));
    assert!(a.usage.prompt_tokens > 0);
    let (_, b) = collect(client.create_stream(req("2"), CancellationToken::new())).await;
    assert_eq!(b.unwrap(), calls);
    let (chunks, c) = collect(client.create_stream(
        req("3").with_output(OutputFormat::JsonObject),
        CancellationToken::new(),
    ))
    .await;
    assert!(!chunks.is_empty());
    assert_eq!(chunks.concat(), c.unwrap().content.as_text().unwrap());
    assert!(matches!(
        client.create(req("4"), CancellationToken::new()).await,
        Err(ModelError::ReplayExhausted { used: 3 })
    ));
    assert_eq!(
        client.total_usage().completion_tokens,
        client.actual_usage().completion_tokens
    );
    client.reset();
    assert!(
        client
            .create(req("5"), CancellationToken::new())
            .await
            .is_ok()
    );
}

async fn check_cache(store: CacheStore) {
    let server = server(vec![
        Step::text("computed once"),
        Step::text("second distinct"),
    ])
    .await;
    let inner: Arc<dyn ChatCompletionClient> = Arc::new(openai(&server));
    let cache = ChatCompletionCache::new(inner, store);
    let miss = cache
        .create(req("q"), CancellationToken::new())
        .await
        .unwrap();
    assert!(!miss.cached);
    let hit = cache
        .create(req("q"), CancellationToken::new())
        .await
        .unwrap();
    assert!(hit.cached);
    assert_eq!(hit.content, miss.content);
    let (chunks, streamed_hit) =
        collect(cache.create_stream(req("q"), CancellationToken::new())).await;
    assert!(streamed_hit.unwrap().cached);
    assert_eq!(chunks.concat(), "computed once");
    let other = cache
        .create(req("different"), CancellationToken::new())
        .await
        .unwrap();
    assert!(!other.cached);
    assert_eq!(other.content.as_text(), Some("second distinct"));
    assert_eq!(server.request_count(), 2, "hits must not reach the server");
}

#[tokio::test]
async fn memory_cache_hits() {
    check_cache(CacheStore::in_memory().unwrap()).await;
}

#[tokio::test]
async fn disk_cache_hits_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("models.redb");
    check_cache(CacheStore::open(&path).unwrap()).await;
    let server = server(vec![Step::text("should not be used")]).await;
    let cache =
        ChatCompletionCache::new(Arc::new(openai(&server)), CacheStore::open(&path).unwrap());
    let hit = cache
        .create(req("q"), CancellationToken::new())
        .await
        .unwrap();
    assert!(hit.cached);
    assert_eq!(hit.content.as_text(), Some("computed once"));
    assert_eq!(server.request_count(), 0);
}

#[tokio::test]
async fn streamed_miss_is_stored() {
    let server = server(vec![Step::text("streamed then cached")]).await;
    let cache =
        ChatCompletionCache::new(Arc::new(openai(&server)), CacheStore::in_memory().unwrap());
    let (_, miss) = collect(cache.create_stream(req("s"), CancellationToken::new())).await;
    assert!(!miss.unwrap().cached);
    let hit = cache
        .create(req("s"), CancellationToken::new())
        .await
        .unwrap();
    assert!(hit.cached);
    assert_eq!(hit.content.as_text(), Some("streamed then cached"));
}
