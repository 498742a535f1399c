//! The custom-agent example runs as a real process and prints its run.
#![allow(clippy::unwrap_used)]

mod common;

#[test]
fn custom_agent_example_runs() {
    let out = std::process::Command::new(common::example_bin("custom_agent"))
        .arg("one two three")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("[TextMessage] user: one two three"),
        "{stdout}"
    );
    assert!(
        stdout.contains("[TextMessage] word_counter: 3 words so far"),
        "{stdout}"
    );
    assert!(stdout.contains("done: 2 messages"), "{stdout}");
}
