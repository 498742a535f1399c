//! Shared set-up of the workbench tests: a servers.toml with real upstreams and the scripted
//! model, `toolyard serve` over HTTP or as a stdio command, and the Python workbench client.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{ChildGuard, free_port, npm_bin, python, wait_for_port};

/// The toolyard binary.
pub fn toolyard() -> &'static str {
    env!("CARGO_BIN_EXE_toolyard")
}

/// The repository's shipped workbench folder.
pub fn shipped_workbenches() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("workbenches")
}

/// A servers.toml with server-everything and the filesystem server (over the repo's docs), the
/// scripted demo model, and `extra` appended.
pub fn write_config(dir: &Path, extra: &str) -> PathBuf {
    let repo = env!("CARGO_MANIFEST_DIR");
    let text = format!(
        r#"
[gateway]
prefix = "always"

[servers.everything]
command = "{everything}"
timeout_secs = 30

[servers.fs]
command = "{fs}"
args = ["{repo}/docs"]
timeout_secs = 30

[models.scripted]
provider = "scripted"
script = "{repo}/workbenches/scripts/demo.json"

[models.openai]
provider = "openai"
model = "gpt-4o-mini"
api_key_env = "OPENAI_API_KEY"
{extra}
"#,
        everything = npm_bin("mcp-server-everything").display(),
        fs = npm_bin("mcp-server-filesystem").display(),
    );
    let path = dir.join("servers.toml");
    std::fs::write(&path, text).expect("write servers.toml");
    path
}

/// A running `toolyard serve` on HTTP.
pub struct Served {
    /// Kills the server on drop.
    pub guard: ChildGuard,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

/// Starts `toolyard serve --config config --workbenches dir` on a free port; waits for health.
pub fn serve_http(config: &Path, workbenches: &Path) -> Served {
    let port = free_port();
    let guard = ChildGuard::spawn(
        Command::new(toolyard())
            .args(["serve", "--config"])
            .arg(config)
            .arg("--workbenches")
            .arg(workbenches)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null()),
    );
    let addr = format!("127.0.0.1:{port}").parse().expect("addr");
    wait_for_port(addr, Duration::from_secs(60));
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let health = healthz(&base);
        if health["status"] == "ok" {
            break;
        }
        assert!(Instant::now() < deadline, "upstreams never ready: {health}");
        std::thread::sleep(Duration::from_millis(100));
    }
    Served { guard, base }
}

fn healthz(base: &str) -> Value {
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
    serde_json::from_str(&body).unwrap_or(Value::Null)
}

/// The stdio command line of `toolyard serve` (for the client's `stdio --` target).
pub fn stdio_target(config: &Path, workbenches: &Path) -> Vec<String> {
    vec![
        toolyard().to_string(),
        "serve".into(),
        "--stdio".into(),
        "--config".into(),
        config.display().to_string(),
        "--workbenches".into(),
        workbenches.display().to_string(),
    ]
}

/// Runs tests/py/workbench_client.py with `options`, then `transport -- target...`.
pub fn client(options: &[&str], transport: &str, target: &[String]) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/workbench_client.py");
    let output = Command::new(python())
        .arg(script)
        .args(options)
        .arg(transport)
        .arg("--")
        .args(target)
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
