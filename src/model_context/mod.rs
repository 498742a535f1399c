//! Model contexts: what part of an agent's history is sent to the model (AutoGen
//! `ChatCompletionContext`): unbounded, buffered (last N), head-and-tail, token-limited.

mod buffered;
mod head_tail;
mod load;
mod store;
mod token_limited;
mod unbounded;

use async_trait::async_trait;
use serde_json::Value;

pub use buffered::BufferedContext;
pub use head_tail::HeadAndTailContext;
pub use load::load_model_context;
pub use store::MessageStore;
pub use token_limited::TokenLimitedContext;
pub use unbounded::UnboundedContext;

use crate::component::{ComponentError, ComponentModel};
use crate::models::LlmMessage;

/// Why a context operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// Saved state does not have the `{"messages": [...]}` shape.
    #[error("bad model context state: {reason}")]
    BadState { reason: String },
    /// A size parameter is out of range.
    #[error("invalid {parameter}: {reason}")]
    Invalid {
        parameter: &'static str,
        reason: String,
    },
}

/// A store of LLM messages with a view policy. Shared by an agent (`Arc<dyn ...>`).
#[async_trait]
pub trait ChatCompletionContext: Send + Sync {
    /// The message store behind this context.
    fn store(&self) -> &MessageStore;

    /// The messages to send to the model now.
    async fn get_messages(&self) -> Vec<LlmMessage>;

    /// The component config that recreates this context.
    fn dump_component(&self) -> Result<ComponentModel, ComponentError>;

    /// Adds a message.
    async fn add_message(&self, message: LlmMessage) {
        self.store().push(message);
    }

    /// Removes all messages.
    async fn clear(&self) {
        self.store().clear();
    }

    /// `{"messages": [...]}` (AutoGen `ChatCompletionContextState`).
    async fn save_state(&self) -> Value {
        self.store().save_state()
    }

    /// Restores what `save_state` produced.
    async fn load_state(&self, state: &Value) -> Result<(), ContextError> {
        self.store().load_state(state)
    }
}

/// Drops a leading tool-result message (its call was trimmed away).
pub(crate) fn drop_orphan_results(mut messages: Vec<LlmMessage>) -> Vec<LlmMessage> {
    if matches!(
        messages.first(),
        Some(LlmMessage::FunctionExecutionResultMessage(_))
    ) {
        messages.remove(0);
    }
    messages
}
