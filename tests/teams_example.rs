//! The round-robin team example runs as a real process and prints its run.
#![allow(clippy::unwrap_used)]

mod common;

#[test]
fn round_robin_example_runs() {
    let out = std::process::Command::new(common::example_bin("teams_round_robin"))
        .arg("A haiku, please.")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "[TextMessage] user: A haiku, please.",
            "[TextMessage] writer: Red bloom on iron",
            "[TextMessage] critic: Tighter, please.",
            "[TextMessage] writer: Red bloom on iron",
            "[TextMessage] critic: Tighter, please. APPROVE",
            "stop: Text 'APPROVE' mentioned (5 messages)",
        ]
    );
}
