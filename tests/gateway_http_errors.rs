//! Bad input at the HTTP faces: malformed JSON-RPC, oversized bodies, a bad Origin, an unknown
//! session: each gets a clear error status, nothing hangs, and the gateway keeps serving. Text
//! that is not JSON, JSON that is not a message, batches, a `tools/call` with a number as name
//! and DELETE get the same answer on `/mcp` and on `/messages`, next to a caller that is served.

mod common;
mod common_faces;

use common_faces::{
    App, client, demo_app, echo_in_session, in_session, initialize, jsonrpc_body, open_mcp_session,
    open_sse_session, post, sse_reply,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use toolyard::server::http::HttpConfig;
use toolyard::workbench::Workbench;

async fn app(max_body_bytes: usize) -> App {
    demo_app(HttpConfig {
        max_body_bytes,
        ..HttpConfig::default()
    })
    .await
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

// ---- The same clear answers on both HTTP faces (streamable HTTP and legacy SSE) ----

/// Texts that are not JSON: invalid UTF-8, a number out of range, 100,000-deep nesting, a lone
/// surrogate.
fn not_json() -> Vec<(&'static str, Vec<u8>)> {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    vec![
        (
            "invalid UTF-8",
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\xff\"}".to_vec(),
        ),
        (
            "1e400",
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"demo__add","arguments":{"a":1e400,"b":1}}}"#.to_vec(),
        ),
        ("deep nesting", deep.into_bytes()),
        (
            "lone surrogate",
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"demo__echo","arguments":{"message":"\ud800"}}}"#.to_vec(),
        ),
    ]
}

