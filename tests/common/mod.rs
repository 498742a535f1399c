//! Shared helpers for integration tests: test-tool locations from `.ci/setup`, example binaries,
//! free ports, serving an axum app, and a guard that kills a spawned server's whole process
//! group on drop.
//!
//! Use from a test file with `mod common;`. Helpers panic with a clear message when the
//! environment is not set up: tests may panic, library code may not.
#![allow(dead_code)] // each test binary uses a different subset of these helpers

pub mod oidc;
pub mod peers;

use std::ffi::OsStr;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// What to tell the developer when a test-tool variable is missing.
const SETUP_HINT: &str = "run `eval \"$(bash .ci/setup)\"` in the repo root, then re-run the tests";

/// The path in environment variable `var`, which `.ci/setup` exports; panics when unset or missing.
fn tool_path(var: &str) -> PathBuf {
    let value = std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| panic!("{var} is not set: {SETUP_HINT}"));
    let path = PathBuf::from(value);
    assert!(
        path.exists(),
        "{var}={} does not exist: {SETUP_HINT}",
        path.display()
    );
    path
}

/// The venv python with the `mcp` SDK installed (`TOOLYARD_PYTHON`).
pub fn python() -> PathBuf {
    tool_path("TOOLYARD_PYTHON")
}

/// An executable from the pinned npm tools' `node_modules/.bin` (`TOOLYARD_NPM_BIN`), e.g.
/// `mcp-server-everything`.
pub fn npm_bin(name: &str) -> PathBuf {
    let path = tool_path("TOOLYARD_NPM_BIN").join(name);
    assert!(
        path.exists(),
        "{} not found: is it in .ci/npm/package.json? ({SETUP_HINT})",
        path.display()
    );
    path
}

/// A command running the npm tool `name` (e.g. `mcp-inspector`) under Node 22: the npm bin
/// dir (which holds Node 22's `node`) goes first on PATH, so `#!/usr/bin/env node` scripts and
/// anything they spawn use Node 22 rather than the system node.
pub fn npm_command(name: &str) -> Command {
    let program = npm_bin(name);
    let bin_dir = tool_path("TOOLYARD_NPM_BIN");
    let mut path =
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).collect::<Vec<_>>();
    path.insert(0, bin_dir);
    let mut command = Command::new(program);
    command.env(
        "PATH",
        std::env::join_paths(path).expect("PATH entries without separators"),
    );
    command
}

/// Starts the MCP conformance suite's own reference server (tests/peers/conformance-server,
/// installed by `.ci/setup` at `TOOLYARD_CONFORMANCE_SERVER`) on a free port under Node 22;
/// returns its guard and its streamable HTTP URL once the port answers.
pub fn conformance_server() -> (ChildGuard, String) {
    let dir = tool_path("TOOLYARD_CONFORMANCE_SERVER");
    let port = free_port();
    let bin_dir = tool_path("TOOLYARD_NPM_BIN");
    let mut path =
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).collect::<Vec<_>>();
    path.insert(0, bin_dir);
    let mut command = Command::new(dir.join("node_modules/.bin/tsx"));
    command
        .arg("everything-server.ts")
        .current_dir(&dir)
        .env(
            "PATH",
            std::env::join_paths(path).expect("PATH entries without separators"),
        )
        .env("PORT", port.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let guard = ChildGuard::spawn(&mut command);
    wait_for_port(
        format!("127.0.0.1:{port}").parse().expect("addr"),
        Duration::from_secs(60),
    );
    (guard, format!("http://127.0.0.1:{port}/mcp"))
}

/// The pinned npm tools' `node_modules` directory (`TOOLYARD_NODE_MODULES`).
pub fn node_modules() -> PathBuf {
    tool_path("TOOLYARD_NODE_MODULES")
}

/// A Node 22 binary (`TOOLYARD_NODE22`), needed by Inspector 2.x and the conformance suite.
pub fn node22() -> PathBuf {
    tool_path("TOOLYARD_NODE22")
}

/// The directory holding the example binaries of the profile this test was built with
/// (`target/<profile>/examples`, next to the test executable in `target/<profile>/deps`).
pub fn examples_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable has a path");
    let profile_dir = exe
        .parent() // deps/
        .and_then(|deps| deps.parent()) // <profile>/
        .expect("the test executable lives in target/<profile>/deps");
    profile_dir.join("examples")
}

