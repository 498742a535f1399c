//! One caller's upstream traffic never reaches another caller: several Python `mcp` SDK
//! sessions on one `toolyard serve` at once, calling upstream tools that ask the client
//! (elicitation, sampling), report progress and log, over both protocol eras and both HTTP
//! faces, repeated with small timing gaps. Each caller must see only its own questions, progress
//! and logs; what toolyard cannot attribute for certain goes to nobody.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{
    ChildGuard, conformance_server, free_port, healthz, marked_processes, npm_bin, python_report,
    spawn_until_healthy,
};
use serde_json::Value;

fn toolyard() -> &'static str {
    env!("CARGO_BIN_EXE_toolyard")
}

/// server-everything over stdio with the given `session` mode (and extra server keys).
fn everything_config(dir: &Path, session: &str, extra: &str) -> PathBuf {
    let path = dir.join("servers.toml");
    let text = format!(
        r#"
[servers.everything]
command = "{everything}"
timeout_secs = 30
session = "{session}"
{extra}
"#,
        everything = npm_bin("mcp-server-everything").display(),
    );
    std::fs::write(&path, text).expect("write servers.toml");
    path
}

fn serve(config: &Path) -> (ChildGuard, String) {
    let port = free_port();
    spawn_until_healthy(
        Command::new(toolyard())
            .args(["serve", "--config"])
            .arg(config)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null()),
        port,
    )
}

/// Runs tests/py/isolation_client.py: one session per `name=tool[:args]` spec.
fn run_sessions(face: &str, url: &str, mode: &str, gap_ms: u32, sessions: &[String]) -> Value {
    let mut args = vec![
        face.to_string(),
        url.to_string(),
        "--mode".into(),
        mode.into(),
        "--rounds".into(),
        "4".into(),
        "--gap-ms".into(),
        gap_ms.to_string(),
    ];
    for s in sessions {
        args.push("--session".into());
        args.push(s.clone());
    }
    python_report("isolation_client.py", args)
}

fn strings(report: &Value, session: &str, key: &str) -> Vec<String> {
    report[session][key]
        .as_array()
        .unwrap_or_else(|| panic!("{session}.{key} in {report}"))
        .iter()
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
        .collect()
}

fn result_texts(report: &Value, session: &str) -> Vec<String> {
    report[session]["results"]
        .as_array()
        .unwrap_or_else(|| panic!("{session}.results in {report}"))
        .iter()
        .map(|r| {
            r["text"]
                .as_str()
                .map_or_else(|| r.to_string(), str::to_string)
        })
        .collect()
}

/// The faces and eras every scenario runs on: (face, path, client mode).
const FACES: &[(&str, &str, &str)] = &[
    ("http", "/mcp", "legacy"),
    ("http", "/mcp", "auto"),
    ("sse", "/sse", "legacy"),
];

#[test]
fn per_caller_stdio_sessions_keep_each_callers_questions_its_own() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_serve, base) = serve(&everything_config(dir.path(), "per_caller", ""));
    let sessions = [
        "alice=everything__trigger-elicitation-request".to_string(),
        r#"bob=everything__trigger-sampling-request:{"prompt":"question from bob","maxTokens":10}"#
            .to_string(),
    ];
    for &(face, path, mode) in FACES {
        for gap in [0, 15, 40] {
            let what = format!("{face} {mode} gap {gap} ms");
            let report = run_sessions(face, &format!("{base}{path}"), mode, gap, &sessions);
            // alice asked for input 4 times and got her own answers back, never bob's.
            assert_eq!(
                strings(&report, "alice", "elicitations").len(),
                4,
                "{what}: {report}"
            );
            assert!(
                strings(&report, "alice", "samplings").is_empty(),
                "{what}: {report}"
            );
            for text in result_texts(&report, "alice") {
                assert!(
                    text.contains("alice") && !text.contains("bob"),
                    "{what}: {text}"
                );
            }
            // bob was sampled 4 times with his own prompt and never asked alice's question.
            let samplings = strings(&report, "bob", "samplings");
            assert_eq!(samplings.len(), 4, "{what}: {report}");
            assert!(
                samplings.iter().all(|s| s.contains("question from bob")),
                "{what}"
            );
            assert!(
                strings(&report, "bob", "elicitations").is_empty(),
                "{what}: {report}"
            );
            for text in result_texts(&report, "bob") {
                assert!(
                    text.contains("sampled by bob") && !text.contains("alice"),
                    "{what}: {text}"
                );
            }
        }
    }
}

