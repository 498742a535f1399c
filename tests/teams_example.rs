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

fn run_example(name: &str) -> Vec<String> {
    let out = std::process::Command::new(common::example_bin(name))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn selector_example_runs() {
    assert_eq!(
        run_example("teams_selector"),
        [
            "[TextMessage] user: Write a short note on ferris.",
            "[SelectSpeakerEvent] SelectorGroupChatManager: planner",
            "[TextMessage] planner: Plan: facts first, then the note.",
            "[SelectSpeakerEvent] SelectorGroupChatManager: researcher",
            "[TextMessage] researcher: Ferris is the Rust crab.",
            "[SelectSpeakerEvent] SelectorGroupChatManager: writer",
            "[TextMessage] writer: Ferris, the Rust crab, says hi. DONE",
            "stop: Text 'DONE' mentioned (7 messages)",
        ]
    );
}

#[test]
fn swarm_example_runs_and_resumes_after_the_user_answers() {
    assert_eq!(
        run_example("teams_swarm"),
        [
            "[TextMessage] user: I was charged twice.",
            "[HandoffMessage] triage: Transferred to billing, adopting the role of billing immediately.",
            "[HandoffMessage] billing: Transferred to user, adopting the role of user immediately.",
            "stop: Handoff to user from billing detected.",
            "[HandoffMessage] user: Order 42.",
            "[TextMessage] billing: Refund issued for order 42. TERMINATE",
            "stop: Text 'TERMINATE' mentioned",
        ]
    );
}
