//! The scripted model server itself: script formats, rules, handoffs, stop words, schema-valid
//! arguments, exhaustion, and request recording.
#![allow(clippy::unwrap_used)]

mod common_models;

use common_models::*;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use toolyard::models::scripted::schema_args::example_for;
use toolyard::models::scripted::{Action, Matcher, Rule, Script, ScriptedServer, Step, WhenDone};
use toolyard::models::{ChatCompletionClient, CreateRequest, LlmMessage, ModelError, ToolSchema};

fn req(system: &str, text: &str) -> CreateRequest {
    CreateRequest::new(vec![
        LlmMessage::system(system),
        LlmMessage::user(text, "user"),
    ])
}

#[test]
fn json_and_toml_scripts_parse() {
    let json_script = Script::load(std::path::Path::new(&format!(
        "{}/tests/fixtures/models/scripts/demo.json",
        env!("CARGO_MANIFEST_DIR")
    )))
    .unwrap();
    assert_eq!(json_script.steps.len(), 7);
    assert_eq!(json_script.when_done, WhenDone::Error);
    assert!(!json_script.record);
    assert_eq!(json_script.steps[5].delay_ms, Some(5));
    assert!(matches!(
        json_script.steps[3].action,
        Action::Error {
            status: 429,
            retry_after: Some(1),
            ..
        }
    ));
    let toml_script = Script::from_toml(&fixture("scripts/demo.toml")).unwrap();
    assert_eq!(toml_script.rules.len(), 2);
    assert!(matches!(
        toml_script.steps[1].action,
        Action::StopAfter { turns: 2, .. }
    ));
    assert!(Script::from_json("{\"steps\": [{\"kind\": \"nope\"}]}").is_err());
}

