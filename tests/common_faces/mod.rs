//! Shared pieces of the server-face tests: a raw HTTP client for `/mcp` (sessions, calls) and
//! for the legacy SSE face (a session's event stream and its answers), speaking to a gateway
//! whose upstream is the demo server (`demo__*` tools).
//!
//! Use from a test file with `mod common_faces;`.
#![allow(dead_code)] // each test binary uses a different subset of these helpers

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use toolyard::config::Config;
use toolyard::gateway::Gateway;
use toolyard::server::WorkbenchServer;
use toolyard::server::http::{HttpConfig, router};
use toolyard::workbench::Workbench;

/// toolyard's HTTP app over a gateway whose upstream is the demo server, listening on a free
/// port until dropped.
pub struct App {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    pub gateway: Arc<Gateway>,
    shutdown: CancellationToken,
}

impl Drop for App {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Start [`App`] with `config` (its `shutdown` is replaced by the app's own).
pub async fn demo_app(config: HttpConfig) -> App {
    let toml = format!(
        "[servers.demo]\ncommand = \"{}\"\n",
        crate::common::example_bin("demo_server").display()
    );
    gateway_app(&toml, config).await
}

/// The HTTP faces over a gateway of the servers in `toml`, once they are ready.
pub async fn gateway_app(toml: &str, config: HttpConfig) -> App {
    let servers = Config::parse(toml, Path::new("/tmp/servers.toml"), &|_| None).expect("config");
    let shutdown = CancellationToken::new();
    let gateway = Gateway::from_config(&servers, shutdown.clone());
    assert!(gateway.wait_ready(Duration::from_secs(30)).await);
    let server = WorkbenchServer::new(Arc::clone(&gateway) as Arc<dyn Workbench>, "toolyard");
    let health = Arc::clone(&gateway);
    let app = router(
        server,
        Arc::new(move || health.statuses()),
        HttpConfig {
            shutdown: shutdown.clone(),
            ..config
        },
    );
    let base = format!(
        "http://{}",
        crate::common::serve_until(app, shutdown.clone()).await
    );
    App {
        base,
        gateway,
        shutdown,
    }
}

/// A client that gives up after 10 s (no test waits on a hang).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

/// A POST to `{base}/mcp` with the headers streamable HTTP asks for.
pub fn post(base: &str) -> reqwest::RequestBuilder {
    client()
        .post(format!("{base}/mcp"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
}

/// A 2025-11-25 `initialize` request (id 1).
pub fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "raw-test", "version": "1"}}})
}

/// A JSON-RPC message from a JSON or SSE response body.
pub fn jsonrpc_body(text: &str) -> Value {
    if let Ok(v) = serde_json::from_str(text) {
        return v;
    }
    text.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str(d.trim()).ok())
        .next()
        .unwrap_or(Value::Null)
}

/// An SSE event stream (a `/sse` session or a `/mcp` POST response).
pub type Events = std::pin::Pin<
    Box<
        dyn futures::Stream<
                Item = Result<
                    eventsource_stream::Event,
                    eventsource_stream::EventStreamError<reqwest::Error>,
                >,
            > + Send,
    >,
>;

/// Initialize a streamable HTTP session; returns its id.
pub async fn open_mcp_session(base: &str) -> String {
    let response = post(base)
        .json(&initialize())
        .send()
        .await
        .expect("initialize");
    assert_eq!(response.status(), StatusCode::OK);
    let session = response.headers()["mcp-session-id"]
        .to_str()
        .expect("ascii")
        .to_string();
    let _ = response.text().await;
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let response = in_session(base, &session)
        .json(&initialized)
        .send()
        .await
        .expect("initialized");
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    session
}

/// A POST to `/mcp` in `session`.
pub fn in_session(base: &str, session: &str) -> reqwest::RequestBuilder {
    post(base)
        .header("mcp-session-id", session)
        .header("mcp-protocol-version", "2025-11-25")
}

/// Open a legacy SSE session (initialized); returns its events and its message endpoint.
pub async fn open_sse_session(base: &str) -> (Events, String) {
    use eventsource_stream::Eventsource;
    use futures::StreamExt;
    let response = client()
        .get(format!("{base}/sse"))
        .timeout(Duration::from_secs(120))
        .send()
        .await
        .expect("GET /sse");
    assert_eq!(response.status(), StatusCode::OK);
    let mut events: Events = Box::pin(response.bytes_stream().eventsource());
    let endpoint = events
        .next()
        .await
        .expect("endpoint event")
        .expect("event")
        .data;
    let endpoint = format!("{base}{endpoint}");
    let posted = client()
        .post(&endpoint)
        .json(&initialize())
        .send()
        .await
        .expect("initialize");
    assert_eq!(posted.status(), StatusCode::ACCEPTED);
    assert_eq!(sse_reply(&mut events, 1).await["id"], 1);
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let posted = client()
        .post(&endpoint)
        .json(&initialized)
        .send()
        .await
        .expect("initialized");
    assert_eq!(posted.status(), StatusCode::ACCEPTED);
    (events, endpoint)
}

/// The next JSON-RPC message on an event stream (requests, notifications and answers alike).
pub async fn next_message(events: &mut Events) -> Value {
    use futures::StreamExt;
    loop {
        let event = tokio::time::timeout(Duration::from_secs(60), events.next())
            .await
            .expect("no message on the event stream")
            .expect("stream open")
            .expect("event");
        if event.data.trim().is_empty() || event.event == "endpoint" {
            continue; // a priming event, or the SSE face's endpoint
        }
        return serde_json::from_str(&event.data).expect("JSON message");
    }
}

/// The next message on an SSE session's stream that answers `id`, skipping notifications;
/// an earlier answer to another id fails the test.
pub async fn sse_reply(events: &mut Events, id: i64) -> Value {
    loop {
        let message = next_message(events).await;
        if message.get("method").is_some() {
            continue;
        }
        assert_eq!(message["id"], id, "an answer to another request: {message}");
        return message;
    }
}

/// POST `message` in `session` and return the response's event stream.
pub async fn call_stream(base: &str, session: &str, message: &Value) -> Events {
    use eventsource_stream::Eventsource;
    let response = in_session(base, session)
        .timeout(Duration::from_secs(120))
        .json(message)
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::OK);
    Box::pin(response.bytes_stream().eventsource())
}

/// A good call that must be answered while bad input arrives next to it.
pub async fn echo_in_session(base: &str, session: &str, id: i64) {
    let call = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": "demo__echo", "arguments": {"message": "still here"}}});
    let response = in_session(base, session)
        .json(&call)
        .send()
        .await
        .expect("echo");
    assert_eq!(response.status(), StatusCode::OK);
    let reply = jsonrpc_body(&response.text().await.expect("body"));
    assert_eq!(reply["id"], id, "{reply}");
    assert_eq!(
        reply["result"]["content"][0]["text"], "still here",
        "{reply}"
    );
}
