//! Azure OpenAI client against the scripted server: deployment URL, api-version, auth headers.
#![allow(clippy::unwrap_used)]

mod common_models;

use common_models::*;
use tokio_util::sync::CancellationToken;
use toolyard::models::scripted::{Action, ScriptedServer, Step};
use toolyard::models::{
    AzureOpenAiClient, AzureOpenAiConfig, ChatCompletionClient, CreateRequest, LlmMessage,
    ModelError, OpenAiConfig,
};

fn azure(server: &ScriptedServer, key: Option<&str>, token: Option<&str>) -> AzureOpenAiClient {
    let mut openai = OpenAiConfig::new("gpt-4o");
    openai.api_key = key.map(str::to_string);
    openai.max_retries = Some(1);
    let config = AzureOpenAiConfig {
        azure_endpoint: server.base_url(),
        azure_deployment: Some("my-gpt4o".into()),
        api_version: "2024-06-01".into(),
        azure_ad_token: token.map(str::to_string),
        openai,
    };
    AzureOpenAiClient::azure(config).expect("azure client")
}

fn ask() -> CreateRequest {
    CreateRequest::new(vec![LlmMessage::user("hello", "user")])
}

#[tokio::test]
async fn api_key_header_deployment_url_and_api_version() {
    let server = server(vec![Step::text("hi from azure")]).await;
    let client = azure(&server, Some(KEY), None);
    let result = client
        .create(ask(), CancellationToken::new())
        .await
        .expect("create");
    assert_eq!(result.content.as_text(), Some("hi from azure"));
    let req = &server.requests()[0];
    assert_eq!(req.path, "/openai/deployments/my-gpt4o/chat/completions");
    assert_eq!(req.query.as_deref(), Some("api-version=2024-06-01"));
    assert_eq!(req.headers["api-key"], KEY);
    assert!(!req.headers.contains_key("authorization"));
}

#[tokio::test]
async fn bearer_token_auth() {
    let server = server(vec![Step::text("token ok")]).await;
    let client = azure(&server, None, Some(KEY));
    let result = client
        .create(ask(), CancellationToken::new())
        .await
        .expect("create");
    assert_eq!(result.content.as_text(), Some("token ok"));
    assert_eq!(
        server.requests()[0].headers["authorization"],
        format!("Bearer {KEY}")
    );
}

#[tokio::test]
async fn streaming_text_and_tool_calls() {
    let server = server(vec![
        Step::text("s t r e a m"),
        Step::new(Action::CallFirstTool),
    ])
    .await;
    let client = azure(&server, Some(KEY), None);
    let (chunks, result) = collect(client.create_stream(ask(), CancellationToken::new())).await;
    assert_eq!(chunks.concat(), "s t r e a m");
    assert!(result.is_ok());
    let (_, tools) = collect(client.create_stream(
        ask().with_tools(vec![weather_tool()]),
        CancellationToken::new(),
    ))
    .await;
    let tools = tools.expect("tool call");
    assert_schema_valid(
        &weather_tool(),
        &tools.content.as_calls().expect("calls")[0].arguments,
    );
}

#[tokio::test]
async fn bad_key_names_azure() {
    let server = server(vec![Step::text("never")]).await;
    let client = azure(&server, Some("nope"), None);
    let err = client
        .create(ask(), CancellationToken::new())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ModelError::Auth { ref provider, status: 401, .. } if provider == "azure"),
        "{err:?}"
    );
}

#[tokio::test]
async fn retry_then_success() {
    let server = server(vec![
        Step::new(Action::Error {
            status: 500,
            message: None,
            retry_after: Some(0),
        }),
        Step::text("ok"),
    ])
    .await;
    let client = azure(&server, Some(KEY), None);
    assert!(client.create(ask(), CancellationToken::new()).await.is_ok());
    assert_eq!(server.request_count(), 2);
}

#[tokio::test]
async fn parallel_calls_structured_output_and_usage() {
    use serde_json::json;
    use toolyard::models::OutputFormat;
    use toolyard::models::scripted::CallSpec;
    let calls = vec![
        CallSpec {
            name: "get_weather".into(),
            arguments: None,
        },
        CallSpec {
            name: "get_time".into(),
            arguments: None,
        },
    ];
    let server = server(vec![
        Step::new(Action::Parallel { calls }),
        Step::new(Action::Json {
            value: json!({"name": "Ann", "age": 30}),
        }),
        Step::new(Action::Json {
            value: json!({"name": 5}),
        }),
    ])
    .await;
    let client = azure(&server, Some(KEY), None);
    let r = client
        .create(
            ask().with_tools(vec![weather_tool(), time_tool()]),
            CancellationToken::new(),
        )
        .await
        .expect("calls");
    assert_eq!(r.content.as_calls().expect("calls").len(), 2);
    let output = OutputFormat::JsonSchema {
        name: "person".into(),
        schema: person_schema(),
        strict: true,
    };
    let ok = client
        .create(ask().with_output(output.clone()), CancellationToken::new())
        .await
        .expect("valid");
    let bad = client
        .create(ask().with_output(output), CancellationToken::new())
        .await
        .unwrap_err();
    assert!(
        matches!(bad, ModelError::SchemaMismatch { ref provider, .. } if provider == "azure"),
        "{bad:?}"
    );
    assert!(client.total_usage().prompt_tokens >= r.usage.prompt_tokens + ok.usage.prompt_tokens);
}

#[tokio::test]
async fn timeout_cancellation_and_broken_stream() {
    use futures::StreamExt;
    use toolyard::models::StreamItem;
    let server = server(vec![
        Step::text("late").delayed(5_000),
        Step::text("a b c d e f").chunk_delayed(300),
        Step::new(Action::CutStream {
            text: "cut here".into(),
        }),
    ])
    .await;
    let mut openai = OpenAiConfig::new("gpt-4o");
    openai.api_key = Some(KEY.into());
    openai.max_retries = Some(0);
    openai.timeout = Some(0.2);
    let client = AzureOpenAiClient::azure(AzureOpenAiConfig {
        azure_endpoint: server.base_url(),
        azure_deployment: None,
        api_version: "2024-06-01".into(),
        azure_ad_token: None,
        openai,
    })
    .expect("client");
    let err = client
        .create(ask(), CancellationToken::new())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ModelError::Timeout { ref provider, .. } if provider == "azure"),
        "{err:?}"
    );
    let client = azure(&server, Some(KEY), None);
    let cancel = CancellationToken::new();
    let mut stream = client.create_stream(ask(), cancel.clone());
    assert!(matches!(
        stream.next().await,
        Some(Ok(StreamItem::Chunk(_)))
    ));
    cancel.cancel();
    let rest: Vec<_> = stream.collect().await;
    assert!(
        rest.iter()
            .any(|i| matches!(i, Err(ModelError::Cancelled { .. })))
    );
    let (_, broken) = collect(client.create_stream(ask(), CancellationToken::new())).await;
    assert!(
        matches!(broken, Err(ModelError::StreamBroken { .. })),
        "{broken:?}"
    );
    assert_eq!(
        server.requests()[0].path,
        "/openai/deployments/gpt-4o/chat/completions",
        "deployment defaults to the model"
    );
}
