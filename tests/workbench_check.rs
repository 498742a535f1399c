//! `toolyard check --workbenches DIR`: the shipped workbenches pass; unknown model, unknown
//! server/tool in `workbench = [..]`, a bad component, a cycle of team tools, a bad models
//! entry — each is a FAIL line naming file and field, and the exit code is non-zero.

mod common;
mod workbench_support;

use std::path::Path;
use std::process::Command;

use workbench_support::{shipped_workbenches, toolyard, write_config};

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

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write");
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
    let wb = dir.path().join("wb");
    std::fs::create_dir(&wb).expect("mkdir");
    write(
        &wb,
        "unknown_model.toml",
        "provider = \"AssistantAgent\"\n[config]\nname = \"a1\"\nmodel_client = \"gpt-nine\"\n",
    );
    write(
        &wb,
        "unknown_server.toml",
        "provider = \"AssistantAgent\"\n[config]\nname = \"a2\"\nmodel_client = \"scripted\"\n\
         workbench = [\"everything\", \"nowhere\", \"fs__no_such_tool\"]\n",
    );
    write(
        &wb,
        "bad_component.json",
        r#"{"provider": "autogen_agentchat.teams.RoundRobinGroupChat", "component_type": "team",
            "config": {"name": "bad_team", "participants": [
              {"provider": "autogen_agentchat.agents.AssistantAgnt", "component_type": "agent",
               "config": {"name": "x", "model_client": "scripted"}}]}}"#,
    );
    write(
        &wb,
        "no_provider.json",
        r#"{"config": {"name": "nothing"}}"#,
    );
    write(
        &wb,
        "cycle_a.toml",
        "provider = \"AssistantAgent\"\n[config]\nname = \"ping\"\nmodel_client = \"scripted\"\n\
         workbench = [\"pong\"]\n",
    );
    write(
        &wb,
        "cycle_b.toml",
        "provider = \"AssistantAgent\"\n[config]\nname = \"pong\"\nmodel_client = \"scripted\"\n\
         workbench = [\"ping\"]\n",
    );
    write(
        &wb,
        "good.toml",
        "provider = \"AssistantAgent\"\n[config]\nname = \"fine\"\nmodel_client = \"scripted\"\n\
         workbench = [\"everything__echo\", \"fs\"]\n",
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
