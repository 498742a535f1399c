//! `--events FILE` (AutoGen's event log): the log of a `toolyard run` has one `LLMCall` line per
//! model request with the token counts the scripted server reported, and each chat message of
//! the run, all with the run's id.
#![allow(clippy::unwrap_used)]

mod common;
mod common_agents;

use std::process::Command;

use common_agents::server_with;
use serde_json::{Value, json};
use toolyard::models::scripted::Script;

#[tokio::test]
async fn the_event_log_of_a_run_has_one_llm_call_line_per_model_request() {
    let script = json!({"rules": [
        {"when": {"system_contains": "agent alice."}, "reply": {"kind": "text", "text": "alice here"}},
        {"when": {"system_contains": "agent bob."}, "reply": {"kind": "text", "text": "bob says TERMINATE"}},
    ], "when_done": "cycle"});
    let server = server_with(Script::from_json(&script.to_string()).unwrap()).await;
    let dir = tempfile::tempdir().unwrap();
    let fixture = format!(
        "{}/tests/fixtures/teams/round_robin.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(fixture)
        .unwrap()
        .replace("http://127.0.0.1:9/v1", &server.openai_base_url());
    let file = dir.path().join("team.json");
    std::fs::write(&file, text).unwrap();
    let events = dir.path().join("events.jsonl");
    let out = tokio::task::spawn_blocking({
        let (file, events) = (file.clone(), events.clone());
        move || {
            Command::new(env!("CARGO_BIN_EXE_toolyard"))
                .env("OPENAI_API_KEY", "sk-test")
                .arg("run")
                .arg(&file)
                .args(["--task", "write a haiku", "--json", "--events"])
                .arg(&events)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();

    let lines: Vec<Value> = std::fs::read_to_string(&events)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let calls: Vec<&Value> = lines.iter().filter(|l| l["type"] == "LLMCall").collect();
    assert_eq!(calls.len(), server.requests().len(), "{lines:#?}");
    assert_eq!(calls.len(), 2);
    // The counts the scripted server reported (its response's usage), as the agents saw them.
    let usages: Vec<&Value> = result["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m.get("models_usage").filter(|u| !u.is_null()))
        .collect();
    assert_eq!(usages.len(), 2, "{result}");
    for (call, usage) in calls.iter().zip(&usages) {
        assert_eq!(
            call["prompt_tokens"],
            call["response"]["usage"]["prompt_tokens"]
        );
        assert_eq!(
            call["completion_tokens"],
            call["response"]["usage"]["completion_tokens"]
        );
        assert_eq!(call["prompt_tokens"], usage["prompt_tokens"], "{call}");
        assert_eq!(
            call["completion_tokens"], usage["completion_tokens"],
            "{call}"
        );
        assert!(call["prompt_tokens"].as_u64().unwrap() > 0);
        assert!(
            call["messages"].as_array().is_some_and(|m| !m.is_empty()),
            "{call}"
        );
    }
    assert_eq!(calls[0]["agent_id"], "alice");
    assert_eq!(calls[1]["agent_id"], "bob");
    // Every chat message of the run is a line too; all lines share the run's id.
    let chats: Vec<&str> = lines
        .iter()
        .filter(|l| l["type"] == "TextMessage")
        .map(|l| l["agent_id"].as_str().unwrap())
        .collect();
    assert_eq!(chats, ["user", "alice", "bob"]);
    let run = lines[0]["run_id"].as_str().unwrap();
    assert!(!run.is_empty());
    assert!(lines.iter().all(|l| l["run_id"] == run), "{lines:#?}");
    assert!(lines.iter().all(|l| l["trace_id"].is_string()));
}
