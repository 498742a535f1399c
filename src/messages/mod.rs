//! Chat messages and agent events in AutoGen 0.7.5's JSON shape (`type` tag), and `TaskResult`.

mod chat;
mod events;
mod meta;

use serde::{Deserialize, Serialize};

pub use chat::{
    ChatMessage, HandoffMessage, MultiModalMessage, StructuredMessage, TextBody,
    ToolCallSummaryMessage,
};
pub use events::{
    AgentEvent, ChunkEvent, CodeBlock, CodeExecutionEvent, CodeGenerationEvent, CodeResult,
    MemoryContent, MemoryQueryEvent, SelectSpeakerEvent, ToolCallExecutionEvent,
    ToolCallRequestEvent, UserInputRequestedEvent,
};
pub use meta::MessageMeta;

use crate::models::RequestUsage;

/// Anything an agent or team emits: a chat message or an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AgentMessage {
    /// A chat message (seen by other agents).
    Chat(ChatMessage),
    /// An agent event (observability only).
    Event(AgentEvent),
}

impl AgentMessage {
    /// The common fields.
    pub fn meta(&self) -> &MessageMeta {
        match self {
            Self::Chat(m) => m.meta(),
            Self::Event(e) => e.meta(),
        }
    }

    /// Name of the agent that produced it.
    pub fn source(&self) -> &str {
        &self.meta().source
    }

    /// Token usage attached to it.
    pub fn models_usage(&self) -> Option<RequestUsage> {
        self.meta().models_usage
    }

    /// AutoGen's `type` name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Chat(m) => m.type_name(),
            Self::Event(e) => e.type_name(),
        }
    }

    /// Human-readable text (AutoGen `to_text`).
    pub fn to_text(&self) -> String {
        match self {
            Self::Chat(m) => m.to_text(),
            Self::Event(e) => e.to_text(),
        }
    }

    /// The chat message, if this is one.
    pub fn as_chat(&self) -> Option<&ChatMessage> {
        match self {
            Self::Chat(m) => Some(m),
            Self::Event(_) => None,
        }
    }
}

impl From<ChatMessage> for AgentMessage {
    fn from(m: ChatMessage) -> Self {
        Self::Chat(m)
    }
}

impl From<AgentEvent> for AgentMessage {
    fn from(e: AgentEvent) -> Self {
        Self::Event(e)
    }
}

/// The outcome of a run: every message produced, and why it stopped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskResult {
    /// Task messages, events and chat messages in order.
    pub messages: Vec<AgentMessage>,
    /// Why the run stopped (`None` for a single agent's run).
    #[serde(default)]
    pub stop_reason: Option<String>,
}

impl TaskResult {
    /// The result as AutoGen's `TaskRunnerTool.return_value_as_string` writes it: the last
    /// message's model text (`None` when the last message is not a chat message), or
    /// `source: text` of every chat message not from `user`, joined by a blank line.
    pub fn runner_text(&self, last_only: bool) -> Option<String> {
        if last_only {
            return self
                .messages
                .last()
                .and_then(AgentMessage::as_chat)
                .map(ChatMessage::to_model_text);
        }
        let parts: Vec<String> = self
            .messages
            .iter()
            .filter_map(AgentMessage::as_chat)
            .filter(|m| m.source() != "user")
            .map(|m| format!("{}: {}", m.source(), m.to_model_text()))
            .collect();
        Some(parts.join("\n\n"))
    }

    /// The model tokens its messages report, summed.
    pub fn usage(&self) -> RequestUsage {
        self.messages
            .iter()
            .filter_map(AgentMessage::models_usage)
            .fold(RequestUsage::default(), |total, u| RequestUsage {
                prompt_tokens: total.prompt_tokens + u.prompt_tokens,
                completion_tokens: total.completion_tokens + u.completion_tokens,
            })
    }
}
