//! Agent events: what an agent reports while it works (tool calls, chunks, memory, input requests).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::chat::TextBody;
use super::meta::MessageMeta;
use crate::models::{FunctionCall, FunctionExecutionResult};

/// One memory item (AutoGen `MemoryContent`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryContent {
    /// The content: usually a string, or any JSON value.
    pub content: Value,
    /// MIME type, e.g. `text/plain` or `application/json`.
    pub mime_type: String,
    /// Optional metadata.
    #[serde(default)]
    pub metadata: Option<Map<String, Value>>,
}

impl MemoryContent {
    /// A `text/plain` memory item.
    pub fn text(content: impl Into<String>) -> Self {
        Self {
            content: Value::String(content.into()),
            mime_type: "text/plain".into(),
            metadata: None,
        }
    }

    /// The content as text (strings unquoted, other JSON as JSON).
    pub fn as_text(&self) -> String {
        match &self.content {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
}

/// A code block found in a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeBlock {
    /// The code.
    pub code: String,
    /// Its language.
    pub language: String,
}

/// The result of running code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeResult {
    /// Process exit code.
    pub exit_code: i32,
    /// Captured output.
    pub output: String,
}

/// The model asked for tool calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCallRequestEvent {
    /// Common fields.
    #[serde(flatten)]
    pub meta: MessageMeta,
    /// The calls.
    pub content: Vec<FunctionCall>,
}

/// Tool calls ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCallExecutionEvent {
    /// Common fields.
    #[serde(flatten)]
    pub meta: MessageMeta,
    /// The results.
    pub content: Vec<FunctionExecutionResult>,
}

/// Memory was queried and added to the model context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryQueryEvent {
    /// Common fields.
    #[serde(flatten)]
    pub meta: MessageMeta,
    /// The memory items used.
    pub content: Vec<MemoryContent>,
}

/// A streamed piece of model output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkEvent {
    /// Common fields.
    #[serde(flatten)]
    pub meta: MessageMeta,
    /// The text piece.
    pub content: String,
    /// Id of the message these chunks add up to.
    #[serde(default)]
    pub full_message_id: Option<String>,
}

/// An agent waits for user input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserInputRequestedEvent {
    /// Common fields.
    #[serde(flatten)]
    pub meta: MessageMeta,
    /// Id of the input request.
    pub request_id: String,
    /// Always empty (AutoGen's shape).
    #[serde(default)]
    pub content: String,
}

/// Code was generated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeGenerationEvent {
    /// Common fields.
    #[serde(flatten)]
    pub meta: MessageMeta,
    /// Attempt number.
    pub retry_attempt: u32,
    /// The full model text.
    pub content: String,
    /// The code blocks in it.
    pub code_blocks: Vec<CodeBlock>,
}

/// Code was executed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeExecutionEvent {
    /// Common fields.
    #[serde(flatten)]
    pub meta: MessageMeta,
    /// Attempt number.
    pub retry_attempt: u32,
    /// The outcome.
    pub result: CodeResult,
}

/// A team selected the next speakers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelectSpeakerEvent {
    /// Common fields.
    #[serde(flatten)]
    pub meta: MessageMeta,
    /// Names of the selected speakers.
    pub content: Vec<String>,
}

/// An agent event, discriminated by AutoGen's `type` names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum AgentEvent {
    /// Tool calls requested.
    ToolCallRequestEvent(ToolCallRequestEvent),
    /// Tool calls executed.
    ToolCallExecutionEvent(ToolCallExecutionEvent),
    /// Memory used.
    MemoryQueryEvent(MemoryQueryEvent),
    /// A streamed chunk.
    ModelClientStreamingChunkEvent(ChunkEvent),
    /// Model reasoning.
    ThoughtEvent(TextBody),
    /// Waiting for user input.
    UserInputRequestedEvent(UserInputRequestedEvent),
    /// Code generated.
    CodeGenerationEvent(CodeGenerationEvent),
    /// Code executed.
    CodeExecutionEvent(CodeExecutionEvent),
    /// Speakers selected.
    SelectSpeakerEvent(SelectSpeakerEvent),
    /// A selector's note.
    SelectorEvent(TextBody),
}

impl AgentEvent {
    /// The common fields.
    pub fn meta(&self) -> &MessageMeta {
        match self {
            Self::ToolCallRequestEvent(e) => &e.meta,
            Self::ToolCallExecutionEvent(e) => &e.meta,
            Self::MemoryQueryEvent(e) => &e.meta,
            Self::ModelClientStreamingChunkEvent(e) => &e.meta,
            Self::ThoughtEvent(e) | Self::SelectorEvent(e) => &e.meta,
            Self::UserInputRequestedEvent(e) => &e.meta,
            Self::CodeGenerationEvent(e) => &e.meta,
            Self::CodeExecutionEvent(e) => &e.meta,
            Self::SelectSpeakerEvent(e) => &e.meta,
        }
    }

    /// AutoGen's `type` name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::ToolCallRequestEvent(_) => "ToolCallRequestEvent",
            Self::ToolCallExecutionEvent(_) => "ToolCallExecutionEvent",
            Self::MemoryQueryEvent(_) => "MemoryQueryEvent",
            Self::ModelClientStreamingChunkEvent(_) => "ModelClientStreamingChunkEvent",
            Self::ThoughtEvent(_) => "ThoughtEvent",
            Self::UserInputRequestedEvent(_) => "UserInputRequestedEvent",
            Self::CodeGenerationEvent(_) => "CodeGenerationEvent",
            Self::CodeExecutionEvent(_) => "CodeExecutionEvent",
            Self::SelectSpeakerEvent(_) => "SelectSpeakerEvent",
            Self::SelectorEvent(_) => "SelectorEvent",
        }
    }

    /// Human-readable text.
    pub fn to_text(&self) -> String {
        match self {
            Self::ToolCallRequestEvent(e) => serde_json::to_string(&e.content).unwrap_or_default(),
            Self::ToolCallExecutionEvent(e) => {
                serde_json::to_string(&e.content).unwrap_or_default()
            }
            Self::MemoryQueryEvent(e) => serde_json::to_string(&e.content).unwrap_or_default(),
            Self::ModelClientStreamingChunkEvent(e) => e.content.clone(),
            Self::ThoughtEvent(e) | Self::SelectorEvent(e) => e.content.clone(),
            Self::UserInputRequestedEvent(e) => e.content.clone(),
            Self::CodeGenerationEvent(e) => e.content.clone(),
            Self::CodeExecutionEvent(e) => e.result.output.clone(),
            Self::SelectSpeakerEvent(e) => e.content.join(", "),
        }
    }
}
