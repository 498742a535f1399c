//! The Gateway against real upstream servers: server-everything, a Python `mcp` SDK server and
//! our demo server, over stdio, legacy SSE and streamable HTTP, in both protocol eras; plus
//! crashes, hangs, list changes and clean shutdown.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::{
    ChildGuard, example_bin, free_port, marked_processes, npm_bin, python, wait_for_port,
};
use rmcp::model::{CallToolResult, JsonObject};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use toolyard::config::Config;
use toolyard::gateway::Gateway;
use toolyard::workbench::{CallContext, Workbench, WorkbenchChange, WorkbenchError};

fn gateway(toml: &str) -> Arc<Gateway> {
    let config = Config::parse(toml, Path::new("/tmp/servers.toml"), &|_| None)
        .unwrap_or_else(|e| panic!("config: {e}\n{toml}"));
    Gateway::from_config(&config, CancellationToken::new())
}

async fn ready(gw: &Gateway) {
    assert!(
        gw.wait_ready(Duration::from_secs(60)).await,
        "upstreams not ready: {:?}",
        gw.statuses()
    );
}

fn args(v: serde_json::Value) -> Option<JsonObject> {
    v.as_object().cloned()
}

fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect()
}

async fn call(
    gw: &Gateway,
    tool: &str,
    a: serde_json::Value,
) -> Result<CallToolResult, WorkbenchError> {
    gw.call_tool(tool, args(a), CallContext::default()).await
}

/// Start an HTTP upstream process and wait for its port.
fn http_upstream(cmd: &mut Command, port: u16) -> ChildGuard {
    let guard = ChildGuard::spawn(cmd);
    wait_for_port(
        format!("127.0.0.1:{port}").parse().expect("addr"),
        Duration::from_secs(30),
    );
    guard
}

fn everything_http(mode: &str) -> (ChildGuard, u16) {
    let port = free_port();
    let guard = http_upstream(
        Command::new(npm_bin("mcp-server-everything"))
            .arg(mode)
            .env("PORT", port.to_string()),
        port,
    );
    (guard, port)
}

fn python_http(mode: &str) -> (ChildGuard, u16) {
    let port = free_port();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/fastmcp_upstream.py");
    let guard = http_upstream(
        Command::new(python()).args([script, mode, &port.to_string()]),
        port,
    );
    (guard, port)
}

