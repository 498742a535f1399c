//! Model capabilities (AutoGen `ModelInfo`) and known defaults per model name.

use serde::{Deserialize, Serialize};

/// Well-known model family names (AutoGen `ModelFamily` values).
pub mod family {
    /// GPT-4o family.
    pub const GPT_4O: &str = "gpt-4o";
    /// GPT-4.1 family.
    pub const GPT_41: &str = "gpt-41";
    /// GPT-4 family.
    pub const GPT_4: &str = "gpt-4";
    /// GPT-3.5 family.
    pub const GPT_35: &str = "gpt-35";
    /// o1 reasoning family.
    pub const O1: &str = "o1";
    /// o3 reasoning family.
    pub const O3: &str = "o3";
    /// o4 reasoning family.
    pub const O4: &str = "o4";
    /// GPT-5 family.
    pub const GPT_5: &str = "gpt-5";
    /// Claude 3.5 Sonnet.
    pub const CLAUDE_3_5_SONNET: &str = "claude-3-5-sonnet";
    /// Claude 3.5 Haiku.
    pub const CLAUDE_3_5_HAIKU: &str = "claude-3-5-haiku";
    /// Claude 3.7 Sonnet.
    pub const CLAUDE_3_7_SONNET: &str = "claude-3-7-sonnet";
    /// Claude 3 Haiku.
    pub const CLAUDE_3_HAIKU: &str = "claude-3-haiku";
    /// Claude 3 Opus.
    pub const CLAUDE_3_OPUS: &str = "claude-3-opus";
    /// Claude 4 Sonnet.
    pub const CLAUDE_4_SONNET: &str = "claude-4-sonnet";
    /// Claude 4 Opus.
    pub const CLAUDE_4_OPUS: &str = "claude-4-opus";
    /// Gemini 1.5 / 2.x (OpenAI-compatible endpoint).
    pub const GEMINI_2_0_FLASH: &str = "gemini-2.0-flash";
    /// Anything else.
    pub const UNKNOWN: &str = "unknown";
}

/// What a model can do (AutoGen `ModelInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Accepts image input.
    pub vision: bool,
    /// Supports tool calling.
    pub function_calling: bool,
    /// Supports JSON mode.
    pub json_output: bool,
    /// Model family (see [`family`]).
    pub family: String,
    /// Supports JSON-schema structured output.
    #[serde(default)]
    pub structured_output: bool,
    /// Accepts several non-consecutive system messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiple_system_messages: Option<bool>,
    /// Context window in tokens (toolyard extension; not part of AutoGen's dict).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_window: Option<u64>,
}

impl ModelInfo {
    /// Capabilities for an unknown model: everything on, unknown family, 128k context.
    pub fn permissive() -> Self {
        Self {
            vision: true,
            function_calling: true,
            json_output: true,
            family: family::UNKNOWN.to_string(),
            structured_output: true,
            multiple_system_messages: Some(true),
            context_window: None,
        }
    }

    /// The context window, or 128k tokens when unknown.
    pub fn token_limit(&self) -> u64 {
        self.context_window.unwrap_or(DEFAULT_CONTEXT_WINDOW)
    }

    /// Whether the family is an OpenAI one (tiktoken counts are exact-ish).
    pub fn is_openai_family(&self) -> bool {
        self.family.starts_with("gpt") || self.family.starts_with('o')
    }
}

/// Context window used when nothing better is known.
pub const DEFAULT_CONTEXT_WINDOW: u64 = 128_000;

/// Known defaults: (name prefix, family, vision, tools, json, structured, context window).
const KNOWN: &[(&str, &str, bool, bool, bool, bool, u64)] = &[
    ("gpt-5", family::GPT_5, true, true, true, true, 400_000),
    ("gpt-4.1", family::GPT_41, true, true, true, true, 1_047_576),
    ("gpt-4o", family::GPT_4O, true, true, true, true, 128_000),
    (
        "gpt-4-turbo",
        family::GPT_4,
        true,
        true,
        true,
        false,
        128_000,
    ),
    ("gpt-4", family::GPT_4, false, true, true, false, 8_192),
    (
        "gpt-3.5-turbo",
        family::GPT_35,
        false,
        true,
        true,
        false,
        16_385,
    ),
    ("o4-mini", family::O4, true, true, true, true, 200_000),
    ("o3", family::O3, true, true, true, true, 200_000),
    ("o1", family::O1, true, true, true, true, 200_000),
    (
        "claude-opus-4",
        family::CLAUDE_4_OPUS,
        true,
        true,
        false,
        false,
        200_000,
    ),
    (
        "claude-sonnet-4",
        family::CLAUDE_4_SONNET,
        true,
        true,
        false,
        false,
        200_000,
    ),
    (
        "claude-3-7-sonnet",
        family::CLAUDE_3_7_SONNET,
        true,
        true,
        false,
        false,
        200_000,
    ),
    (
        "claude-3-5-sonnet",
        family::CLAUDE_3_5_SONNET,
        true,
        true,
        false,
        false,
        200_000,
    ),
    (
        "claude-3-5-haiku",
        family::CLAUDE_3_5_HAIKU,
        true,
        true,
        false,
        false,
        200_000,
    ),
    (
        "claude-3-haiku",
        family::CLAUDE_3_HAIKU,
        true,
        true,
        false,
        false,
        200_000,
    ),
    (
        "claude-3-opus",
        family::CLAUDE_3_OPUS,
        true,
        true,
        false,
        false,
        200_000,
    ),
    (
        "gemini-2",
        family::GEMINI_2_0_FLASH,
        true,
        true,
        true,
        true,
        1_048_576,
    ),
];

/// The known capabilities of `model` (longest matching name prefix), if any.
pub fn known_model_info(model: &str) -> Option<ModelInfo> {
    let found = KNOWN
        .iter()
        .filter(|(prefix, ..)| model.starts_with(prefix))
        .max_by_key(|(prefix, ..)| prefix.len())?;
    let (_, fam, vision, tools, json, structured, window) = *found;
    Some(ModelInfo {
        vision,
        function_calling: tools,
        json_output: json,
        family: fam.to_string(),
        structured_output: structured,
        multiple_system_messages: Some(fam.starts_with("gpt") || fam.starts_with('o')),
        context_window: Some(window),
    })
}

/// Resolves the model info: the configured one, else the known default, else an error.
pub fn resolve_model_info(
    model: &str,
    configured: Option<ModelInfo>,
) -> Result<ModelInfo, crate::models::ModelError> {
    if let Some(mut info) = configured {
        if info.context_window.is_none() {
            info.context_window = known_model_info(model).and_then(|k| k.context_window);
        }
        return Ok(info);
    }
    known_model_info(model).ok_or_else(|| crate::models::ModelError::Config {
        reason: format!("model `{model}` is not known: set `model_info` in the config"),
    })
}
