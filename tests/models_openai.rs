//! OpenAI client against the scripted server: text, streaming, tools, structured output, errors.
#![allow(clippy::unwrap_used)]

mod common_models;

use common_models::*;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use toolyard::models::scripted::{Action, CallSpec, Step};
use toolyard::models::{
    AssistantContent, ChatCompletionClient, CreateRequest, FinishReason, FunctionCall,
    FunctionExecutionResult, LlmMessage, ModelError, OutputFormat, StreamItem, ToolChoice,
};

fn ask(text: &str) -> CreateRequest {
    CreateRequest::new(vec![
        LlmMessage::system("You are terse."),
        LlmMessage::user(text, "user"),
    ])
}

#[tokio::test]
async fn plain_text_round_trip_and_request_shape() {
    let server = server(vec![Step::text("Hello there")]).await;
    let client = openai_with(&server, |c| {
        c.create_args.temperature = Some(0.2);
        c.create_args.seed = Some(7);
        c.create_args.max_tokens = Some(50);
        c.create_args.stop = Some(json!(["END"]));
        c.create_args.user = Some("u-1".into());
    });
    let result = client
        .create(ask("Hi"), CancellationToken::new())
        .await
        .expect("create");
    assert_eq!(result.content, AssistantContent::Text("Hello there".into()));
    assert_eq!(result.finish_reason, FinishReason::Stop);
    assert!(!result.cached);
    let req = &server.requests()[0];
    assert_eq!(req.path, "/v1/chat/completions");
    assert_eq!(req.headers["authorization"], format!("Bearer {KEY}"));
    let b = &req.body;
    assert_eq!(b["model"], "gpt-4o");
    assert_eq!(
        b["messages"][0],
        json!({"role": "system", "content": "You are terse."})
    );
    assert_eq!(
        b["messages"][1],
        json!({"role": "user", "content": "Hi", "name": "user"})
    );
    assert_eq!(
        (
            b["temperature"].clone(),
            b["seed"].clone(),
            b["max_tokens"].clone()
        ),
        (json!(0.2), json!(7), json!(50))
    );
    assert_eq!(
        (b["stop"].clone(), b["user"].clone()),
        (json!(["END"]), json!("u-1"))
    );
    assert!(b.get("stream").is_none() && b.get("tools").is_none());
}

#[tokio::test]
async fn streaming_text_yields_chunks_then_done_with_usage() {
    let server = server(vec![Step::text("one two three four")]).await;
    let client = openai(&server);
    let (chunks, result) =
        collect(client.create_stream(ask("count"), CancellationToken::new())).await;
    let result = result.expect("stream ok");
    assert_eq!(chunks.concat(), "one two three four");
    assert!(chunks.len() >= 4, "text came in pieces: {chunks:?}");
    assert_eq!(result.content.as_text(), Some("one two three four"));
    assert!(result.usage.prompt_tokens > 0 && result.usage.completion_tokens > 0);
    let body = &server.requests()[0].body;
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"], json!({"include_usage": true}));
}

#[tokio::test]
async fn single_tool_call_with_schema_valid_arguments() {
    let server = server(vec![Step::new(Action::CallFirstTool)]).await;
    let client = openai_with(&server, |c| c.create_args.parallel_tool_calls = Some(false));
    let tool = weather_tool();
    let request = ask("weather?")
        .with_tools(vec![tool.clone()])
        .with_tool_choice(ToolChoice::Required);
    let result = client
        .create(request, CancellationToken::new())
        .await
        .expect("create");
    assert_eq!(result.finish_reason, FinishReason::FunctionCalls);
    let calls = result.content.as_calls().expect("tool calls");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].name, "get_weather");
    assert!(!calls[0].id.is_empty());
    assert_schema_valid(&tool, &calls[0].arguments);
    let body = &server.requests()[0].body;
    assert_eq!(body["tool_choice"], "required");
    assert_eq!(body["parallel_tool_calls"], false);
    assert_eq!(body["tools"][0]["type"], "function");
    assert_eq!(body["tools"][0]["function"]["name"], "get_weather");
    assert_eq!(
        body["tools"][0]["function"]["parameters"],
        tool.parameters.clone().unwrap_or_default()
    );
}

