//! Workbench files whose agent has an AutoGen `McpWorkbench` (stdio, examples/demo_server,
//! `echo` overridden to `say`), served by `toolyard serve` and called by Python SDK clients:
//! two clients at once of the team file AutoGen dumped (tests/fixtures/teams/mcp_team.json)
//! share the file's server (the default), or each run has its own
//! (`mcp_servers = "per-run"`, gone before the answer); serve stops the server when it stops; a
//! dead server fails only its own file's runs; a removed or changed file's server is stopped.

mod common;
mod common_agents;
mod common_teams;
mod workbench_support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{example_bin, marked_processes};
use common_teams::{mcp_fixture_copy, mcp_script};
use serde_json::{Value, json};
use toolyard::compose::{ModelTable, WorkbenchSet};
use toolyard::models::scripted::ScriptedServer;
use toolyard::workbench::{CallContext, Workbench};
use workbench_support::{Served, run_tool, serve_http, workbench_dir};

/// The model calls `say` (the demo server's `echo`, overridden) once, then ends.
fn script() -> Value {
    json!({"rules": [
        {"when": {"tool_offered": "say", "after_tool_result": false},
         "reply": {"kind": "call_tool", "name": "say",
                   "arguments": {"message": "hello from the demo server"}}},
        {"when": {"after_tool_result": true}, "reply": {"kind": "text", "text": "done"}},
    ], "when_done": "cycle"})
}

/// A servers.toml in `dir` with no upstream and the scripted model `mcp` running [`script`].
fn config(dir: &Path) -> PathBuf {
    let script_path = dir.join("script.json");
    std::fs::write(&script_path, script().to_string()).expect("script");
    let path = dir.join("servers.toml");
    let text = format!(
        "[models.mcp]\nprovider = \"scripted\"\nscript = \"{}\"\n",
        script_path.display()
    );
    std::fs::write(&path, text).expect("servers.toml");
    path
}

/// An AssistantAgent workbench file `name` on `model_client` (a `[models]` name, or a TOML
/// inline component) whose McpWorkbench runs `command` marked with `marker`; `toolyard` is the
/// file's `[toolyard]` table body.
fn agent_file(
    name: &str,
    model_client: &str,
    command: &str,
    marker: &str,
    toolyard: &str,
) -> String {
    format!(
        r#"provider = "autogen_agentchat.agents.AssistantAgent"

[config]
name = "{name}"
model_client = {model_client}
system_message = "Use the tools."

[[config.workbench]]
provider = "autogen_ext.tools.mcp.McpWorkbench"
[config.workbench.config.server_params]
type = "StdioServerParams"
command = "{command}"
read_timeout_seconds = 30
env = {{ TOOLYARD_TEST_MARKER = "{marker}" }}
[config.workbench.config.tool_overrides.echo]
name = "say"
description = "Say a message back."

[toolyard]
{toolyard}
"#
    )
}

fn demo() -> String {
    example_bin("demo_server").display().to_string()
}

