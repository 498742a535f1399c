//! `TokenLimitedContext`: drops messages from the middle until the history fits a token budget.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{ChatCompletionContext, ContextError, MessageStore, drop_orphan_results};
use crate::component::{ComponentError, ComponentModel, component};
use crate::models::{ChatCompletionClient, LlmMessage, ToolSchema, model_client_config};

/// AutoGen's provider name.
pub const PROVIDER: &str = "autogen_core.model_context.TokenLimitedChatCompletionContext";

/// Component config (AutoGen `TokenLimitedChatCompletionContextConfig`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TokenLimitedConfig {
    pub model_client: ComponentModel,
    #[serde(default)]
    pub token_limit: Option<u64>,
    #[serde(default)]
    pub tool_schema: Option<Vec<ToolSchema>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_messages: Option<Vec<LlmMessage>>,
}

/// Sends as many messages as fit `token_limit` (or the model's remaining window), counted with
/// the model client's token counter, removing from the middle first.
pub struct TokenLimitedContext {
    client: Arc<dyn ChatCompletionClient>,
    token_limit: Option<u64>,
    tools: Vec<ToolSchema>,
    store: MessageStore,
}

impl TokenLimitedContext {
    /// A context limited to `token_limit` tokens (`None`: the model's context window).
    pub fn new(
        client: Arc<dyn ChatCompletionClient>,
        token_limit: Option<u64>,
    ) -> Result<Self, ContextError> {
        Self::with_options(client, token_limit, Vec::new(), None)
    }

    /// The same with tool schemas counted and initial messages.
    pub fn with_options(
        client: Arc<dyn ChatCompletionClient>,
        token_limit: Option<u64>,
        tools: Vec<ToolSchema>,
        initial: Option<Vec<LlmMessage>>,
    ) -> Result<Self, ContextError> {
        if token_limit == Some(0) {
            return Err(ContextError::Invalid {
                parameter: "token_limit",
                reason: "must be greater than 0".into(),
            });
        }
        Ok(Self {
            client,
            token_limit,
            tools,
            store: MessageStore::new(initial),
        })
    }

    fn fits(&self, messages: &[LlmMessage]) -> bool {
        let used = self.client.count_tokens(messages, &self.tools);
        match self.token_limit {
            Some(limit) => used <= limit,
            None => used <= self.client.model_info().token_limit(),
        }
    }
}

#[async_trait]
impl ChatCompletionContext for TokenLimitedContext {
    fn store(&self) -> &MessageStore {
        &self.store
    }

    async fn get_messages(&self) -> Vec<LlmMessage> {
        let mut messages = self.store.all();
        while !messages.is_empty() && !self.fits(&messages) {
            messages.remove(messages.len() / 2);
        }
        drop_orphan_results(messages)
    }

    fn dump_component(&self) -> Result<ComponentModel, ComponentError> {
        let model_client =
            model_client_config(self.client.as_ref(), "TokenLimitedChatCompletionContext")?;
        let config = TokenLimitedConfig {
            model_client,
            token_limit: self.token_limit,
            tool_schema: Some(self.tools.clone()),
            initial_messages: self.store.initial().cloned(),
        };
        component(PROVIDER, "chat_completion_context", 1, &config)
    }
}