#[tokio::test]
async fn named_tool_choice_and_parallel_calls() {
    let calls = vec![
        CallSpec {
            name: "get_weather".into(),
            arguments: Some(json!({"city": "Paris", "unit": "celsius", "days": 1})),
        },
        CallSpec {
            name: "get_time".into(),
            arguments: None,
        },
    ];
    let server = server(vec![Step::new(Action::Parallel { calls })]).await;
    let client = openai(&server);
    let request = ask("both")
        .with_tools(vec![weather_tool(), time_tool()])
        .with_tool_choice(ToolChoice::Named("get_weather".into()));
    let result = client
        .create(request, CancellationToken::new())
        .await
        .expect("create");
    let calls = result.content.as_calls().expect("calls");
    assert_eq!(
        calls.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["get_weather", "get_time"]
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&calls[0].arguments).ok(),
        Some(json!({"city": "Paris", "unit": "celsius", "days": 1}))
    );
    assert_schema_valid(&time_tool(), &calls[1].arguments);
    assert_ne!(calls[0].id, calls[1].id);
    let body = &server.requests()[0].body;
    assert_eq!(
        body["tool_choice"],
        json!({"type": "function", "function": {"name": "get_weather"}})
    );
}

#[tokio::test]
async fn streamed_tool_call_deltas_are_assembled_by_index() {
    let server = server(vec![Step::new(Action::CallAllTools)]).await;
    let client = openai(&server);
    let request = ask("go").with_tools(vec![weather_tool(), time_tool()]);
    let (_, result) = collect(client.create_stream(request, CancellationToken::new())).await;
    let result = result.expect("stream ok");
    let calls = result.content.as_calls().expect("calls");
    assert_eq!(calls.len(), 2);
    assert_schema_valid(&weather_tool(), &calls[0].arguments);
    assert_schema_valid(&time_tool(), &calls[1].arguments);
    assert_eq!(result.finish_reason, FinishReason::FunctionCalls);
}

#[tokio::test]
async fn tool_results_are_sent_back_as_tool_messages() {
    let server = server(vec![Step::text("It is sunny")]).await;
    let client = openai(&server);
    let call = FunctionCall {
        id: "call_1".into(),
        arguments: "{\"city\":\"Oslo\"}".into(),
        name: "get_weather".into(),
    };
    let messages = vec![
        LlmMessage::user("weather in Oslo?", "user"),
        LlmMessage::tool_calls(vec![call], "assistant"),
        LlmMessage::tool_results(vec![FunctionExecutionResult {
            content: "sunny".into(),
            name: "get_weather".into(),
            call_id: "call_1".into(),
            is_error: Some(false),
        }]),
    ];
    let request = CreateRequest::new(messages).with_tools(vec![weather_tool()]);
    let result = client
        .create(request, CancellationToken::new())
        .await
        .expect("create");
    assert_eq!(result.content.as_text(), Some("It is sunny"));
    let msgs = &server.requests()[0].body["messages"];
    assert_eq!(
        msgs[1]["tool_calls"][0],
        json!({"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}})
    );
    assert_eq!(
        msgs[2],
        json!({"role": "tool", "content": "sunny", "tool_call_id": "call_1"})
    );
}

fn person_output() -> OutputFormat {
    OutputFormat::JsonSchema {
        name: "person".into(),
        schema: person_schema(),
        strict: true,
    }
}

#[tokio::test]
async fn structured_output_valid_json_passes() {
    let server = server(vec![Step::new(Action::Json {
        value: json!({"name": "Ada", "age": 36}),
    })])
    .await;
    let client = openai(&server);
    let result = client
        .create(
            ask("who").with_output(person_output()),
            CancellationToken::new(),
        )
        .await
        .expect("valid");
    let value: serde_json::Value =
        serde_json::from_str(result.content.as_text().unwrap_or_default()).expect("json");
    assert_eq!(value["name"], "Ada");
    let body = &server.requests()[0].body;
    assert_eq!(body["response_format"]["type"], "json_schema");
    assert_eq!(body["response_format"]["json_schema"]["name"], "person");
    assert_eq!(body["response_format"]["json_schema"]["strict"], true);
}

#[tokio::test]
async fn structured_output_schema_mismatch_and_non_json_are_errors() {
    let server = server(vec![
        Step::new(Action::Json {
            value: json!({"name": "Ada", "age": -1}),
        }),
        Step::text("not json at all"),
        Step::text("[1, 2]"),
    ])
    .await;
    let client = openai(&server);
    let err = client
        .create(
            ask("who").with_output(person_output()),
            CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ModelError::SchemaMismatch { .. }), "{err}");
    assert!(err.to_string().contains("age"), "{err}");
    let (_, stream_err) = collect(client.create_stream(
        ask("who").with_output(person_output()),
        CancellationToken::new(),
    ))
    .await;
    assert!(
        matches!(stream_err, Err(ModelError::InvalidJsonOutput { .. })),
        "{stream_err:?}"
    );
    let ok_json = client
        .create(
            ask("list").with_output(OutputFormat::JsonObject),
            CancellationToken::new(),
        )
        .await;
    assert!(ok_json.is_ok(), "JSON mode accepts any JSON: {ok_json:?}");
    assert_eq!(
        server.requests()[2].body["response_format"],
        json!({"type": "json_object"})
    );
}

#[tokio::test]
async fn usage_is_accounted_across_requests() {
    let server = server(vec![Step::text("a b c"), Step::text("d e f g h")]).await;
    let client = openai(&server);
    let r1 = client
        .create(ask("one"), CancellationToken::new())
        .await
        .expect("r1");
    let (_, r2) = collect(client.create_stream(ask("two"), CancellationToken::new())).await;
    let r2 = r2.expect("r2");
    let total = r1.usage + r2.usage;
    assert!(total.prompt_tokens > 0);
    assert_eq!(client.total_usage(), total);
    assert_eq!(client.actual_usage(), total);
}

#[tokio::test]
async fn retries_on_429_honouring_retry_after_then_succeeds() {
    let err429 = Step::new(Action::Error {
        status: 429,
        message: Some("slow down".into()),
        retry_after: Some(0),
    });
    let err500 = Step::new(Action::Error {
        status: 500,
        message: None,
        retry_after: None,
    });
    let server = server(vec![err429, err500, Step::text("finally")]).await;
    let client = openai(&server);
    let result = client
        .create(ask("x"), CancellationToken::new())
        .await
        .expect("retried");
    assert_eq!(result.content.as_text(), Some("finally"));
    assert_eq!(server.request_count(), 3);
}

#[tokio::test]
async fn retry_exhaustion_reports_status_message_and_retry_after() {
    let err429 = Step::new(Action::Error {
        status: 429,
        message: Some("Rate limit reached".into()),
        retry_after: Some(3),
    });
    let server = server(vec![err429]).await;
    let client = openai_with(&server, |c| c.max_retries = Some(0));
    let err = client
        .create(ask("x"), CancellationToken::new())
        .await
        .unwrap_err();
    match &err {
        ModelError::Status {
            provider,
            status,
            message,
            retry_after,
        } => {
            assert_eq!((provider.as_str(), *status), ("openai", 429));
            assert!(message.contains("Rate limit reached"), "{message}");
            assert_eq!(*retry_after, Some(std::time::Duration::from_secs(3)));
        }
        other => panic!("expected a status error, got {other:?}"),
    }
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn streaming_retries_on_500_before_the_stream_starts() {
    let err500 = Step::new(Action::Error {
        status: 503,
        message: None,
        retry_after: Some(0),
    });
    let server = server(vec![err500, Step::text("recovered")]).await;
    let client = openai(&server);
    let (_, result) = collect(client.create_stream(ask("x"), CancellationToken::new())).await;
    assert_eq!(result.expect("ok").content.as_text(), Some("recovered"));
    assert_eq!(server.request_count(), 2);
}

#[tokio::test]
async fn timeout_is_an_error_naming_the_provider() {
    let server = server(vec![Step::text("late").delayed(5_000)]).await;
    let client = openai_with(&server, |c| {
        c.timeout = Some(0.2);
        c.max_retries = Some(0);
    });
    let err = client
        .create(ask("x"), CancellationToken::new())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ModelError::Timeout { ref provider, .. } if provider == "openai"),
        "{err:?}"
    );
}

