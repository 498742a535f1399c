//! A GraphFlow team against the built-in scripted model server (offline): a writer drafts, a
//! fact checker and a stylist review the draft at the same time, an editor joins both reviews
//! and either loops back to the writer ("REVISE") or hands over to the publisher ("APPROVE").
//! The writer only sees the task and the editor's last word (a `MessageFilterAgent`).
//!
//! `cargo run --example teams_graph -- "Write a note about rust."`

use std::sync::Arc;

use futures::StreamExt;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use toolyard::agents::message_filter::{MessageFilterAgent, MessageFilterConfig, PerSourceFilter};
use toolyard::agents::{AssistantAgent, ChatAgent, RunItem};
use toolyard::models::scripted::{Script, ScriptedServer};
use toolyard::models::{ChatCompletionClient, OpenAiClient, OpenAiConfig};
use toolyard::teams::{DiGraphBuilder, GroupChat};
use toolyard::termination::MaxMessageTermination;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let task = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "Write a note about rust.".into());
    // Each role answers from its own script; the editor asks for one revision, then approves.
    let says = |role: &str, texts: &[&str]| {
        let steps: Vec<_> = texts
            .iter()
            .map(|t| json!({"kind": "text", "text": t}))
            .collect();
        json!({"when": {"system_contains": format!("You are the {role}.")}, "steps": steps})
    };
    let script = json!({"rules": [
        says("writer", &["Rust is iron oxide.", "Rust is iron oxide, formed by water and air."]),
        says("fact checker", &["Facts hold."]),
        // The stylist takes a moment longer: its answer arrives (and is recorded) second.
        json!({"when": {"system_contains": "You are the stylist."},
               "reply": {"kind": "text", "text": "Reads well.", "delay_ms": 300}}),
        says("editor", &["REVISE: say how it forms.", "APPROVE"]),
        says("publisher", &["Published."]),
    ], "when_done": "cycle"});
    let server = ScriptedServer::start(Script::from_json(&script.to_string())?).await?;
    let mut config = OpenAiConfig::new("gpt-4o");
    config.api_key = Some("sk-test".into());
    config.base_url = Some(server.openai_base_url());
    let client: Arc<dyn ChatCompletionClient> = Arc::new(OpenAiClient::new(config)?);

    let agent = |name: &str, role: &str| -> anyhow::Result<Arc<dyn ChatAgent>> {
        Ok(Arc::new(
            AssistantAgent::builder(name, client.clone())
                .system_message(Some(format!("You are the {role}.")))
                .build()?,
        ))
    };
    let writer = Arc::new(MessageFilterAgent::new(
        "writer",
        agent("writer", "writer")?,
        MessageFilterConfig::new(vec![
            PerSourceFilter::first("user", 1),
            PerSourceFilter::last("editor", 1),
        ]),
    ));
    let builder = DiGraphBuilder::new()
        .add_node(writer)
        .add_node(agent("fact_checker", "fact checker")?)
        .add_node(agent("stylist", "stylist")?)
        .add_node(agent("editor", "editor")?)
        .add_node(agent("publisher", "publisher")?)
        .add_edge("writer", "fact_checker")
        .add_edge("writer", "stylist")
        .add_edge("fact_checker", "editor")
        .add_edge("stylist", "editor")
        .add_edge_if("editor", "writer", "REVISE")
        .add_edge_if("editor", "publisher", "APPROVE")
        .set_entry_point("writer");
    let team = GroupChat::graph(builder.participants(), builder.build()?)
        .termination(MaxMessageTermination::new(20))
        .build()?;

    let mut stream = team.run_stream(task.as_str().into(), CancellationToken::new());
    while let Some(item) = stream.next().await {
        match item? {
            RunItem::Message(m) => println!("[{}] {}: {}", m.type_name(), m.source(), m.to_text()),
            RunItem::Result(r) => println!(
                "stop: {} ({} messages)",
                r.stop_reason.unwrap_or_default(),
                r.messages.len()
            ),
        }
    }
    Ok(())
}
