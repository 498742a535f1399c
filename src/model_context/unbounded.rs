//! `UnboundedContext`: sends the whole history.

use async_trait::async_trait;
use serde_json::json;

use super::{ChatCompletionContext, MessageStore};
use crate::component::{ComponentError, ComponentModel, component};
use crate::models::LlmMessage;

/// AutoGen's provider name.
pub const PROVIDER: &str = "autogen_core.model_context.UnboundedChatCompletionContext";

/// Keeps and sends every message.
#[derive(Debug, Default)]
pub struct UnboundedContext {
    store: MessageStore,
}

impl UnboundedContext {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// A context starting with these messages.
    pub fn with_initial(initial: Option<Vec<LlmMessage>>) -> Self {
        Self {
            store: MessageStore::new(initial),
        }
    }
}

#[async_trait]
impl ChatCompletionContext for UnboundedContext {
    fn store(&self) -> &MessageStore {
        &self.store
    }

    async fn get_messages(&self) -> Vec<LlmMessage> {
        self.store.all()
    }

    fn dump_component(&self) -> Result<ComponentModel, ComponentError> {
        let config = match self.store.initial() {
            Some(initial) => json!({ "initial_messages": initial }),
            None => json!({}),
        };
        component(PROVIDER, "chat_completion_context", 1, &config)
    }
}
