//! Workbench tools served by `toolyard serve`, driven by the Python `mcp` SDK client over stdio,
//! streamable HTTP and SSE: live progress and logs, the structured result, an agent using an
//! upstream tool (server-everything `echo`) through the gateway, concurrent runs, cancellation
//! (the team and its upstream call stop), extra inputs, human input without a channel, and
//! `list_changed` when a file is added.

mod common;
mod workbench_support;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{python, python_report, report_tools};
use serde_json::Value;
use workbench_support::{
    ask_human_team, client, progress_messages, run_tool, serve_http, shipped_workbenches,
    stdio_target, workbench_dir, write_config,
};

const RESEARCH: &[&str] = &[
    "--scenario",
    "run",
    "--tool",
    "research_team",
    // Lists answer with what is ready; npx's server-everything may start later (list_changed).
    "--wait-for",
    "everything__echo",
    "--args",
    r#"{"task": "what is toolyard?"}"#,
];

/// What a research_team run must show on every transport.
fn assert_research_run(report: &Value) {
    let tools = report_tools(report);
    for t in [
        "research_team",
        "triage",
        "review_panel",
        "reviewer",
        "everything__echo",
    ] {
        assert!(tools.contains(&t), "{t} is listed: {tools:?}");
    }
    assert_eq!(report["has_output_schema"], true, "{report}");
    assert_eq!(report["input_schema"]["required"][0], "task");
    let result = &report["result"];
    assert_eq!(result["is_error"], false, "{result}");
    let text = result["text"].as_str().unwrap_or_default();
    assert!(text.starts_with("researcher: Echo: Notes:"), "{text}");
    assert!(text.contains("\n\nwriter: Answer:"), "{text}");
    assert_eq!(result["stop_reason"], "Text 'TERMINATE' mentioned");
    assert!(
        result["usage"]["prompt_tokens"].as_u64().unwrap_or(0) > 0,
        "{result}"
    );
    // The researcher used server-everything's echo through the gateway.
    let messages = result["messages"].as_array().expect("messages");
    let executed = messages
        .iter()
        .find(|m| m["type"] == "ToolCallExecutionEvent")
        .expect("a tool ran");
    assert_eq!(executed["content"][0]["name"], "everything__echo");
    assert!(
        executed["content"][0]["content"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Echo: Notes:"),
        "{executed}"
    );
    // One progress notification per message, in order, "speaker: content".
    let progress = report["progress"].as_array().expect("progress");
    assert_eq!(progress.len(), messages.len(), "{progress:?}");
    for (i, (p, m)) in progress.iter().zip(messages).enumerate() {
        assert_eq!(p["progress"].as_f64(), Some((i + 1) as f64));
        let msg = p["message"].as_str().unwrap_or_default();
        let source = m["source"].as_str().unwrap_or_default();
        assert!(
            msg.starts_with(&format!("{source}: ")),
            "{msg} from {source}"
        );
    }
    assert!(
        progress[1]["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("researcher: everything__echo("),
        "{progress:?}"
    );
    // And one log message per message, logger = tool name.
    let logs = report["logs"].as_array().expect("logs");
    let sources: Vec<&str> = logs
        .iter()
        .filter(|l| l["logger"] == "research_team")
        .filter_map(|l| l["data"]["source"].as_str())
        .collect();
    let expected: Vec<&str> = messages
        .iter()
        .filter_map(|m| m["source"].as_str())
        .collect();
    assert_eq!(sources, expected, "{logs:?}");
}

#[test]
fn a_team_tool_over_stdio_streams_progress_logs_and_the_structured_result() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), "");
    let report = client(
        RESEARCH,
        "stdio",
        &stdio_target(&config, &shipped_workbenches()),
    );
    assert_eq!(report["protocol_version"], "2025-11-25");
    assert_research_run(&report);
}

#[test]
fn a_team_tool_over_streamable_http_and_sse() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), "");
    let served = serve_http(&config, &shipped_workbenches());
    let http = client(RESEARCH, "http", &[format!("{}/mcp", served.base)]);
    assert_research_run(&http);
    let sse = client(RESEARCH, "sse", &[format!("{}/sse", served.base)]);
    assert_research_run(&sse);
    let mut auto = RESEARCH.to_vec();
    auto.extend(["--mode", "auto"]);
    let modern = client(&auto, "http", &[format!("{}/mcp", served.base)]);
    assert_eq!(modern["protocol_version"], "2026-07-28", "{modern}");
    assert_research_run(&modern);
}

