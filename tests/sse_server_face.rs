//! Our legacy SSE server face, driven by the Python SDK client, by our own SSE client and by raw
//! HTTP for the error statuses (404, 400, 413, 403) and the session lifecycle.

use std::{net::SocketAddr, path::PathBuf, pin::Pin, process::Stdio, time::Duration};

use axum::Router;
use eventsource_stream::{Event, EventStreamError, Eventsource};
use futures::{Stream, StreamExt};
use rmcp::{
    ServiceExt, handler::server::wrapper::Parameters, model::CallToolRequestParams, tool,
    tool_router, transport::Transport,
};
use tokio::{net::TcpListener, process::Command, time::timeout};
use tokio_util::sync::CancellationToken;
use toolyard::{
    mcp::sse_client::{ReconnectPolicy, SseClientConfig, SseClientTransport},
    server::sse::{SseServerConfig, sse_router},
};

const WAIT: Duration = Duration::from_secs(60);

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct GreetArgs {
    /// Who to greet.
    name: String,
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct EchoArgs {
    /// The text to send back.
    message: String,
}

/// The small rmcp server the face serves in these tests.
#[derive(Debug, Clone, Default)]
struct Greeter;

#[tool_router(server_handler)]
impl Greeter {
    #[tool(description = "Greet someone by name")]
    fn greet(&self, Parameters(GreetArgs { name }): Parameters<GreetArgs>) -> String {
        format!("Hello, {name}!")
    }

    #[tool(description = "Echo a message back")]
    fn echo(&self, Parameters(EchoArgs { message }): Parameters<EchoArgs>) -> String {
        message
    }
}

/// Serve the face (optionally nested under `prefix`) on 127.0.0.1:0; returns its base URL.
async fn serve(config: SseServerConfig, prefix: Option<&str>) -> String {
    let face = sse_router(|| Greeter, config);
    let app = match prefix {
        Some(prefix) => Router::new().nest(prefix, face),
        None => face,
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr: SocketAddr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

type Events = Pin<Box<dyn Stream<Item = Result<Event, EventStreamError<reqwest::Error>>> + Send>>;

/// Open `GET /sse` by hand; returns the event stream and the absolute message endpoint.
async fn open_raw_session(base: &str) -> (Events, String) {
    let response = reqwest::get(format!("{base}/sse")).await.expect("GET /sse");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().expect("ascii");
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    let mut events: Events = Box::pin(response.bytes_stream().eventsource());
    let first = timeout(WAIT, events.next())
        .await
        .expect("endpoint event timed out")
        .expect("stream ended")
        .expect("event");
    assert_eq!(first.event, "endpoint");
    assert!(
        first.data.starts_with("/messages?sessionId="),
        "{}",
        first.data
    );
    (events, format!("{base}{}", first.data))
}

async fn post(url: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
    reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("POST")
}

fn arguments(value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    match value {
        serde_json::Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{
    "protocolVersion":"2025-06-18","capabilities":{},
    "clientInfo":{"name":"raw-test","version":"0"}}}"#;

#[tokio::test]
async fn python_sdk_client_lists_and_calls_a_tool() {
    let python = std::env::var("TOOLYARD_PYTHON").unwrap_or_else(|_| {
        panic!("TOOLYARD_PYTHON is not set: run `eval \"$(bash .ci/setup)\"` first")
    });
    let base = serve(SseServerConfig::default(), None).await;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/py/sse_client_check.py");
    let mut command = Command::new(python);
    command
        .arg(script)
        .arg(format!("{base}/sse"))
        .arg("greet")
        .arg(r#"{"name": "py"}"#)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let output = timeout(WAIT, command.output())
        .await
        .expect("python client timed out")
        .expect("run python client");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "python client failed: {stderr}");
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("python client prints JSON");
    assert_eq!(report["tools"], serde_json::json!(["echo", "greet"]));
    assert_eq!(report["result"], serde_json::json!(["Hello, py!"]));
    assert_eq!(report["is_error"], false);
}

#[tokio::test]
async fn our_client_works_against_our_face_nested_under_a_prefix() {
    let base = serve(SseServerConfig::default(), Some("/legacy")).await;
    let transport = SseClientTransport::connect(SseClientConfig::new(format!("{base}/legacy/sse")))
        .await
        .expect("connect");
    let endpoint = transport.endpoint().expect("endpoint");
    assert_eq!(endpoint.path(), "/legacy/messages");
    let client = timeout(WAIT, ().serve(transport))
        .await
        .expect("initialize timed out")
        .expect("initialize");
    let tools = timeout(WAIT, client.list_all_tools())
        .await
        .expect("list timed out")
        .expect("list tools");
    let mut names: Vec<_> = tools.iter().map(|tool| tool.name.to_string()).collect();
    names.sort();
    assert_eq!(names, ["echo", "greet"]);
    let call = CallToolRequestParams::new("greet")
        .with_arguments(arguments(serde_json::json!({ "name": "rust" })));
    let result = timeout(WAIT, client.call_tool(call))
        .await
        .expect("call timed out")
        .expect("call greet");
    let value = serde_json::to_value(&result).expect("serialize");
    assert_eq!(value["content"][0]["text"], "Hello, rust!");
    timeout(WAIT, client.cancel())
        .await
        .expect("cancel timed out")
        .expect("cancel");
}

#[tokio::test]
async fn raw_post_is_accepted_and_the_reply_arrives_on_the_stream() {
    let base = serve(SseServerConfig::default(), None).await;
    let (mut events, endpoint) = open_raw_session(&base).await;
    let response = post(&endpoint, INITIALIZE).await;
    assert_eq!(response.status(), 202);
    let reply = timeout(WAIT, async {
        loop {
            let event = events.next().await.expect("stream open").expect("event");
            if event.event == "message" {
                return event;
            }
        }
    })
    .await
    .expect("no reply on the stream");
    let reply: serde_json::Value = serde_json::from_str(&reply.data).expect("reply is JSON");
    assert_eq!(reply["id"], 1);
    assert!(reply["result"]["serverInfo"].is_object(), "{reply}");
}

#[tokio::test]
async fn unknown_session_is_404() {
    let base = serve(SseServerConfig::default(), None).await;
    let response = post(&format!("{base}/messages?sessionId=nope"), INITIALIZE).await;
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn missing_session_id_is_400() {
    let base = serve(SseServerConfig::default(), None).await;
    let response = post(&format!("{base}/messages"), INITIALIZE).await;
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn malformed_json_is_400_with_a_parse_error() {
    let base = serve(SseServerConfig::default(), None).await;
    let (_events, endpoint) = open_raw_session(&base).await;
    let response = post(&endpoint, "{\"jsonrpc\": \"2.0\", oops").await;
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.expect("JSON error body");
    assert_eq!(body["jsonrpc"], "2.0");
    assert_eq!(body["id"], serde_json::Value::Null);
    assert_eq!(body["error"]["code"], -32700);
}

#[tokio::test]
async fn json_that_is_not_a_message_is_400_invalid_request() {
    let base = serve(SseServerConfig::default(), None).await;
    let (_events, endpoint) = open_raw_session(&base).await;
    let response = post(&endpoint, r#"{"hello": "world"}"#).await;
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.expect("JSON error body");
    assert_eq!(body["error"]["code"], -32600);
}

#[tokio::test]
async fn oversized_body_is_413() {
    let config = SseServerConfig {
        max_body_bytes: 1024,
        ..SseServerConfig::default()
    };
    let base = serve(config, None).await;
    let (_events, endpoint) = open_raw_session(&base).await;
    let padding = "x".repeat(4096);
    let body =
        format!(r#"{{"jsonrpc":"2.0","method":"notifications/pad","params":{{"p":"{padding}"}}}}"#);
    let response = post(&endpoint, body).await;
    assert_eq!(response.status(), 413);
    let response = post(&endpoint, INITIALIZE).await;
    assert_eq!(
        response.status(),
        202,
        "a body under the limit still passes"
    );
}

#[tokio::test]
async fn bad_origin_is_403_and_loopback_origin_passes() {
    let base = serve(SseServerConfig::default(), None).await;
    let http = reqwest::Client::new();
    let response = http
        .get(format!("{base}/sse"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 403);

    let (_events, endpoint) = open_raw_session(&base).await;
    let response = http
        .post(&endpoint)
        .header("origin", "https://evil.example")
        .body(INITIALIZE)
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 403);
    let response = http
        .post(&endpoint)
        .header("origin", "http://localhost:5173")
        .body(INITIALIZE)
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 202);
}

#[tokio::test]
async fn bad_host_is_403() {
    let base = serve(SseServerConfig::default(), None).await;
    let response = reqwest::Client::new()
        .get(format!("{base}/sse"))
        .header("host", "evil.example")
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn closing_the_sse_connection_removes_the_session() {
    let base = serve(SseServerConfig::default(), None).await;
    let (events, endpoint) = open_raw_session(&base).await;
    assert_eq!(post(&endpoint, INITIALIZE).await.status(), 202);
    drop(events);
    let gone = timeout(WAIT, async {
        loop {
            if post(&endpoint, INITIALIZE).await.status() == 404 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(gone.is_ok(), "the session outlived its SSE connection");
}

#[tokio::test]
async fn server_shutdown_ends_the_client_receive() {
    let shutdown = CancellationToken::new();
    let config = SseServerConfig {
        shutdown: shutdown.clone(),
        ..SseServerConfig::default()
    };
    let base = serve(config, None).await;
    let mut client_config = SseClientConfig::new(format!("{base}/sse"));
    client_config.reconnect = ReconnectPolicy {
        max_attempts: 2,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(20),
    };
    let mut transport = SseClientTransport::connect(client_config)
        .await
        .expect("connect");
    shutdown.cancel();
    let received = timeout(WAIT, Transport::<rmcp::RoleClient>::receive(&mut transport))
        .await
        .expect("receive hung after the stream closed");
    assert!(
        received.is_none(),
        "receive returned a message: {received:?}"
    );
    assert_eq!(transport.endpoint(), None);
    let refused = reqwest::get(format!("{base}/sse")).await.expect("GET");
    assert_eq!(refused.status(), 503, "no new sessions after shutdown");
}

#[tokio::test]
async fn idle_streams_carry_keep_alive_comments() {
    let config = SseServerConfig {
        keep_alive: Duration::from_millis(50),
        ..SseServerConfig::default()
    };
    let base = serve(config, None).await;
    let response = reqwest::get(format!("{base}/sse")).await.expect("GET /sse");
    let mut body = response.bytes_stream();
    let mut seen = String::new();
    let found = timeout(WAIT, async {
        while let Some(chunk) = body.next().await {
            seen.push_str(&String::from_utf8_lossy(&chunk.expect("chunk")));
            // A comment line starts with ':' (the endpoint event comes first).
            if seen.lines().any(|line| line.starts_with(':')) {
                return true;
            }
        }
        false
    })
    .await
    .expect("no keep-alive comment arrived");
    assert!(found, "stream ended without a keep-alive: {seen:?}");
    assert!(seen.starts_with("event: endpoint"), "{seen:?}");
}
