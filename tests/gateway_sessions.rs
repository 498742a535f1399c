//! 2025-era sessions of the `/mcp` face under limits: a cap on open sessions (`max_sessions`)
//! refused with a clear error while the open ones keep working, and idle expiry
//! (`session_idle_secs`) that ends only sessions with nothing in progress: a session listening on
//! its GET stream, or waiting for a slow call, outlives the idle time next to one that expires.

mod common;
mod common_faces;

use std::time::Duration;

use common_faces::{
    App, client, demo_app, echo_in_session, in_session, initialize, jsonrpc_body, open_mcp_session,
    post,
};
use reqwest::StatusCode;
use serde_json::json;
use toolyard::server::http::HttpConfig;
use toolyard::server::sessions::SessionLimits;

async fn app(sessions: SessionLimits) -> App {
    demo_app(HttpConfig {
        sessions,
        ..HttpConfig::default()
    })
    .await
}

#[tokio::test]
async fn sessions_beyond_max_sessions_are_refused_clearly_and_the_open_ones_keep_working() {
    let app = app(SessionLimits {
        max_sessions: 2,
        ..SessionLimits::default()
    })
    .await;
    let (a, b) = tokio::join!(open_mcp_session(&app.base), open_mcp_session(&app.base));
    let refused = post(&app.base)
        .json(&initialize())
        .send()
        .await
        .expect("third initialize");
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = jsonrpc_body(&refused.text().await.expect("body"));
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("max_sessions"), "{body}");
    assert_eq!(body["id"], 1, "{body}");
    // The two open sessions are served, at the same time.
    tokio::join!(
        echo_in_session(&app.base, &a, 2),
        echo_in_session(&app.base, &b, 2)
    );
    // Ending one makes room for a new one.
    let ended = client()
        .delete(format!("{}/mcp", app.base))
        .header("mcp-session-id", &a)
        .send()
        .await
        .expect("delete");
    assert_eq!(ended.status(), StatusCode::NO_CONTENT);
    let c = open_mcp_session(&app.base).await;
    echo_in_session(&app.base, &c, 3).await;
    echo_in_session(&app.base, &b, 3).await;
    app.gateway.shutdown().await;
}

#[tokio::test]
async fn idle_sessions_expire_but_busy_ones_stay() {
    let idle = Duration::from_millis(600);
    let app = app(SessionLimits {
        max_sessions: 3,
        idle,
        ..SessionLimits::default()
    })
    .await;
    let (quiet, listening, calling) = tokio::join!(
        open_mcp_session(&app.base),
        open_mcp_session(&app.base),
        open_mcp_session(&app.base)
    );
    // `listening` holds its GET stream open; `calling` waits for a call slower than the idle
    // time; `quiet` does nothing.
    let stream = client()
        .get(format!("{}/mcp", app.base))
        .header("accept", "text/event-stream")
        .header("mcp-session-id", &listening)
        .header("mcp-protocol-version", "2025-11-25")
        .send()
        .await
        .expect("GET stream");
    assert_eq!(stream.status(), StatusCode::OK);
    let slow = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": {"name": "demo__sleep", "arguments": {"ms": 2500}}});
    let slow_call = async {
        let response = in_session(&app.base, &calling)
            .json(&slow)
            .send()
            .await
            .expect("slow call");
        assert_eq!(response.status(), StatusCode::OK);
        jsonrpc_body(&response.text().await.expect("body"))
    };
    let wait = async {
        tokio::time::sleep(idle * 4).await;
    };
    let (reply, ()) = tokio::join!(slow_call, wait);
    assert_eq!(reply["id"], 7, "{reply}");
    assert!(
        reply["result"]["content"][0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("2500")),
        "{reply}"
    );
    // The quiet one has ended: the client is told the session is unknown.
    let gone = in_session(&app.base, &quiet)
        .json(&json!({"jsonrpc": "2.0", "id": 8, "method": "tools/list"}))
        .send()
        .await
        .expect("request in an expired session");
    assert_eq!(
        gone.status(),
        StatusCode::NOT_FOUND,
        "quiet session expired"
    );
    // The other two were busy all along and are still served, at the same time.
    tokio::join!(
        echo_in_session(&app.base, &listening, 9),
        echo_in_session(&app.base, &calling, 9)
    );
    // The expired session's place under the cap is free again.
    let again = open_mcp_session(&app.base).await;
    echo_in_session(&app.base, &again, 10).await;
    drop(stream);
    app.gateway.shutdown().await;
}

#[tokio::test]
async fn parked_sessions_come_back_on_their_next_request() {
    let app = app(SessionLimits {
        max_sessions: 4,
        park_after: Duration::from_millis(300),
        ..SessionLimits::default()
    })
    .await;
    let (a, b, c) = tokio::join!(
        open_mcp_session(&app.base),
        open_mcp_session(&app.base),
        open_mcp_session(&app.base)
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    // Both parked sessions answer at once, as if nothing happened: a call and a list.
    let list = async {
        let response = in_session(&app.base, &b)
            .json(&json!({"jsonrpc": "2.0", "id": 5, "method": "tools/list"}))
            .send()
            .await
            .expect("list");
        assert_eq!(response.status(), StatusCode::OK);
        let reply = jsonrpc_body(&response.text().await.expect("body"));
        let tools = reply["result"]["tools"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(tools.iter().any(|t| t["name"] == "demo__echo"), "{reply}");
    };
    tokio::join!(echo_in_session(&app.base, &a, 4), list);
    // Again after a second parking, on the same sessions.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    tokio::join!(
        echo_in_session(&app.base, &a, 6),
        echo_in_session(&app.base, &b, 6)
    );
    // A parked session is ended by DELETE like an active one, and is then unknown.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let delete = || {
        client()
            .delete(format!("{}/mcp", app.base))
            .header("mcp-session-id", &c)
            .send()
    };
    assert_eq!(
        delete().await.expect("delete").status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        delete().await.expect("delete").status(),
        StatusCode::NOT_FOUND
    );
    let gone = in_session(&app.base, &c)
        .json(&json!({"jsonrpc": "2.0", "id": 7, "method": "tools/list"}))
        .send()
        .await
        .expect("request in an ended session");
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    app.gateway.shutdown().await;
}

