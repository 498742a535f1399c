//! `AssistantAgent`: a model-backed agent with tools, workbenches, handoffs, reflection, tool-call
//! loops, structured output, streaming, model context and memory (AutoGen's options).

mod builder;
mod config;
mod exec;
mod turn;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

pub use builder::AssistantAgentBuilder;
pub(crate) use config::load as config_load;

use super::{AgentError, AgentStream, ChatAgent};
use crate::component::{ComponentError, ComponentModel};
use crate::memory::Memory;
use crate::messages::ChatMessage;
use crate::model_context::ChatCompletionContext;
use crate::models::{ChatCompletionClient, FunctionCall, FunctionExecutionResult, ToolSchema};
use crate::tools::Tool;
use crate::workbench::Workbench;

/// AutoGen's default system message.
pub const DEFAULT_SYSTEM_MESSAGE: &str = "You are a helpful AI assistant. Solve tasks using your tools. Reply with TERMINATE when the task has been completed.";

/// AutoGen's default description.
pub const DEFAULT_DESCRIPTION: &str =
    "An agent that provides assistance with ability to use tools.";

/// Formats one tool call and its result for a `ToolCallSummaryMessage`.
pub type SummaryFormatter =
    Arc<dyn Fn(&FunctionCall, &FunctionExecutionResult) -> String + Send + Sync>;

/// A handoff to another agent; offered to the model as a `transfer_to_<target>` tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handoff {
    /// Target agent name.
    pub target: String,
    /// Tool description (default `Handoff to <target>.`).
    #[serde(default)]
    pub description: String,
    /// Tool name (default `transfer_to_<target>`, lower-cased).
    #[serde(default)]
    pub name: String,
    /// Message given to the target (default: AutoGen's "Transferred to ..." text).
    #[serde(default)]
    pub message: String,
}

impl Handoff {
    /// A handoff to `target` with AutoGen's default name, description and message.
    pub fn new(target: impl Into<String>) -> Self {
        Self {
            target: target.into(),
            description: String::new(),
            name: String::new(),
            message: String::new(),
        }
        .with_defaults()
    }

    /// Fills empty fields with AutoGen's defaults.
    pub fn with_defaults(mut self) -> Self {
        let t = &self.target;
        if self.description.is_empty() {
            self.description = format!("Handoff to {t}.");
        }
        if self.name.is_empty() {
            self.name = format!("transfer_to_{t}").to_lowercase();
        }
        if self.message.is_empty() {
            self.message = format!("Transferred to {t}, adopting the role of {t} immediately.");
        }
        self
    }

    /// The tool schema offered to the model.
    pub fn tool_schema(&self) -> ToolSchema {
        ToolSchema {
            name: self.name.clone(),
            description: Some(self.description.clone()),
            parameters: Some(json!({
                "type": "object", "properties": {}, "required": [], "additionalProperties": false
            })),
            strict: Some(true),
        }
    }
}

/// Structured output: the answer must be JSON matching `schema`.
#[derive(Debug, Clone, PartialEq)]
pub struct StructuredOutput {
    /// Schema (content model) name.
    pub name: String,
    /// JSON schema of the answer.
    pub schema: Value,
    /// Optional `{field}` format string for the message text.
    pub format_string: Option<String>,
}

/// The assistant agent. Build with [`AssistantAgent::builder`].
pub struct AssistantAgent {
    name: String,
    description: String,
    client: Arc<dyn ChatCompletionClient>,
    system_message: Option<String>,
    tools: Vec<Arc<dyn Tool>>,
    workbenches: Vec<Arc<dyn Workbench>>,
    handoffs: Vec<Handoff>,
    context: Arc<dyn ChatCompletionContext>,
    memory: Vec<Arc<dyn Memory>>,
    stream: bool,
    reflect: bool,
    max_tool_iterations: usize,
    summary_format: String,
    summary_formatter: Option<SummaryFormatter>,
    output: Option<StructuredOutput>,
    /// The output schema compiled once (its error, if it is not a valid schema, is reported
    /// when an answer is checked, as before).
    output_validator: Option<Result<Arc<jsonschema::Validator>, String>>,
    metadata: BTreeMap<String, String>,
}

impl std::fmt::Debug for AssistantAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssistantAgent")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl AssistantAgent {
    /// Starts building an agent named `name` using `client`.
    pub fn builder(
        name: impl Into<String>,
        client: Arc<dyn ChatCompletionClient>,
    ) -> AssistantAgentBuilder {
        AssistantAgentBuilder::new(name.into(), client)
    }

    /// The model context.
    pub fn model_context(&self) -> &Arc<dyn ChatCompletionContext> {
        &self.context
    }

    /// The metadata given at construction.
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }
}

#[async_trait]
impl ChatAgent for AssistantAgent {
    fn name(&self) -> &str {
        &self.name
    }

    fn description(&self) -> &str {
        &self.description
    }

    fn produced_message_types(&self) -> Vec<&'static str> {
        let mut types = vec!["TextMessage", "ToolCallSummaryMessage", "HandoffMessage"];
        if self.output.is_some() {
            types.push("StructuredMessage");
        }
        types
    }

    fn on_messages_stream<'a>(
        &'a self,
        messages: Vec<ChatMessage>,
        cancel: CancellationToken,
    ) -> AgentStream<'a> {
        turn::stream(self, messages, cancel)
    }

    async fn on_reset(&self, _cancel: CancellationToken) -> Result<(), AgentError> {
        self.context.clear().await;
        Ok(())
    }

    async fn save_state(&self) -> Result<Value, AgentError> {
        Ok(json!({
            "type": "AssistantAgentState",
            "version": "1.0.0",
            "llm_context": self.context.save_state().await,
        }))
    }

    async fn load_state(&self, state: &Value) -> Result<(), AgentError> {
        let context = match (state.get("llm_context"), state.get("llm_messages")) {
            (Some(c), _) => c.clone(),
            (None, Some(m)) => json!({ "messages": m }),
            (None, None) => {
                return Err(AgentError::State {
                    agent: self.name.clone(),
                    reason: "no `llm_context` in AssistantAgentState".into(),
                });
            }
        };
        self.context
            .load_state(&context)
            .await
            .map_err(|source| AgentError::Context {
                agent: self.name.clone(),
                source,
            })
    }

    async fn close(&self) -> Result<(), AgentError> {
        for m in &self.memory {
            m.close().await.map_err(|source| AgentError::Memory {
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