#[tokio::test]
async fn cancellation_mid_stream_stops_the_stream() {
    let server = server(vec![
        Step::text("a b c d e f g h i j k l m n o p").chunk_delayed(300),
    ])
    .await;
    let client = openai(&server);
    let cancel = CancellationToken::new();
    let mut stream = client.create_stream(ask("x"), cancel.clone());
    use futures::StreamExt;
    let first = stream.next().await.expect("an item").expect("a chunk");
    assert!(matches!(first, StreamItem::Chunk(_)));
    cancel.cancel();
    let mut saw_cancelled = false;
    while let Some(item) = stream.next().await {
        match item {
            Err(ModelError::Cancelled { .. }) => saw_cancelled = true,
            Ok(StreamItem::Done(_)) => panic!("a cancelled stream must not complete"),
            _ => {}
        }
    }
    assert!(saw_cancelled);
}

#[tokio::test]
async fn cancellation_before_answer_aborts_create() {
    let server = server(vec![Step::text("late").delayed(5_000)]).await;
    let client = openai(&server);
    let cancel = CancellationToken::new();
    let c2 = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        c2.cancel();
    });
    let err = client.create(ask("x"), cancel).await.unwrap_err();
    assert!(matches!(err, ModelError::Cancelled { .. }), "{err:?}");
}

