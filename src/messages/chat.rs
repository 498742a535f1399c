//! Chat messages: the messages agents exchange (TextMessage, HandoffMessage, ...).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::meta::MessageMeta;
use crate::models::{
    FunctionCall, FunctionExecutionResult, LlmMessage, UserContent, UserMessage, UserPart,
};

/// A message whose content is a string (TextMessage, StopMessage, ThoughtEvent, SelectorEvent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextBody {
    /// Common fields.
    #[serde(flatten)]
    pub meta: MessageMeta,
    /// The text.
    pub content: String,
}

impl TextBody {
    /// A text body from `source`.
    pub fn new(source: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            meta: MessageMeta::new(source),
            content: content.into(),
        }
    }
}

/// Text and images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MultiModalMessage {
    /// Common fields.
    #[serde(flatten)]
    pub meta: MessageMeta,
    /// Strings and images.
    pub content: Vec<UserPart>,
}

/// A request to hand the conversation to another agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HandoffMessage {
    /// Common fields.
    #[serde(flatten)]
    pub meta: MessageMeta,
    /// The handoff message text.
    pub content: String,
    /// Name of the agent to hand off to.
    pub target: String,
    /// Model context handed to the target (tool calls and results that led here).
    #[serde(default)]
    pub context: Vec<LlmMessage>,
}

/// The summary of tool calls made without reflection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCallSummaryMessage {
    /// Common fields.
    #[serde(flatten)]
    pub meta: MessageMeta,
    /// The formatted summary.
    pub content: String,
    /// The calls made.
    #[serde(default)]
    pub tool_calls: Vec<FunctionCall>,
    /// Their results.
    #[serde(default)]
    pub results: Vec<FunctionExecutionResult>,
}

/// JSON content validated against a schema (structured output).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StructuredMessage {
    /// Common fields.
    #[serde(flatten)]
    pub meta: MessageMeta,
    /// The JSON content.
    pub content: Value,
    /// Optional `{field}` format string for rendering the content as text.
    #[serde(default)]
    pub format_string: Option<String>,
}

/// A chat message, discriminated by AutoGen's `type` names. AutoGen's generic
/// `StructuredMessage[Model]` type names load as `StructuredMessage`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type")]
pub enum ChatMessage {
    /// Plain text.
    TextMessage(TextBody),
    /// Text and images.
    MultiModalMessage(MultiModalMessage),
    /// Asks the conversation to stop.
    StopMessage(TextBody),
    /// Hands the conversation to another agent.
    HandoffMessage(HandoffMessage),
    /// Summary of tool calls.
    ToolCallSummaryMessage(ToolCallSummaryMessage),
    /// Structured (JSON) output.
    StructuredMessage(StructuredMessage),
}

/// The wire form read before AutoGen's generic type names are normalised.
#[allow(clippy::enum_variant_names)]
#[derive(Deserialize)]
#[serde(tag = "type")]
enum Wire {
    TextMessage(TextBody),
    MultiModalMessage(MultiModalMessage),
    StopMessage(TextBody),
    HandoffMessage(HandoffMessage),
    ToolCallSummaryMessage(ToolCallSummaryMessage),
    StructuredMessage(StructuredMessage),
}

impl<'de> Deserialize<'de> for ChatMessage {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut value = Value::deserialize(d)?;
        let generic = value
            .get("type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.starts_with("StructuredMessage["));
        if let (true, Some(obj)) = (generic, value.as_object_mut()) {
            obj.insert("type".into(), Value::String("StructuredMessage".into()));
        }
        Ok(
            match Wire::deserialize(value).map_err(serde::de::Error::custom)? {
                Wire::TextMessage(m) => Self::TextMessage(m),
                Wire::MultiModalMessage(m) => Self::MultiModalMessage(m),
                Wire::StopMessage(m) => Self::StopMessage(m),
                Wire::HandoffMessage(m) => Self::HandoffMessage(m),
                Wire::ToolCallSummaryMessage(m) => Self::ToolCallSummaryMessage(m),
                Wire::StructuredMessage(m) => Self::StructuredMessage(m),
            },
        )
    }
}

impl ChatMessage {
    /// A text message.
    pub fn text(source: impl Into<String>, content: impl Into<String>) -> Self {
        Self::TextMessage(TextBody::new(source, content))
    }

