//! Anthropic client against the scripted server: text, streaming, tools, structured output, errors.
#![allow(clippy::unwrap_used)]

mod common_models;

use common_models::*;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use toolyard::models::scripted::{Action, CallSpec, Step};
use toolyard::models::{
    ChatCompletionClient, CreateRequest, FinishReason, FunctionCall, FunctionExecutionResult,
    LlmMessage, ModelError, OutputFormat, StreamItem, ToolChoice,
};

fn ask(text: &str) -> CreateRequest {
    CreateRequest::new(vec![
        LlmMessage::system("Be brief."),
        LlmMessage::user(text, "user"),
    ])
}

#[tokio::test]
async fn plain_text_and_request_shape() {
    let server = server(vec![Step::text("Bonjour")]).await;
    let client = anthropic_with(&server, |c| {
        c.temperature = Some(0.5);
        c.max_tokens = Some(100);
        c.stop_sequences = Some(vec!["STOP".into()]);
    });
    let result = client
        .create(ask("Hi"), CancellationToken::new())
        .await
        .expect("create");
    assert_eq!(result.content.as_text(), Some("Bonjour"));
    assert_eq!(result.finish_reason, FinishReason::Stop);
    assert!(result.usage.prompt_tokens > 0 && result.usage.completion_tokens > 0);
    let req = &server.requests()[0];
    assert_eq!(req.path, "/v1/messages");
    assert_eq!(req.headers["x-api-key"], KEY);
    assert_eq!(req.headers["anthropic-version"], "2023-06-01");
    let b = &req.body;
    assert_eq!(b["system"], "Be brief.");
    assert_eq!(b["messages"], json!([{"role": "user", "content": "Hi"}]));
    assert_eq!(
        (b["max_tokens"].clone(), b["temperature"].clone()),
        (json!(100), json!(0.5))
    );
    assert_eq!(b["stop_sequences"], json!(["STOP"]));
}

#[tokio::test]
async fn streaming_text() {
    let server = server(vec![Step::text("alpha beta gamma")]).await;
    let client = anthropic_with(&server, |_| {});
    let (chunks, result) = collect(client.create_stream(ask("go"), CancellationToken::new())).await;
    let result = result.expect("ok");
    assert!(chunks.len() >= 3);
    assert_eq!(chunks.concat(), "alpha beta gamma");
    assert_eq!(result.content.as_text(), Some("alpha beta gamma"));
    assert!(result.usage.prompt_tokens > 0 && result.usage.completion_tokens > 0);
    assert_eq!(server.requests()[0].body["stream"], true);
}

#[tokio::test]
async fn tool_use_single_parallel_and_streamed() {
    let calls = vec![
        CallSpec {
            name: "get_time".into(),
            arguments: Some(json!({"tz": "UTC"})),
        },
        CallSpec {
            name: "get_weather".into(),
            arguments: None,
        },
    ];
    let server = server(vec![
        Step::new(Action::CallFirstTool),
        Step::new(Action::Parallel { calls }),
        Step::new(Action::CallAllTools),
    ])
    .await;
    let client = anthropic_with(&server, |_| {});
    let tools = vec![weather_tool(), time_tool()];
    let request = ask("tools")
        .with_tools(tools.clone())
        .with_tool_choice(ToolChoice::Required);
    let single = client
        .create(request.clone(), CancellationToken::new())
        .await
        .expect("single");
    let calls = single.content.as_calls().expect("calls");
    assert_eq!(single.finish_reason, FinishReason::FunctionCalls);
    assert_eq!(calls.len(), 1);
    assert_schema_valid(&weather_tool(), &calls[0].arguments);
    let parallel = client
        .create(request.clone(), CancellationToken::new())
        .await
        .expect("parallel");
    let calls = parallel.content.as_calls().expect("calls");
    assert_eq!(
        calls.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["get_time", "get_weather"]
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&calls[0].arguments).ok(),
        Some(json!({"tz": "UTC"}))
    );
    let (_, streamed) = collect(client.create_stream(request, CancellationToken::new())).await;
    let streamed = streamed.expect("streamed");
    let calls = streamed.content.as_calls().expect("calls");
    assert_eq!(calls.len(), 2);
    assert_schema_valid(&weather_tool(), &calls[0].arguments);
    assert_schema_valid(&time_tool(), &calls[1].arguments);
    let body = &server.requests()[0].body;
    assert_eq!(body["tool_choice"], json!({"type": "any"}));
    assert_eq!(body["tools"][0]["name"], "get_weather");
    assert_eq!(
        body["tools"][0]["input_schema"],
        weather_tool().parameters.unwrap()
    );
}

