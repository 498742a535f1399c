//! A new user's first hour, run as the user runs it: an IDE launching the bundled servers.toml
//! from `/` (workbench tools served from the config's folder, the demo server from toolyard
//! itself with no cargo on PATH, `get-env` hidden), config mistakes reported once with line and
//! column, and logs without colour codes when stderr is not a terminal.

mod common;
mod workbench_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{npm_bin, python, report_tools};
use serde_json::Value;
use workbench_support::toolyard;

/// A folder holding an `npx` that runs the pinned npm servers from `TOOLYARD_NPM_BIN` (tests
/// reach no registry; the servers it starts are the real ones the bundled config names).
fn npx_shim(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir(&bin).expect("mkdir bin");
    let script = format!(
        r#"#!/bin/sh
# npx stand-in for tests: `npx -y PACKAGE@VERSION ARGS...` runs the pinned package's binary.
while [ "$1" = "-y" ]; do shift; done
package="$1"; shift
case "$package" in
  @modelcontextprotocol/server-everything@*) exec "{everything}" "$@" ;;
  @modelcontextprotocol/server-filesystem@*) exec "{filesystem}" "$@" ;;
esac
echo "npx shim: unknown package $package" >&2
exit 127
"#,
        everything = npm_bin("mcp-server-everything").display(),
        filesystem = npm_bin("mcp-server-filesystem").display(),
    );
    let npx = bin.join("npx");
    std::fs::write(&npx, script).expect("write npx");
    let mut perms = std::fs::metadata(&npx).expect("npx").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&npx, perms).expect("chmod npx");
    bin
}

/// A PATH with the npx shim and Node (the npm bin folder holds Node 22), the system folders,
/// and no cargo.
fn path_without_cargo(shim: &Path) -> String {
    let node = npm_bin("node");
    let node_dir = node.parent().expect("npm bin dir");
    let path = format!("{}:{}:/usr/bin:/bin", shim.display(), node_dir.display());
    let has_cargo = std::env::split_paths(&path).any(|d| d.join("cargo").exists());
    assert!(!has_cargo, "cargo must not be on the IDE's PATH: {path}");
    path
}

/// The repository's own servers.toml, by absolute path.
fn bundled_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("servers.toml")
}

#[test]
fn an_ide_launch_from_root_serves_the_bundled_config_and_its_workbenches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = path_without_cargo(&npx_shim(dir.path()));
    let client = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/workbench_client.py");
    let config = bundled_config();
    // The Python SDK client starts `toolyard serve --stdio --config /abs/servers.toml` the way
    // an IDE does: from `/`, with the IDE's environment.
    let output = Command::new(python())
        .arg(&client)
        .args(["--scenario", "run", "--tool", "research_team"])
        // Lists answer with what is ready; the npm servers start later (list_changed).
        .args([
            "--wait-for",
            "everything__echo",
            "--wait-for",
            "fs__read_text_file",
        ])
        .args(["--args", r#"{"task": "what is toolyard?"}"#])
        .args(["stdio", "--", toolyard(), "serve", "--stdio", "--config"])
        .arg(&config)
        .current_dir("/")
        .env("PATH", path)
        .env_remove("TOOLYARD_WORKBENCHES")
        .env_remove("TOOLYARD_CONFIG")
        .env_remove("NO_COLOR")
        .output()
        .expect("run the python client");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("bad report {stdout}: {e}\n{stderr}"));

    let tools = report_tools(&report);
    for expected in [
        "research_team",
        "triage",
        "review_graph",
        "demo__echo",
        "everything__echo",
        "fs__read_text_file",
    ] {
        assert!(tools.contains(&expected), "{expected} missing: {tools:?}");
    }
    assert!(
        !tools.contains(&"everything__get-env"),
        "get-env prints the environment, API keys included: {tools:?}"
    );
    let result = &report["result"];
    assert_eq!(result["is_error"], false, "{result}");
    let text = result["text"].as_str().unwrap_or_default();
    assert!(text.starts_with("researcher: Echo: Notes:"), "{text}");
    assert!(text.contains("writer: Answer:"), "{text}");

    let workbenches = Path::new(env!("CARGO_MANIFEST_DIR")).join("workbenches");
    assert!(
        stderr.contains(&format!(
            "serving the workbench folder {}",
            workbenches.display()
        )),
        "the served folder is logged: {stderr}"
    );
    assert!(!stderr.contains('\u{1b}'), "no colour codes: {stderr}");
}

/// Runs `toolyard ARGS` from `dir` with stderr and stdout captured (not terminals).
fn toolyard_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(toolyard())
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .env_remove("TOOLYARD_CONFIG")
        .env_remove("TOOLYARD_WORKBENCHES")
        .output()
        .expect("run toolyard")
}

