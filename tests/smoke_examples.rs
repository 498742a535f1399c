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

#[tokio::test]
async fn fixture_server_stdio_serves_conformance_tools() {
    let command = tokio::process::Command::new(example_bin("fixture_server")).configure(|cmd| {
        cmd.arg("--stdio").env("RUST_LOG", "warn");
    });
    let transport = TokioChildProcess::new(command).expect("spawn fixture_server --stdio");
    let client = ().serve(transport).await.expect("initialize over stdio");

    let tools = client.list_all_tools().await.expect("tools/list");
    for name in [
        "test_simple_text",
        "test_sampling",
        "json_schema_2020_12_tool",
    ] {
        assert!(tools.iter().any(|t| t.name == name), "{name} missing");
    }
    let schema = tools
        .iter()
        .find(|t| t.name == "json_schema_2020_12_tool")
        .map(|t| Value::Object((*t.input_schema).clone()))
        .expect("json_schema_2020_12_tool listed");
    assert_eq!(schema["$defs"]["address"]["$anchor"], "addressDef");

    let text = client
        .call_tool(CallToolRequestParams::new("test_simple_text"))
        .await
        .expect("call test_simple_text");
    assert_eq!(
        first_text(&text),
        "This is a simple text response for testing."
    );
    let failing = client
        .call_tool(CallToolRequestParams::new("test_error_handling"))
        .await
        .expect("call test_error_handling");
    assert_eq!(failing.is_error, Some(true));
    client.cancel().await.expect("close the session");
}

/// A Python `mcp` SDK client that calls `echo` at the URL in argv[1] with connect mode argv[2].
const PYTHON_ECHO_CLIENT: &str = r#"
import sys, anyio
from mcp import Client

async def main(url, mode):
    async with Client(url, mode=mode) as client:
        result = await client.call_tool("echo", {"message": f"python {mode}"})
        print(result.content[0].text)

anyio.run(main, sys.argv[1], sys.argv[2])
"#;

#[test]
fn demo_server_http_answers_the_python_sdk_in_legacy_and_auto_modes() {
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let _server = ChildGuard::spawn(
        std::process::Command::new(example_bin("demo_server"))
            .args(["--http", &addr.to_string()])
            .env("RUST_LOG", "warn"),
    );
    wait_for_port(addr, Duration::from_secs(30));
    for mode in ["legacy", "auto"] {
        let output = std::process::Command::new(common::python())
            .args([
                "-c",
                PYTHON_ECHO_CLIENT,
                &format!("http://{addr}/mcp"),
                mode,
            ])
            .output()
            .expect("run the Python client");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "python client ({mode}) failed: {}\n{stdout}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(stdout.trim(), format!("python {mode}"));
    }
}

#[test]
fn inspector_cli_lists_demo_server_tools() {
    let output = common::npm_command("mcp-inspector")
        .arg("--cli")
        .arg(example_bin("demo_server"))
        .args(["--method", "tools/list"])
        .env("RUST_LOG", "warn")
        .output()
        .expect("run the Inspector CLI");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "inspector failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    let listed: Value = serde_json::from_str(&stdout).expect("the Inspector prints JSON");
    let names: Vec<&str> = listed["tools"]
        .as_array()
        .expect("a tools array")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(
        names.contains(&"echo") && names.contains(&"touch_tools"),
        "{names:?}"
    );
}
