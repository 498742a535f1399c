//! The Magentic-One example runs as a real process and prints its run.
#![allow(clippy::unwrap_used)]

mod common;

#[test]
fn magentic_example_runs() {
    let out = std::process::Command::new(common::example_bin("teams_magentic"))
        .arg("Legs of three spiders?")
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
