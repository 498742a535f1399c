//! OpenAI chat completions and any OpenAI-compatible endpoint (vLLM, LiteLLM, Ollama, Gemini).

pub mod client;
pub(crate) mod completion;
pub(crate) mod streaming;

pub use client::{CreateArgs, OPENAI_BASE_URL, OpenAiClient, OpenAiConfig};
