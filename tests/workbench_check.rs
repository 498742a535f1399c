//! `toolyard check --workbenches DIR`: the shipped workbenches pass; unknown model, unknown
//! server/tool in `workbench = [..]`, a bad component, a cycle of team tools, a bad models
//! entry, unknown keys — each is a FAIL line naming file and field (with a "did you mean" hint
//! for a name close to a known one), every file is counted, and the exit code is non-zero.
//! `toolyard serve` warns about each file that cannot run, one line per problem, and serves the
//! rest.

mod common;
mod workbench_support;

use std::path::Path;
use std::process::{Command, Stdio};

use common::{free_port, report_tools, spawn_until_healthy};
use workbench_support::{run_tool, shipped_workbenches, toolyard, workbench_dir, write_config};

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

#[test]
fn unknown_keys_and_names_close_to_known_ones_get_a_hint_and_every_file_is_counted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), "");
    let typo = "provider = \"AssistantAgent\"\n[config]\nname = \"typo\"\n\
                model_client = \"scripted\"\nsytem_message = \"hi\"\n";
    let toolyard_typo = format!(
        "{}[toolyard]\ndescripton = \"x\"\n",
        assistant("a3", "scripted", &[])
    );
    let mcp_typo = r#"{"provider": "AssistantAgent", "config": {"name": "a5", "model_client": "scripted",
        "workbench": [{"provider": "autogen_ext.tools.mcp.McpWorkbench", "config": {
          "server_params": {"type": "StdioServerParams", "command": "x", "read_timout_seconds": 5}}}]}}"#;
    let wb = workbench_dir(
        dir.path(),
        &[
            ("typo.toml", typo),
            (
                "near_tool.toml",
                &assistant("a1", "scripted", &["everythin"]),
            ),
            ("near_model.toml", &assistant("a2", "scripte", &[])),
            ("toolyard_typo.toml", &toolyard_typo),
            ("mcp_typo.json", mcp_typo),
            ("broken.json", "{not json"),
            ("good.toml", &assistant("fine", "scripted", &["everything"])),
        ],
    );
    let (ok, out) = check(&config, &wb);
    assert!(!ok, "{out}");
    let header = format!(
        "workbenches {}: 7 file(s), 1 ok, 6 problem(s)",
        wb.display()
    );
    assert!(out.lines().any(|l| l == header), "{header} in:\n{out}");
    for (file, field, hint) in [
        ("typo.toml", "config.sytem_message", "`system_message`"),
        ("near_tool.toml", "config.workbench", "`everything`"),
        ("near_model.toml", "config.model_client", "`scripted`"),
        ("toolyard_typo.toml", "toolyard.descripton", "`description`"),
        (
            "mcp_typo.json",
            "config.workbench[0].config.server_params.read_timout_seconds",
            "`read_timeout_seconds`",
        ),
    ] {
        let needle = format!("{field}: ");
        assert!(
            out.lines().any(|l| l.starts_with("FAIL")
                && l.contains(file)
                && l.contains(&needle)
                && l.contains(&format!("(did you mean {hint}?)"))),
            "no hint {hint} for {file} {field} in:\n{out}"
        );
    }
    assert!(
        out.contains("FAIL") && out.contains("broken.json: (file): bad JSON"),
        "{out}"
    );
    assert!(out.contains("ok   fine"), "{out}");
}

#[test]
fn serve_warns_about_each_file_that_cannot_run_and_serves_the_rest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("servers.toml");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/workbenches/scripts/demo.json");
    std::fs::write(
        &config,
        format!("[models.scripted]\nprovider = \"scripted\"\nscript = \"{script}\"\n"),
    )
    .expect("servers.toml");
    let typo = "provider = \"AssistantAgent\"\n[config]\nname = \"typo\"\n\
                model_client = \"scripted\"\nsytem_message = \"hi\"\n";
    let provider = "provider = \"AssistantAgnt\"\n[config]\nname = \"who\"\n\
                    model_client = \"scripted\"\n";
    let wb = workbench_dir(
        dir.path(),
        &[
            ("typo.toml", typo),
            ("model.toml", &assistant("lost", "scriptd", &[])),
            ("provider.toml", provider),
            ("good.toml", &assistant("fine", "scripted", &[])),
        ],
    );
    let log = dir.path().join("serve.log");
    let port = free_port();
    let (guard, base) = spawn_until_healthy(
        Command::new(toolyard())
            .args(["serve", "--config"])
            .arg(&config)
            .arg("--workbenches")
            .arg(&wb)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file")),
        port,
    );
    let report = run_tool(
        "fine",
        r#"{"task": "hello"}"#,
        "http",
        &[format!("{base}/mcp")],
    );
    assert_eq!(report_tools(&report), ["fine"], "{report}");
    drop(guard);
    let log = std::fs::read_to_string(&log).expect("serve log");
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("workbench file not served: "))
        .collect();
    assert_eq!(warnings.len(), 3, "one line per problem:\n{log}");
    for needles in [
        [
            "WARN",
            "typo.toml: config.sytem_message: unknown key for AssistantAgent",
            "(did you mean `system_message`?)",
        ],
        [
            "WARN",
            "model.toml: config.model_client: unknown model `scriptd`",
            "(did you mean `scripted`?)",
        ],
        [
            "WARN",
            "provider.toml: provider: unknown agent provider `AssistantAgnt`",
            "(did you mean `autogen_agentchat.agents.AssistantAgent`?)",
        ],
    ] {
        assert!(
            warnings
                .iter()
                .any(|w| needles.iter().all(|n| w.contains(n))),
            "no warning with {needles:?} in:\n{log}"
        );
    }
}
