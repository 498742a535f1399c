//! Shared helpers for the model tests: scripted server start-up, clients, stream collection.
#![allow(dead_code)]

use futures::StreamExt;
use serde_json::{Value, json};
use toolyard::models::scripted::{Script, ScriptedServer, Step};
use toolyard::models::{
    AnthropicClient, AnthropicConfig, ChatStream, CreateResult, ModelError, OpenAiClient,
    OpenAiConfig, StreamItem, ToolSchema,
};

pub const KEY: &str = "sk-test-key";

/// Starts a scripted server with these steps and the test key.
pub async fn server(steps: Vec<Step>) -> ScriptedServer {
    let script = Script {
        api_key: Some(KEY.into()),
        ..Script::steps(steps)
    };
    ScriptedServer::start(script)
        .await
        .expect("start scripted server")
}

/// An OpenAI client for the server.
pub fn openai(server: &ScriptedServer) -> OpenAiClient {
    openai_with(server, |_| {})
}

/// An OpenAI client for the server, config tweaked by `f`.
pub fn openai_with(server: &ScriptedServer, f: impl FnOnce(&mut OpenAiConfig)) -> OpenAiClient {
    let mut config = OpenAiConfig::new("gpt-4o");
    config.api_key = Some(KEY.into());
    config.base_url = Some(server.openai_base_url());
    config.max_retries = Some(2);
    f(&mut config);
    OpenAiClient::new(config).expect("openai client")
}

/// An Anthropic client for the server, config tweaked by `f`.
pub fn anthropic_with(
    server: &ScriptedServer,
    f: impl FnOnce(&mut AnthropicConfig),
) -> AnthropicClient {
    let mut config = AnthropicConfig::new("claude-3-5-sonnet-20241022");
    config.api_key = Some(KEY.into());
    config.base_url = Some(server.base_url());
    config.max_retries = Some(2);
    f(&mut config);
    AnthropicClient::new(config).expect("anthropic client")
}

/// Drains a stream: text chunks, and the final result or the first error.
pub async fn collect(mut stream: ChatStream) -> (Vec<String>, Result<CreateResult, ModelError>) {
    let mut chunks = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(StreamItem::Chunk(c)) => chunks.push(c),
            Ok(StreamItem::Thought(_)) => {}
            Ok(StreamItem::Done(r)) => {
                assert!(stream.next().await.is_none(), "Done must be the last item");
                return (chunks, Ok(r));
            }
            Err(e) => return (chunks, Err(e)),
        }
    }
    panic!("stream ended without Done or an error");
}

/// A weather tool with a non-trivial schema.
pub fn weather_tool() -> ToolSchema {
    ToolSchema::new(
        "get_weather",
        "Current weather for a city",
        json!({
            "type": "object",
            "properties": {
                "city": {"type": "string", "minLength": 2},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
                "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1}
            },
            "required": ["city", "unit", "days"],
            "additionalProperties": false
        }),
    )
}

/// A second tool.
pub fn time_tool() -> ToolSchema {
    ToolSchema::new(
        "get_time",
        "Current time in a timezone",
        json!({"type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"]}),
    )
}

/// Asserts `args` (a JSON string) is valid against `tool`'s schema.
pub fn assert_schema_valid(tool: &ToolSchema, args: &str) {
    let value: Value = serde_json::from_str(args).expect("arguments are JSON");
    let schema = tool.parameters.clone().expect("schema");
    let validator = jsonschema::validator_for(&schema).expect("valid schema");
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "arguments {args} invalid: {errors:?}");
}

/// A person schema for structured-output tests.
pub fn person_schema() -> Value {
    json!({
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
        "required": ["name", "age"],
        "additionalProperties": false
    })
}

/// Reads a fixture under tests/fixtures/models/.
pub fn fixture(path: &str) -> String {
    let full = format!(
        "{}/tests/fixtures/models/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("fixture {full}: {e}"))
}

/// Serves one fixed answer for every request on 127.0.0.1:0; returns the root URL.
pub async fn serve_fixed(status: u16, content_type: &'static str, body: String) -> String {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    let app = axum::Router::new().fallback(move || {
        let body = body.clone();
        async move {
            let status = StatusCode::from_u16(status).expect("status");
            (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    format!("http://{addr}")
}
