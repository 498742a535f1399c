//! LLM message types and completion results, serialised in AutoGen 0.7.5's shape.

use serde::{Deserialize, Serialize};

/// A tool call produced by a model (AutoGen `FunctionCall`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionCall {
    /// Call id assigned by the provider (may be empty for some models).
    pub id: String,
    /// Arguments as a JSON string, exactly as the model produced them.
    pub arguments: String,
    /// Name of the called tool.
    pub name: String,
}

/// An image in a multimodal user message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Image {
    /// Base64-encoded image bytes (AutoGen's `{"data": ...}` shape).
    Base64 {
        /// Base64 of the raw image file.
        data: String,
    },
    /// An image reachable by URL (http(s) or a data URI).
    Url {
        /// The image URL.
        url: String,
    },
}

impl Image {
    /// The image as a URL: a `data:` URI for base64 images, the URL otherwise.
    pub fn to_url(&self) -> String {
        match self {
            Self::Base64 { data } => format!("data:{};base64,{data}", Self::mime_of(data)),
            Self::Url { url } => url.clone(),
        }
    }

    /// Guesses the MIME type of base64 image bytes from their magic prefix.
    pub fn mime_of(data: &str) -> &'static str {
        if data.starts_with("/9j/") {
            "image/jpeg"
        } else if data.starts_with("R0lGOD") {
            "image/gif"
        } else if data.starts_with("UklGR") {
            "image/webp"
        } else {
            "image/png"
        }
    }
}

/// One part of a multimodal user message: text or an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum UserPart {
    /// Plain text.
    Text(String),
    /// An image.
    Image(Image),
}

/// The content of a user message: text, or a list of text and images.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum UserContent {
    /// Plain text.
    Text(String),
    /// Multimodal parts.
    Parts(Vec<UserPart>),
}

impl UserContent {
    /// The text parts joined by newlines (images left out).
    pub fn text(&self) -> String {
        match self {
            Self::Text(t) => t.clone(),
            Self::Parts(parts) => parts
                .iter()
                .filter_map(|p| match p {
                    UserPart::Text(t) => Some(t.as_str()),
                    UserPart::Image(_) => None,
                })
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }
}

/// Model output: text, or tool calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AssistantContent {
    /// Text answer.
    Text(String),
    /// One or more tool calls.
    FunctionCalls(Vec<FunctionCall>),
}

impl AssistantContent {
    /// The text, if this is a text answer.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(t) => Some(t),
            Self::FunctionCalls(_) => None,
        }
    }

    /// The tool calls, if this is a tool-call answer.
    pub fn as_calls(&self) -> Option<&[FunctionCall]> {
        match self {
            Self::Text(_) => None,
            Self::FunctionCalls(c) => Some(c),
        }
    }
}

/// Instructions from the developer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemMessage {
    /// The instructions.
    pub content: String,
}

/// Input from a user or another agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserMessage {
    /// Text or multimodal content.
    pub content: UserContent,
    /// Name of the sender.
    pub source: String,
}

/// A message previously produced by a model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssistantMessage {
    /// Text or tool calls.
    pub content: AssistantContent,
    /// Reasoning or extra text next to tool calls.
    #[serde(default)]
    pub thought: Option<String>,
    /// Name of the agent that produced it.
    pub source: String,
}

/// The output of one tool call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionExecutionResult {
    /// Tool output.
    pub content: String,
    /// Name of the tool that ran.
    pub name: String,
    /// Id of the call this answers.
    pub call_id: String,
    /// Whether the tool failed.
    #[serde(default)]
    pub is_error: Option<bool>,
}

/// The outputs of the tool calls of one assistant turn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionExecutionResultMessage {
    /// One result per call.
    pub content: Vec<FunctionExecutionResult>,
}

/// Any message sent to a model (AutoGen `LLMMessage`, discriminated by `type`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum LlmMessage {
    /// System instructions.
    SystemMessage(SystemMessage),
    /// User input.
    UserMessage(UserMessage),
    /// Earlier model output.
    AssistantMessage(AssistantMessage),
    /// Tool results.
    FunctionExecutionResultMessage(FunctionExecutionResultMessage),
}

impl LlmMessage {
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Self::SystemMessage(SystemMessage {
            content: content.into(),
        })
    }

    /// A text user message.
    pub fn user(content: impl Into<String>, source: impl Into<String>) -> Self {
        Self::UserMessage(UserMessage {
            content: UserContent::Text(content.into()),
            source: source.into(),
        })
    }

    /// A text assistant message.
    pub fn assistant(content: impl Into<String>, source: impl Into<String>) -> Self {
        Self::AssistantMessage(AssistantMessage {
            content: AssistantContent::Text(content.into()),
            thought: None,
            source: source.into(),
        })
    }

    /// An assistant message carrying tool calls.
    pub fn tool_calls(calls: Vec<FunctionCall>, source: impl Into<String>) -> Self {
        Self::AssistantMessage(AssistantMessage {
            content: AssistantContent::FunctionCalls(calls),
            thought: None,
            source: source.into(),
        })
    }

    /// A tool-results message.
    pub fn tool_results(results: Vec<FunctionExecutionResult>) -> Self {
        Self::FunctionExecutionResultMessage(FunctionExecutionResultMessage { content: results })
    }
}

/// Token usage of one or more requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestUsage {
    /// Tokens in the prompt.
    pub prompt_tokens: u64,
    /// Tokens in the completion.
    pub completion_tokens: u64,
}

impl std::ops::Add for RequestUsage {
    type Output = RequestUsage;

    fn add(self, other: RequestUsage) -> RequestUsage {
        RequestUsage {
            prompt_tokens: self.prompt_tokens + other.prompt_tokens,
            completion_tokens: self.completion_tokens + other.completion_tokens,
        }
    }
}

/// Why the model stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// Natural end or stop sequence.
    Stop,
    /// Token limit reached.
    Length,
    /// The model called tools.
    FunctionCalls,
    /// Output was filtered.
    ContentFilter,
    /// Anything else.
    Unknown,
}

/// The result of one completion (AutoGen `CreateResult`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateResult {
    /// Why the model stopped.
    pub finish_reason: FinishReason,
    /// Text or tool calls.
    pub content: AssistantContent,
    /// Tokens used.
    pub usage: RequestUsage,
    /// Whether this came from a cache.
    pub cached: bool,
    /// Token log-probabilities, when requested (kept as raw JSON).
    #[serde(default)]
    pub logprobs: Option<serde_json::Value>,
    /// Reasoning text, or text that came with tool calls.
    #[serde(default)]
    pub thought: Option<String>,
}

impl CreateResult {
    /// A plain text result with the given usage.
    pub fn text(content: impl Into<String>, usage: RequestUsage) -> Self {
        Self {
            finish_reason: FinishReason::Stop,
            content: AssistantContent::Text(content.into()),
            usage,
            cached: false,
            logprobs: None,
            thought: None,
        }
    }

    /// This result as an assistant message from `source`, for the next request.
    pub fn to_message(&self, source: impl Into<String>) -> LlmMessage {
        LlmMessage::AssistantMessage(AssistantMessage {
            content: self.content.clone(),
            thought: self.thought.clone(),
            source: source.into(),
        })
    }
}
