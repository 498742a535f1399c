//! `toolyard serve` as a process, with the demo server behind it, under slow, abusive and
//! stopping conditions: clients that trickle bytes, too many connections from one address, a
//! quick answer written at once, bad lines on stdio, and SIGTERM with calls in flight on every
//! face.

mod common;
mod common_faces;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{ChildGuard, example_bin, free_port, marked_processes, spawn_until_healthy};
use common_faces::{
    Events, call_stream, client, echo_in_session, next_message, open_mcp_session, open_sse_session,
    sse_reply,
};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinSet;

/// A hang guard for whole scenarios (not a timing assertion).
const WAIT: Duration = Duration::from_secs(60);

fn toolyard() -> &'static str {
    env!("CARGO_BIN_EXE_toolyard")
}

/// A servers.toml (in `dir`) with the demo server, marked with `marker` to find it later.
fn write_config(dir: &std::path::Path, marker: &str) -> PathBuf {
    let path = dir.join("servers.toml");
    let text = format!(
        r#"
[servers.demo]
command = "{demo}"
timeout_secs = 120
env = {{ TOOLYARD_TEST_MARKER = "{marker}" }}
"#,
        demo = example_bin("demo_server").display(),
    );
    std::fs::write(&path, text).expect("write servers.toml");
    path
}

struct Served {
    guard: ChildGuard,
    base: String,
    addr: SocketAddr,
    marker: String,
    _dir: tempfile::TempDir,
}

/// `toolyard serve` on a free port with `extra` flags, once `/healthz` says ready.
async fn serve(extra: &[&str]) -> Served {
    let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().expect("tempdir");
        let marker = uuid::Uuid::new_v4().to_string();
        let config = write_config(dir.path(), &marker);
        let port = free_port();
        let (guard, base) = spawn_until_healthy(
            Command::new(toolyard())
                .args(["serve", "--config"])
                .arg(&config)
                .args(["--listen", &format!("127.0.0.1:{port}")])
                .args(&extra)
                .stdout(Stdio::null()),
            port,
        );
        let addr = format!("127.0.0.1:{port}").parse().expect("addr");
        Served {
            guard,
            base,
            addr,
            marker,
            _dir: dir,
        }
    })
    .await
    .expect("start toolyard serve")
}

/// A TCP connection to `addr` from the loopback address `source` (each 127.0.0.x is a client
/// address of its own).
async fn connect_from(source: IpAddr, addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.bind(SocketAddr::new(source, 0)).expect("bind");
    socket.connect(addr).await.expect("connect")
}

/// Everything the server sends until it closes the connection (a reset counts as closed).
async fn read_until_closed(stream: &mut tokio::net::tcp::OwnedReadHalf) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return String::from_utf8_lossy(&seen).into_owned(),
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
}

/// Send `head`, then one more byte every 200 ms, until the server closes the connection;
/// returns what the server sent.
async fn trickle(source: IpAddr, addr: SocketAddr, head: String) -> String {
    let (mut read, mut write) = connect_from(source, addr).await.into_split();
    write.write_all(head.as_bytes()).await.expect("send head");
    let dribble = async {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if write.write_all(b"a").await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        seen = read_until_closed(&mut read) => seen,
        () = dribble => read_until_closed(&mut read).await,
    }
}