#[tokio::test]
async fn tool_use_and_tool_result_blocks_are_sent_back() {
    let server = server(vec![Step::text("done")]).await;
    let client = anthropic_with(&server, |_| {});
    let call = FunctionCall {
        id: "toolu_1".into(),
        arguments: "{\"tz\":\"UTC\"}".into(),
        name: "get_time".into(),
    };
    let messages = vec![
        LlmMessage::user("time?", "user"),
        LlmMessage::tool_calls(vec![call], "assistant"),
        LlmMessage::tool_results(vec![FunctionExecutionResult {
            content: "boom".into(),
            name: "get_time".into(),
            call_id: "toolu_1".into(),
            is_error: Some(true),
        }]),
    ];
    client
        .create(
            CreateRequest::new(messages).with_tools(vec![time_tool()]),
            CancellationToken::new(),
        )
        .await
        .expect("create");
    let msgs = &server.requests()[0].body["messages"];
    assert_eq!(
        msgs[1],
        json!({"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_time", "input": {"tz": "UTC"}}]})
    );
    assert_eq!(
        msgs[2],
        json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "boom", "is_error": true}]})
    );
}

#[tokio::test]
async fn structured_output_valid_and_invalid() {
    let server = server(vec![
        Step::new(Action::Json {
            value: json!({"name": "Bo", "age": 4}),
        }),
        Step::new(Action::Json {
            value: json!({"name": "Bo"}),
        }),
    ])
    .await;
    let client = anthropic_with(&server, |_| {});
    let output = OutputFormat::JsonSchema {
        name: "person".into(),
        schema: person_schema(),
        strict: false,
    };
    let ok = client
        .create(
            ask("who").with_output(output.clone()),
            CancellationToken::new(),
        )
        .await
        .expect("valid");
    assert!(ok.content.as_text().is_some_and(|t| t.contains("Bo")));
    let (_, bad) =
        collect(client.create_stream(ask("who").with_output(output), CancellationToken::new()))
            .await;
    assert!(
        matches!(bad, Err(ModelError::SchemaMismatch { .. })),
        "{bad:?}"
    );
    let system = server.requests()[0].body["system"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(system.contains("JSON schema"), "{system}");
}

#[tokio::test]
async fn usage_accounting() {
    let server = server(vec![Step::text("x y"), Step::text("z")]).await;
    let client = anthropic_with(&server, |_| {});
    let a = client
        .create(ask("1"), CancellationToken::new())
        .await
        .expect("a");
    let (_, b) = collect(client.create_stream(ask("2"), CancellationToken::new())).await;
    assert_eq!(client.total_usage(), a.usage + b.expect("b").usage);
    assert_eq!(client.actual_usage(), client.total_usage());
}

#[tokio::test]
async fn retry_on_429_and_500() {
    let server = server(vec![
        Step::new(Action::Error {
            status: 429,
            message: Some("overloaded".into()),
            retry_after: Some(0),
        }),
        Step::new(Action::Error {
            status: 500,
            message: None,
            retry_after: Some(0),
        }),
        Step::text("ok"),
    ])
    .await;
    let client = anthropic_with(&server, |_| {});
    let result = client
        .create(ask("x"), CancellationToken::new())
        .await
        .expect("retried");
    assert_eq!(result.content.as_text(), Some("ok"));
    assert_eq!(server.request_count(), 3);
}

#[tokio::test]
async fn error_carries_provider_status_and_message() {
    let server = server(vec![Step::new(Action::Error {
        status: 529,
        message: Some("Overloaded".into()),
        retry_after: None,
    })])
    .await;
    let client = anthropic_with(&server, |c| c.max_retries = Some(0));
    let err = client
        .create(ask("x"), CancellationToken::new())
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("anthropic") && text.contains("529") && text.contains("Overloaded"),
        "{text}"
    );
}