#[test]
fn two_concurrent_runs_of_one_tool_do_not_see_each_others_messages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), "");
    let served = serve_http(&config, &shipped_workbenches());
    let report = client(
        &[
            "--scenario",
            "concurrent",
            "--tool",
            "reviewer",
            "--args",
            r#"{"task": "alpha submission", "language": "rust"}"#,
            "--args2",
            r#"{"task": "beta submission"}"#,
        ],
        "http",
        &[format!("{}/mcp", served.base)],
    );
    let first = report["first"].to_string();
    let second = report["second"].to_string();
    assert_eq!(
        report["first"]["text"],
        "alpha submission\n\nlanguage: rust"
    );
    assert_eq!(report["second"]["text"], "beta submission");
    assert!(!first.contains("beta"), "{first}");
    assert!(!second.contains("alpha"), "{second}");
    let p1 = report["first_progress"].to_string();
    let p2 = report["second_progress"].to_string();
    assert!(p1.contains("alpha") && !p1.contains("beta"), "{p1}");
    assert!(p2.contains("beta") && !p2.contains("alpha"), "{p2}");
}

#[test]
fn extra_inputs_and_a_swarm_with_return_value_as_last_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), "");
    let report = run_tool(
        "triage",
        r#"{"task": "my invoice is wrong", "customer": "Ada"}"#,
        "stdio",
        &stdio_target(&config, &shipped_workbenches()),
    );
    let schema = &report["input_schema"];
    assert_eq!(
        schema["properties"]["customer"]["type"], "string",
        "{schema}"
    );
    assert_eq!(schema["required"], serde_json::json!(["task"]));
    let result = &report["result"];
    assert_eq!(
        result["text"],
        "Billing: the invoice was corrected and a refund is on its way. TERMINATE"
    );
    assert_eq!(
        result["messages"][0]["content"],
        "my invoice is wrong\n\ncustomer: Ada"
    );
    let speakers: Vec<&str> = result["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["type"] == "HandoffMessage" || m["type"] == "TextMessage")
        .filter_map(|m| m["source"].as_str())
        .collect();
    assert_eq!(speakers, ["user", "triage_agent", "billing"]);
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write file");
}

#[test]
fn cancelling_a_run_stops_the_team_and_its_upstream_call() {
    let dir = tempfile::tempdir().expect("tempdir");
    let marker = dir.path().join("marker.txt");
    let script = dir.path().join("slow_script.json");
    write(
        &script,
        r#"{"rules": [
            {"when": {"system_contains": "You are slow", "after_tool_result": false},
             "reply": {"kind": "call_tool", "name": "slowpy__slow", "arguments": {"seconds": 120}}},
            {"when": {"system_contains": "You are quick"}, "reply": {"kind": "echo"}}
        ], "steps": [{"kind": "text", "text": "done"}], "when_done": "repeat_last"}"#,
    );
    let extra = format!(
        "[servers.slowpy]\ncommand = \"{python}\"\nargs = [\"{server}\", \"{marker}\"]\n\
         timeout_secs = 300\n\n[models.slow]\nprovider = \"scripted\"\nscript = \"{script}\"\n",
        python = python().display(),
        server = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/py/workbench_slow_upstream.py"
        ),
        marker = marker.display(),
        script = script.display(),
    );
    let config = write_config(dir.path(), &extra);
    let wb = workbench_dir(
        dir.path(),
        &[
            (
                "sleeper.toml",
                r#"provider = "autogen_agentchat.teams.RoundRobinGroupChat"
[config]
name = "sleeper"
[[config.participants]]
provider = "autogen_agentchat.agents.AssistantAgent"
[config.participants.config]
name = "sleepy"
model_client = "slow"
system_message = "You are slow."
workbench = ["slowpy"]
[config.termination_condition]
provider = "MaxMessageTermination"
config = { max_messages = 4 }
"#,
            ),
            (
                "quick.toml",
                r#"provider = "AssistantAgent"
[config]
name = "quick"
model_client = "slow"
system_message = "You are quick."
"#,
            ),
        ],
    );
    let served = serve_http(&config, &wb);
    let report = client(
        &[
            "--scenario",
            "cancel",
            "--tool",
            "sleeper",
            "--args",
            r#"{"task": "sleep"}"#,
            "--cancel-after-file",
            &marker.display().to_string(),
            "--then-tool",
            "quick",
            "--then-args",
            r#"{"task": "still here"}"#,
        ],
        "http",
        &[format!("{}/mcp", served.base)],
    );
    assert_eq!(report["cancelled"], true, "{report}");
    assert_eq!(report["then"]["text"], "quick: still here", "{report}");
    // The upstream tool call was cancelled too (the Python server saw the cancellation).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let seen = std::fs::read_to_string(&marker).unwrap_or_default();
        if seen.contains("cancelled") {
            assert!(seen.starts_with("started"), "{seen}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the upstream call was never cancelled: {seen:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(served);
}

#[test]
fn a_team_that_needs_human_input_fails_clearly_instead_of_hanging() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), "");
    let wb = workbench_dir(dir.path(), &[("ask.toml", &ask_human_team(3))]);
    let report = run_tool(
        "ask_human",
        r#"{"task": "hi"}"#,
        "stdio",
        &stdio_target(&config, &wb),
    );
    let result = &report["result"];
    assert_eq!(result["is_error"], true, "{result}");
    assert!(
        result["text"]
            .as_str()
            .unwrap_or_default()
            .contains("this team needs human input but the calling client supports no elicitation"),
        "{result}"
    );
}