#[test]
fn a_shared_stdio_session_refuses_questions_it_cannot_attribute() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_serve, base) = serve(&everything_config(dir.path(), "shared", ""));
    let sessions = [
        "alice=everything__trigger-elicitation-request".to_string(),
        r#"bob=everything__trigger-long-running-operation:{"duration":0.5,"steps":5}"#.to_string(),
    ];
    for &(face, path, mode) in FACES {
        let what = format!("{face} {mode}");
        let report = run_sessions(face, &format!("{base}{path}"), mode, 10, &sessions);
        // Nobody is asked: a stdio server's request names no call, so it goes to no one.
        for who in ["alice", "bob"] {
            assert!(
                strings(&report, who, "elicitations").is_empty(),
                "{what}: {report}"
            );
        }
        for text in result_texts(&report, "alice") {
            assert!(
                text.contains("per_caller"),
                "{what}: alice should learn why: {text}"
            );
        }
        // bob's progress is his (it carries his token) and alice sees none of it.
        assert!(
            report["bob"]["progress"]
                .as_array()
                .is_some_and(|p| p.len() >= 4 * 4),
            "{what}: {report}"
        );
        assert!(
            report["alice"]["progress"]
                .as_array()
                .is_some_and(Vec::is_empty),
            "{what}: {report}"
        );
    }
}

