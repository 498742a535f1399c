//! A round-robin team of two assistants against the built-in scripted model server (offline):
//! build the team, stream its run, print each message and the stop reason.
//!
//! `cargo run --example teams_round_robin -- "Write a haiku about rust."`

#[path = "support/print_run.rs"]
mod print_run;

use std::sync::Arc;

use print_run::print_run;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use toolyard::agents::{AssistantAgent, ChatAgent};
use toolyard::models::scripted::{Script, ScriptedServer};
use toolyard::teams::GroupChat;
use toolyard::termination::{MaxMessageTermination, TextMentionTermination};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let task = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "Write a haiku about rust.".into());
    // The writer drafts; the critic approves on its second turn.
    let script = json!({"rules": [
        {"when": {"system_contains": "writer"}, "reply": {"kind": "text", "text": "Red bloom on iron"}},
        {"when": {"system_contains": "critic"},
         "reply": {"kind": "stop_after", "turns": 2, "text": "Tighter, please.", "word": "APPROVE"}}
    ], "when_done": "cycle"});
    let server = ScriptedServer::start(Script::from_json(&script.to_string())?).await?;
    let client = server.openai_client()?;

    let agent = |name: &str, role: &str| -> anyhow::Result<Arc<dyn ChatAgent>> {
        Ok(Arc::new(
            AssistantAgent::builder(name, client.clone())
                .system_message(Some(format!("You are the {role}.")))
                .build()?,
        ))
    };
    let team = GroupChat::round_robin(vec![agent("writer", "writer")?, agent("critic", "critic")?])
        .termination(TextMentionTermination::new("APPROVE") | MaxMessageTermination::new(10))
        .build()?;

    let stream = team.run_stream(task.as_str().into(), CancellationToken::new());
    print_run(stream, false).await
}
