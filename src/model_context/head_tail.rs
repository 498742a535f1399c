//! `HeadAndTailContext`: sends the first N and last M messages with a "Skipped" note between.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{ChatCompletionContext, ContextError, MessageStore, drop_orphan_results};
use crate::component::{ComponentError, ComponentModel, component};
use crate::models::{AssistantContent, LlmMessage};

/// AutoGen's provider name.
pub const PROVIDER: &str = "autogen_core.model_context.HeadAndTailChatCompletionContext";

/// Component config (AutoGen `HeadAndTailChatCompletionContextConfig`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct HeadTailConfig {
    pub head_size: usize,
    pub tail_size: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_messages: Option<Vec<LlmMessage>>,
}

/// Sends the first `head_size` and last `tail_size` messages.
#[derive(Debug)]
pub struct HeadAndTailContext {
    head_size: usize,
    tail_size: usize,
    store: MessageStore,
}

impl HeadAndTailContext {
    /// A head-and-tail context (both sizes must be > 0).
    pub fn new(head_size: usize, tail_size: usize) -> Result<Self, ContextError> {
        Self::with_initial(head_size, tail_size, None)
    }

    /// The same, starting with these messages.
    pub fn with_initial(
        head_size: usize,
        tail_size: usize,
        initial: Option<Vec<LlmMessage>>,
    ) -> Result<Self, ContextError> {
        for (parameter, value) in [("head_size", head_size), ("tail_size", tail_size)] {
            if value == 0 {
                return Err(ContextError::Invalid {
                    parameter,
                    reason: "must be greater than 0".into(),
                });
            }
        }
        Ok(Self {
            head_size,
            tail_size,
            store: MessageStore::new(initial),
        })
    }
}

fn is_call_message(message: &LlmMessage) -> bool {
    matches!(message, LlmMessage::AssistantMessage(m) if matches!(m.content, AssistantContent::FunctionCalls(_)))
}

#[async_trait]
impl ChatCompletionContext for HeadAndTailContext {
    fn store(&self) -> &MessageStore {
        &self.store
    }

    async fn get_messages(&self) -> Vec<LlmMessage> {
        let all = self.store.all();
        if all.len() <= self.head_size + self.tail_size {
            return all;
        }
        let skipped = all.len() - self.head_size - self.tail_size;
        let mut head = all[..self.head_size].to_vec();
        if head.last().is_some_and(is_call_message) {
            head.pop();
        }
        let tail = drop_orphan_results(all[all.len() - self.tail_size..].to_vec());
        head.push(LlmMessage::user(
            format!("Skipped {skipped} messages."),
            "System",
        ));
        head.extend(tail);
        head
    }

    fn dump_component(&self) -> Result<ComponentModel, ComponentError> {
        let config = HeadTailConfig {
            head_size: self.head_size,
            tail_size: self.tail_size,
            initial_messages: self.store.initial().cloned(),
        };
        component(PROVIDER, "chat_completion_context", 1, &config)
    }
}
