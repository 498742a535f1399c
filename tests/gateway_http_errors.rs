//! Bad input at the HTTP faces: malformed JSON-RPC, oversized bodies, a bad Origin, an unknown
//! session: each gets a clear error status, nothing hangs, and the gateway keeps serving.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::example_bin;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use toolyard::config::Config;
use toolyard::gateway::Gateway;
use toolyard::server::GatewayServer;
use toolyard::server::http::{HttpConfig, router};
use toolyard::workbench::Workbench;

struct App {
    base: String,
    gateway: Arc<Gateway>,
    shutdown: CancellationToken,
}

impl Drop for App {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn app(max_body_bytes: usize) -> App {
    let toml = format!(
        "[servers.demo]\ncommand = \"{}\"\n",
        example_bin("demo_server").display()
    );
    let config = Config::parse(&toml, Path::new("/tmp/servers.toml"), &|_| None).expect("config");
    let shutdown = CancellationToken::new();
    let gateway = Gateway::from_config(&config, shutdown.clone());
    assert!(gateway.wait_ready(Duration::from_secs(30)).await);
    let server = GatewayServer::new(Arc::clone(&gateway) as Arc<dyn Workbench>, "toolyard");
    let health = Arc::clone(&gateway);
    let app = router(
        server,
        Arc::new(move || health.statuses()),
        HttpConfig {
            max_body_bytes,
            shutdown: shutdown.clone(),
            ..HttpConfig::default()
        },
    );
    let base = format!(
        "http://{}",
        common::serve_until(app, shutdown.clone()).await
    );
    App {
        base,
        gateway,
        shutdown,
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

fn post(base: &str) -> reqwest::RequestBuilder {
    client()
        .post(format!("{base}/mcp"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
}

fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "raw-test", "version": "1"}}})
}

/// A JSON-RPC message from a JSON or SSE response body.
fn jsonrpc_body(text: &str) -> Value {
    if let Ok(v) = serde_json::from_str(text) {
        return v;
    }
    text.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str(d.trim()).ok())
        .next()
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn malformed_json_rpc_gets_a_parse_error_not_a_hang() {
    let app = app(4 * 1024 * 1024).await;
    let response = post(&app.base)
        .body("{this is not json")
        .send()
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = jsonrpc_body(&response.text().await.expect("body"));
    assert_eq!(body["error"]["code"], -32700, "{body}");

    let response = post(&app.base)
        .body(r#"{"jsonrpc":"2.0","id":1}"#)
        .send()
        .await
        .expect("response");
    assert!(response.status().is_client_error(), "{}", response.status());
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413() {
    let app = app(1024).await;
    let mut big = initialize();
    big["params"]["clientInfo"]["name"] = json!("x".repeat(4096));
    let response = post(&app.base).json(&big).send().await.expect("response");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Legacy SSE: open a session, then post too much to its endpoint.
    let mut sse = client()
        .get(format!("{}/sse", app.base))
        .send()
        .await
        .expect("sse");
    let mut seen = String::new();
    while !seen.contains("sessionId=") || !seen.contains('\n') {
        let chunk = sse.chunk().await.expect("chunk").expect("stream open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    let endpoint = seen
        .lines()
        .find_map(|l| l.strip_prefix("data:"))
        .expect("endpoint event")
        .trim()
        .to_string();
    let response = client()
        .post(format!("{}{endpoint}", app.base))
        .header("content-type", "application/json")
        .body("y".repeat(4096))
        .send()
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Small requests still work.
    let response = post(&app.base)
        .json(&initialize())
        .send()
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_bad_origin_is_forbidden_on_every_route() {
    let app = app(4 * 1024 * 1024).await;
    for (method, path) in [("POST", "/mcp"), ("GET", "/sse"), ("GET", "/healthz")] {
        let request = match method {
            "POST" => post(&app.base).json(&initialize()),
            _ => client().get(format!("{}{path}", app.base)),
        };
        let response = request
            .header("origin", "http://evil.example")
            .send()
            .await
            .expect("response");
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{method} {path}");
    }
    let ok = post(&app.base)
        .header("origin", "http://localhost:3000")
        .json(&initialize())
        .send()
        .await
        .expect("response");
    assert_eq!(ok.status(), StatusCode::OK, "a loopback origin is fine");
}

#[tokio::test]
async fn an_unknown_session_id_gets_404() {
    let app = app(4 * 1024 * 1024).await;
    let response = post(&app.base)
        .header("mcp-session-id", "no-such-session")
        .header("mcp-protocol-version", "2025-11-25")
        .json(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}))
        .send()
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = client()
        .post(format!("{}/messages?sessionId=no-such-session", app.base))
        .json(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}))
        .send()
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn healthz_reports_upstreams_and_the_gateway_keeps_serving_after_bad_input() {
    let app = app(1024).await;
    let _ = post(&app.base)
        .body("garbage")
        .send()
        .await
        .expect("response");
    let health: Value = client()
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .expect("response")
        .json()
        .await
        .expect("json");
    assert_eq!(health["status"], "ok");
    assert_eq!(health["servers"][0]["name"], "demo");
    assert_eq!(health["servers"][0]["state"], "ready");
    let tools = app.gateway.list_tools().await.expect("tools");
    assert!(tools.iter().any(|t| t.name() == "demo__echo"));
}
