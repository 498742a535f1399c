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
