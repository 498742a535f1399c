//! `BufferedContext`: sends the last N messages.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{ChatCompletionContext, ContextError, MessageStore, drop_orphan_results};
use crate::component::{ComponentError, ComponentModel, component};
use crate::models::LlmMessage;

/// AutoGen's provider name.
pub const PROVIDER: &str = "autogen_core.model_context.BufferedChatCompletionContext";

/// Component config (AutoGen `BufferedChatCompletionContextConfig`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct BufferedConfig {
    pub buffer_size: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_messages: Option<Vec<LlmMessage>>,
}

/// Keeps every message, sends the last `buffer_size` (never starting with a tool result).
#[derive(Debug)]
pub struct BufferedContext {
    buffer_size: usize,
    store: MessageStore,
}

impl BufferedContext {
    /// A context sending the last `buffer_size` messages (must be > 0).
    pub fn new(buffer_size: usize) -> Result<Self, ContextError> {
        Self::with_initial(buffer_size, None)
    }

    /// The same, starting with these messages.
    pub fn with_initial(
        buffer_size: usize,
        initial: Option<Vec<LlmMessage>>,
    ) -> Result<Self, ContextError> {
        if buffer_size == 0 {
            return Err(ContextError::Invalid {
                parameter: "buffer_size",
                reason: "must be greater than 0".into(),
            });
        }
        Ok(Self {
            buffer_size,
            store: MessageStore::new(initial),
        })
    }
}

#[async_trait]
impl ChatCompletionContext for BufferedContext {
    fn store(&self) -> &MessageStore {
        &self.store
    }

    async fn get_messages(&self) -> Vec<LlmMessage> {
        let all = self.store.all();
        let start = all.len().saturating_sub(self.buffer_size);
        drop_orphan_results(all[start..].to_vec())
    }

    fn dump_component(&self) -> Result<ComponentModel, ComponentError> {
        let config = BufferedConfig {
            buffer_size: self.buffer_size,
            initial_messages: self.store.initial().cloned(),
        };
        component(PROVIDER, "chat_completion_context", 1, &config)
    }
}