fn marker() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Calls `tool` on `served` from two Python SDK clients (two processes) at once.
fn two_clients(served: &Served, tool: &str) -> (Value, Value) {
    let target = [format!("{}/mcp", served.base)];
    std::thread::scope(|s| {
        let a = s.spawn(|| run_tool(tool, r#"{"task": "first"}"#, "http", &target));
        let b = s.spawn(|| run_tool(tool, r#"{"task": "second"}"#, "http", &target));
        (
            a.join().expect("first client"),
            b.join().expect("second client"),
        )
    })
}

fn assert_said_hello(report: &Value) {
    let result = &report["result"];
    assert_eq!(result["is_error"], false, "{report}");
    let messages = result["messages"].to_string();
    assert!(
        messages.contains("hello from the demo server"),
        "{messages}"
    );
    assert!(
        messages.contains("\"say\""),
        "the overridden name: {messages}"
    );
}

/// SIGTERM to `serve`; waits for its clean exit.
fn stop(mut served: Served) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(served.guard.id()).expect("pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = served.guard.child_mut().try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "serve did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "clean exit: {status}");
}

#[test]
fn two_clients_at_once_share_the_autogen_files_server_and_serve_stops_it() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let script = toolyard::models::scripted::Script::from_json(&mcp_script().to_string());
    let model = rt
        .block_on(ScriptedServer::start(script.expect("script")))
        .expect("scripted model");
    let dir = tempfile::tempdir().expect("tempdir");
    let m = marker();
    let wb = workbench_dir(dir.path(), &[]);
    let url = model.openai_base_url();
    mcp_fixture_copy("mcp_team", &wb, &demo(), &m, Some(&url));
    let served = serve_http(&config(dir.path()), &wb);
    assert_eq!(
        marked_processes(&m),
        Vec::<u32>::new(),
        "started on first use"
    );
    let (first, second) = two_clients(&served, "mcp_team");
    assert_said_hello(&first);
    assert_said_hello(&second);
    assert_eq!(first["result"]["stop_reason"], "Text 'TERMINATE' mentioned");
    assert_eq!(
        marked_processes(&m).len(),
        1,
        "one server shared by both runs"
    );
    let target = [format!("{}/mcp", served.base)];
    assert_said_hello(&run_tool(
        "mcp_team",
        r#"{"task": "third"}"#,
        "http",
        &target,
    ));
    assert_eq!(marked_processes(&m).len(), 1, "still the same server");
    stop(served);
    assert_eq!(
        marked_processes(&m),
        Vec::<u32>::new(),
        "no server left after serve"
    );
}

#[test]
fn per_run_servers_are_gone_when_each_call_answers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let m = marker();
    let file = agent_file(
        "helper",
        "\"mcp\"",
        &demo(),
        &m,
        "mcp_servers = \"per-run\"",
    );
    let wb = workbench_dir(dir.path(), &[("helper.toml", &file)]);
    let served = serve_http(&config(dir.path()), &wb);
    let (first, second) = two_clients(&served, "helper");
    assert_said_hello(&first);
    assert_said_hello(&second);
    assert_eq!(
        marked_processes(&m),
        Vec::<u32>::new(),
        "each run stopped its server before answering"
    );
    stop(served);
}

#[test]
fn a_server_that_cannot_start_fails_its_own_runs_and_the_healthy_file_serves() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (healthy, dead) = (marker(), marker());
    let missing = "/nonexistent/toolyard-mcp-demo-server";
    let wb = workbench_dir(
        dir.path(),
        &[
            (
                "healthy.toml",
                &agent_file("healthy", "\"mcp\"", &demo(), &healthy, ""),
            ),
            (
                "dead.toml",
                &agent_file("dead", "\"mcp\"", missing, &dead, ""),
            ),
        ],
    );
    let served = serve_http(&config(dir.path()), &wb);
    let target = [format!("{}/mcp", served.base)];
    let (ok, failed) = std::thread::scope(|s| {
        let ok = s.spawn(|| run_tool("healthy", r#"{"task": "go"}"#, "http", &target));
        let failed = s.spawn(|| run_tool("dead", r#"{"task": "go"}"#, "http", &target));
        (ok.join().expect("healthy"), failed.join().expect("dead"))
    });
    assert_said_hello(&ok);
    assert_eq!(failed["result"]["is_error"], true, "{failed}");
    let text = failed["result"]["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("toolyard-mcp-demo-server")
            && text.contains(&format!("cannot start `{missing}`")),
        "{text}"
    );
    stop(served);
    assert_eq!(marked_processes(&healthy), Vec::<u32>::new());
}

/// Calls the workbench tool `name` in-process.
async fn call(set: &WorkbenchSet, name: &str) -> Value {
    let args = json!({"task": "go"});
    let result = set
        .call_tool(name, args.as_object().cloned(), CallContext::default())
        .await
        .expect("a tool result");
    assert_ne!(result.is_error, Some(true), "{result:?}");
    result.structured_content.unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_removed_or_changed_file_stops_its_server() {
    let model = ScriptedServer::start(
        toolyard::models::scripted::Script::from_json(&script().to_string()).expect("script"),
    )
    .await
    .expect("scripted model");
    let inline = format!(
        "{{ provider = \"openai\", config = {{ model = \"gpt-4o\", base_url = \"{}\" }} }}",
        model.openai_base_url()
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let (m1, m2) = (marker(), marker());
    let path = dir.path().join("helper.toml");
    std::fs::write(&path, agent_file("helper", &inline, &demo(), &m1, "")).expect("write");
    let set = WorkbenchSet::load(dir.path(), Arc::new(ModelTable::default()));
    assert!(set.problems().is_empty(), "{:?}", set.problems());
    let out = call(&set, "helper").await;
    assert!(
        out.to_string().contains("hello from the demo server"),
        "{out}"
    );
    assert_eq!(marked_processes(&m1).len(), 1);
    // Changed: the old server stops, the next run starts the new one.
    std::fs::write(&path, agent_file("helper", &inline, &demo(), &m2, "")).expect("rewrite");
    set.refresh().await;
    assert_eq!(
        marked_processes(&m1),
        Vec::<u32>::new(),
        "the old file's server"
    );
    call(&set, "helper").await;
    assert_eq!(marked_processes(&m2).len(), 1);
    // Removed: its server stops.
    std::fs::remove_file(&path).expect("remove");
    set.refresh().await;
    assert_eq!(
        marked_processes(&m2),
        Vec::<u32>::new(),
        "the removed file's server"
    );
    assert!(set.list_tools().await.expect("tools").is_empty());
    set.shutdown().await;
}