#[tokio::test]
async fn broken_stream_is_an_error_not_a_short_answer() {
    let server = server(vec![Step::new(Action::CutStream {
        text: "partial answer".into(),
    })])
    .await;
    let client = openai(&server);
    let (chunks, result) = collect(client.create_stream(ask("x"), CancellationToken::new())).await;
    assert!(!chunks.is_empty(), "some text arrived before the cut");
    assert!(
        matches!(result, Err(ModelError::StreamBroken { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn broken_non_streamed_body_is_an_error() {
    let server = server(vec![Step::new(Action::CutStream {
        text: "partial".into(),
    })])
    .await;
    let client = openai_with(&server, |c| c.max_retries = Some(0));
    let err = client
        .create(ask("x"), CancellationToken::new())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ModelError::Connection { .. } | ModelError::InvalidResponse { .. }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn bad_api_key_is_a_clear_auth_error() {
    let server = server(vec![Step::text("never")]).await;
    let client = openai_with(&server, |c| c.api_key = Some("sk-wrong".into()));
    let err = client
        .create(ask("x"), CancellationToken::new())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ModelError::Auth { status: 401, .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("openai") && text.contains("401") && text.contains("Incorrect API key"),
        "{text}"
    );
    assert_eq!(server.request_count(), 1, "auth errors are not retried");
}

#[tokio::test]
async fn token_counting_and_remaining_tokens() {
    let server = server(vec![]).await;
    let client = openai(&server);
    let short = vec![LlmMessage::user("hi", "user")];
    let long = vec![LlmMessage::user("hello world ".repeat(100), "user")];
    let n_short = client.count_tokens(&short, &[]);
    let n_long = client.count_tokens(&long, &[]);
    assert!(n_short > 0 && n_long > n_short + 150, "{n_short} {n_long}");
    assert!(client.count_tokens(&short, &[weather_tool()]) > n_short);
    assert_eq!(client.remaining_tokens(&short, &[]), 128_000 - n_short);
    assert_eq!(client.model_info().family, "gpt-4o");
}

#[tokio::test]
async fn capabilities_from_model_info_are_enforced_before_sending() {
    let server = server(vec![Step::text("never")]).await;
    let client = openai_with(&server, |c| {
        c.model = "tiny-local".into();
        c.model_info = Some(toolyard::models::ModelInfo {
            vision: false,
            function_calling: false,
            json_output: false,
            family: "unknown".into(),
            structured_output: false,
            multiple_system_messages: None,
            context_window: Some(4096),
        });
    });
    let err = client
        .create(
            ask("x").with_tools(vec![weather_tool()]),
            CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ModelError::Unsupported {
                feature: "function calling",
                ..
            }
        ),
        "{err:?}"
    );
    let (_, streamed) = collect(client.create_stream(
        ask("x").with_output(OutputFormat::JsonObject),
        CancellationToken::new(),
    ))
    .await;
    assert!(
        matches!(
            streamed,
            Err(ModelError::Unsupported {
                feature: "JSON output",
                ..
            })
        ),
        "{streamed:?}"
    );
    assert_eq!(server.request_count(), 0);
    assert_eq!(
        client.remaining_tokens(&[LlmMessage::user("hi", "u")], &[]),
        4096 - client.count_tokens(&[LlmMessage::user("hi", "u")], &[])
    );
}

#[tokio::test]
async fn images_are_sent_as_image_url_parts() {
    use toolyard::models::{Image, UserContent, UserMessage, UserPart};
    let server = server(vec![Step::text("a red pixel")]).await;
    let client = openai(&server);
    let png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
    let message = LlmMessage::UserMessage(UserMessage {
        content: UserContent::Parts(vec![
            UserPart::Text("What is this?".into()),
            UserPart::Image(Image::Base64 { data: png.into() }),
            UserPart::Image(Image::Url {
                url: "https://example.com/cat.jpg".into(),
            }),
        ]),
        source: "user".into(),
    });
    client
        .create(CreateRequest::new(vec![message]), CancellationToken::new())
        .await
        .expect("create");
    let content = &server.requests()[0].body["messages"][0]["content"];
    assert_eq!(content[0], json!({"type": "text", "text": "What is this?"}));
    assert_eq!(
        content[1],
        json!({"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{png}")}})
    );
    assert_eq!(
        content[2]["image_url"]["url"],
        "https://example.com/cat.jpg"
    );
}

#[tokio::test]
async fn a_stalled_stream_times_out() {
    let server = server(vec![Step::text("a b c").chunk_delayed(5_000)]).await;
    let client = openai_with(&server, |c| c.timeout = Some(0.3));
    let (chunks, result) = collect(client.create_stream(ask("x"), CancellationToken::new())).await;
    assert!(chunks.is_empty() || chunks.len() < 3, "{chunks:?}");
    assert!(
        matches!(result, Err(ModelError::Timeout { .. })),
        "{result:?}"
    );
}
