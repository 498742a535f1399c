//! `toolyard call` / `tools` against a running gateway (`--url`, rmcp's streamable HTTP client)
//! and `toolyard health` for container health checks, as processes against a real
//! `toolyard serve`: two calls at once with their progress on stderr, the answer text on stdout,
//! a degraded gateway (a dying upstream next to a healthy one) and no gateway at all.

mod common;
mod workbench_support;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{ChildGuard, free_port, healthz, wait_for_port};
use serde_json::Value;
use workbench_support::{Served, serve_http, shipped_workbenches, toolyard, write_config};

/// The demo server from toolyard itself, next to the test config's servers.
const DEMO: &str = "\n[servers.demo]\ncommand = \"${TOOLYARD_EXE}\"\nargs = [\"demo-server\"]\n";

/// `toolyard serve` with server-everything, the filesystem server, the demo server, the
/// scripted model and the shipped workbenches, on a free port.
fn serve() -> (Served, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), DEMO);
    (serve_http(&config, &shipped_workbenches()), dir)
}

/// Runs `toolyard ARGS` from an empty folder (no servers.toml there: `--url` needs none).
fn toolyard_run(args: &[&str]) -> Output {
    let dir = tempfile::tempdir().expect("tempdir");
    Command::new(toolyard())
        .args(args)
        .current_dir(dir.path())
        .env_remove("TOOLYARD_CONFIG")
        .env_remove("TOOLYARD_WORKBENCHES")
        .output()
        .expect("run toolyard")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn two_calls_through_url_at_once_print_their_answers_and_progress() {
    let (served, _dir) = serve();
    let url = format!("{}/mcp", served.base);
    let research = r#"{"task": "what is toolyard?"}"#;
    let (first, second) = std::thread::scope(|s| {
        let a =
            s.spawn(|| toolyard_run(&["call", "--url", &url, "research_team", "--args", research]));
        let b = s.spawn(|| {
            toolyard_run(&[
                "call",
                "--url",
                &url,
                "demo__echo",
                "--args",
                r#"{"message": "hello from the second caller"}"#,
            ])
        });
        (a.join().expect("first"), b.join().expect("second"))
    });

    let (stdout, stderr) = (text(&first.stdout), text(&first.stderr));
    assert!(first.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.starts_with("researcher: Echo: Notes:"), "{stdout}");
    assert!(stdout.contains("writer: Answer:"), "{stdout}");
    assert!(
        !stdout.contains("stop_reason"),
        "structured content only with --json: {stdout}"
    );
    // Each team message arrived as a progress notification while the call ran.
    let progress: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("progress "))
        .collect();
    assert!(progress.len() >= 3, "{stderr}");
    assert!(
        progress
            .iter()
            .any(|l| l.contains(": researcher: everything__echo(")),
        "{stderr}"
    );

    let (stdout, stderr) = (text(&second.stdout), text(&second.stderr));
    assert!(second.status.success(), "{stdout}\n{stderr}");
    assert_eq!(stdout, "hello from the second caller\n");
}

#[test]
fn call_json_tools_and_errors_through_url() {
    let (served, _dir) = serve();
    let url = format!("{}/mcp", served.base);

    let out = toolyard_run(&[
        "call",
        "--url",
        &url,
        "triage",
        "--args",
        r#"{"task": "My invoice is wrong"}"#,
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let result: Value = serde_json::from_slice(&out.stdout).expect("JSON result");
    assert_eq!(result["isError"], false, "{result}");
    assert!(
        result["structuredContent"]["stop_reason"].is_string(),
        "{result}"
    );

    let out = toolyard_run(&["tools", "--url", &url]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for tool in ["research_team", "triage", "demo__echo", "everything__echo"] {
        assert!(
            stdout.lines().any(|l| l.starts_with(&format!("{tool} "))),
            "{tool} listed: {stdout}"
        );
    }

    let out = toolyard_run(&[
        "call",
        "--url",
        &url,
        "demo__add",
        "--args",
        r#"{"a": 1, "b": "two"}"#,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("/b"), "{}", text(&out.stdout));

    let out = toolyard_run(&["call", "--url", &url, "no_such_tool"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no_such_tool"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn call_and_tools_through_url_fail_clearly_without_a_gateway() {
    let url = format!("http://127.0.0.1:{}/mcp", free_port());
    for args in [
        vec!["call", "--url", &url, "demo__echo"],
        vec!["tools", "--url", &url],
    ] {
        let out = toolyard_run(&args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(&format!("error: cannot reach the gateway at {url}")),
            "{stderr}"
        );
    }
}

#[test]
fn health_is_ok_for_a_ready_gateway_whatever_url_names_it() {
    let (served, _dir) = serve();
    for url in [
        served.base.clone(),
        format!("{}/mcp", served.base),
        format!("{}/healthz", served.base),
    ] {
        let out = toolyard_run(&["health", "--url", &url]);
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "{url}: {stdout}{}", text(&out.stderr));
        assert!(stdout.starts_with("ok: 3 of 3 server(s) ready"), "{stdout}");
    }
}

/// `toolyard serve` on a config whose `broken` server exits at once (restarted with backoff,
/// never ready) next to the healthy demo server; returns once /healthz shows both.
fn serve_degraded(dir: &Path) -> (ChildGuard, String) {
    let config = dir.join("servers.toml");
    std::fs::write(
        &config,
        format!("{DEMO}\n[servers.broken]\ncommand = \"/bin/false\"\n"),
    )
    .expect("write config");
    let port = free_port();
    let guard = ChildGuard::spawn(
        Command::new(toolyard())
            .args(["serve", "--config"])
            .arg(&config)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    wait_for_port(
        format!("127.0.0.1:{port}").parse().expect("addr"),
        Duration::from_secs(60),
    );
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let health = healthz(&base);
        let state = |name: &str| {
            health["servers"]
                .as_array()
                .and_then(|s| s.iter().find(|s| s["name"] == name))
                .map(|s| s["state"].clone())
        };
        if state("demo") == Some("ready".into()) && state("broken") == Some("down".into()) {
            break;
        }
        assert!(Instant::now() < deadline, "never settled: {health}");
        std::thread::sleep(Duration::from_millis(100));
    }
    (guard, base)
}

#[test]
fn health_is_not_ok_for_a_degraded_gateway_and_names_the_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_guard, base) = serve_degraded(dir.path());
    let out = toolyard_run(&["health", "--url", &base]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.starts_with("degraded: 1 of 2 server(s) ready"),
        "{stdout}"
    );
    assert!(stdout.contains("server `broken` is down"), "{stdout}");
    // The healthy server next to it still answers through the same gateway.
    let out = toolyard_run(&[
        "call",
        "--url",
        &format!("{base}/mcp"),
        "demo__echo",
        "--args",
        r#"{"message": "still here"}"#,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "still here\n");
}

#[test]
fn health_fails_when_nothing_answers() {
    let url = format!("http://127.0.0.1:{}", free_port());
    let out = toolyard_run(&["health", "--url", &url, "--timeout-secs", "2"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("unhealthy: no answer from"), "{stderr}");
}
