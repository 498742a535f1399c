//! Served workbenches that need the caller: a team with a UserProxyAgent asks the calling
//! client's user (elicitation for 2025-era clients, `input_required` for 2026-07-28 clients), and
//! an agent on a `[models.NAME] provider = "sampling"` model runs on the client's own model —
//! `toolyard serve` as a process, the Python `mcp` SDK client answering.
#![allow(clippy::unwrap_used)]

mod common;
mod workbench_support;

use std::path::Path;

use common::python_report;
use serde_json::Value;
use workbench_support::{ask_human_team, serve_http, workbench_dir, write_config};

/// A folder with `ask_human` (the user proxy answers once) and `sampled` (an assistant on the
/// caller's model).
fn workbenches(dir: &Path) -> std::path::PathBuf {
    workbench_dir(
        dir,
        &[
            ("ask.toml", &ask_human_team(2)),
            (
                "sampled.toml",
                r#"provider = "autogen_agentchat.agents.AssistantAgent"
[config]
name = "sampled"
description = "An assistant on the calling client's model."
system_message = "You are a helpful sampled assistant."
model_client = "client_model"
"#,
            ),
            (
                "som.toml",
                r#"provider = "autogen_agentchat.agents.SocietyOfMindAgent"
[config]
name = "som"
description = "A society of mind whose inner agent and summary both use the caller's model."
model_client = "client_model"
[config.team]
provider = "RoundRobinGroupChat"
[[config.team.config.participants]]
provider = "AssistantAgent"
config = { name = "inner", system_message = "You are the inner thinker.", model_client = "client_model" }
[config.team.config.termination_condition]
provider = "MaxMessageTermination"
config = { max_messages = 2 }
"#,
            ),
        ],
    )
}

fn human_client(url: &str, calls: &str, extra: &[&str]) -> Value {
    let args = [url, "--calls", calls]
        .into_iter()
        .chain(extra.iter().copied());
    python_report("human_client.py", args)
}

const SAMPLING_MODEL: &str = r#"
[models.client_model]
provider = "sampling"
model = "claude-hint"
max_tokens = 321
"#;

#[test]
fn a_served_user_proxy_asks_the_calling_clients_user_in_both_eras() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), SAMPLING_MODEL);
    let served = serve_http(&config, &workbenches(dir.path()));
    let url = format!("{}/mcp", served.base);
    for mode in ["legacy", "auto"] {
        let report = human_client(
            &url,
            r#"[["ask_human", "what next?"], ["ask_human", "please decline"]]"#,
            &["--mode", mode],
        );
        let calls = report["calls"].as_array().unwrap();
        assert_eq!(calls[0]["is_error"], false, "{mode}: {report}");
        assert!(
            calls[0]["text"]
                .as_str()
                .unwrap()
                .contains("human: the human says go on"),
            "{mode}: {report}"
        );
        // The question shows the task the user is answering.
        let asked = report["elicitations"][0]["message"].as_str().unwrap();
        assert!(asked.contains("what next?"), "{mode}: {asked}");
        // Declined: an empty reply, the run still ends normally.
        assert_eq!(calls[1]["is_error"], false, "{mode}: {report}");
        assert_eq!(report["elicitations"].as_array().unwrap().len(), 2);
    }
    // 2026-07-28 clients are asked through input_required rounds, 2025 ones by elicitation.
    let auto = human_client(&url, r#"[["ask_human", "hi"]]"#, &["--mode", "auto"]);
    assert!(
        auto["protocol_version"]
            .as_str()
            .unwrap()
            .starts_with("2026"),
        "{auto}"
    );
}

#[test]
fn a_sampling_model_runs_the_agent_on_the_clients_model() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), SAMPLING_MODEL);
    let served = serve_http(&config, &workbenches(dir.path()));
    let url = format!("{}/mcp", served.base);
    let report = human_client(&url, r#"[["sampled", "say hi"]]"#, &[]);
    let call = &report["calls"][0];
    assert_eq!(call["is_error"], false, "{report}");
    assert!(
        call["text"].as_str().unwrap().contains("sampled: say hi"),
        "{report}"
    );
    let sampling = &report["samplings"][0];
    assert_eq!(
        sampling["system_prompt"],
        "You are a helpful sampled assistant."
    );
    assert_eq!(sampling["max_tokens"], 321);
    assert_eq!(sampling["hints"][0], "claude-hint");
    // A SocietyOfMindAgent names the sampling model too: its inner agent and its summary both
    // run on the client's model (two sampling requests).
    let som = human_client(&url, r#"[["som", "think"]]"#, &[]);
    assert_eq!(som["calls"][0]["is_error"], false, "{som}");
    let prompts: Vec<&str> = som["samplings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["system_prompt"].as_str())
        .collect();
    assert_eq!(prompts.len(), 2, "{som}");
    assert_eq!(prompts[0], "You are the inner thinker.");
    let text = som["calls"][0]["text"].as_str().unwrap();
    assert!(text.contains("som: sampled: "), "{som}");
    // A client that declares no sampling gets a clear error, not a hang.
    let refused = human_client(&url, r#"[["sampled", "say hi"]]"#, &["--no-sampling"]);
    let text = refused["calls"][0]["text"].as_str().unwrap_or_default();
    assert_eq!(refused["calls"][0]["is_error"], true, "{refused}");
    assert!(text.contains("sampling"), "{refused}");
}
