//! The model layer: the `ChatCompletionClient` trait, LLM message types, provider clients
//! (OpenAI-compatible, Azure OpenAI, Anthropic), replay, cache, component configs, and the
//! scripted model server used by tests, benchmarks and offline demos.

pub mod anthropic;
pub mod azure;
pub mod cache;
pub mod client;
pub mod component;
pub mod error;
pub(crate) mod http;
pub mod model_info;
pub mod openai;
pub(crate) mod output;
pub mod replay;
pub mod request;
pub mod retry;
pub mod scripted;
pub(crate) mod sse;
pub mod tokens;
pub mod types;
pub(crate) mod wire_client;

pub use anthropic::{AnthropicClient, AnthropicConfig};
pub use azure::{AzureOpenAiClient, AzureOpenAiConfig};
pub use cache::{CacheStore, ChatCompletionCache};
pub use client::{ChatCompletionClient, ChatStream, StreamItem, complete, fit_to_model};
pub use component::{ComponentModel, load_chat_completion_client, model_client_config};
pub use error::ModelError;
pub use model_info::ModelInfo;
pub use openai::{OpenAiClient, OpenAiConfig};
pub use replay::{ReplayClient, ReplayEntry};
pub use request::{CreateRequest, OutputFormat, ToolChoice, ToolSchema};
pub use retry::RetryPolicy;
pub use types::{
    AssistantContent, AssistantMessage, CreateResult, FinishReason, FunctionCall,
    FunctionExecutionResult, FunctionExecutionResultMessage, Image, LlmMessage, RequestUsage,
    SystemMessage, UserContent, UserMessage, UserPart,
};