/// JSON that is not a JSON-RPC message.
fn not_a_message() -> Vec<(&'static str, &'static str)> {
    vec![
        ("a number", "42"),
        ("jsonrpc 1.0", r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#),
        (
            "an object as id",
            r#"{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}"#,
        ),
        (
            "params as an array",
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":[]}"#,
        ),
    ]
}

/// A status and the JSON-RPC error code of a refusal.
async fn refusal(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let text = response.text().await.expect("body");
    assert!(
        content_type.starts_with("application/json"),
        "{status} {content_type}: {text}"
    );
    let body: Value = serde_json::from_str(&text).expect("a JSON body");
    assert_eq!(body["jsonrpc"], "2.0", "{body}");
    (status, body["error"]["code"].clone())
}

/// Post each bad body to `/mcp` (outside and inside a session) and to `/messages`, and expect
/// 400 with `code`, while a good caller on another session keeps being answered.
async fn expect_refused_everywhere(app: &App, bodies: Vec<(&str, Vec<u8>)>, code: i64) {
    let session = open_mcp_session(&app.base).await;
    let other = open_mcp_session(&app.base).await;
    let (mut events, endpoint) = open_sse_session(&app.base).await;
    let bad = async {
        for (what, body) in &bodies {
            let outside = post(&app.base)
                .body(body.clone())
                .send()
                .await
                .expect("post");
            assert_eq!(
                refusal(outside).await,
                (StatusCode::BAD_REQUEST, json!(code)),
                "/mcp: {what}"
            );
            let inside = in_session(&app.base, &session)
                .body(body.clone())
                .send()
                .await
                .expect("post");
            assert_eq!(
                refusal(inside).await,
                (StatusCode::BAD_REQUEST, json!(code)),
                "/mcp in a session: {what}"
            );
            let legacy = client()
                .post(&endpoint)
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await
                .expect("post");
            assert_eq!(
                refusal(legacy).await,
                (StatusCode::BAD_REQUEST, json!(code)),
                "/messages: {what}"
            );
        }
    };
    let good = async {
        for id in 10..13 {
            echo_in_session(&app.base, &other, id).await;
        }
    };
    tokio::join!(bad, good);
    // Every session is still usable after the refusals.
    echo_in_session(&app.base, &session, 20).await;
    let ping = json!({"jsonrpc": "2.0", "id": 21, "method": "ping"});
    let posted = client()
        .post(&endpoint)
        .json(&ping)
        .send()
        .await
        .expect("ping");
    assert_eq!(posted.status(), StatusCode::ACCEPTED);
    assert!(sse_reply(&mut events, 21).await["result"].is_object());
}

#[tokio::test]
async fn text_that_is_not_json_gets_400_and_a_parse_error_on_both_faces() {
    let app = app(4 * 1024 * 1024).await;
    expect_refused_everywhere(&app, not_json(), -32700).await;
}

#[tokio::test]
async fn json_that_is_not_a_message_gets_400_and_invalid_request_on_both_faces() {
    let app = app(4 * 1024 * 1024).await;
    let bodies = not_a_message()
        .into_iter()
        .map(|(what, body)| (what, body.as_bytes().to_vec()))
        .collect();
    expect_refused_everywhere(&app, bodies, -32600).await;
}

#[tokio::test]
async fn batches_are_refused_on_both_faces_and_nothing_in_them_runs() {
    let app = app(4 * 1024 * 1024).await;
    let batch = json!([
        {"jsonrpc": "2.0", "id": 7, "method": "ping"},
        {"jsonrpc": "2.0", "id": 8, "method": "tools/call",
         "params": {"name": "demo__touch_tools", "arguments": {}}}
    ]);
    let bodies = vec![
        ("a batch", serde_json::to_vec(&batch).expect("json")),
        ("an empty batch", b"[]".to_vec()),
    ];
    expect_refused_everywhere(&app, bodies, -32600).await;
    // expect_refused_everywhere saw the answer to 21 right after the refusals on the SSE
    // stream: no answer to 7 or 8 came before it. And the batched call never ran:
    let tools = app.gateway.list_tools().await.expect("tools");
    assert!(
        !tools.iter().any(|t| t.name() == "demo__touched"),
        "touch_tools from a refused batch ran"
    );
}

#[tokio::test]
async fn a_tools_call_with_a_number_as_name_is_invalid_params_on_both_faces() {
    let app = app(4 * 1024 * 1024).await;
    let call = |id: i64| {
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": 123, "arguments": {}}})
    };
    let session = open_mcp_session(&app.base).await;
    let other = open_mcp_session(&app.base).await;
    let (mut events, endpoint) = open_sse_session(&app.base).await;
    let mcp = async {
        let response = in_session(&app.base, &session)
            .json(&call(5))
            .send()
            .await
            .expect("post");
        let reply = jsonrpc_body(&response.text().await.expect("body"));
        assert_eq!(reply["id"], 5, "{reply}");
        assert_eq!(reply["error"]["code"], -32602, "{reply}");
    };
    let legacy = async {
        let posted = client()
            .post(&endpoint)
            .json(&call(6))
            .send()
            .await
            .expect("post");
        assert_eq!(posted.status(), StatusCode::ACCEPTED);
        let reply = sse_reply(&mut events, 6).await;
        assert_eq!(reply["error"]["code"], -32602, "{reply}");
    };
    tokio::join!(mcp, legacy, echo_in_session(&app.base, &other, 9));
    // An unknown method is still -32601.
    let unknown = json!({"jsonrpc": "2.0", "id": 10, "method": "no/such/method"});
    let response = in_session(&app.base, &session)
        .json(&unknown)
        .send()
        .await
        .expect("post");
    let reply = jsonrpc_body(&response.text().await.expect("body"));
    assert_eq!(reply["error"]["code"], -32601, "{reply}");
}

#[tokio::test]
async fn delete_ends_a_live_session_with_204_and_an_unknown_one_is_404() {
    let app = app(4 * 1024 * 1024).await;
    let first = open_mcp_session(&app.base).await;
    let second = open_mcp_session(&app.base).await;
    let delete = |session: &str| {
        client()
            .delete(format!("{}/mcp", app.base))
            .header("mcp-session-id", session)
            .header("mcp-protocol-version", "2025-11-25")
            .send()
    };
    let (a, b) = tokio::join!(delete(&first), delete(&second));
    assert_eq!(a.expect("delete").status(), StatusCode::NO_CONTENT);
    assert_eq!(b.expect("delete").status(), StatusCode::NO_CONTENT);
    let again = delete(&first).await.expect("delete");
    assert_eq!(again.status(), StatusCode::NOT_FOUND, "already deleted");
    let unknown = delete("no-such-session").await.expect("delete");
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let ping = json!({"jsonrpc": "2.0", "id": 3, "method": "ping"});
    let after = in_session(&app.base, &first)
        .json(&ping)
        .send()
        .await
        .expect("post");
    assert_eq!(
        after.status(),
        StatusCode::NOT_FOUND,
        "a deleted session is gone"
    );
}

#[tokio::test]
async fn the_python_sdk_client_ends_its_session_without_a_warning() {
    let app = app(4 * 1024 * 1024).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/gateway_client.py");
    let url = format!("{}/mcp", app.base);
    let run = || {
        tokio::process::Command::new(common::python())
            .args([script, "http", &url, "--mode", "legacy"])
            .kill_on_drop(true)
            .output()
    };
    // Two clients at once, each with its own session.
    let (a, b) = tokio::join!(run(), run());
    for output in [a, b] {
        let output = output.expect("run the python client");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "python client failed: {stderr}");
        assert!(
            !stderr.contains("Session termination failed"),
            "the SDK complained about the DELETE: {stderr}"
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        let report: Value =
            serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("report");
        assert_eq!(report["echo"]["text"], "hello", "{report}");
    }
}