#[test]
fn a_quoted_timeout_is_reported_once_with_file_line_column_and_what_is_expected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("servers.toml");
    std::fs::write(
        &config,
        "[servers.demo]\ncommand = \"${TOOLYARD_EXE}\"\nargs = [\"demo-server\"]\ntimeout_secs = \"60\"\n",
    )
    .expect("write config");
    for command in ["check", "serve", "tools"] {
        let out = toolyard_in(dir.path(), &[command, "--config", "servers.toml"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{command}: {stderr}");
        let expected = "servers.toml:4:16: [servers.demo] key `timeout_secs`: expected a number \
                        of seconds, found the string \"60\"";
        assert_eq!(stderr.matches(expected).count(), 1, "{command}: {stderr}");
        assert!(!stderr.contains("invalid type"), "no serde dump: {stderr}");
    }
}

#[test]
fn an_unknown_key_gets_a_did_you_mean_hint_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("servers.toml"),
        "[servers.demo]\ncommand = \"${TOOLYARD_EXE}\"\nstartup_timeout = 5\n",
    )
    .expect("write config");
    let out = toolyard_in(dir.path(), &["check"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "servers.toml:3:1: [servers.demo] key `startup_timeout`: unknown key \
             (did you mean `startup_timeout_secs`?)"
        ),
        "{stderr}"
    );
}

#[test]
fn a_missing_config_is_reported_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    for command in ["serve", "check", "tools"] {
        let out = toolyard_in(dir.path(), &[command, "--config", "nowhere.toml"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{command}: {stderr}");
        assert!(
            stderr.contains("nowhere.toml: cannot read config"),
            "{stderr}"
        );
        assert_eq!(
            stderr.matches("No such file or directory").count(),
            1,
            "{command}: {stderr}"
        );
    }
}

#[test]
fn logs_have_no_colour_codes_when_stderr_is_not_a_terminal() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("servers.toml"),
        "[servers.demo]\ncommand = \"${TOOLYARD_EXE}\"\nargs = [\"demo-server\"]\n\
         [servers.broken]\ncommand = \"/nonexistent/server\"\nstartup_timeout_secs = 2\n",
    )
    .expect("write config");
    let out = Command::new(toolyard())
        .args(["tools", "--config", "servers.toml"])
        .current_dir(dir.path())
        .env("RUST_LOG", "info")
        .env_remove("NO_COLOR")
        .output()
        .expect("run toolyard");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("demo__echo"), "{stdout}");
    assert!(stderr.contains("INFO"), "info logs were written: {stderr}");
    assert!(stderr.contains("WARN"), "warnings were written: {stderr}");
    assert!(!stderr.contains('\u{1b}'), "no ESC bytes: {stderr:?}");
    assert!(
        stderr.contains("no workbench folder"),
        "says that none is served: {stderr}"
    );
}

#[test]
fn tools_lists_what_is_ready_and_names_a_hung_upstream_instead_of_waiting_for_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("servers.toml"),
        "[servers.demo]\ncommand = \"${TOOLYARD_EXE}\"\nargs = [\"demo-server\"]\n\
         [servers.hung]\ncommand = \"sleep\"\nargs = [\"600\"]\nstartup_timeout_secs = 300\n",
    )
    .expect("write config");
    let started = std::time::Instant::now();
    let out = Command::new(toolyard())
        .args(["tools", "--config", "servers.toml", "--wait-secs", "2"])
        .current_dir(dir.path())
        .output()
        .expect("run toolyard");
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("demo__echo"), "{stdout}");
    assert!(
        stderr.contains("server `hung` is still starting"),
        "names the hung server: {stderr}"
    );
    // Far below the hung server's 300 s start-up timeout (the bound is 2 s plus start and stop).
    assert!(took < std::time::Duration::from_secs(60), "took {took:?}");
}

#[test]
fn call_prints_the_answer_text_and_shows_progress_on_stderr() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = workbench_support::write_config(dir.path(), "");
    let workbenches = workbench_support::shipped_workbenches();
    let run = |json: bool| {
        let mut command = Command::new(toolyard());
        command
            .args([
                "call",
                "research_team",
                "--args",
                r#"{"task": "what is toolyard?"}"#,
            ])
            .arg("--config")
            .arg(&config)
            .arg("--workbenches")
            .arg(&workbenches)
            .env_remove("NO_COLOR");
        if json {
            command.arg("--json");
        }
        command.output().expect("run toolyard call")
    };
    let out = run(false);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.starts_with("researcher: Echo: Notes:"), "{stdout}");
    assert!(
        !stdout.contains("stop_reason"),
        "no structured content: {stdout}"
    );
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("progress 2: researcher: everything__echo(")),
        "{stderr}"
    );
    let out = run(true);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: Value = serde_json::from_slice(&out.stdout).expect("JSON result");
    assert_eq!(
        result["structuredContent"]["stop_reason"], "Text 'TERMINATE' mentioned",
        "{result}"
    );
}