#[test]
fn adding_a_workbench_file_sends_list_changed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), "");
    let wb = dir.path().join("wb");
    std::fs::create_dir(&wb).expect("mkdir");
    std::fs::copy(
        shipped_workbenches().join("reviewer.toml"),
        wb.join("reviewer.toml"),
    )
    .expect("copy");
    let new_file = wb.join("second.toml");
    let report = client(
        &[
            "--scenario",
            "list_changed",
            "--write-file",
            &new_file.display().to_string(),
            "--write-text",
            "provider = \"AssistantAgent\"\n[config]\nname = \"second_reviewer\"\nmodel_client = \"scripted\"\n",
            "--expect-tool",
            "second_reviewer",
        ],
        "stdio",
        &stdio_target(&config, &wb),
    );
    assert_eq!(report["notified"], true, "{report}");
    let before = report["before"].to_string();
    let after = report["after"].to_string();
    assert!(
        before.contains("\"reviewer\"") && !before.contains("second_reviewer"),
        "{before}"
    );
    assert!(after.contains("\"second_reviewer\""), "{after}");
}

#[test]
fn a_selector_team_lets_its_model_pick_critic_then_editor() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), "");
    let report = run_tool(
        "review_panel",
        r#"{"task": "draft: toolyard is a gateway"}"#,
        "stdio",
        &stdio_target(&config, &shipped_workbenches()),
    );
    let result = &report["result"];
    assert_eq!(
        result["text"],
        "Edited: added an example, as the critic asked. TERMINATE"
    );
    let progress = progress_messages(&report);
    assert_eq!(progress.len(), 3, "{progress:?}");
    assert!(progress[1].starts_with("critic: Critique:"), "{progress:?}");
    assert!(progress[2].starts_with("editor: Edited:"), "{progress:?}");
}

#[test]
fn a_team_tool_runs_as_a_2025_task_for_the_python_sdk_client() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), "");
    let served = serve_http(&config, &shipped_workbenches());
    let report = python_report(
        "tasks_client.py",
        [
            format!("{}/mcp", served.base).as_str(),
            "triage",
            r#"{"task": "My invoice is wrong", "customer": "ACME"}"#,
        ],
    );
    // Workbench tools declare task support; the run becomes a task and completes.
    assert_eq!(report["execution"]["triage"], "optional", "{report}");
    let task = &report["created"]["task"];
    assert_eq!(task["status"], "working", "{report}");
    assert_eq!(report["get"]["status"], "completed", "{report}");
    let result = &report["result"];
    assert_eq!(result["isError"], false, "{report}");
    assert!(
        result["structuredContent"]["stop_reason"].is_string(),
        "{report}"
    );
    assert!(
        result["content"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .contains("TERMINATE"),
        "{report}"
    );
}

/// A team tool whose agent calls another workbench tool through its gateway view: the inner
/// team's messages stream into the outer agent's run (as a TeamTool's do), so the caller sees
/// them as progress too.
#[test]
fn a_workbench_agent_calling_another_workbench_tool_streams_its_messages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("nested.json");
    write(
        &script,
        r#"{"when_done": "cycle", "rules": [
  {"when": {"system_contains": "You are outer", "after_tool_result": false},
   "reply": {"kind": "call_tool", "name": "inner", "arguments": {"task": "inner work"}}},
  {"when": {"system_contains": "You are outer"}, "reply": {"kind": "text", "text": "outer done"}},
  {"when": {"system_contains": "You are inner"}, "reply": {"kind": "text", "text": "inner says hi"}}
]}"#,
    );
    let config = write_config(
        dir.path(),
        &format!(
            "[models.nested]\nprovider = \"scripted\"\nscript = \"{}\"\n",
            script.display()
        ),
    );
    let wb = workbench_dir(
        dir.path(),
        &[
            (
                "inner.toml",
                r#"provider = "AssistantAgent"
[config]
name = "inner"
description = "The inner agent."
model_client = "nested"
system_message = "You are inner."
"#,
            ),
            (
                "outer.toml",
                r#"provider = "AssistantAgent"
[config]
name = "outer"
description = "The outer agent; it asks the inner one."
model_client = "nested"
system_message = "You are outer."
reflect_on_tool_use = true
workbench = ["inner"]
"#,
            ),
        ],
    );
    let served = serve_http(&config, &wb);
    let report = run_tool(
        "outer",
        r#"{"task": "go"}"#,
        "http",
        &[format!("{}/mcp", served.base)],
    );
    let result = &report["result"];
    assert_eq!(result["is_error"], false, "{report}");
    assert!(
        result["text"]
            .as_str()
            .unwrap_or_default()
            .contains("outer done"),
        "{report}"
    );
    let inner_said = result["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .any(|m| m["source"] == "inner" && m["content"] == "inner says hi");
    assert!(
        inner_said,
        "the inner run is part of the outer one: {report}"
    );
    let progress = progress_messages(&report);
    assert!(progress.contains(&"inner: inner says hi"), "{progress:?}");
}
