//! Golden fixtures in the real providers' shape: our serialisers produce those requests, our
//! parsers read those responses (served over real HTTP).
#![allow(clippy::unwrap_used)]

mod common_models;

use common_models::*;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use toolyard::models::scripted::Step;
use toolyard::models::{
    AnthropicClient, AnthropicConfig, ChatCompletionClient, CreateRequest, FinishReason,
    LlmMessage, ModelError, OpenAiClient, OpenAiConfig, ToolSchema,
};

fn openai_for(base: String) -> OpenAiClient {
    let mut c = OpenAiConfig::new("gpt-4.1");
    c.api_key = Some(KEY.into());
    c.base_url = Some(base);
    c.max_retries = Some(0);
    c.include_name_in_message = Some(false);
    OpenAiClient::new(c).expect("client")
}

fn anthropic_for(base: String) -> AnthropicClient {
    let mut c = AnthropicConfig::new("claude-3-7-sonnet-20250219");
    c.api_key = Some(KEY.into());
    c.base_url = Some(base);
    c.max_retries = Some(0);
    c.max_tokens = Some(1024);
    AnthropicClient::new(c).expect("client")
}

fn tool_from_fixture(v: &Value) -> ToolSchema {
    ToolSchema::new(
        v["name"].as_str().unwrap(),
        v["description"].as_str().unwrap(),
        v.get("parameters")
            .or(v.get("input_schema"))
            .cloned()
            .unwrap(),
    )
}

#[tokio::test]
async fn openai_request_matches_the_api_reference_shape() {
    let golden: Value = serde_json::from_str(&fixture("openai/request_tools.json")).unwrap();
    let server = server(vec![Step::text("ok")]).await;
    let client = openai_for(server.openai_base_url());
    let tool = tool_from_fixture(&golden["tools"][0]["function"]);
    let request = CreateRequest::new(vec![LlmMessage::user(
        "What is the weather like in Boston today?",
        "user",
    )])
    .with_tools(vec![tool]);
    client
        .create(request, CancellationToken::new())
        .await
        .expect("create");
    assert_eq!(server.requests()[0].body, golden);
}

#[tokio::test]
async fn openai_text_response_is_parsed() {
    let base = serve_fixed(
        200,
        "application/json",
        fixture("openai/response_text.json"),
    )
    .await;
    let result = openai_for(format!("{base}/v1"))
        .create(
            CreateRequest::new(vec![LlmMessage::user("hi", "u")]),
            CancellationToken::new(),
        )
        .await
        .expect("parse");
    assert_eq!(
        result.content.as_text(),
        Some("Hello! How can I assist you today?")
    );
    assert_eq!(result.finish_reason, FinishReason::Stop);
    assert_eq!(
        (result.usage.prompt_tokens, result.usage.completion_tokens),
        (19, 10)
    );
}

#[tokio::test]
async fn openai_tool_call_response_is_parsed() {
    let base = serve_fixed(
        200,
        "application/json",
        fixture("openai/response_tool_calls.json"),
    )
    .await;
    let result = openai_for(base)
        .create(
            CreateRequest::new(vec![LlmMessage::user("hi", "u")]),
            CancellationToken::new(),
        )
        .await
        .expect("parse");
    let calls = result.content.as_calls().expect("calls");
    assert_eq!(calls[0].id, "call_abc123");
    assert_eq!(calls[0].name, "get_current_weather");
    assert_eq!(
        serde_json::from_str::<Value>(&calls[0].arguments).unwrap(),
        json!({"location": "Boston, MA"})
    );
    assert_eq!(result.finish_reason, FinishReason::FunctionCalls);
}

#[tokio::test]
async fn openai_streams_are_parsed() {
    let base = serve_fixed(200, "text/event-stream", fixture("openai/stream_text.sse")).await;
    let client = openai_for(base);
    let (chunks, result) = collect(client.create_stream(
        CreateRequest::new(vec![LlmMessage::user("hi", "u")]),
        CancellationToken::new(),
    ))
    .await;
    assert_eq!(chunks, ["Hello", "!"]);
    let result = result.expect("done");
    assert_eq!(
        (result.usage.prompt_tokens, result.usage.completion_tokens),
        (9, 2)
    );
    let base = serve_fixed(
        200,
        "text/event-stream",
        fixture("openai/stream_tool_calls.sse"),
    )
    .await;
    let client = openai_for(base);
    let (_, result) = collect(client.create_stream(
        CreateRequest::new(vec![LlmMessage::user("hi", "u")]),
        CancellationToken::new(),
    ))
    .await;
    let result = result.expect("done");
    let calls = result.content.as_calls().expect("calls");
    assert_eq!(calls[0].id, "call_DdmO9pD3xa9XTPNJ32zg2hcA");
    assert_eq!(calls[0].arguments, "{\"location\":\"Paris, France\"}");
    assert_eq!(calls[1].name, "get_time");
    assert_eq!(result.finish_reason, FinishReason::FunctionCalls);
}

