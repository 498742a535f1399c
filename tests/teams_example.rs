//! The team examples (round robin, selector, swarm, Magentic-One) run as real processes and
//! print their runs.
#![allow(clippy::unwrap_used)]

mod common;

/// The stdout lines of the example `name` run with `args`; asserts it succeeded.
fn run_example(name: &str, args: &[&str]) -> Vec<String> {
    let out = std::process::Command::new(common::example_bin(name))
        .args(args)
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
fn round_robin_example_runs() {
    assert_eq!(
        run_example("teams_round_robin", &["A haiku, please."]),
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

#[test]
fn selector_example_runs() {
    assert_eq!(
        run_example("teams_selector", &[]),
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
        run_example("teams_swarm", &[]),
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

#[test]
fn magentic_example_runs() {
    assert_eq!(
        run_example("teams_magentic", &["Legs of three spiders?"]),
        [
            "[TextMessage] user: Legs of three spiders?",
            "[TextMessage] MagenticOneOrchestrator: This is the request we are working on:",
            "[TextMessage] MagenticOneOrchestrator: How many legs does one spider have?",
            "[TextMessage] researcher: A spider has 8 legs.",
            "[TextMessage] MagenticOneOrchestrator: Multiply the legs of one spider by three.",
            "[TextMessage] calculator: 8 x 3 = 24",
            "[TextMessage] MagenticOneOrchestrator: Three spiders have 24 legs.",
            "stop: the count is checked (7 messages)",
        ]
    );
}
