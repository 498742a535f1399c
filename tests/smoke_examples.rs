//! Smoke tests of the example MCP servers in `examples/`, driven by rmcp's client over stdio and
//! streamable HTTP (real child processes).

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use rmcp::ServiceExt;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, GetPromptRequestParams, ReadResourceRequestParams,
};
use rmcp::transport::{ConfigureCommandExt, StreamableHttpClientTransport, TokioChildProcess};
use serde_json::{Map, Value, json};

use common::{ChildGuard, example_bin, free_port, wait_for_port};

/// The JSON object `value` as tool arguments.
fn args(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("tool arguments must be an object, got {other}"),
    }
}

/// The text of the first content block of a tool result.
fn first_text(result: &CallToolResult) -> String {
    result
        .content
        .first()
        .and_then(|c| c.as_text())
        .map(|t| t.text.clone())
        .unwrap_or_else(|| panic!("no text content in {result:?}"))
}

/// Starts `example` over stdio as a child of rmcp's client and returns the client.
async fn stdio_client(example: &str) -> rmcp::service::RunningService<rmcp::RoleClient, ()> {
    let command = tokio::process::Command::new(example_bin(example)).configure(|cmd| {
        cmd.env("RUST_LOG", "warn");
    });
    let transport = TokioChildProcess::new(command).expect("spawn the example over stdio");
    ().serve(transport).await.expect("initialize over stdio")
}

#[tokio::test]
async fn demo_server_stdio_lists_and_calls_echo() {
    let client = stdio_client("demo_server").await;

    let tools = client.list_all_tools().await.expect("tools/list");
    let mut names: Vec<String> = tools.iter().map(|t| t.name.to_string()).collect();
    names.sort();
    assert_eq!(
        names,
        ["add", "crash", "echo", "hang", "sleep", "touch_tools"]
    );

    let echoed = client
        .call_tool(
            CallToolRequestParams::new("echo")
                .with_arguments(args(json!({"message": "hello toolyard"}))),
        )
        .await
        .expect("call echo");
    assert_eq!(first_text(&echoed), "hello toolyard");
    assert_ne!(echoed.is_error, Some(true));

    let sum = client
        .call_tool(CallToolRequestParams::new("add").with_arguments(args(json!({"a": 2, "b": 40}))))
        .await
        .expect("call add");
    assert_eq!(first_text(&sum), "42");

    client.cancel().await.expect("close the session");
}

#[tokio::test]
async fn demo_server_stdio_touch_tools_adds_a_tool() {
    let client = stdio_client("demo_server").await;
    let before = client.list_all_tools().await.expect("tools/list");
    assert!(!before.iter().any(|t| t.name == "touched"));

    let result = client
        .call_tool(CallToolRequestParams::new("touch_tools"))
        .await
        .expect("call touch_tools");
    assert_eq!(first_text(&result), "added tool touched");

    let after = client.list_all_tools().await.expect("tools/list");
    assert!(after.iter().any(|t| t.name == "touched"), "{after:?}");
    client.cancel().await.expect("close the session");
}

#[tokio::test]
async fn demo_server_stdio_resource_and_prompt() {
    let client = stdio_client("demo_server").await;

    let resources = client.list_all_resources().await.expect("resources/list");
    assert_eq!(resources.len(), 1);
    assert_eq!(resources[0].uri, "demo://readme");
    let read = client
        .read_resource(ReadResourceRequestParams::new("demo://readme"))
        .await
        .expect("resources/read");
    let text = serde_json::to_value(&read.contents).expect("serialize contents");
    assert!(
        text[0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("demo_server")),
        "{text}"
    );

    let prompt = client
        .get_prompt(
            GetPromptRequestParams::new("greet").with_arguments(args(json!({"name": "Ada"}))),
        )
        .await
        .expect("prompts/get");
    let messages = serde_json::to_value(&prompt.messages).expect("serialize messages");
    assert!(messages.to_string().contains("Ada"), "{messages}");
    client.cancel().await.expect("close the session");
}

#[tokio::test]
async fn demo_server_http_calls_echo() {
    let port = free_port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let _server = ChildGuard::spawn(
        std::process::Command::new(example_bin("demo_server"))
            .args(["--http", &addr.to_string()])
            .env("RUST_LOG", "warn"),
    );
    wait_for_port(addr, Duration::from_secs(30));

    let transport = StreamableHttpClientTransport::from_uri(format!("http://{addr}/mcp"));
    let client = ().serve(transport).await.expect("initialize over HTTP");
    let echoed = client
        .call_tool(
            CallToolRequestParams::new("echo")
                .with_arguments(args(json!({"message": "over http"}))),
        )
        .await
        .expect("call echo");
    assert_eq!(first_text(&echoed), "over http");
    client.cancel().await.expect("close the session");
}