#[tokio::test]
async fn everything_over_stdio_sse_and_streamable_http() {
    let (_sse, sse_port) = everything_http("sse");
    let (_http, http_port) = everything_http("streamableHttp");
    let gw = gateway(&format!(
        r#"
[servers.stdio]
command = "{bin}"
[servers.sse]
url = "http://127.0.0.1:{sse_port}/sse"
transport = "sse"
[servers.http]
url = "http://127.0.0.1:{http_port}/mcp"
"#,
        bin = npm_bin("mcp-server-everything").display()
    ));
    ready(&gw).await;
    for server in ["stdio", "sse", "http"] {
        let r = call(&gw, &format!("{server}__echo"), json!({"message": server}))
            .await
            .expect("echo");
        assert_eq!(text(&r), format!("Echo: {server}"));
        let r = call(&gw, &format!("{server}__get-sum"), json!({"a": 2, "b": 40}))
            .await
            .expect("sum");
        assert!(text(&r).contains("42"), "{}", text(&r));
    }
    let kinds: Vec<_> = gw
        .statuses()
        .iter()
        .map(|s| (s.transport, s.protocol_version.clone()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("stdio", Some("2025-11-25".to_string())),
            ("sse", Some("2025-11-25".to_string())),
            ("streamable-http", Some("2025-11-25".to_string()))
        ]
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn python_sdk_server_over_stdio_sse_and_streamable_http() {
    let (_sse, sse_port) = python_http("sse");
    let (_http, http_port) = python_http("streamable-http");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/fastmcp_upstream.py");
    let gw = gateway(&format!(
        r#"
[servers.stdio]
command = "{py}"
args = ["{script}", "stdio"]
protocol = "2025-11-25"
[servers.sse]
url = "http://127.0.0.1:{sse_port}/sse"
transport = "sse"
protocol = "2025-11-25"
[servers.http]
url = "http://127.0.0.1:{http_port}/mcp"
"#,
        py = python().display()
    ));
    ready(&gw).await;
    for server in ["stdio", "sse", "http"] {
        let r = call(&gw, &format!("{server}__echo"), json!({"message": "hi"}))
            .await
            .expect("echo");
        assert_eq!(text(&r), "py: hi", "{server}");
        let r = call(&gw, &format!("{server}__add"), json!({"a": 1, "b": 2}))
            .await
            .expect("add");
        assert_eq!(r.structured_content, Some(json!({"result": 3})), "{server}");
    }
    // The Python SDK speaks 2026-07-28 too: auto negotiation picks it over HTTP.
    let http = gw
        .statuses()
        .into_iter()
        .find(|s| s.name == "http")
        .expect("http status");
    assert_eq!(http.protocol_version.as_deref(), Some("2026-07-28"));

    // Fields rmcp's typed Tool drops (`execution`) survive on the byte-level transports.
    let tools = gw.list_tools().await.expect("tools");
    for server in ["stdio", "sse"] {
        let spec = tools
            .iter()
            .find(|t| t.name() == format!("{server}__slow_report"))
            .expect("slow_report listed");
        assert_eq!(
            spec.extra.get("execution"),
            Some(&json!({"taskSupport": "optional"})),
            "{server}"
        );
        assert_eq!(spec.to_json()["execution"]["taskSupport"], "optional");
    }
    gw.shutdown().await;
}

#[tokio::test]
async fn demo_server_over_http_in_both_eras() {
    let port = free_port();
    let _demo = http_upstream(
        Command::new(example_bin("demo_server")).args(["--http", &format!("127.0.0.1:{port}")]),
        port,
    );
    let gw = gateway(&format!(
        r#"
[servers.old]
url = "http://127.0.0.1:{port}/mcp"
protocol = "2025-11-25"
[servers.new]
url = "http://127.0.0.1:{port}/mcp"
protocol = "2026-07-28"
[servers.auto]
url = "http://127.0.0.1:{port}/mcp"
"#
    ));
    ready(&gw).await;
    let versions: Vec<_> = gw
        .statuses()
        .into_iter()
        .map(|s| s.protocol_version)
        .collect();
    assert_eq!(
        versions,
        [
            Some("2025-11-25".into()),
            Some("2026-07-28".into()),
            Some("2026-07-28".into())
        ]
    );
    for server in ["old", "new", "auto"] {
        let r = call(&gw, &format!("{server}__add"), json!({"a": 20, "b": 22}))
            .await
            .expect("add");
        assert_eq!(text(&r), "42", "{server}");
    }
    gw.shutdown().await;
}

fn demo_config(marker: &str, timeout_secs: u32) -> String {
    format!(
        r#"
[servers.demo]
command = "{bin}"
timeout_secs = {timeout_secs}
env = {{ TOOLYARD_TEST_MARKER = "{marker}" }}
"#,
        bin = example_bin("demo_server").display()
    )
}

fn marker() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[tokio::test]
async fn crashed_stdio_server_fails_the_call_restarts_and_serves_again() {
    let m = marker();
    let gw = gateway(&demo_config(&m, 20));
    ready(&gw).await;
    let first_pid = marked_processes(&m);
    assert_eq!(first_pid.len(), 1);

    let err = call(&gw, "demo__crash", json!({}))
        .await
        .expect_err("crash must fail the call");
    assert!(
        matches!(err, WorkbenchError::Connection { .. }),
        "a clear connection error, got {err:?}"
    );
    assert!(err.to_string().contains("demo"), "{err}");

    ready(&gw).await;
    let r = call(&gw, "demo__echo", json!({"message": "back"}))
        .await
        .expect("echo after restart");
    assert_eq!(text(&r), "back");
    let status = &gw.statuses()[0];
    assert_eq!(status.connects, 2, "{status:?}");
    let second_pid = marked_processes(&m);
    assert_eq!(second_pid.len(), 1);
    assert_ne!(first_pid, second_pid, "a new process serves");
    gw.shutdown().await;
}

#[tokio::test]
async fn an_upstream_that_never_answers_times_out_and_others_keep_working() {
    let m = marker();
    let gw = gateway(&demo_config(&m, 1));
    ready(&gw).await;
    let err = call(&gw, "demo__hang", json!({}))
        .await
        .expect_err("timeout");
    match &err {
        WorkbenchError::Timeout {
            server, timeout, ..
        } => {
            assert_eq!(server, "demo");
            assert_eq!(*timeout, Duration::from_secs(1));
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    let r = call(&gw, "demo__echo", json!({"message": "still here"}))
        .await
        .expect("echo");
    assert_eq!(text(&r), "still here");
    gw.shutdown().await;
}

#[tokio::test]
async fn invalid_arguments_and_unknown_tools_never_reach_the_upstream() {
    let gw = gateway(&demo_config(&marker(), 20));
    ready(&gw).await;
    let err = call(&gw, "demo__add", json!({"a": 1}))
        .await
        .expect_err("b missing");
    match err {
        WorkbenchError::InvalidArguments { tool, field, .. } => {
            assert_eq!(tool, "demo__add");
            assert_eq!(field, "b");
        }
        other => panic!("{other:?}"),
    }
    let err = call(&gw, "demo__add", json!({"a": 1, "b": "two"}))
        .await
        .expect_err("b not a number");
    assert!(err.to_string().contains("/b"), "{err}");
    let err = call(&gw, "demo__nope", json!({}))
        .await
        .expect_err("unknown");
    assert!(matches!(err, WorkbenchError::UnknownTool { .. }), "{err:?}");
    gw.shutdown().await;
}

#[tokio::test]
async fn upstream_list_changed_reaches_gateway_listeners() {
    let gw = gateway(&demo_config(&marker(), 20));
    ready(&gw).await;
    let mut changes = gw.changes().expect("gateway has changes");
    let before = gw.list_tools().await.expect("tools");
    assert!(!before.iter().any(|t| t.name() == "demo__touched"));
    call(&gw, "demo__touch_tools", json!({}))
        .await
        .expect("touch");
    tokio::time::timeout(Duration::from_secs(10), async {
        while changes.recv().await.ok() != Some(WorkbenchChange::Tools) {}
    })
    .await
    .expect("a tools change arrives");
    let after = gw.list_tools().await.expect("tools");
    assert!(
        after.iter().any(|t| t.name() == "demo__touched"),
        "new tool listed"
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn cancelling_a_call_ends_it_promptly() {
    let gw = gateway(&demo_config(&marker(), 60));
    ready(&gw).await;
    let cancel = CancellationToken::new();
    let ctx = CallContext::with_cancel(cancel.clone());
    let call = gw.call_tool("demo__sleep", args(json!({"ms": 60000})), ctx);
    let canceller = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        cancel.cancel();
    };
    let (result, ()) = tokio::time::timeout(Duration::from_secs(10), async {
        tokio::join!(call, canceller)
    })
    .await
    .expect("a cancelled call returns, it does not run for 60 s");
    assert!(
        matches!(result, Err(WorkbenchError::Cancelled)),
        "{result:?}"
    );
    let r = gw
        .call_tool(
            "demo__echo",
            args(json!({"message": "ok"})),
            CallContext::default(),
        )
        .await;
    assert_eq!(text(&r.expect("echo")), "ok");
    gw.shutdown().await;
}

#[tokio::test]
async fn shutdown_leaves_no_child_process_behind() {
    let m = marker();
    let gw = gateway(&demo_config(&m, 20));
    ready(&gw).await;
    assert_eq!(marked_processes(&m).len(), 1);
    gw.shutdown().await;
    assert_eq!(
        marked_processes(&m),
        Vec::<u32>::new(),
        "no orphan after shutdown"
    );
    let err = call(&gw, "demo__echo", json!({"message": "x"}))
        .await
        .expect_err("stopped");
    assert!(err.to_string().contains("unavailable"), "{err}");
}

#[tokio::test]
async fn a_server_that_fails_to_start_is_reported_and_the_others_serve() {
    let gw = gateway(&format!(
        r#"
[servers.broken]
command = "/nonexistent/toolyard-test-binary"
[servers.demo]
command = "{bin}"
"#,
        bin = example_bin("demo_server").display()
    ));
    gw.wait_ready(Duration::from_secs(5)).await;
    let statuses = gw.statuses();
    assert_eq!(statuses[0].state, "down");
    assert!(
        statuses[0]
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("cannot start"),
        "{statuses:?}"
    );
    assert_eq!(statuses[1].state, "ready");
    let r = call(&gw, "demo__echo", json!({"message": "fine"}))
        .await
        .expect("echo");
    assert_eq!(text(&r), "fine");
    gw.shutdown().await;
}

#[tokio::test]
async fn an_http_upstream_that_restarts_loses_its_sessions_and_is_reinitialized() {
    let port = free_port();
    let demo = || {
        http_upstream(
            Command::new(example_bin("demo_server")).args(["--http", &format!("127.0.0.1:{port}")]),
            port,
        )
    };
    let first = demo();
    let gw = gateway(&format!(
        "[servers.web]\nurl = \"http://127.0.0.1:{port}/mcp\"\nprotocol = \"2025-11-25\"\ntimeout_secs = 10\n"
    ));
    ready(&gw).await;
    let r = call(&gw, "web__echo", json!({"message": "before"}))
        .await
        .expect("echo");
    assert_eq!(text(&r), "before");
    drop(first);
    let _second = demo();
    // The old session id is unknown to the new process: the client re-initializes (or the
    // supervisor reconnects) and calls work again.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        match call(&gw, "web__echo", json!({"message": "after"})).await {
            Ok(r) => {
                assert_eq!(text(&r), "after");
                break;
            }
            Err(e) => {
                assert!(std::time::Instant::now() < deadline, "never recovered: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    gw.shutdown().await;
}

/// A minimal rmcp server that only answers when the request carries `Authorization: Bearer s3cret`.
#[derive(Clone)]
struct Guarded;

impl rmcp::ServerHandler for Guarded {
    fn get_info(&self) -> rmcp::model::ServerConfig {
        rmcp::model::ServerConfig::new(
            rmcp::model::ServerCapabilities::builder()
                .enable_tools()
                .build(),
        )
    }
}

async fn guarded_server() -> (u16, CancellationToken) {
    use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
    use rmcp::transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService,
    };
    let ct = CancellationToken::new();
    let service = StreamableHttpService::new(
        || Ok(Guarded),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default().with_cancellation_token(ct.child_token()),
    );
    let app = axum::Router::new()
        .nest_service("/mcp", service)
        .layer(axum::middleware::from_fn(
            |request: axum::extract::Request, next: axum::middleware::Next| async move {
                let ok = request
                    .headers()
                    .get("authorization")
                    .is_some_and(|v| v == "Bearer s3cret");
                if ok {
                    next.run(request).await
                } else {
                    axum::response::IntoResponse::into_response(http::StatusCode::UNAUTHORIZED)
                }
            },
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let stop = ct.clone();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled_owned().await })
            .await;
    });
    (port, ct)
}

#[tokio::test]
async fn configured_headers_reach_a_streamable_http_upstream() {
    let (port, server) = guarded_server().await;
    let config = |header: &str| {
        format!(
            "[servers.guarded]\nurl = \"http://127.0.0.1:{port}/mcp\"\n{header}\nstartup_timeout_secs = 5\n"
        )
    };
    let gw = gateway(&config(r#"headers = { Authorization = "Bearer s3cret" }"#));
    ready(&gw).await;
    assert_eq!(gw.statuses()[0].state, "ready");
    gw.shutdown().await;

    let gw = gateway(&config(""));
    gw.wait_ready(Duration::from_secs(3)).await;
    let status = &gw.statuses()[0];
    assert_eq!(status.state, "down", "{status:?}");
    assert!(
        status.error.as_deref().unwrap_or_default().contains("401")
            || status
                .error
                .as_deref()
                .unwrap_or_default()
                .to_lowercase()
                .contains("unauthorized"),
        "the error says why: {status:?}"
    );
    gw.shutdown().await;
    server.cancel();
}

/// A stdio upstream sees only a minimal environment (PATH, HOME, ...) plus what its `env`
/// names, so a secret in toolyard's environment cannot be read through a tool that prints the
/// environment; `inherit_env = true` gives one server the whole environment back.
#[test]
fn stdio_upstreams_get_a_minimal_environment_unless_they_inherit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let everything = npm_bin("mcp-server-everything");
    let config = dir.path().join("servers.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[servers.plain]
command = "{bin}"
[servers.named]
command = "{bin}"
env = {{ NAMED_FOR_THE_SERVER = "${{TOOLYARD_TEST_SECRET}}" }}
[servers.inherits]
command = "{bin}"
inherit_env = true
"#,
            bin = everything.display()
        ),
    )
    .expect("write config");
    let secret = "s3cr3t-only-in-toolyards-environment";
    let env_of = |server: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_toolyard"))
            .args(["call", &format!("{server}__get-env"), "--args", "{}"])
            .arg("--config")
            .arg(&config)
            .env("TOOLYARD_TEST_SECRET", secret)
            .output()
            .expect("run toolyard call");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };
    let plain = env_of("plain");
    assert!(plain.contains("\"PATH\""), "PATH is passed: {plain}");
    assert!(!plain.contains(secret), "the secret leaked: {plain}");
    assert!(!plain.contains("TOOLYARD_TEST_SECRET"), "{plain}");
    let named = env_of("named");
    assert!(named.contains("NAMED_FOR_THE_SERVER"), "{named}");
    assert!(
        named.contains(secret),
        "named variables are passed: {named}"
    );
    assert!(!named.contains("TOOLYARD_TEST_SECRET"), "{named}");
    let inherits = env_of("inherits");
    assert!(inherits.contains("TOOLYARD_TEST_SECRET"), "{inherits}");
}
