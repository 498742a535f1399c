//! What a caller asks of a model: messages, tools, tool choice, output format, extra args.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::ModelError;
use super::model_info::ModelInfo;
use super::types::{LlmMessage, UserContent, UserPart};

/// A tool offered to the model (AutoGen `ToolSchema`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSchema {
    /// Tool name.
    pub name: String,
    /// What the tool does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON schema of the arguments object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    /// Ask the provider to enforce the schema strictly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

impl ToolSchema {
    /// A tool with a name, description and parameter schema.
    pub fn new(name: impl Into<String>, description: impl Into<String>, parameters: Value) -> Self {
        Self {
            name: name.into(),
            description: Some(description.into()),
            parameters: Some(parameters),
            strict: None,
        }
    }

    /// The parameter schema, or an empty object schema.
    pub fn parameters_or_empty(&self) -> Value {
        self.parameters
            .clone()
            .unwrap_or_else(|| serde_json::json!({"type": "object", "properties": {}}))
    }
}

/// Which tools the model may or must call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolChoice {
    /// The model decides.
    #[default]
    Auto,
    /// No tool calls.
    None,
    /// At least one tool call.
    Required,
    /// This named tool must be called.
    Named(String),
}

/// The shape of the answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum OutputFormat {
    /// Free text.
    #[default]
    Text,
    /// Any JSON object (JSON mode).
    JsonObject,
    /// JSON matching a schema; validated on return.
    JsonSchema {
        /// Schema name sent to the provider.
        name: String,
        /// The JSON schema.
        schema: Value,
        /// Ask the provider for strict adherence.
        #[serde(default)]
        strict: bool,
    },
}

/// One completion request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateRequest {
    /// The conversation.
    pub messages: Vec<LlmMessage>,
    /// Tools offered (shared: an agent offers the same list on every call of a turn).
    #[serde(default)]
    pub tools: Arc<[ToolSchema]>,
    /// Tool choice (ignored when no tools are offered).
    #[serde(default)]
    pub tool_choice: ToolChoice,
    /// Output format.
    #[serde(default)]
    pub output: OutputFormat,
    /// Provider arguments merged into the request body last (override everything).
    #[serde(default)]
    pub extra_args: Map<String, Value>,
}

impl CreateRequest {
    /// A request with these messages and nothing else.
    pub fn new(messages: Vec<LlmMessage>) -> Self {
        Self {
            messages,
            ..Self::default()
        }
    }

    /// Adds tools (a `Vec`, or an `Arc<[ToolSchema]>` shared with other requests).
    pub fn with_tools(mut self, tools: impl Into<Arc<[ToolSchema]>>) -> Self {
        self.tools = tools.into();
        self
    }

    /// Sets the tool choice.
    pub fn with_tool_choice(mut self, choice: ToolChoice) -> Self {
        self.tool_choice = choice;
        self
    }

    /// Sets the output format.
    pub fn with_output(mut self, output: OutputFormat) -> Self {
        self.output = output;
        self
    }

    /// Adds one extra provider argument.
    pub fn with_extra(mut self, key: impl Into<String>, value: Value) -> Self {
        self.extra_args.insert(key.into(), value);
        self
    }
}

/// Checks that `request` only uses what `info` says the model can do.
/// `json_emulated` skips the JSON checks for providers that ask for JSON in the prompt.
pub(crate) fn check_capabilities(
    provider: &str,
    model: &str,
    info: &ModelInfo,
    request: &CreateRequest,
    json_emulated: bool,
) -> Result<(), ModelError> {
    let missing = |feature| {
        Err(ModelError::Unsupported {
            provider: provider.to_string(),
            model: model.to_string(),
            feature,
        })
    };
    if !request.tools.is_empty() && !info.function_calling {
        return missing("function calling");
    }
    if !info.vision && request.messages.iter().any(has_image) {
        return missing("vision (image input)");
    }
    match request.output {
        OutputFormat::JsonObject if !json_emulated && !info.json_output => missing("JSON output"),
        OutputFormat::JsonSchema { .. } if !json_emulated && !info.structured_output => {
            missing("structured output")
        }
        _ => Ok(()),
    }
}

fn has_image(message: &LlmMessage) -> bool {
    matches!(message, LlmMessage::UserMessage(m)
        if matches!(&m.content, UserContent::Parts(parts) if parts.iter().any(|p| matches!(p, UserPart::Image(_)))))
}
