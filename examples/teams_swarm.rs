//! A swarm (a triage agent handing off to a billing agent, who hands off to the user) against
//! the built-in scripted model server (offline); then the user answers with a HandoffMessage and
//! the run resumes where it stopped.
//!
//! `cargo run --example teams_swarm`

use std::sync::Arc;

use futures::StreamExt;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use toolyard::agents::{AssistantAgent, ChatAgent, Handoff, RunItem, Task};
use toolyard::messages::ChatMessage;
use toolyard::models::scripted::{Script, ScriptedServer};
use toolyard::teams::GroupChat;
use toolyard::termination::{HandoffTermination, TextMentionTermination};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let script = json!({"rules": [
        {"when": {"system_contains": "triage"}, "reply": {"kind": "handoff", "target": "billing"}},
        {"when": {"system_contains": "billing"}, "steps": [
            {"kind": "handoff", "target": "user"},
            {"kind": "text", "text": "Refund issued for order 42. TERMINATE"}
        ]}
    ], "when_done": "cycle"});
    let server = ScriptedServer::start(Script::from_json(&script.to_string())?).await?;
    let client = server.openai_client()?;

    let agent = |name: &str, handoffs: &[&str]| -> anyhow::Result<Arc<dyn ChatAgent>> {
        let mut b = AssistantAgent::builder(name, client.clone())
            .system_message(Some(format!("You are the {name} agent.")));
        for h in handoffs {
            b = b.handoff(Handoff::new(*h));
        }
        Ok(Arc::new(b.build()?))
    };
    let team = GroupChat::swarm(vec![
        agent("triage", &["billing"])?,
        agent("billing", &["user"])?,
    ])
    .termination(
        HandoffTermination::new("user".to_string()) | TextMentionTermination::new("TERMINATE"),
    )
    .build()?;

    let runs = [
        Task::Text("I was charged twice.".into()),
        // The user answers the agent that handed off to them.
        Task::Messages(vec![ChatMessage::handoff("user", "billing", "Order 42.")]),
    ];
    for task in runs {
        let mut stream = team.run_stream(task, CancellationToken::new());
        while let Some(item) = stream.next().await {
            match item? {
                RunItem::Message(m) if m.as_chat().is_some() => {
                    println!("[{}] {}: {}", m.type_name(), m.source(), m.to_text())
                }
                RunItem::Message(_) => {}
                RunItem::Result(r) => println!("stop: {}", r.stop_reason.unwrap_or_default()),
            }
        }
    }
    Ok(())
}