#[test]
fn per_caller_sessions_are_capped_and_closed_when_their_caller_leaves() {
    let dir = tempfile::tempdir().expect("tempdir");
    let marker = format!("isolation-{}", std::process::id());
    let extra = format!(
        "max_callers = 2\ncaller_idle_secs = 30\nenv = {{ TOOLYARD_TEST_MARKER = \"{marker}\" }}"
    );
    let (_serve, base) = serve(&everything_config(dir.path(), "per_caller", &extra));
    let baseline = marked_processes(&marker).len();
    assert!(
        baseline > 0,
        "the listing session's child carries the marker"
    );
    // Three callers at once, cap two: the third is told the server is at its max_callers.
    let sessions = [
        r#"a=everything__trigger-long-running-operation:{"duration":1,"steps":2}"#.to_string(),
        r#"b=everything__trigger-long-running-operation:{"duration":1,"steps":2}"#.to_string(),
        r#"c=everything__trigger-long-running-operation:{"duration":1,"steps":2}"#.to_string(),
    ];
    let report = run_sessions("http", &format!("{base}/mcp"), "legacy", 300, &sessions);
    let refused: Vec<String> = ["a", "b", "c"]
        .iter()
        .flat_map(|who| result_texts(&report, who))
        .filter(|t| t.contains("max_callers"))
        .collect();
    assert!(
        !refused.is_empty(),
        "one caller over the cap is refused: {report}"
    );
    // The callers left (their sessions were deleted): their upstream sessions close and their
    // children are gone, well before the 30 s idle limit.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let health = healthz(&base);
        let open = health["servers"][0]["caller_sessions"].as_u64();
        if open == Some(0) && marked_processes(&marker).len() <= baseline {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "caller sessions were not closed: {health}, {} marked processes",
            marked_processes(&marker).len()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The conformance suite's reference server as one shared streamable HTTP upstream.
fn http_upstream_config(dir: &Path, url: &str) -> PathBuf {
    let path = dir.join("servers.toml");
    std::fs::write(
        &path,
        format!("[servers.everything]\nurl = \"{url}\"\ntimeout_secs = 30\n"),
    )
    .expect("write servers.toml");
    path
}

#[test]
fn a_shared_http_upstream_routes_each_question_and_log_to_the_call_that_caused_it() {
    let (_upstream, url) = conformance_server();
    let dir = tempfile::tempdir().expect("tempdir");
    let (_serve, base) = serve(&http_upstream_config(dir.path(), &url));
    // 2025-era callers: the upstream asks on each call's own response stream, and logs there.
    let sessions = [
        r#"alice=everything__test_elicitation:{"message":"question for alice"}"#.to_string(),
        r#"bob=everything__test_sampling:{"prompt":"prompt from bob"}"#.to_string(),
        "carol=everything__test_tool_with_logging".to_string(),
    ];
    for (face, path) in [("http", "/mcp"), ("sse", "/sse")] {
        let what = format!("{face} legacy");
        let report = run_sessions(face, &format!("{base}{path}"), "legacy", 5, &sessions);
        let asked = strings(&report, "alice", "elicitations");
        assert_eq!(asked.len(), 4, "{what}: {report}");
        assert!(
            asked.iter().all(|m| m == "question for alice"),
            "{what}: {asked:?}"
        );
        for text in result_texts(&report, "alice") {
            assert!(
                text.contains("alice") && !text.contains("bob"),
                "{what}: {text}"
            );
        }
        let sampled = strings(&report, "bob", "samplings");
        assert_eq!(sampled.len(), 4, "{what}: {report}");
        assert!(
            sampled.iter().all(|p| p == "prompt from bob"),
            "{what}: {sampled:?}"
        );
        // (This upstream's test_sampling then rejects any real client's answer, as it does
        // directly: it expects the result to echo the method. The question is what counts.)
        for text in result_texts(&report, "bob") {
            assert!(!text.contains("alice"), "{what}: {text}");
        }
        // carol's tool logs three lines per call; they reach her and only her.
        let logs = strings(&report, "carol", "logs");
        assert_eq!(
            logs.iter().filter(|l| l.contains("Tool ")).count(),
            12,
            "{what}: {logs:?}"
        );
        for who in ["alice", "bob"] {
            let theirs = strings(&report, who, "logs");
            assert!(
                !theirs.iter().any(|l| l.contains("Tool ")),
                "{what}: {who} got {theirs:?}"
            );
            assert!(strings(&report, who, "elicitations").len() <= 4);
        }
        assert!(
            strings(&report, "carol", "elicitations").is_empty(),
            "{what}: {report}"
        );
        assert!(
            strings(&report, "bob", "elicitations").is_empty(),
            "{what}: {report}"
        );
    }
    // 2026-era callers: the upstream's input_required rounds come back to the caller whose call
    // it is (parked calls are resumed only by their own requestState).
    let sessions = [
        "alice=everything__test_input_required_result_elicitation".to_string(),
        "bob=everything__test_input_required_result_elicitation".to_string(),
    ];
    let report = run_sessions("http", &format!("{base}/mcp"), "auto", 5, &sessions);
    for (who, other) in [("alice", "bob"), ("bob", "alice")] {
        assert_eq!(strings(&report, who, "elicitations").len(), 4, "{report}");
        for text in result_texts(&report, who) {
            assert_eq!(
                text,
                format!("Hello, {who}!"),
                "{who} got {text} (not {other}'s)"
            );
        }
    }
}

#[test]
fn resource_updates_reach_the_subscribers_of_either_era_and_nobody_else() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_serve, base) = serve(&everything_config(dir.path(), "shared", ""));
    let report = python_report(
        "subscription_client.py",
        [
            format!("{base}/mcp"),
            "--uri".into(),
            "demo://resource/dynamic/text/1".into(),
            "--trigger".into(),
            "everything__toggle-subscriber-updates".into(),
            "--seconds".into(),
            "7".into(),
        ],
    );
    let count = |who: &str, phase: &str| report[who][phase].as_u64().unwrap_or(0);
    assert_eq!(report["modern_protocol"], "2026-07-28", "{report}");
    // Every 5 s the upstream sends an update for the subscribed URI.
    assert!(
        count("legacy", "subscribed") >= 1,
        "the 2025 subscriber: {report}"
    );
    assert!(
        count("modern", "subscribed") >= 1,
        "the 2026 listen stream: {report}"
    );
    assert_eq!(
        count("bystander", "subscribed"),
        0,
        "no subscription, no update: {report}"
    );
    // After unsubscribing (the last subscriber), nobody hears about it any more.
    assert_eq!(count("legacy", "unsubscribed"), 0, "{report}");
    assert_eq!(count("bystander", "unsubscribed"), 0, "{report}");
}
