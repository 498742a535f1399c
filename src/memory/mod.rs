//! Memory: stores an agent consults before each model call (AutoGen `Memory`), and `ListMemory`.

mod list;

use std::sync::Arc;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

pub use crate::messages::MemoryContent;
pub use list::{LIST_MEMORY_PROVIDER, ListMemory};

use crate::component::{ComponentError, ComponentModel, short_provider};
use crate::model_context::ChatCompletionContext;

/// Why a memory operation failed.
#[derive(Debug, thiserror::Error)]
pub enum MemoryError {
    /// The operation was cancelled.
    #[error("memory `{name}`: cancelled")]
    Cancelled { name: String },
    /// The backing store failed.
    #[error("memory `{name}`: {reason}")]
    Store { name: String, reason: String },
}

/// What `update_context` added to the model context.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpdateContextResult {
    /// The memory items used.
    pub memories: Vec<MemoryContent>,
}

/// A memory store.
#[async_trait]
pub trait Memory: Send + Sync {
    /// Instance name.
    fn name(&self) -> &str;

    /// Adds an item.
    async fn add(
        &self,
        content: MemoryContent,
        cancel: CancellationToken,
    ) -> Result<(), MemoryError>;

    /// Items relevant to `query`.
    async fn query(
        &self,
        query: &str,
        cancel: CancellationToken,
    ) -> Result<Vec<MemoryContent>, MemoryError>;

    /// Adds relevant items to the model context; returns what it added.
    async fn update_context(
        &self,
        context: &dyn ChatCompletionContext,
    ) -> Result<UpdateContextResult, MemoryError>;

    /// Removes every item.
    async fn clear(&self) -> Result<(), MemoryError>;

    /// Releases resources.
    async fn close(&self) -> Result<(), MemoryError> {
        Ok(())
    }

    /// The component config that recreates this memory.
    fn dump_component(&self) -> Result<ComponentModel, ComponentError>;
}

/// Builds a memory from its component config.
pub fn load_memory(model: &ComponentModel) -> Result<Arc<dyn Memory>, ComponentError> {
    match short_provider(&model.provider) {
        "ListMemory" | "list" => Ok(Arc::new(ListMemory::from_component(model)?)),
        _ => Err(ComponentError::UnknownProvider {
            kind: "memory",
            provider: model.provider.clone(),
        }),
    }
}