#[tokio::test]
async fn openai_error_body_is_reported() {
    let base = serve_fixed(401, "application/json", fixture("openai/error_401.json")).await;
    let err = openai_for(base)
        .create(
            CreateRequest::new(vec![LlmMessage::user("hi", "u")]),
            CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, ModelError::Auth { status: 401, ref message, .. } if message.contains("Incorrect API key provided")),
        "{err:?}"
    );
}

#[tokio::test]
async fn anthropic_request_matches_the_api_reference_shape() {
    let golden: Value = serde_json::from_str(&fixture("anthropic/request_tools.json")).unwrap();
    let server = server(vec![Step::text("ok")]).await;
    let client = anthropic_for(server.base_url());
    let request = CreateRequest::new(vec![
        LlmMessage::system("You are a helpful assistant."),
        LlmMessage::user("What is the weather like in San Francisco?", "user"),
    ])
    .with_tools(vec![tool_from_fixture(&golden["tools"][0])]);
    client
        .create(request, CancellationToken::new())
        .await
        .expect("create");
    let mut sent = server.requests()[0].body.clone();
    sent.as_object_mut().unwrap().remove("temperature");
    assert_eq!(sent, golden);
}

#[tokio::test]
async fn anthropic_responses_are_parsed() {
    let base = serve_fixed(
        200,
        "application/json",
        fixture("anthropic/response_text.json"),
    )
    .await;
    let r = anthropic_for(base)
        .create(
            CreateRequest::new(vec![LlmMessage::user("hi", "u")]),
            CancellationToken::new(),
        )
        .await
        .expect("text");
    assert_eq!(r.content.as_text(), Some("Hi! My name is Claude."));
    assert_eq!(
        (r.usage.prompt_tokens, r.usage.completion_tokens),
        (2095, 503)
    );
    let base = serve_fixed(
        200,
        "application/json",
        fixture("anthropic/response_tool_use.json"),
    )
    .await;
    let r = anthropic_for(base)
        .create(
            CreateRequest::new(vec![LlmMessage::user("hi", "u")]),
            CancellationToken::new(),
        )
        .await
        .expect("tool");
    let calls = r.content.as_calls().expect("calls");
    assert_eq!(calls[0].id, "toolu_01A09q90qw90lq917835lq9");
    assert_eq!(
        serde_json::from_str::<Value>(&calls[0].arguments).unwrap(),
        json!({"location": "San Francisco, CA", "unit": "celsius"})
    );
    assert_eq!(
        r.thought.as_deref(),
        Some("I'll check the current weather in San Francisco for you.")
    );
    assert_eq!(r.finish_reason, FinishReason::FunctionCalls);
}

#[tokio::test]
async fn anthropic_streams_are_parsed() {
    let base = serve_fixed(
        200,
        "text/event-stream",
        fixture("anthropic/stream_text.sse"),
    )
    .await;
    let (chunks, r) = collect(anthropic_for(base).create_stream(
        CreateRequest::new(vec![LlmMessage::user("hi", "u")]),
        CancellationToken::new(),
    ))
    .await;
    assert_eq!(chunks, ["Hello", "!"]);
    let r = r.expect("done");
    assert_eq!((r.usage.prompt_tokens, r.usage.completion_tokens), (25, 15));
    let base = serve_fixed(
        200,
        "text/event-stream",
        fixture("anthropic/stream_tool_use.sse"),
    )
    .await;
    let (_, r) = collect(anthropic_for(base).create_stream(
        CreateRequest::new(vec![LlmMessage::user("hi", "u")]),
        CancellationToken::new(),
    ))
    .await;
    let r = r.expect("done");
    let calls = r.content.as_calls().expect("calls");
    assert_eq!(calls[0].arguments, "{\"location\": \"San Francisco, CA\"}");
    assert_eq!(r.thought.as_deref(), Some("Okay, let's check the weather."));
    assert_eq!(r.usage.completion_tokens, 89);
}

#[tokio::test]
async fn anthropic_error_body_is_reported() {
    let base = serve_fixed(401, "application/json", fixture("anthropic/error_401.json")).await;
    let err = anthropic_for(base)
        .create(
            CreateRequest::new(vec![LlmMessage::user("hi", "u")]),
            CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("invalid x-api-key"), "{err}");
}

#[tokio::test]
async fn truncated_fixture_stream_is_broken() {
    let full = fixture("anthropic/stream_text.sse");
    let cut = full[..full.find("event: message_delta").unwrap()].to_string();
    let base = serve_fixed(200, "text/event-stream", cut).await;
    let (_, r) = collect(anthropic_for(base).create_stream(
        CreateRequest::new(vec![LlmMessage::user("hi", "u")]),
        CancellationToken::new(),
    ))
    .await;
    assert!(matches!(r, Err(ModelError::StreamBroken { .. })), "{r:?}");
    let full = fixture("openai/stream_text.sse");
    let cut = full.replace("data: [DONE]", "");
    let base = serve_fixed(200, "text/event-stream", cut).await;
    let (_, r) = collect(openai_for(base).create_stream(
        CreateRequest::new(vec![LlmMessage::user("hi", "u")]),
        CancellationToken::new(),
    ))
    .await;
    assert!(matches!(r, Err(ModelError::StreamBroken { .. })), "{r:?}");
}
