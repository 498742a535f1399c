//! AutoGen 0.7.5's own McpWorkbench (TOOLYARD_AUTOGEN_PYTHON venv) connects to
//! `toolyard serve --stdio`, and an AutoGen AssistantAgent, on the scripted model server, calls
//! toolyard's `research_team` team tool as one of its tools.

mod common;
mod workbench_support;

use std::path::PathBuf;

use serde_json::Value;
use toolyard::models::scripted::{Action, Matcher, Rule, Script, ScriptedServer, Step};
use workbench_support::{shipped_workbenches, stdio_target, write_config};

fn autogen_python() -> PathBuf {
    let path = std::env::var_os("TOOLYARD_AUTOGEN_PYTHON")
        .map(PathBuf::from)
        .expect("TOOLYARD_AUTOGEN_PYTHON is not set: run `eval \"$(bash .ci/setup)\"`");
    assert!(path.exists(), "{} does not exist", path.display());
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn an_autogen_assistant_uses_a_toolyard_team_tool_through_mcp_workbench() {
    let when = Matcher {
        tool_offered: Some("research_team".into()),
        after_tool_result: Some(false),
        ..Matcher::default()
    };
    let call = Step::new(Action::CallTool {
        name: "research_team".into(),
        arguments: Some(serde_json::json!({"task": "what is toolyard?"})),
    });
    let script = Script {
        rules: vec![Rule::new(when, call)],
        steps: vec![Step::text("done")],
        ..Script::default()
    };
    let outer_model = ScriptedServer::start(script)
        .await
        .expect("scripted server");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), "");
    let target = stdio_target(&config, &shipped_workbenches());
    let base_url = outer_model.openai_base_url();
    let output = tokio::process::Command::new(autogen_python())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/py/autogen_workbench_agent.py"
        ))
        .arg(&base_url)
        .arg("research toolyard for me")
        .arg("--")
        .args(&target)
        .output()
        .await
        .expect("run the AutoGen script");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "AutoGen script failed:\n{stdout}\n{stderr}"
    );
    let report: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("bad report: {e}\n{stdout}\n{stderr}"));
    let tools = report["tools"].to_string();
    assert!(
        tools.contains("\"research_team\"") && tools.contains("\"everything__echo\""),
        "{tools}"
    );
    let messages = report["messages"].as_array().expect("messages");
    let types: Vec<&str> = messages.iter().filter_map(|m| m["type"].as_str()).collect();
    assert_eq!(
        types,
        [
            "TextMessage",
            "ToolCallRequestEvent",
            "ToolCallExecutionEvent",
            "ToolCallSummaryMessage"
        ],
        "{report}"
    );
    let summary = messages[3]["content"].as_str().unwrap_or_default();
    assert!(summary.starts_with("researcher: Echo: Notes:"), "{summary}");
    assert!(summary.contains("writer: Answer:"), "{summary}");
    // The outer agent's model saw toolyard's team tool with its task schema.
    let first = &outer_model.requests()[0].body;
    let offered = first["tools"]
        .as_array()
        .expect("tools offered")
        .iter()
        .find(|t| t["function"]["name"] == "research_team")
        .expect("research_team offered")
        .clone();
    assert_eq!(
        offered["function"]["parameters"]["required"][0], "task",
        "{offered}"
    );
}