/// The built example `name` (e.g. `demo_server`); panics when it was not built.
pub fn example_bin(name: &str) -> PathBuf {
    let path = examples_dir().join(name);
    assert!(
        path.is_file(),
        "example binary {} is missing: build it with `cargo build --examples` \
         (cargo test / nextest build examples too)",
        path.display()
    );
    path
}

/// A TCP port on 127.0.0.1 that was free a moment ago (the listener is dropped before return).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// Waits until something accepts TCP connections on `addr` (a freshly started server), or
/// panics after `timeout`. This is a readiness wait, not a timing assertion.
pub fn wait_for_port(addr: SocketAddr, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(
            Instant::now() < deadline,
            "nothing listens on {addr} after {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A spawned child process (in its own process group) that is killed, with everything it
/// started, when the guard is dropped: no orphans, even when a test panics.
#[derive(Debug)]
pub struct ChildGuard {
    child: Child,
}

impl ChildGuard {
    /// Spawns `command` as the leader of a new process group.
    pub fn spawn(command: &mut Command) -> Self {
        command.process_group(0);
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {:?}: {e}", command.get_program()));
        Self { child }
    }

    /// Spawns `program args...` as the leader of a new process group.
    pub fn spawn_program<I, S>(program: impl AsRef<OsStr>, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Self::spawn(Command::new(program).args(args))
    }

    /// The child's process id (also its process group id).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The child, e.g. to take its stdout or to check whether it exited.
    pub fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // The group may already be gone; that is fine.
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Serves `app` on 127.0.0.1:0 until `shutdown` is cancelled; returns the bound address.
pub async fn serve_until(
    app: axum::Router,
    shutdown: tokio_util::sync::CancellationToken,
) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await;
    });
    addr
}

/// Processes whose environment carries `TOOLYARD_TEST_MARKER=marker` (give a spawned server
/// that variable to find it, and its children, later: e.g. to prove none is left behind).
pub fn marked_processes(marker: &str) -> Vec<u32> {
    let needle = format!("TOOLYARD_TEST_MARKER={marker}");
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .map(|env| env.split(|b| *b == 0).any(|kv| kv == needle.as_bytes()))
                .unwrap_or(false)
        })
        .collect()
}

/// Writes a `servers.toml` into `dir` whose one upstream, `py` (unprefixed, 2025-11-25), is
/// the Python `mcp` SDK server tests/py/fastmcp_upstream.py over stdio, with task-supporting
/// tools.
pub fn write_fastmcp_tasks_config(dir: &Path) -> PathBuf {
    let path = dir.join("servers.toml");
    let text = format!(
        r#"
[gateway]
prefix = "never"

[servers.py]
command = "{python}"
args = ["{py_server}", "stdio"]
protocol = "2025-11-25"
timeout_secs = 30
"#,
        python = python().display(),
        py_server = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/fastmcp_upstream.py"),
    );
    std::fs::write(&path, text).expect("write servers.toml");
    path
}

/// Spawns `serve` (a `toolyard serve` command listening on 127.0.0.1:`port`), waits until
/// its `/healthz` says every upstream is ready, and returns the guard and `http://127.0.0.1:PORT`.
pub fn spawn_until_healthy(serve: &mut Command, port: u16) -> (ChildGuard, String) {
    let guard = ChildGuard::spawn(serve);
    let addr = format!("127.0.0.1:{port}").parse().expect("addr");
    wait_for_port(addr, Duration::from_secs(60));
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let health = healthz(&base);
        if health["status"] == "ok" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "upstreams never became ready: {health}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (guard, base)
}

/// The JSON a server at `base` answers on `/healthz` (null when it does not answer).
pub fn healthz(base: &str) -> serde_json::Value {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let body = rt.block_on(async {
        match reqwest::get(format!("{base}/healthz")).await {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    });
    serde_json::from_str(&body).unwrap_or(serde_json::Value::Null)
}

/// Runs the Python client `script` (under tests/py) with `args`, asserts that it succeeded and
/// returns the JSON report on the last line of its stdout.
pub fn python_report<I, S>(script: &str, args: I) -> serde_json::Value
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/py")
        .join(script);
    let output = Command::new(python())
        .arg(script)
        .args(args)
        .output()
        .expect("run python client");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "python client failed ({}):\nstdout: {stdout}\nstderr: {stderr}",
        output.status
    );
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("bad report {last}: {e}\n{stderr}"))
}

/// The tool names a Python client report lists under `tools`.
pub fn report_tools(report: &serde_json::Value) -> Vec<&str> {
    report["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(serde_json::Value::as_str)
        .collect()
}
