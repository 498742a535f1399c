//! The MCP Inspector CLI (2.x, on Node 22) as a real client of toolyard over streamable HTTP,
//! legacy SSE and stdio.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{ChildGuard, example_bin, free_port, node22, npm_bin, wait_for_port};
use serde_json::Value;

fn toolyard() -> &'static str {
    env!("CARGO_BIN_EXE_toolyard")
}

fn write_config(dir: &Path) -> PathBuf {
    let path = dir.join("servers.toml");
    let text = format!(
        "[servers.demo]\ncommand = \"{}\"\ntools.overrides.echo = {{ name = \"say\" }}\n",
        example_bin("demo_server").display()
    );
    std::fs::write(&path, text).expect("write config");
    path
}

/// Run the Inspector CLI with `args`; returns its JSON output.
fn inspector(args: &[&str]) -> Value {
    let node = node22();
    let path = format!(
        "{}:{}",
        node.parent().expect("node dir").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = Command::new(&node)
        .arg(npm_bin("mcp-inspector"))
        .arg("--cli")
        .args(args)
        .env("PATH", path)
        .env(
            "MCP_CATALOG_PATH",
            std::env::temp_dir().join("toolyard-inspector-catalog.json"),
        )
        .stdin(Stdio::null())
        .output()
        .expect("run inspector");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "inspector {args:?} failed: {}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("inspector output is not JSON ({e}): {stdout}"))
}

fn serve(config: &Path) -> (ChildGuard, u16) {
    let port = free_port();
    let guard = ChildGuard::spawn(
        Command::new(toolyard())
            .args(["serve", "--config"])
            .arg(config)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null()),
    );
    wait_for_port(
        format!("127.0.0.1:{port}").parse().expect("addr"),
        Duration::from_secs(30),
    );
    (guard, port)
}

fn tool_names(list: &Value) -> Vec<String> {
    list["tools"]
        .as_array()
        .expect("tools array")
        .iter()
        .filter_map(|t| t["name"].as_str().map(String::from))
        .collect()
}

fn first_text(result: &Value) -> String {
    result["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn inspector_lists_and_calls_over_streamable_http_and_sse() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_serve, port) = serve(&write_config(dir.path()));
    let deadline = Instant::now() + Duration::from_secs(30);
    for url in [
        format!("http://127.0.0.1:{port}/mcp"),
        format!("http://127.0.0.1:{port}/sse"),
    ] {
        let mut list = inspector(&[&url, "--method", "tools/list"]);
        while !tool_names(&list).contains(&"demo__say".to_string()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(200));
            list = inspector(&[&url, "--method", "tools/list"]);
        }
        let names = tool_names(&list);
        assert!(names.contains(&"demo__say".to_string()), "{url}: {names:?}");
        assert!(names.contains(&"demo__add".to_string()), "{url}: {names:?}");
        let result = inspector(&[
            &url,
            "--method",
            "tools/call",
            "--tool-name",
            "demo__say",
            "--tool-arg",
            "message=from inspector",
        ]);
        assert_eq!(first_text(&result), "from inspector", "{url}: {result}");
        let resources = inspector(&[&url, "--method", "resources/list"]);
        assert_eq!(
            resources["resources"][0]["uri"], "demo://readme",
            "{url}: {resources}"
        );
        let prompt = inspector(&[
            &url,
            "--method",
            "prompts/get",
            "--prompt-name",
            "demo__greet",
            "--prompt-args",
            "name=Grace",
        ]);
        assert!(prompt.to_string().contains("Grace"), "{url}: {prompt}");
    }
}

#[test]
fn inspector_launches_toolyard_over_stdio() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path());
    let config = config.to_str().expect("utf-8");
    // The Inspector owns `--config`; the server gets its config through the environment.
    let env = format!("TOOLYARD_CONFIG={config}");
    let list = inspector(&[
        "-e",
        &env,
        "--method",
        "tools/list",
        "--",
        toolyard(),
        "serve",
        "--stdio",
    ]);
    let names = tool_names(&list);
    assert!(names.contains(&"demo__say".to_string()), "{names:?}");
    let result = inspector(&[
        "-e",
        &env,
        "--method",
        "tools/call",
        "--tool-name",
        "demo__add",
        "--tool-arg",
        "a=2",
        "b=3",
        "--",
        toolyard(),
        "serve",
        "--stdio",
    ]);
    assert_eq!(first_text(&result), "5", "{result}");
}
