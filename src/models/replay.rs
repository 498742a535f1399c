//! Replay client: returns scripted results in order, for unit tests (AutoGen `ReplayChatCompletionClient`).

use std::sync::Mutex;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::client::{ChatCompletionClient, ChatStream, StreamItem, UsageTracker};
use super::component::{ComponentModel, REPLAY_PROVIDER};
use super::error::ModelError;
use super::model_info::{ModelInfo, family};
use super::request::{CreateRequest, ToolSchema};
use super::tokens::count_tokens;
use super::types::{AssistantContent, CreateResult, LlmMessage, RequestUsage};

/// One scripted response: plain text or a full result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ReplayEntry {
    /// Text answer.
    Text(String),
    /// Full result (tool calls, structured output, usage, ...).
    Result(CreateResult),
}

/// Replay configuration (AutoGen `ReplayChatCompletionClientConfig`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplayConfig {
    /// Responses, returned in order.
    pub chat_completions: Vec<ReplayEntry>,
    /// Capabilities to report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_info: Option<ModelInfo>,
}

/// Returns its scripted responses in order; errors once they run out.
#[derive(Debug)]
pub struct ReplayClient {
    config: ReplayConfig,
    next: Mutex<usize>,
    usage: UsageTracker,
}

impl ReplayClient {
    /// A replay client over these responses.
    pub fn new(responses: Vec<ReplayEntry>) -> Self {
        Self {
            config: ReplayConfig {
                chat_completions: responses,
                model_info: None,
            },
            next: Mutex::new(0),
            usage: UsageTracker::default(),
        }
    }

    /// A replay client from its component config.
    pub fn from_config(config: ReplayConfig) -> Result<Self, ModelError> {
        Ok(Self {
            config,
            next: Mutex::new(0),
            usage: UsageTracker::default(),
        })
    }

    /// Rewinds to the first response.
    pub fn reset(&self) {
        if let Ok(mut n) = self.next.lock() {
            *n = 0;
        }
    }

    fn next_result(&self, request: &CreateRequest) -> Result<CreateResult, ModelError> {
        let index = {
            let mut n = self
                .next
                .lock()
                .map_err(|_| ModelError::ReplayExhausted { used: 0 })?;
            let i = *n;
            *n += 1;
            i
        };
        let entry = self
            .config
            .chat_completions
            .get(index)
            .ok_or(ModelError::ReplayExhausted { used: index })?;
        let prompt = count_tokens("gpt-4o", &request.messages, &request.tools);
        let result = match entry {
            ReplayEntry::Text(text) => CreateResult::text(
                text.clone(),
                RequestUsage {
                    prompt_tokens: prompt,
                    completion_tokens: count_tokens(
                        "gpt-4o",
                        &[LlmMessage::assistant(text.clone(), "")],
                        &[],
                    ),
                },
            ),
            ReplayEntry::Result(r) => r.clone(),
        };
        self.usage.record(&result);
        Ok(result)
    }
}

#[async_trait]
impl ChatCompletionClient for ReplayClient {
    async fn create(
        &self,
        request: CreateRequest,
        cancel: CancellationToken,
    ) -> Result<CreateResult, ModelError> {
        if cancel.is_cancelled() {
            return Err(ModelError::Cancelled {
                provider: "replay".into(),
            });
        }
        self.next_result(&request)
    }

    fn create_stream(&self, request: CreateRequest, _cancel: CancellationToken) -> ChatStream {
        let result = match self.next_result(&request) {
            Ok(r) => r,
            Err(e) => return Box::pin(futures::stream::once(async move { Err(e) })),
        };
        let mut items: Vec<Result<StreamItem, ModelError>> = Vec::new();
        if let AssistantContent::Text(text) = &result.content {
            items.extend(
                text.split_inclusive(' ')
                    .map(|piece| Ok(StreamItem::Chunk(piece.to_string()))),
            );
        }
        items.push(Ok(StreamItem::Done(result)));
        Box::pin(futures::stream::iter(items))
    }

    fn actual_usage(&self) -> RequestUsage {
        self.usage.actual()
    }

    fn total_usage(&self) -> RequestUsage {
        self.usage.total()
    }

    fn count_tokens(&self, messages: &[LlmMessage], tools: &[ToolSchema]) -> u64 {
        count_tokens("gpt-4o", messages, tools)
    }

    fn model_info(&self) -> ModelInfo {
        self.config.model_info.clone().unwrap_or_else(|| ModelInfo {
            family: family::UNKNOWN.into(),
            ..ModelInfo::permissive()
        })
    }

    fn dump_component(&self) -> Option<ComponentModel> {
        ComponentModel::model(REPLAY_PROVIDER, "ReplayChatCompletionClient", &self.config).ok()
    }
}
