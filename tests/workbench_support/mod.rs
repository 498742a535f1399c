//! Shared set-up of the workbench tests: a servers.toml with real upstreams and the scripted
//! model, `toolyard serve` over HTTP or as a stdio command, and the Python workbench client.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::common::{ChildGuard, free_port, npm_bin, python_report, spawn_until_healthy};

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
    let (guard, base) = spawn_until_healthy(
        Command::new(toolyard())
            .args(["serve", "--config"])
            .arg(config)
            .arg("--workbenches")
            .arg(workbenches)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null()),
        port,
    );
    Served { guard, base }
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
    let args = options
        .iter()
        .copied()
        .chain([transport, "--"])
        .chain(target.iter().map(String::as_str));
    python_report("workbench_client.py", args)
}

/// Runs `tool` with the JSON `args` through the Python workbench client (scenario `run`).
pub fn run_tool(tool: &str, args: &str, transport: &str, target: &[String]) -> Value {
    client(
        &["--scenario", "run", "--tool", tool, "--args", args],
        transport,
        target,
    )
}

/// The progress messages of a client report, in order.
pub fn progress_messages(report: &Value) -> Vec<&str> {
    report["progress"]
        .as_array()
        .expect("progress")
        .iter()
        .filter_map(|p| p["message"].as_str())
        .collect()
}

/// Creates the folder `dir/wb` holding `files` (name, text) and returns it.
pub fn workbench_dir(dir: &Path, files: &[(&str, &str)]) -> PathBuf {
    let wb = dir.join("wb");
    std::fs::create_dir(&wb).expect("mkdir");
    for (name, text) in files {
        std::fs::write(wb.join(name), text).expect("write workbench file");
    }
    wb
}

/// A round-robin team `ask_human` of one UserProxyAgent `human`, stopping after
/// `max_messages` messages.
pub fn ask_human_team(max_messages: u32) -> String {
    format!(
        r#"provider = "RoundRobinGroupChat"
[config]
name = "ask_human"
[[config.participants]]
provider = "autogen_agentchat.agents.UserProxyAgent"
config = {{ name = "human" }}
[config.termination_condition]
provider = "MaxMessageTermination"
config = {{ max_messages = {max_messages} }}
"#
    )
}
