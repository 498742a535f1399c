//! A custom agent through `BaseChatAgent`: implement `on_messages`, get `run` / `run_stream`.
//!
//! `cargo run --example custom_agent -- "count these words please"`

use async_trait::async_trait;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;
use toolyard::agents::{AgentError, BaseChatAgent, ChatAgent, Response, RunItem};
use toolyard::messages::ChatMessage;

/// Answers with the number of words it has seen so far.
struct WordCounter {
    seen: std::sync::Mutex<usize>,
}

#[async_trait]
impl BaseChatAgent for WordCounter {
    fn name(&self) -> &str {
        "word_counter"
    }

    fn description(&self) -> &str {
        "Counts the words of every message it receives."
    }

    async fn on_messages(
        &self,
        messages: Vec<ChatMessage>,
        _cancel: CancellationToken,
    ) -> Result<Response, AgentError> {
        let words: usize = messages
            .iter()
            .map(|m| m.to_text().split_whitespace().count())
            .sum();
        let total = {
            let mut seen = self.seen.lock().map_err(|_| AgentError::NoResponse {
                agent: "word_counter".into(),
            })?;
            *seen += words;
            *seen
        };
        Ok(Response {
            chat_message: ChatMessage::text(
                BaseChatAgent::name(self),
                format!("{total} words so far"),
            ),
            inner_messages: Vec::new(),
        })
    }
}

#[tokio::main]
async fn main() -> Result<(), AgentError> {
    let task = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "hello custom agent".into());
    let agent = WordCounter {
        seen: std::sync::Mutex::new(0),
    };
    let mut stream = agent.run_stream(task.into(), CancellationToken::new());
    while let Some(item) = stream.next().await {
        match item? {
            RunItem::Message(m) => println!("[{}] {}: {}", m.type_name(), m.source(), m.to_text()),
            RunItem::Result(r) => println!("done: {} messages", r.messages.len()),
        }
    }
    Ok(())
}