    /// A stop message.
    pub fn stop(source: impl Into<String>, content: impl Into<String>) -> Self {
        Self::StopMessage(TextBody::new(source, content))
    }

    /// A handoff message without context.
    pub fn handoff(
        source: impl Into<String>,
        target: impl Into<String>,
        content: impl Into<String>,
    ) -> Self {
        Self::HandoffMessage(HandoffMessage {
            meta: MessageMeta::new(source),
            content: content.into(),
            target: target.into(),
            context: Vec::new(),
        })
    }

    /// The common fields.
    pub fn meta(&self) -> &MessageMeta {
        match self {
            Self::TextMessage(m) | Self::StopMessage(m) => &m.meta,
            Self::MultiModalMessage(m) => &m.meta,
            Self::HandoffMessage(m) => &m.meta,
            Self::ToolCallSummaryMessage(m) => &m.meta,
            Self::StructuredMessage(m) => &m.meta,
        }
    }

    /// The common fields, mutably.
    pub fn meta_mut(&mut self) -> &mut MessageMeta {
        match self {
            Self::TextMessage(m) | Self::StopMessage(m) => &mut m.meta,
            Self::MultiModalMessage(m) => &mut m.meta,
            Self::HandoffMessage(m) => &mut m.meta,
            Self::ToolCallSummaryMessage(m) => &mut m.meta,
            Self::StructuredMessage(m) => &mut m.meta,
        }
    }

    /// Name of the sender.
    pub fn source(&self) -> &str {
        &self.meta().source
    }

    /// AutoGen's `type` name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::TextMessage(_) => "TextMessage",
            Self::MultiModalMessage(_) => "MultiModalMessage",
            Self::StopMessage(_) => "StopMessage",
            Self::HandoffMessage(_) => "HandoffMessage",
            Self::ToolCallSummaryMessage(_) => "ToolCallSummaryMessage",
            Self::StructuredMessage(_) => "StructuredMessage",
        }
    }

    /// Human-readable text (AutoGen `to_text`): images shown as `<image>`.
    pub fn to_text(&self) -> String {
        match self {
            Self::MultiModalMessage(m) => m
                .content
                .iter()
                .map(|p| match p {
                    UserPart::Text(t) => t.clone(),
                    UserPart::Image(_) => "<image>".to_string(),
                })
                .collect::<Vec<_>>()
                .join("\n"),
            _ => self.to_model_text(),
        }
    }

    /// Text for a model prompt (AutoGen `to_model_text`): images shown as ` [image]`.
    pub fn to_model_text(&self) -> String {
        match self {
            Self::TextMessage(m) | Self::StopMessage(m) => m.content.clone(),
            Self::HandoffMessage(m) => m.content.clone(),
            Self::ToolCallSummaryMessage(m) => m.content.clone(),
            Self::StructuredMessage(m) => structured_text(m),
            Self::MultiModalMessage(m) => m
                .content
                .iter()
                .map(|p| match p {
                    UserPart::Text(t) => t.clone(),
                    UserPart::Image(_) => " [image]".to_string(),
                })
                .collect(),
        }
    }

    /// The message as a model `UserMessage` (AutoGen `to_model_message`).
    pub fn to_model_message(&self) -> LlmMessage {
        let content = match self {
            Self::MultiModalMessage(m) => UserContent::Parts(m.content.clone()),
            Self::StructuredMessage(m) => UserContent::Text(m.content.to_string()),
            _ => UserContent::Text(self.to_model_text()),
        };
        LlmMessage::UserMessage(UserMessage {
            content,
            source: self.source().to_string(),
        })
    }
}

/// Renders structured content with its format string (`{field}` placeholders), or as JSON.
fn structured_text(m: &StructuredMessage) -> String {
    let Some(format) = &m.format_string else {
        return m.content.to_string();
    };
    let mut out = format.clone();
    if let Some(fields) = m.content.as_object() {
        for (key, value) in fields {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out = out.replace(&format!("{{{key}}}"), &text);
        }
    }
    out
}