#[tokio::test]
async fn toml_demo_script_drives_a_tool_loop_and_stop_word() {
    let script = Script::from_toml(&fixture("scripts/demo.toml")).unwrap();
    let server = ScriptedServer::start(script).await.unwrap();
    let client = openai(&server);
    let tools = vec![weather_tool()];
    let first = client
        .create(
            req("assistant", "weather?").with_tools(tools.clone()),
            CancellationToken::new(),
        )
        .await
        .unwrap();
    let call = first.content.as_calls().unwrap()[0].clone();
    assert_schema_valid(&weather_tool(), &call.arguments);
    let mut messages = vec![
        LlmMessage::user("weather?", "user"),
        first.to_message("assistant"),
    ];
    messages.push(LlmMessage::tool_results(vec![
        toolyard::models::FunctionExecutionResult {
            content: "sunny".into(),
            name: call.name.clone(),
            call_id: call.id.clone(),
            is_error: None,
        },
    ]));
    let after_tool = client
        .create(
            CreateRequest::new(messages).with_tools(tools),
            CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(after_tool.content.as_text(), Some("The weather is fine."));
    let t1 = client
        .create(req("assistant", "more"), CancellationToken::new())
        .await
        .unwrap();
    let t2 = client
        .create(req("assistant", "more"), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(t1.content.as_text(), Some("Anything else?"));
    assert_eq!(t2.content.as_text(), Some("Anything else? TERMINATE"));
    let handoff = client
        .create(req("You are the planner", "plan"), CancellationToken::new())
        .await
        .unwrap();
    let calls = handoff.content.as_calls().unwrap();
    assert_eq!(
        (calls[0].name.as_str(), calls[0].arguments.as_str()),
        ("transfer_to_writer", "{}")
    );
}

#[tokio::test]
async fn exhausted_script_answers_500_and_repeat_last_repeats() {
    let script = Script {
        when_done: WhenDone::Error,
        ..Script::steps(vec![Step::text("only")])
    };
    let server = ScriptedServer::start(script).await.unwrap();
    let client = openai_with(&server, |c| c.max_retries = Some(0));
    client
        .create(req("s", "a"), CancellationToken::new())
        .await
        .unwrap();
    let err = client
        .create(req("s", "b"), CancellationToken::new())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ModelError::Status { status: 500, ref message, .. } if message.contains("exhausted")),
        "{err:?}"
    );
    let script = Script {
        when_done: WhenDone::RepeatLast,
        ..Script::steps(vec![Step::text("a"), Step::text("b")])
    };
    let server = ScriptedServer::start(script).await.unwrap();
    let client = openai(&server);
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(
            client
                .create(req("s", "x"), CancellationToken::new())
                .await
                .unwrap()
                .content
                .as_text()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(seen, ["a", "b", "b", "b"]);
}

#[tokio::test]
async fn rules_match_on_model_and_tool_offered_and_echo() {
    let script = Script {
        rules: vec![
            Rule::new(
                Matcher {
                    model: Some("other-model".into()),
                    ..Matcher::default()
                },
                Step::text("for other"),
            ),
            Rule::new(
                Matcher {
                    tool_offered: Some("get_time".into()),
                    ..Matcher::default()
                },
                Step::new(Action::CallTool {
                    name: "get_time".into(),
                    arguments: None,
                }),
            ),
        ],
        ..Script::steps(vec![Step::new(Action::Echo)])
    };
    let server = ScriptedServer::start(script).await.unwrap();
    let client = openai(&server);
    let echoed = client
        .create(req("s", "echo me"), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(echoed.content.as_text(), Some("echo me"));
    let timed = client
        .create(
            req("s", "t").with_tools(vec![weather_tool(), time_tool()]),
            CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(timed.content.as_calls().unwrap()[0].name, "get_time");
    assert_schema_valid(
        &time_tool(),
        &timed.content.as_calls().unwrap()[0].arguments,
    );
    let other = openai_with(&server, |c| {
        c.model = "other-model".into();
        c.model_info = Some(toolyard::models::ModelInfo::permissive());
    });
    assert_eq!(
        other
            .create(req("s", "x"), CancellationToken::new())
            .await
            .unwrap()
            .content
            .as_text(),
        Some("for other")
    );
}

#[tokio::test]
async fn delayed_replies_are_served_concurrently() {
    let server = ScriptedServer::start(Script::steps(vec![Step::text("slow").delayed(1_000)]))
        .await
        .unwrap();
    let client = openai(&server);
    let calls = (0..5).map(|i| client.create(req("s", &i.to_string()), CancellationToken::new()));
    let results = futures::future::join_all(calls).await;
    assert!(results.iter().all(|r| r.is_ok()));
    assert_eq!(server.request_count(), 5);
    assert_eq!(server.requests().len(), 5);
    assert_eq!(
        server.max_in_flight(),
        5,
        "the five delayed replies overlapped"
    );
}

#[test]
fn schema_examples_validate() {
    let schemas = [
        json!({"type": "object", "properties": {"a": {"type": "string", "format": "email"}, "b": {"type": "number", "minimum": 3.5}, "c": {"type": ["integer", "null"], "exclusiveMinimum": 0}}, "required": ["a", "b", "c"]}),
        json!({"type": "object", "$defs": {"P": {"type": "object", "properties": {"x": {"const": 5}}, "required": ["x"]}}, "properties": {"p": {"$ref": "#/$defs/P"}, "list": {"type": "array", "items": {"$ref": "#/$defs/P"}, "minItems": 2}}, "required": ["p", "list"]}),
        json!({"type": "object", "properties": {"choice": {"anyOf": [{"type": "boolean"}, {"type": "string"}]}, "short": {"type": "string", "maxLength": 3}, "long": {"type": "string", "minLength": 12}}}),
        json!({"type": "object", "properties": {}}),
    ];
    for schema in schemas {
        let value = example_for(&schema);
        let tool = ToolSchema::new("t", "d", schema.clone());
        assert_schema_valid(&tool, &value.to_string());
    }
}

#[tokio::test]
async fn rule_sequences_keep_their_own_cursor_per_agent() {
    let toml = r#"
        [[rules]]
        when = { system_contains = "alice" }
        steps = [{ kind = "text", text = "alice 1" }, { kind = "stop_after", turns = 2, text = "alice", word = "DONE" }]

        [[rules]]
        when = { system_contains = "bob" }
        steps = [{ kind = "text", text = "bob 1" }, { kind = "handoff", target = "alice" }]
    "#;
    let server = ScriptedServer::start(Script::from_toml(toml).unwrap())
        .await
        .unwrap();
    let client = openai(&server);
    let mut said = Vec::new();
    for who in ["alice", "bob", "alice", "bob", "alice"] {
        let r = client
            .create(
                req(&format!("you are {who}"), "go"),
                CancellationToken::new(),
            )
            .await
            .unwrap();
        said.push(match r.content.as_text() {
            Some(t) => t.to_string(),
            None => r.content.as_calls().unwrap()[0].name.clone(),
        });
    }
    assert_eq!(
        said,
        [
            "alice 1",
            "bob 1",
            "alice",
            "transfer_to_alice",
            "alice DONE"
        ]
    );
}
