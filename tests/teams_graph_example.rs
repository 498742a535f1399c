//! The GraphFlow example runs as a real process and prints its run: the review fan-out, the
//! join, one revision loop and the stop when the graph completes.
#![allow(clippy::unwrap_used)]

mod common;

#[test]
fn graph_example_runs() {
    let out = std::process::Command::new(common::example_bin("teams_graph"))
        .arg("A note, please.")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut lines: Vec<&str> = stdout.lines().collect();
    // The two reviews of each round run concurrently; their order is the order they arrive.
    lines[2..4].sort();
    lines[6..8].sort();
    assert_eq!(
        lines,
        [
            "[TextMessage] user: A note, please.",
            "[TextMessage] writer: Rust is iron oxide.",
            "[TextMessage] fact_checker: Facts hold.",
            "[TextMessage] stylist: Reads well.",
            "[TextMessage] editor: REVISE: say how it forms.",
            "[TextMessage] writer: Rust is iron oxide, formed by water and air.",
            "[TextMessage] fact_checker: Facts hold.",
            "[TextMessage] stylist: Reads well.",
            "[TextMessage] editor: APPROVE",
            "[TextMessage] publisher: Published.",
            "stop: Digraph execution is complete (10 messages)",
        ]
    );
}
