//! A selector team (planner, researcher, writer) against the built-in scripted model server
//! (offline): the selector model picks each speaker; SelectSpeakerEvents show the choices.
//!
//! `cargo run --example teams_selector -- "Write a short note on ferris."`

#[path = "support/print_run.rs"]
mod print_run;

use std::sync::Arc;

use print_run::print_run;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use toolyard::agents::{AssistantAgent, ChatAgent};
use toolyard::models::scripted::{Script, ScriptedServer};
use toolyard::teams::{GroupChat, Selector};
use toolyard::termination::{MaxMessageTermination, TextMentionTermination};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let task = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "Write a short note on ferris.".into());
    // The selector's prompt (AutoGen's default) mentions a "role play game"; it answers with
    // the planner, the researcher, then the writer.
    let script = json!({"rules": [
        {"when": {"system_contains": "role play game"}, "steps": [
            {"kind": "text", "text": "planner"},
            {"kind": "text", "text": "researcher"},
            {"kind": "text", "text": "writer"}
        ]},
        {"when": {"system_contains": "the planner"}, "reply": {"kind": "text", "text": "Plan: facts first, then the note."}},
        {"when": {"system_contains": "the researcher"}, "reply": {"kind": "text", "text": "Ferris is the Rust crab."}},
        {"when": {"system_contains": "the writer"}, "reply": {"kind": "text", "text": "Ferris, the Rust crab, says hi. DONE"}}
    ], "when_done": "cycle"});
    let server = ScriptedServer::start(Script::from_json(&script.to_string())?).await?;
    let client = server.openai_client()?;

    let agent = |name: &str| -> anyhow::Result<Arc<dyn ChatAgent>> {
        Ok(Arc::new(
            AssistantAgent::builder(name, client.clone())
                .description(format!("The {name}."))
                .system_message(Some(format!("You are the {name}.")))
                .build()?,
        ))
    };
    let team = GroupChat::selector(
        vec![agent("planner")?, agent("researcher")?, agent("writer")?],
        Selector::new(client.clone()),
    )
    .termination(TextMentionTermination::new("DONE") | MaxMessageTermination::new(10))
    .emit_team_events(true)
    .build()?;

    let stream = team.run_stream(task.as_str().into(), CancellationToken::new());
    print_run(stream, false).await
}
