//! A Magentic-One team (an orchestrator and two assistants) against the built-in scripted model
//! server (offline): the orchestrator writes its facts and plan, steers the agents with progress
//! ledgers and ends with a final answer. Prints each message and the stop reason.
//!
//! `cargo run --example teams_magentic -- "How many legs do three spiders have?"`

#[path = "support/print_run.rs"]
mod print_run;

use std::sync::Arc;

use print_run::print_run;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use toolyard::agents::{AssistantAgent, ChatAgent};
use toolyard::models::scripted::{Script, ScriptedServer};
use toolyard::teams::{GroupChat, MagenticOne};

/// A progress-ledger reply from the orchestrator's model.
fn ledger(done: bool, next: &str, instruction: &str) -> Value {
    let entry = |answer: Value| json!({"reason": "scripted", "answer": answer});
    let value = json!({
        "is_request_satisfied": {"reason": "the count is checked", "answer": done},
        "is_in_loop": entry(json!(false)),
        "is_progress_being_made": entry(json!(true)),
        "next_speaker": entry(json!(next)),
        "instruction_or_question": entry(json!(instruction)),
    });
    json!({"kind": "text", "text": value.to_string()})
}

fn text(t: &str) -> Value {
    json!({"kind": "text", "text": t})
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let task = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "How many legs do three spiders have?".into());
    // The orchestrator's calls (no system message) take the steps in order; the agents answer
    // by rule, matched on their system messages.
    let script = json!({
        "steps": [
            text("1. GIVEN OR VERIFIED FACTS\n- three spiders\n2. FACTS TO LOOK UP\n- legs per spider"),
            text("- researcher: legs per spider\n- calculator: multiply"),
            ledger(false, "researcher", "How many legs does one spider have?"),
            ledger(false, "calculator", "Multiply the legs of one spider by three."),
            ledger(true, "", ""),
            text("Three spiders have 24 legs."),
        ],
        "rules": [
            {"when": {"system_contains": "researcher"}, "reply": text("A spider has 8 legs.")},
            {"when": {"system_contains": "calculator"}, "reply": text("8 x 3 = 24")},
        ],
        "when_done": "cycle",
    });
    let server = ScriptedServer::start(Script::from_json(&script.to_string())?).await?;
    let client = server.openai_client()?;

    let agent = |name: &str, job: &str| -> anyhow::Result<Arc<dyn ChatAgent>> {
        Ok(Arc::new(
            AssistantAgent::builder(name, client.clone())
                .system_message(Some(format!("You are the {name}. {job}")))
                .description(job)
                .build()?,
        ))
    };
    let team = GroupChat::magentic_one(
        vec![
            agent("researcher", "Finds facts.")?,
            agent("calculator", "Does arithmetic.")?,
        ],
        MagenticOne::new(client.clone()).max_stalls(3),
    )
    .build()?;

    let stream = team.run_stream(task.as_str().into(), CancellationToken::new());
    print_run(stream, true).await
}
