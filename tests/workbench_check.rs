//! `toolyard check --workbenches DIR`: the shipped workbenches pass; unknown model, unknown
//! server/tool in `workbench = [..]`, a bad component, a cycle of team tools, a bad models
//! entry — each is a FAIL line naming file and field, and the exit code is non-zero.

mod common;
mod workbench_support;

use std::path::Path;
use std::process::Command;

use workbench_support::{shipped_workbenches, toolyard, workbench_dir, write_config};

fn check(config: &Path, workbenches: &Path) -> (bool, String) {
    let output = Command::new(toolyard())
        .args(["check", "--config"])
        .arg(config)
        .arg("--workbenches")
        .arg(workbenches)
        .output()
        .expect("run toolyard check");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    (output.status.success(), stdout)
}

/// An AssistantAgent workbench file: `name` on the model `model`, with the tools `workbench`.
fn assistant(name: &str, model: &str, workbench: &[&str]) -> String {
    let mut text = format!(
        "provider = \"AssistantAgent\"\n[config]\nname = \"{name}\"\nmodel_client = \"{model}\"\n"
    );
    if !workbench.is_empty() {
        let list: Vec<String> = workbench.iter().map(|w| format!("\"{w}\"")).collect();
        text.push_str(&format!("workbench = [{}]\n", list.join(", ")));
    }
    text
}

#[test]
fn the_shipped_workbenches_and_their_real_model_variants_pass() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), "");
    let (ok, out) = check(&config, &shipped_workbenches());
    assert!(ok, "{out}");
    for name in ["research_team", "triage", "review_panel", "reviewer"] {
        assert!(out.contains(&format!("ok   {name}")), "{name}: {out}");
    }
    let (ok, out) = check(&config, &shipped_workbenches().join("openai"));
    assert!(ok, "{out}");
    assert!(out.contains("ok   research_team"), "{out}");
}

#[test]
fn each_error_names_its_file_and_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), "");
    let wb = workbench_dir(
        dir.path(),
        &[
            ("unknown_model.toml", &assistant("a1", "gpt-nine", &[])),
            (
                "unknown_server.toml",
                &assistant(
                    "a2",
                    "scripted",
                    &["everything", "nowhere", "fs__no_such_tool"],
                ),
            ),
            (
                "bad_component.json",
                r#"{"provider": "autogen_agentchat.teams.RoundRobinGroupChat", "component_type": "team",
            "config": {"name": "bad_team", "participants": [
              {"provider": "autogen_agentchat.agents.AssistantAgnt", "component_type": "agent",
               "config": {"name": "x", "model_client": "scripted"}}]}}"#,
            ),
            ("no_provider.json", r#"{"config": {"name": "nothing"}}"#),
            ("cycle_a.toml", &assistant("ping", "scripted", &["pong"])),
            ("cycle_b.toml", &assistant("pong", "scripted", &["ping"])),
            (
                "good.toml",
                &assistant("fine", "scripted", &["everything__echo", "fs"]),
            ),
        ],
    );
    let (ok, out) = check(&config, &wb);
    assert!(!ok, "check must fail: {out}");
    let fail_line = |needles: &[&str]| {
        assert!(
            out.lines()
                .any(|l| l.starts_with("FAIL") && needles.iter().all(|n| l.contains(n))),
            "no FAIL line with {needles:?} in:\n{out}"
        );
    };
    fail_line(&[
        "unknown_model.toml",
        "config.model_client",
        "unknown model `gpt-nine`",
    ]);
    fail_line(&[
        "unknown_server.toml",
        "config.workbench",
        "unknown server or tool `nowhere`",
    ]);
    fail_line(&[
        "unknown_server.toml",
        "config.workbench",
        "`fs__no_such_tool`",
    ]);
    fail_line(&[
        "bad_component.json",
        "unknown agent provider",
        "AssistantAgnt",
    ]);
    fail_line(&["no_provider.json", "provider", "missing"]);
    fail_line(&[
        "cycle_a.toml",
        "config.workbench",
        "cycle",
        "ping → pong → ping",
    ]);
    assert!(out.contains("ok   fine"), "{out}");
    assert!(
        !out.lines()
            .any(|l| l.starts_with("FAIL") && l.contains("everything__echo")),
        "{out}"
    );
}

#[test]
fn a_secret_in_servers_toml_models_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(
        dir.path(),
        "[models.leaky]\nprovider = \"openai\"\nmodel = \"gpt-4o\"\napi_key = \"sk-123\"\n",
    );
    let (ok, out) = check(&config, &shipped_workbenches());
    assert!(!ok, "{out}");
    assert!(
        out.contains("FAIL models")
            && out.contains("[models.leaky] api_key")
            && out.contains("api_key_env"),
        "{out}"
    );
}
