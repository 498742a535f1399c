//! `ListMemory`: a chronological list of items, all added to the context as one system message.

use std::sync::Mutex;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::{Memory, MemoryContent, MemoryError, UpdateContextResult};
use crate::component::{ComponentError, ComponentModel, component, parse_config};
use crate::model_context::ChatCompletionContext;
use crate::models::LlmMessage;

/// AutoGen's provider name.
pub const LIST_MEMORY_PROVIDER: &str = "autogen_core.memory.ListMemory";

#[derive(Debug, Serialize, Deserialize)]
struct ListMemoryConfig {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    memory_contents: Vec<MemoryContent>,
}

/// Keeps items in order; `query` returns all of them.
#[derive(Debug)]
pub struct ListMemory {
    name: String,
    contents: Mutex<Vec<MemoryContent>>,
}

impl ListMemory {
    /// An empty memory (`None`: AutoGen's default name `default_list_memory`).
    pub fn new(name: Option<&str>) -> Self {
        Self::with_contents(name, Vec::new())
    }

    /// A memory holding these items.
    pub fn with_contents(name: Option<&str>, contents: Vec<MemoryContent>) -> Self {
        Self {
            name: name.unwrap_or("default_list_memory").to_string(),
            contents: Mutex::new(contents),
        }
    }

    /// From its component config.
    pub fn from_component(model: &ComponentModel) -> Result<Self, ComponentError> {
        let c: ListMemoryConfig = parse_config(model)?;
        Ok(Self::with_contents(c.name.as_deref(), c.memory_contents))
    }

    /// A copy of the items.
    pub fn contents(&self) -> Vec<MemoryContent> {
        self.contents.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// The system-message text AutoGen builds from the items.
    pub fn format(contents: &[MemoryContent]) -> String {
        let lines: Vec<String> = contents
            .iter()
            .enumerate()
            .map(|(i, m)| format!("{}. {}", i + 1, m.as_text()))
            .collect();
        format!(
            "\nRelevant memory content (in chronological order):\n{}\n",
            lines.join("\n")
        )
    }
}

#[async_trait]
impl Memory for ListMemory {
    fn name(&self) -> &str {
        &self.name
    }

    async fn add(
        &self,
        content: MemoryContent,
        _cancel: CancellationToken,
    ) -> Result<(), MemoryError> {
        if let Ok(mut c) = self.contents.lock() {
            c.push(content);
        }
        Ok(())
    }

    async fn query(
        &self,
        _query: &str,
        _cancel: CancellationToken,
    ) -> Result<Vec<MemoryContent>, MemoryError> {
        Ok(self.contents())
    }

    async fn update_context(
        &self,
        context: &dyn ChatCompletionContext,
    ) -> Result<UpdateContextResult, MemoryError> {
        let contents = self.contents();
        if !contents.is_empty() {
            context
                .add_message(LlmMessage::system(Self::format(&contents)))
                .await;
        }
        Ok(UpdateContextResult { memories: contents })
    }

    async fn clear(&self) -> Result<(), MemoryError> {
        if let Ok(mut c) = self.contents.lock() {
            c.clear();
        }
        Ok(())
    }

    fn dump_component(&self) -> Result<ComponentModel, ComponentError> {
        let config = ListMemoryConfig {
            name: Some(self.name.clone()),
            memory_contents: self.contents(),
        };
        component(LIST_MEMORY_PROVIDER, "memory", 1, &config)
    }
}
