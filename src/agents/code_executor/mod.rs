//! `CodeExecutorAgent` (AutoGen 0.7.5): runs the code blocks of incoming messages through a
//! `CodeExecutor`; optionally writes the code itself with a model client, retries on errors and
//! reflects on the result; an approval hook can reject a block before it runs.

mod builder;
mod config;
mod exec;
mod turn;

use std::sync::Arc;

use async_trait::async_trait;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::{AgentError, AgentStream, ChatAgent};
use crate::code_executors::CodeExecutor;
use crate::component::{ComponentError, ComponentModel};
use crate::messages::ChatMessage;
use crate::model_context::ChatCompletionContext;
use crate::models::{ChatCompletionClient, LlmMessage};

pub use builder::CodeExecutorAgentBuilder;
pub(crate) use config::load as config_load;

/// Description used without a model client (AutoGen `DEFAULT_TERMINAL_DESCRIPTION`).
pub const DEFAULT_TERMINAL_DESCRIPTION: &str = "A computer terminal that performs no other action than running Python scripts (provided to it quoted in ```python code blocks), or sh shell scripts (provided to it quoted in ```sh code blocks).";
/// Description used with a model client (AutoGen `DEFAULT_AGENT_DESCRIPTION`).
pub const DEFAULT_AGENT_DESCRIPTION: &str = "A Code Execution Agent that generates and executes Python and shell scripts based on user instructions. It ensures correctness, efficiency, and minimal errors while gracefully handling edge cases.";
/// The default system message (AutoGen `DEFAULT_SYSTEM_MESSAGE`).
pub const DEFAULT_SYSTEM_MESSAGE: &str = "You are a Code Execution Agent. Your role is to generate and execute Python code and shell scripts based on user instructions, ensuring correctness, efficiency, and minimal errors. Handle edge cases gracefully. Python code should be provided in ```python code blocks, and sh shell scripts should be provided in ```sh code blocks for execution.";
/// The reply when no message holds a code block (AutoGen `NO_CODE_BLOCKS_FOUND_MESSAGE`).
pub const NO_CODE_BLOCKS_FOUND_MESSAGE: &str = "No code blocks found in the thread. Please provide at least one markdown-encoded code block to execute (i.e., quoting code in ```python or ```sh code blocks).";
/// The languages extracted by default (AutoGen `DEFAULT_SUPPORTED_LANGUAGES`).
pub const DEFAULT_SUPPORTED_LANGUAGES: &[&str] = &["python", "sh"];

/// What the approval hook is asked (AutoGen `ApprovalRequest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRequest {
    /// All blocks of the run as markdown fences, joined by a blank line.
    pub code: String,
    /// The agent's model context at that moment.
    pub context: Vec<LlmMessage>,
}

/// The approval hook's answer (AutoGen `ApprovalResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalResponse {
    /// Whether the code may run.
    pub approved: bool,
    /// Why (shown in the result when rejected).
    pub reason: String,
}

impl ApprovalResponse {
    /// An approval.
    pub fn approve(reason: impl Into<String>) -> Self {
        Self {
            approved: true,
            reason: reason.into(),
        }
    }

    /// A rejection.
    pub fn reject(reason: impl Into<String>) -> Self {
        Self {
            approved: false,
            reason: reason.into(),
        }
    }
}

/// An approval hook: a human or a policy approves or rejects the code before it runs.
pub type ApprovalFn =
    Arc<dyn Fn(ApprovalRequest) -> BoxFuture<'static, ApprovalResponse> + Send + Sync>;

/// An agent that executes code blocks (and, with a model client, writes them).
pub struct CodeExecutorAgent {
    name: String,
    description: String,
    executor: Arc<dyn CodeExecutor>,
    client: Option<Arc<dyn ChatCompletionClient>>,
    context: Arc<dyn ChatCompletionContext>,
    stream: bool,
    max_retries_on_error: u32,
    system_message: Option<String>,
    sources: Option<Vec<String>>,
    supported_languages: Vec<String>,
    approval: Option<ApprovalFn>,
}

impl std::fmt::Debug for CodeExecutorAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeExecutorAgent")
            .field("name", &self.name)
            .field("has_model_client", &self.client.is_some())
            .field("sources", &self.sources)
            .field("supported_languages", &self.supported_languages)
            .field("max_retries_on_error", &self.max_retries_on_error)
            .field("has_approval", &self.approval.is_some())
            .finish()
    }
}

impl CodeExecutorAgent {
    /// A builder for an agent called `name` running code through `executor`.
    pub fn builder(
        name: impl Into<String>,
        executor: Arc<dyn CodeExecutor>,
    ) -> CodeExecutorAgentBuilder {
        CodeExecutorAgentBuilder::new(name, executor)
    }

    /// The code executor.
    pub fn code_executor(&self) -> &Arc<dyn CodeExecutor> {
        &self.executor
    }

    /// The model context (used only with a model client).
    pub fn model_context(&self) -> &Arc<dyn ChatCompletionContext> {
        &self.context
    }
}

#[async_trait]
impl ChatAgent for CodeExecutorAgent {
    fn name(&self) -> &str {
        &self.name
    }

    fn description(&self) -> &str {
        &self.description
    }

    fn on_messages_stream<'a>(
        &'a self,
        messages: Vec<ChatMessage>,
        cancel: CancellationToken,
    ) -> AgentStream<'a> {
        turn::stream(self, messages, cancel)
    }

    /// Clears the model context (AutoGen's is a no-op that keeps the context; a reset team
    /// should not see the previous run's code).
    async fn on_reset(&self, _cancel: CancellationToken) -> Result<(), AgentError> {
        self.context.clear().await;
        Ok(())
    }

    /// `{"type": "CodeExecutorAgentState", "version": "1.0.0", "llm_context": {...}}`.
    async fn save_state(&self) -> Result<Value, AgentError> {
        Ok(json!({
            "type": "CodeExecutorAgentState",
            "version": "1.0.0",
            "llm_context": self.context.save_state().await,
        }))
    }

    /// Restores `save_state`'s output; AutoGen's own `BaseState` (no context) is accepted too.
    async fn load_state(&self, state: &Value) -> Result<(), AgentError> {
        let bad = |reason: String| AgentError::State {
            agent: self.name.clone(),
            reason,
        };
        let Some(obj) = state.as_object() else {
            return Err(bad("state is not a JSON object".into()));
        };
        match obj.get("llm_context") {
            Some(ctx) => self
                .context
                .load_state(ctx)
                .await
                .map_err(|e| bad(e.to_string())),
            None => Ok(()),
        }
    }

    /// Stops the executor (removes its container) and closes the model client.
    async fn close(&self) -> Result<(), AgentError> {
        self.executor
            .stop()
            .await
            .map_err(|source| AgentError::CodeExecutor {
                agent: self.name.clone(),
                source,
            })?;
        if let Some(client) = &self.client {
            client.close().await.map_err(|source| AgentError::Model {
                agent: self.name.clone(),
                source,
            })?;
        }
        Ok(())
    }

    fn dump_component(&self) -> Result<ComponentModel, ComponentError> {
        config::dump(self)
    }
}