/// A caller that goes away with its GET stream open (connection dropped, no DELETE) leaves its
/// session idle from then on, so it expires; the caller next to it, still listening, keeps its
/// session.
#[tokio::test]
async fn a_caller_that_vanishes_mid_stream_expires_and_the_listening_one_stays() {
    let idle = Duration::from_millis(600);
    let app = app(SessionLimits {
        max_sessions: 4,
        idle,
        ..SessionLimits::default()
    })
    .await;
    let (vanishing, staying) =
        tokio::join!(open_mcp_session(&app.base), open_mcp_session(&app.base));
    let listen = |session: String| {
        let base = app.base.clone();
        async move {
            // A client of its own, so dropping the stream closes its connection.
            let stream = reqwest::Client::new()
                .get(format!("{base}/mcp"))
                .header("accept", "text/event-stream")
                .header("mcp-session-id", session)
                .header("mcp-protocol-version", "2025-11-25")
                .send()
                .await
                .expect("GET stream");
            assert_eq!(stream.status(), StatusCode::OK);
            stream
        }
    };
    let (gone, kept) = tokio::join!(listen(vanishing.clone()), listen(staying.clone()));
    tokio::time::sleep(idle * 2).await;
    // Both are still there while listening.
    tokio::join!(
        echo_in_session(&app.base, &vanishing, 2),
        echo_in_session(&app.base, &staying, 2)
    );
    drop(gone);
    tokio::time::sleep(idle * 4).await;
    let expired = in_session(&app.base, &vanishing)
        .json(&json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}))
        .send()
        .await
        .expect("request in the vanished caller's session");
    assert_eq!(expired.status(), StatusCode::NOT_FOUND);
    echo_in_session(&app.base, &staying, 3).await;
    drop(kept);
    app.gateway.shutdown().await;
}

/// Two callers park while the upstream their own (per-caller) sessions came from dies; both come
/// back at once: the healthy upstream answers them at once, the dead one once it has restarted,
/// each caller again in a session of its own.
#[tokio::test]
async fn parked_callers_come_back_after_their_upstream_died_meanwhile() {
    let marker = uuid::Uuid::new_v4().to_string();
    let demo = common::example_bin("demo_server");
    let toml = format!(
        "[servers.demo]\ncommand = \"{bin}\"\n\
         [servers.mine]\ncommand = \"{bin}\"\nsession = \"per_caller\"\n\
         env = {{ TOOLYARD_TEST_MARKER = \"{marker}\" }}\n",
        bin = demo.display()
    );
    let app = common_faces::gateway_app(
        &toml,
        HttpConfig {
            sessions: SessionLimits {
                park_after: Duration::from_millis(300),
                ..SessionLimits::default()
            },
            ..HttpConfig::default()
        },
    )
    .await;
    let call = |session: String, tool: &'static str, id: i64| {
        let base = app.base.clone();
        async move {
            let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                "params": {"name": tool, "arguments": {"message": session}}});
            let response = in_session(&base, &session)
                .json(&body)
                .send()
                .await
                .expect("call");
            assert_eq!(response.status(), StatusCode::OK);
            let reply = jsonrpc_body(&response.text().await.expect("body"));
            assert_eq!(reply["result"]["content"][0]["text"], session, "{reply}");
        }
    };
    let (a, b) = tokio::join!(open_mcp_session(&app.base), open_mcp_session(&app.base));
    tokio::join!(
        call(a.clone(), "mine__echo", 2),
        call(b.clone(), "mine__echo", 2),
        call(a.clone(), "demo__echo", 3),
    );
    // The lists session plus one session (child) per caller.
    assert_eq!(common::marked_processes(&marker).len(), 3);

    // Parked: the callers' own sessions end; then the upstream's last child dies.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while common::marked_processes(&marker).len() != 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "per-caller sessions outlive parking"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for pid in common::marked_processes(&marker) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(i32::try_from(pid).expect("pid")),
            nix::sys::signal::Signal::SIGKILL,
        );
    }

    // Both come back at once, to both upstreams.
    tokio::join!(
        call(a.clone(), "demo__echo", 4),
        call(b.clone(), "demo__echo", 4),
        call(a.clone(), "mine__echo", 5),
        call(b.clone(), "mine__echo", 5),
    );
    // One session per caller at once; the lists session comes back after its restart backoff.
    assert!(common::marked_processes(&marker).len() >= 2);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while common::marked_processes(&marker).len() != 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the lists session did not restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.gateway.shutdown().await;
    assert!(common::marked_processes(&marker).is_empty());
}