#[tokio::test]
async fn clients_that_trickle_bytes_are_cut_off_while_a_normal_client_is_served() {
    let served = serve(&[
        "--header-read-timeout-secs",
        "1",
        "--body-read-timeout-secs",
        "2",
    ])
    .await;
    let addr = served.addr;
    let slow_head = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".to_string();
    let slow_body = "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nContent-Length: 100000\r\n\r\n{"
        .to_string();
    let mut trickles = JoinSet::new();
    for i in 0..200u8 {
        // 50 sockets from each of four addresses: under the per-address cap of 64.
        let source = IpAddr::from([127, 0, 0, 2 + i % 4]);
        let head = if i % 2 == 0 { &slow_head } else { &slow_body };
        trickles.spawn(trickle(source, addr, head.clone()));
    }
    // A body that stops arriving (nothing left unread) gets a 408 before the close.
    let stalled = async {
        let (mut read, mut write) = connect_from([127, 0, 0, 6].into(), addr).await.into_split();
        let head = "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
                    Content-Length: 10\r\n\r\n{\"a\"";
        write.write_all(head.as_bytes()).await.expect("send");
        read_until_closed(&mut read).await
    };
    // The normal client calls until every trickling socket has been closed.
    let done = AtomicBool::new(false);
    let all_closed = async {
        let mut closed = 0;
        while let Some(seen) = trickles.join_next().await {
            let seen = seen.expect("trickle task");
            assert!(
                seen.is_empty() || seen.starts_with("HTTP/1.1 408"),
                "a trickling client got: {seen}"
            );
            closed += 1;
        }
        done.store(true, Ordering::SeqCst);
        closed
    };
    let normal = async {
        let session = open_mcp_session(&served.base).await;
        let mut calls = 0;
        while !done.load(Ordering::SeqCst) {
            echo_in_session(&served.base, &session, 100 + calls).await;
            calls += 1;
        }
        calls
    };
    let (closed, calls, stalled) =
        tokio::time::timeout(WAIT, async { tokio::join!(all_closed, normal, stalled) })
            .await
            .expect("trickling clients were never cut off");
    assert_eq!(closed, 200);
    assert!(calls >= 1);
    assert!(stalled.starts_with("HTTP/1.1 408"), "{stalled}");
    assert!(stalled.contains("not received within"), "{stalled}");
    drop(served.guard);
}

/// A keep-alive `GET /healthz` on `stream`; returns the response head and body.
async fn healthz_on(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .expect("send");
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("\"servers\"") {
        let n = stream.read(&mut buf).await.expect("read");
        assert!(n > 0, "closed: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&seen).into_owned()
}

#[tokio::test]
async fn connections_over_the_per_client_cap_are_refused_promptly() {
    let served = serve(&[
        "--max-connections-per-client",
        "4",
        "--header-read-timeout-secs",
        "120",
    ])
    .await;
    let busy: IpAddr = [127, 0, 0, 3].into();
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut stream = connect_from(busy, served.addr).await;
        assert!(healthz_on(&mut stream).await.starts_with("HTTP/1.1 200"));
        held.push(stream);
    }
    let refused = async {
        let (mut read, _write) = connect_from(busy, served.addr).await.into_split();
        read_until_closed(&mut read).await
    };
    let other_client = async {
        let session = open_mcp_session(&served.base).await;
        echo_in_session(&served.base, &session, 2).await;
    };
    let (refused, ()) = tokio::time::timeout(WAIT, async { tokio::join!(refused, other_client) })
        .await
        .expect("the fifth connection was left hanging");
    assert!(
        refused.is_empty() || refused.starts_with("HTTP/1.1 503"),
        "{refused}"
    );
    // The four held connections still work, and a freed slot is given to the next connection.
    for stream in &mut held {
        assert!(healthz_on(stream).await.starts_with("HTTP/1.1 200"));
    }
    drop(held.pop());
    let deadline = Instant::now() + WAIT;
    loop {
        let (mut read, mut write) = connect_from(busy, served.addr).await.into_split();
        let _ = write
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .await;
        let seen = read_until_closed(&mut read).await;
        if seen.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(
            seen.is_empty() || seen.starts_with("HTTP/1.1 503"),
            "{seen}"
        );
        assert!(Instant::now() < deadline, "the freed slot was never reused");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_quick_answer_is_written_at_once_with_its_head() {
    let served = serve(&[]).await;
    let first = open_mcp_session(&served.base).await;
    let second = open_mcp_session(&served.base).await;
    let ping_at_once = |session: String, id: u32| {
        let addr = served.addr;
        async move {
            let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"ping"}}"#);
            let request = format!(
                "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
                 Accept: application/json, text/event-stream\r\nMcp-Session-Id: {session}\r\n\
                 Mcp-Protocol-Version: 2025-11-25\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            let mut stream = TcpStream::connect(addr).await.expect("connect");
            stream.write_all(request.as_bytes()).await.expect("send");
            // One read once anything arrived: it holds whatever the server wrote first.
            stream.readable().await.expect("readable");
            let mut buf = vec![0u8; 64 * 1024];
            let n = loop {
                match stream.try_read(&mut buf) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        stream.readable().await.expect("readable");
                    }
                    Err(e) => panic!("read: {e}"),
                }
            };
            String::from_utf8_lossy(&buf[..n]).into_owned()
        }
    };
    let (a, b) = tokio::join!(ping_at_once(first, 7), ping_at_once(second, 8));
    for (first_write, id) in [(a, 7), (b, 8)] {
        assert!(first_write.starts_with("HTTP/1.1 200"), "{first_write}");
        assert!(
            first_write.contains(&format!(r#""id":{id},"result":{{}}"#)),
            "the head went out before the answer: {first_write:?}"
        );
    }
}

/// A `tools/call` of `tool` asking for progress under `token`.
fn call_with_progress(id: i64, tool: &str, arguments: Value, token: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {
        "name": tool, "arguments": arguments, "_meta": {"progressToken": token}}})
}

/// Wait for the progress notification that says the call under `token` is running upstream.
async fn until_running(events: &mut Events, token: &str) {
    loop {
        let message = next_message(events).await;
        if message["method"] == "notifications/progress" {
            assert_eq!(message["params"]["progressToken"], token, "{message}");
            return;
        }
        assert!(message.get("method").is_some(), "answered early: {message}");
    }
}

/// The answer to `id` on a `/mcp` call's stream, after any notifications.
async fn answer(events: &mut Events, id: i64) -> Value {
    loop {
        let message = next_message(events).await;
        if message.get("method").is_none() {
            assert_eq!(message["id"], id, "{message}");
            return message;
        }
    }
}

fn assert_slept(answer: &Value) {
    assert_eq!(
        answer["result"]["content"][0]["text"], "slept 1500 ms",
        "a call that fits in the grace finishes: {answer}"
    );
}

fn assert_shutting_down(answer: &Value) {
    assert_eq!(answer["error"]["code"], -32603, "{answer}");
    assert_eq!(
        answer["error"]["message"], "server shutting down",
        "{answer}"
    );
}

#[tokio::test]
async fn sigterm_lets_calls_finish_within_the_grace_then_answers_the_rest_and_exits_clean() {
    let mut served = serve(&["--shutdown-grace-secs", "4"]).await;
    assert_eq!(marked_processes(&served.marker).len(), 1, "one demo server");
    let base = served.base.clone();
    let sleep = json!({"ms": 1500});
    // Streamable HTTP: one call that fits in the grace, one that never ends.
    let quick_session = open_mcp_session(&base).await;
    let hang_session = open_mcp_session(&base).await;
    let mut quick = call_stream(
        &base,
        &quick_session,
        &call_with_progress(2, "demo__sleep", sleep.clone(), "quick"),
    )
    .await;
    let mut hang = call_stream(
        &base,
        &hang_session,
        &call_with_progress(2, "demo__hang", json!({}), "hang"),
    )
    .await;
    // Legacy SSE: the same two calls on two sessions.
    let (mut legacy_quick, quick_endpoint) = open_sse_session(&base).await;
    let (mut legacy_hang, hang_endpoint) = open_sse_session(&base).await;
    for (endpoint, call) in [
        (
            &quick_endpoint,
            call_with_progress(3, "demo__sleep", sleep.clone(), "legacy-quick"),
        ),
        (
            &hang_endpoint,
            call_with_progress(3, "demo__hang", json!({}), "legacy-hang"),
        ),
    ] {
        let posted = client()
            .post(endpoint)
            .json(&call)
            .send()
            .await
            .expect("post");
        assert_eq!(posted.status(), 202);
    }
    until_running(&mut quick, "quick").await;
    until_running(&mut hang, "hang").await;
    until_running(&mut legacy_quick, "legacy-quick").await;
    until_running(&mut legacy_hang, "legacy-hang").await;
    // Two connections opened before the signal, for requests sent during the drain.
    let mut for_initialize = TcpStream::connect(served.addr).await.expect("connect");
    let mut for_call = TcpStream::connect(served.addr).await.expect("connect");
    assert!(
        healthz_on(&mut for_initialize)
            .await
            .starts_with("HTTP/1.1 200")
    );
    assert!(healthz_on(&mut for_call).await.starts_with("HTTP/1.1 200"));

    let pid = Pid::from_raw(i32::try_from(served.guard.id()).expect("pid"));
    kill(pid, Signal::SIGTERM).expect("SIGTERM");
    let refused = async {
        // New connections are refused from now on (poll until the listener is gone).
        let deadline = Instant::now() + WAIT;
        while TcpStream::connect(served.addr).await.is_ok() {
            assert!(Instant::now() < deadline, "still accepting after SIGTERM");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // On open connections: no new session, no new call.
        let initialize = common_faces::initialize().to_string();
        let refused = post_on(&mut for_initialize, None, &initialize).await;
        assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
        let call = call_with_progress(9, "demo__echo", json!({"message": "late"}), "late");
        let refused = post_on(&mut for_call, Some(&quick_session), &call.to_string()).await;
        assert!(refused.starts_with("HTTP/1.1 200"), "{refused}");
        assert!(refused.contains(r#""code":-32603"#), "{refused}");
    };
    let answers = async {
        tokio::join!(
            answer(&mut quick, 2),
            answer(&mut hang, 2),
            sse_reply(&mut legacy_quick, 3),
            sse_reply(&mut legacy_hang, 3),
        )
    };
    let ((), (quick, hang, legacy_quick, legacy_hang)) =
        tokio::time::timeout(WAIT, async { tokio::join!(refused, answers) })
            .await
            .expect("calls were left without an answer");
    assert_slept(&quick);
    assert_slept(&legacy_quick);
    assert_shutting_down(&hang);
    assert_shutting_down(&legacy_hang);

    let status = exited(&mut served.guard).await;
    assert!(status.success(), "toolyard exited with {status}");
    assert_eq!(
        marked_processes(&served.marker),
        Vec::<u32>::new(),
        "the upstream was stopped"
    );
}

/// POST `body` to `/mcp` on an open connection; returns the response up to the drain's error.
async fn post_on(stream: &mut TcpStream, session: Option<&str>, body: &str) -> String {
    let session = session.map_or(String::new(), |s| {
        format!("Mcp-Session-Id: {s}\r\nMcp-Protocol-Version: 2025-11-25\r\n")
    });
    let request = format!(
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\n{session}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("server shutting down") {
        let n = stream.read(&mut buf).await.expect("read");
        assert!(n > 0, "closed: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&seen).into_owned()
}

/// How the process exited (polled: a std child offers no exit event to await).
async fn exited(guard: &mut ChildGuard) -> std::process::ExitStatus {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(status) = guard.child_mut().try_wait().expect("try_wait") {
            return status;
        }
        assert!(Instant::now() < deadline, "toolyard did not exit");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `toolyard serve --stdio` over the demo server, with its stdin and stdout.
struct StdioServe {
    guard: ChildGuard,
    stdin: tokio::process::ChildStdin,
    lines: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
    marker: String,
    _dir: tempfile::TempDir,
}

impl StdioServe {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let marker = uuid::Uuid::new_v4().to_string();
        let config = write_config(dir.path(), &marker);
        let mut guard = ChildGuard::spawn(
            Command::new(toolyard())
                .args(["serve", "--stdio", "--shutdown-grace-secs", "4", "--config"])
                .arg(&config)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped()),
        );
        let stdin = guard.child_mut().stdin.take().expect("stdin");
        let stdout = guard.child_mut().stdout.take().expect("stdout");
        let stdout = tokio::process::ChildStdout::from_std(stdout).expect("async stdout");
        Self {
            guard,
            stdin: tokio::process::ChildStdin::from_std(stdin).expect("async stdin"),
            lines: tokio::io::BufReader::new(stdout).lines(),
            marker,
            _dir: dir,
        }
    }

    async fn send(&mut self, line: &[u8]) {
        self.stdin.write_all(line).await.expect("write stdin");
        self.stdin.write_all(b"\n").await.expect("write stdin");
        self.stdin.flush().await.expect("flush stdin");
    }

    /// The next line on stdout (`None` once it is closed).
    async fn line(&mut self) -> Option<String> {
        tokio::time::timeout(WAIT, self.lines.next_line())
            .await
            .expect("nothing on stdout")
            .expect("read stdout")
    }

    /// The next message on stdout.
    async fn next(&mut self) -> Value {
        let line = self.line().await.expect("stdout open");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }

    /// The next message on stdout that is not a notification.
    async fn answer(&mut self) -> Value {
        loop {
            let message = self.next().await;
            if message.get("method").is_none() {
                return message;
            }
        }
    }

    async fn initialize(&mut self) {
        self.send(br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#).await;
        assert!(self.answer().await["result"]["serverInfo"].is_object());
        self.send(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
            .await;
    }
}

#[tokio::test]
async fn stdio_answers_bad_lines_like_the_http_faces() {
    let mut stdio = StdioServe::start();
    let mut deep = "[".repeat(100_000);
    deep.push_str(&"]".repeat(100_000));
    let not_json: [&[u8]; 4] = [
        b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\xff\"}",
        br#"{"jsonrpc":"2.0","id":1,"method":"ping","params":{"n":1e400}}"#,
        deep.as_bytes(),
        br#"{"jsonrpc":"2.0","id":1,"method":"ping","params":{"s":"\ud800"}}"#,
    ];
    for line in not_json {
        stdio.send(line).await;
        let answer = stdio.answer().await;
        assert_eq!(answer["error"]["code"], -32700, "{answer}");
        assert_eq!(answer["id"], Value::Null, "{answer}");
    }
    for line in [
        "42",
        r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#,
        r#"{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":[]}"#,
        r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#,
    ] {
        stdio.send(line.as_bytes()).await;
        let answer = stdio.answer().await;
        assert_eq!(answer["error"]["code"], -32600, "{line}: {answer}");
    }
    stdio.initialize().await;
    // Two calls at once: a bad one and a good one.
    stdio
        .send(br#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":123}}"#)
        .await;
    stdio.send(br#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"demo__echo","arguments":{"message":"fine"}}}"#).await;
    let mut answers = [stdio.answer().await, stdio.answer().await];
    answers.sort_by_key(|a| a["id"].as_i64());
    assert_eq!(answers[0]["error"]["code"], -32602, "{}", answers[0]);
    assert_eq!(
        answers[1]["result"]["content"][0]["text"], "fine",
        "{}",
        answers[1]
    );
}

#[tokio::test]
async fn sigterm_on_stdio_answers_the_calls_in_flight_before_exiting() {
    let mut stdio = StdioServe::start();
    stdio.initialize().await;
    let sleep = call_with_progress(2, "demo__sleep", json!({"ms": 1500}), "quick");
    let hang = call_with_progress(3, "demo__hang", json!({}), "hang");
    stdio.send(sleep.to_string().as_bytes()).await;
    stdio.send(hang.to_string().as_bytes()).await;
    let mut running = 0;
    while running < 2 {
        let message = stdio.next().await;
        assert!(message.get("method").is_some(), "answered early: {message}");
        if message["method"] == "notifications/progress" {
            running += 1;
        }
    }
    let pid = Pid::from_raw(i32::try_from(stdio.guard.id()).expect("pid"));
    kill(pid, Signal::SIGTERM).expect("SIGTERM");
    let mut answers = [stdio.answer().await, stdio.answer().await];
    answers.sort_by_key(|a| a["id"].as_i64());
    assert_slept(&answers[0]);
    assert_shutting_down(&answers[1]);
    assert_eq!(stdio.line().await, None, "stdout ends");
    let status = exited(&mut stdio.guard).await;
    assert!(status.success(), "toolyard exited with {status}");
    assert_eq!(marked_processes(&stdio.marker), Vec::<u32>::new());
}

/// The stdio face reads an async pipe when stdin is one (what clients give it) and falls back to
/// tokio's stdin otherwise: requests in a regular file are answered the same way, two callers
/// (one per process) at once.
#[test]
fn the_stdio_face_answers_requests_from_a_file_as_from_a_pipe() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), "stdio-file");
    let requests = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "file", "version": "1"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "demo__echo", "arguments": {"message": "read from a file"}}}),
    ];
    let input = dir.path().join("requests.jsonl");
    let lines: Vec<String> = requests.iter().map(Value::to_string).collect();
    std::fs::write(&input, lines.join("\n") + "\n").expect("write requests");
    let run = |stdin: Stdio| {
        Command::new(toolyard())
            .args(["serve", "--stdio", "--config"])
            .arg(&config)
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn toolyard")
    };
    let from_file = run(Stdio::from(std::fs::File::open(&input).expect("open")));
    let mut from_pipe = run(Stdio::piped());
    {
        use std::io::Write;
        let mut stdin = from_pipe.stdin.take().expect("stdin");
        stdin
            .write_all(std::fs::read(&input).expect("read").as_slice())
            .expect("write to the pipe");
        // Dropping stdin ends the session once the answers are out.
    }
    for child in [from_file, from_pipe] {
        let out = child.wait_with_output().expect("toolyard ends");
        let text = String::from_utf8_lossy(&out.stdout);
        let answer = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|m| m["id"] == 2)
            .unwrap_or_else(|| panic!("no answer to the call: {text}"));
        assert_eq!(
            answer["result"]["content"][0]["text"], "read from a file",
            "{answer}"
        );
    }
}
