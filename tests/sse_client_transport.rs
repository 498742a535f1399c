//! Transport-level behaviour of our SSE client against a scripted SSE endpoint (a real axum
//! server on 127.0.0.1:0): reconnect with a new endpoint, malformed data skipped, raw tap,
//! POST errors, endpoint checks.

use std::{
    collections::HashMap,
    convert::Infallible,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{
    Router,
    extract::{Path, Query, State},
    http::{HeaderMap, HeaderValue, StatusCode},
    response::{
        IntoResponse, Response,
        sse::{Event, Sse},
    },
    routing::{get, post},
};
use futures::{StreamExt, stream};
use rmcp::{
    RoleClient,
    model::{ClientJsonRpcMessage, ServerJsonRpcMessage},
    transport::Transport,
};
use tokio::{net::TcpListener, time::timeout};
use toolyard::mcp::sse_client::{
    ReconnectPolicy, SseClientConfig, SseClientTransport, SseTransportError,
};

const WAIT: Duration = Duration::from_secs(30);

/// One recorded POST: endpoint id, `authorization` header, JSON body.
type Posted = (String, Option<String>, serde_json::Value);

#[derive(Clone, Default)]
struct Script {
    connections: Arc<AtomicUsize>,
    posts: Arc<Mutex<Vec<Posted>>>,
}

fn log_notification(text: &str) -> String {
    serde_json::json!({
        "jsonrpc": "2.0",
        "method": "notifications/message",
        "params": { "level": "info", "data": text },
    })
    .to_string()
}

fn endpoint(data: &str) -> Event {
    Event::default().event("endpoint").data(data)
}

fn message(data: &str) -> Event {
    Event::default().event("message").data(data)
}

/// `GET /sse?mode=...`: `reconnect` (default) ends the first stream after a few messages (some
/// malformed), then serves a second one with a new endpoint; the other modes exercise errors.
async fn sse(
    State(script): State<Script>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let mode = query.get("mode").map(String::as_str).unwrap_or("reconnect");
    let (events, stays_open) = match mode {
        "auth" if authorization(&headers).as_deref() != Some("Bearer sesame") => {
            return (StatusCode::UNAUTHORIZED, "who are you").into_response();
        }
        "auth" => (vec![endpoint("/m/auth")], true),
        "fail" => (vec![endpoint("/fail")], true),
        "foreign" => (vec![endpoint("http://evil.example/m/0")], true),
        "silent" => (vec![], true),
        _ if script.connections.fetch_add(1, Ordering::SeqCst) == 0 => (
            vec![
                endpoint("/m/0"),
                message("{this is not json"),
                message(r#"{"x": 1}"#),
                message(&log_notification("first")),
            ],
            false,
        ),
        _ => (
            vec![endpoint("m/1"), message(&log_notification("second"))],
            true,
        ),
    };
    let events = stream::iter(events.into_iter().map(Ok::<_, Infallible>));
    if stays_open {
        Sse::new(events.chain(stream::pending())).into_response()
    } else {
        Sse::new(events).into_response()
    }
}

fn authorization(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("authorization")?;
    Some(value.to_str().expect("ascii header").to_string())
}

async fn record(
    State(script): State<Script>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    let value = serde_json::from_str(&body).unwrap_or(serde_json::Value::Null);
    let auth = authorization(&headers);
    script
        .posts
        .lock()
        .expect("posts lock")
        .push((id, auth, value));
    StatusCode::ACCEPTED
}

async fn fail() -> (StatusCode, &'static str) {
    (StatusCode::INTERNAL_SERVER_ERROR, "boom")
}

async fn start_script() -> (String, Script) {
    let script = Script::default();
    let app = Router::new()
        .route("/sse", get(sse))
        .route("/m/{id}", post(record))
        .route("/fail", post(fail))
        .with_state(script.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), script)
}

fn fast_reconnect(url: String) -> SseClientConfig {
    let mut config = SseClientConfig::new(url);
    config.reconnect = ReconnectPolicy {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
    };
    config
}

fn ping(id: u32) -> ClientJsonRpcMessage {
    serde_json::from_value(serde_json::json!({ "jsonrpc": "2.0", "id": id, "method": "ping" }))
        .expect("ping decodes")
}

fn log_text(message: &ServerJsonRpcMessage) -> String {
    let value = serde_json::to_value(message).expect("serialize");
    value["params"]["data"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn receive(transport: &mut SseClientTransport) -> Option<ServerJsonRpcMessage> {
    timeout(WAIT, Transport::<RoleClient>::receive(transport))
        .await
        .expect("receive timed out")
}

#[tokio::test]
async fn reconnects_picks_up_the_new_endpoint_and_skips_malformed_data() {
    let (base, script) = start_script().await;
    let tapped = Arc::new(Mutex::new(Vec::new()));
    let mut config = fast_reconnect(format!("{base}/sse"));
    let tap_log = tapped.clone();
    config.raw_tap = Some(Arc::new(move |value: &serde_json::Value| {
        tap_log.lock().expect("tap lock").push(value.clone());
    }));
    let mut transport = SseClientTransport::connect(config).await.expect("connect");
    assert_eq!(transport.endpoint().expect("endpoint").path(), "/m/0");

    let first = receive(&mut transport).await.expect("first message");
    assert_eq!(log_text(&first), "first");
    let second = receive(&mut transport)
        .await
        .expect("message after reconnect");
    assert_eq!(log_text(&second), "second");
    assert_eq!(transport.endpoint().expect("endpoint").path(), "/m/1");
    assert_eq!(script.connections.load(Ordering::SeqCst), 2);

    timeout(WAIT, transport.send(ping(7)))
        .await
        .expect("send timed out")
        .expect("send");
    let posts = script.posts.lock().expect("posts lock").clone();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].0, "1", "posted to the new endpoint");
    assert_eq!(posts[0].2["method"], "ping");
    assert_eq!(posts[0].2["id"], 7);

    let tapped = tapped.lock().expect("tap lock").clone();
    assert_eq!(tapped.len(), 3, "tap sees valid JSON only: {tapped:?}");
    assert_eq!(tapped[0], serde_json::json!({ "x": 1 }));
    Transport::<RoleClient>::close(&mut transport)
        .await
        .expect("close");
}

#[tokio::test]
async fn close_ends_receive() {
    let (base, _script) = start_script().await;
    let mut transport =
        SseClientTransport::connect(SseClientConfig::new(format!("{base}/sse?mode=fail")))
            .await
            .expect("connect");
    Transport::<RoleClient>::close(&mut transport)
        .await
        .expect("close");
    assert!(receive(&mut transport).await.is_none());
    let error = transport.send(ping(1)).await.expect_err("send after close");
    assert!(matches!(error, SseTransportError::Closed), "{error:?}");
}

#[tokio::test]
async fn post_error_carries_status_and_body() {
    let (base, _script) = start_script().await;
    let mut transport =
        SseClientTransport::connect(SseClientConfig::new(format!("{base}/sse?mode=fail")))
            .await
            .expect("connect");
    let error = transport.send(ping(1)).await.expect_err("500 is an error");
    match error {
        SseTransportError::PostStatus { status, body, .. } => {
            assert_eq!(status, 500);
            assert_eq!(body, "boom");
        }
        other => panic!("unexpected error: {other:?}"),
    }
}

#[tokio::test]
async fn cross_origin_endpoint_is_rejected() {
    let (base, _script) = start_script().await;
    let result =
        SseClientTransport::connect(SseClientConfig::new(format!("{base}/sse?mode=foreign"))).await;
    assert!(
        matches!(result, Err(SseTransportError::CrossOriginEndpoint { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn missing_endpoint_event_times_out() {
    let (base, _script) = start_script().await;
    let mut config = SseClientConfig::new(format!("{base}/sse?mode=silent"));
    config.connect_timeout = Duration::from_millis(200);
    let result = SseClientTransport::connect(config).await;
    assert!(
        matches!(result, Err(SseTransportError::EndpointTimeout { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn non_success_sse_status_is_an_error() {
    let (base, _script) = start_script().await;
    let result = SseClientTransport::connect(SseClientConfig::new(format!("{base}/nowhere"))).await;
    match result {
        Err(SseTransportError::SseStatus { status, .. }) => assert_eq!(status, 404),
        other => panic!("unexpected: {other:?}"),
    }
}

#[tokio::test]
async fn configured_headers_go_with_the_get_and_every_post() {
    let (base, script) = start_script().await;
    let url = format!("{base}/sse?mode=auth");
    let refused = SseClientTransport::connect(SseClientConfig::new(url.clone())).await;
    match refused {
        Err(SseTransportError::SseStatus { status, body, .. }) => {
            assert_eq!(status, 401);
            assert_eq!(body, "who are you");
        }
        other => panic!("unexpected: {other:?}"),
    }
    let mut config = SseClientConfig::new(url);
    config
        .headers
        .insert("authorization", HeaderValue::from_static("Bearer sesame"));
    let mut transport = SseClientTransport::connect(config).await.expect("connect");
    transport.send(ping(3)).await.expect("send");
    let posts = script.posts.lock().expect("posts lock").clone();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].0, "auth");
    assert_eq!(posts[0].1.as_deref(), Some("Bearer sesame"));
}
