//! Our legacy SSE client against real SSE servers: the npm `server-everything` and a Python
//! FastMCP server (tests/py/fastmcp_sse_server.py).

use std::{
    path::PathBuf,
    process::Stdio,
    sync::{Arc, Mutex},
    time::Duration,
};

use rmcp::{ServiceExt, model::CallToolRequestParams};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
    time::timeout,
};
use toolyard::mcp::sse_client::{ReconnectPolicy, SseClientConfig, SseClientTransport};

const WAIT: Duration = Duration::from_secs(60);

fn tool_env(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: run `eval \"$(bash .ci/setup)\"` first to install the test peers")
    })
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

/// Read the child's stream line by line until one contains `needle`; returns that line.
async fn wait_for_line<R>(reader: R, needle: &str) -> String
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
{
    let mut lines = BufReader::new(reader).lines();
    let found = timeout(WAIT, async {
        while let Some(line) = lines.next_line().await.expect("read child output") {
            if line.contains(needle) {
                return line;
            }
        }
        panic!("child exited before printing {needle:?}");
    })
    .await
    .expect("child did not start in time");
    // Keep draining so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    found
}

async fn start_everything() -> (Child, String) {
    let bin = PathBuf::from(tool_env("TOOLYARD_NPM_BIN")).join("mcp-server-everything");
    let port = free_port();
    let mut child = Command::new(bin)
        .arg("sse")
        .env("PORT", port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn mcp-server-everything");
    let stderr = child.stderr.take().expect("stderr");
    wait_for_line(stderr, "Server is running").await;
    (child, format!("http://127.0.0.1:{port}/sse"))
}

/// Start the FastMCP SSE server on `port` (0: a free one); returns it and its port.
async fn start_fastmcp_on(port: u16) -> (Child, u16) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/py/fastmcp_sse_server.py");
    let mut child = Command::new(tool_env("TOOLYARD_PYTHON"))
        .arg(script)
        .arg(port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the FastMCP server");
    let stdout = child.stdout.take().expect("stdout");
    let port = wait_for_line(stdout, "").await;
    (
        child,
        port.trim().parse().expect("the script prints its port"),
    )
}

async fn start_fastmcp() -> (Child, String) {
    let (child, port) = start_fastmcp_on(0).await;
    (child, format!("http://127.0.0.1:{port}/sse"))
}

fn first_text(result: &rmcp::model::CallToolResult) -> String {
    let value = serde_json::to_value(result).expect("result serializes");
    value["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn echo_call(message: &str) -> CallToolRequestParams {
    let args = serde_json::json!({ "message": message });
    let serde_json::Value::Object(args) = args else {
        unreachable!("json! object literal")
    };
    CallToolRequestParams::new("echo").with_arguments(args)
}

/// Connect, list tools, call `echo`; returns the tool names and the echo text.
async fn list_and_echo(
    url: &str,
    raw: Arc<Mutex<Vec<serde_json::Value>>>,
) -> (Vec<String>, String) {
    let mut config = SseClientConfig::new(url);
    config.raw_tap = Some(Arc::new(move |value: &serde_json::Value| {
        raw.lock().expect("tap lock").push(value.clone());
    }));
    let transport = timeout(WAIT, SseClientTransport::connect(config))
        .await
        .expect("connect timed out")
        .expect("connect");
    let client = timeout(WAIT, ().serve(transport))
        .await
        .expect("initialize timed out")
        .expect("initialize");
    let tools = timeout(WAIT, client.list_all_tools())
        .await
        .expect("list_tools timed out")
        .expect("list_tools");
    let result = timeout(WAIT, client.call_tool(echo_call("hello sse")))
        .await
        .expect("call timed out")
        .expect("call echo");
    timeout(WAIT, client.cancel())
        .await
        .expect("cancel timed out")
        .expect("cancel");
    let names = tools.iter().map(|tool| tool.name.to_string()).collect();
    (names, first_text(&result))
}

#[tokio::test]
async fn client_lists_and_calls_echo_on_server_everything() {
    let (_child, url) = start_everything().await;
    let raw = Arc::new(Mutex::new(Vec::new()));
    let (names, text) = list_and_echo(&url, raw.clone()).await;
    assert!(names.iter().any(|name| name == "echo"), "tools: {names:?}");
    assert!(
        names.len() > 3,
        "server-everything has many tools: {names:?}"
    );
    assert_eq!(text, "Echo: hello sse");
    let raw = raw.lock().expect("tap lock");
    let saw_tool_list = raw.iter().any(|value| value["result"]["tools"].is_array());
    assert!(saw_tool_list, "the raw tap saw the tools/list response");
}

#[tokio::test]
async fn client_lists_and_calls_echo_on_python_fastmcp() {
    let (_child, url) = start_fastmcp().await;
    let raw = Arc::new(Mutex::new(Vec::new()));
    let (mut names, text) = list_and_echo(&url, raw.clone()).await;
    names.sort();
    assert_eq!(names, ["add", "echo"]);
    assert_eq!(text, "Echo: hello sse");
    assert!(!raw.lock().expect("tap lock").is_empty());
}

#[tokio::test]
async fn client_reconnects_and_reinitializes_after_the_python_server_restarts() {
    let (mut child, port) = start_fastmcp_on(0).await;
    let mut config = SseClientConfig::new(format!("http://127.0.0.1:{port}/sse"));
    config.reconnect = ReconnectPolicy {
        max_attempts: 40,
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(500),
    };
    let transport = SseClientTransport::connect(config).await.expect("connect");
    let client = timeout(WAIT, ().serve(transport))
        .await
        .expect("initialize timed out")
        .expect("initialize");
    let before = timeout(WAIT, client.call_tool(echo_call("before")))
        .await
        .expect("call timed out")
        .expect("call before the restart");
    assert_eq!(first_text(&before), "Echo: before");

    child.kill().await.expect("kill the server");
    let (_restarted, same_port) = start_fastmcp_on(port).await;
    assert_eq!(same_port, port);

    // Calls fail while the transport notices the drop and reconnects; then they must succeed on
    // the new server session, which only works if the handshake was replayed.
    let after = timeout(WAIT, async {
        loop {
            match client.call_tool(echo_call("after")).await {
                Ok(result) if result.is_error != Some(true) => return result,
                Ok(result) => tracing::debug!(?result, "tool error while reconnecting"),
                Err(error) => tracing::debug!(%error, "call failed while reconnecting"),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("no successful call after the server restarted");
    assert_eq!(first_text(&after), "Echo: after");
    timeout(WAIT, client.cancel())
        .await
        .expect("cancel timed out")
        .expect("cancel");
}
