//! Anthropic Messages API: system prompt, tool_use/tool_result blocks, streaming events, usage.

pub mod client;
pub(crate) mod streaming;
pub(crate) mod wire;

pub use client::{ANTHROPIC_BASE_URL, ANTHROPIC_VERSION, AnthropicClient, AnthropicConfig};