#[tokio::test]
async fn timeout() {
    let server = server(vec![Step::text("late").delayed(5_000)]).await;
    let client = anthropic_with(&server, |c| {
        c.timeout = Some(0.2);
        c.max_retries = Some(0);
    });
    let err = client
        .create(ask("x"), CancellationToken::new())
        .await
        .unwrap_err();
    assert!(matches!(err, ModelError::Timeout { .. }), "{err:?}");
}

#[tokio::test]
async fn cancellation_mid_stream() {
    use futures::StreamExt;
    let server = server(vec![Step::text("a b c d e f g h").chunk_delayed(300)]).await;
    let client = anthropic_with(&server, |_| {});
    let cancel = CancellationToken::new();
    let mut stream = client.create_stream(ask("x"), cancel.clone());
    let first = stream.next().await.expect("item").expect("chunk");
    assert!(matches!(first, StreamItem::Chunk(_)));
    cancel.cancel();
    let rest: Vec<_> = stream.collect().await;
    assert!(
        rest.iter()
            .any(|i| matches!(i, Err(ModelError::Cancelled { .. })))
    );
    assert!(!rest.iter().any(|i| matches!(i, Ok(StreamItem::Done(_)))));
}

#[tokio::test]
async fn broken_stream_is_an_error() {
    let server = server(vec![Step::new(Action::CutStream {
        text: "half of it".into(),
    })])
    .await;
    let client = anthropic_with(&server, |_| {});
    let (chunks, result) = collect(client.create_stream(ask("x"), CancellationToken::new())).await;
    assert!(!chunks.is_empty());
    assert!(
        matches!(result, Err(ModelError::StreamBroken { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn bad_api_key_is_a_clear_error() {
    let server = server(vec![Step::text("never")]).await;
    let client = anthropic_with(&server, |c| c.api_key = Some("wrong".into()));
    let err = client
        .create(ask("x"), CancellationToken::new())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ModelError::Auth { status: 401, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("check the API key"));
}

#[tokio::test]
async fn consecutive_same_role_messages_are_merged() {
    let server = server(vec![Step::text("ok")]).await;
    let client = anthropic_with(&server, |_| {});
    let messages = vec![LlmMessage::user("one", "a"), LlmMessage::user("two", "b")];
    client
        .create(CreateRequest::new(messages), CancellationToken::new())
        .await
        .expect("create");
    let msgs = &server.requests()[0].body["messages"];
    assert_eq!(
        msgs,
        &json!([{"role": "user", "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]}])
    );
}

#[tokio::test]
async fn images_become_image_blocks() {
    use toolyard::models::{Image, UserContent, UserMessage, UserPart};
    let server = server(vec![Step::text("a pixel")]).await;
    let client = anthropic_with(&server, |_| {});
    let jpeg = "/9j/4AAQSkZJRgABAQAAAQABAAD";
    let message = LlmMessage::UserMessage(UserMessage {
        content: UserContent::Parts(vec![
            UserPart::Text("What is this?".into()),
            UserPart::Image(Image::Base64 { data: jpeg.into() }),
            UserPart::Image(Image::Url {
                url: "https://example.com/cat.png".into(),
            }),
        ]),
        source: "user".into(),
    });
    client
        .create(CreateRequest::new(vec![message]), CancellationToken::new())
        .await
        .expect("create");
    let content = &server.requests()[0].body["messages"][0]["content"];
    assert_eq!(
        content[1],
        json!({"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": jpeg}})
    );
    assert_eq!(
        content[2],
        json!({"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}})
    );
}
