//! In-process tools: the `Tool` trait, `FunctionTool` (a JSON schema plus an async closure), and
//! `StaticWorkbench`, which serves a set of them as a workbench. Agents and teams offered as tools
//! (`AgentTool`, `TeamTool`) live above both, in `crate::compose::task_tools`.

mod function;
mod static_wb;

use async_trait::async_trait;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

pub use function::{FunctionTool, ToolFn};
pub use static_wb::StaticWorkbench;

use crate::component::{ComponentError, ComponentModel};
use crate::models::ToolSchema;
use crate::workbench::CallContext;

/// Why a tool call failed. The message is what the model sees.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ToolError {
    /// Arguments do not match the input schema.
    #[error("invalid arguments for tool `{tool}`: {reason}")]
    InvalidArguments { tool: String, reason: String },
    /// The tool ran and failed.
    #[error("{message}")]
    Failed { tool: String, message: String },
    /// The call was cancelled.
    #[error("tool `{tool}` was cancelled")]
    Cancelled { tool: String },
    /// The tool's schema is not a valid JSON schema.
    #[error("tool `{tool}` has an invalid schema: {reason}")]
    InvalidSchema { tool: String, reason: String },
}

/// A tool that runs in this process.
#[async_trait]
pub trait Tool: Send + Sync {
    /// Tool name (unique within a workbench).
    fn name(&self) -> &str;

    /// What the tool does, for the model.
    fn description(&self) -> &str;

    /// JSON schema of the arguments object.
    fn parameters(&self) -> &Value;

    /// Whether the provider should enforce the schema strictly.
    fn strict(&self) -> bool {
        false
    }

    /// Runs the tool; the output is text for the model.
    async fn run(&self, arguments: Value, cancel: CancellationToken) -> Result<String, ToolError>;

    /// Runs the tool within a workbench call: tools that run agents or teams stream their inner
    /// messages to `ctx.observer`. The default runs [`Tool::run`] with the call's cancellation.
    async fn run_in(&self, arguments: Value, ctx: &CallContext) -> Result<String, ToolError> {
        self.run(arguments, ctx.cancel.clone()).await
    }

    /// The tool's own component config, when it has one (AgentTool, TeamTool); `None` for code
    /// tools, which are dumped by name and schema and must be supplied again on load.
    fn to_component(&self) -> Option<Result<ComponentModel, ComponentError>> {
        None
    }

    /// The schema offered to the model.
    fn schema(&self) -> ToolSchema {
        ToolSchema {
            name: self.name().to_string(),
            description: Some(self.description().to_string()),
            parameters: Some(self.parameters().clone()),
            strict: self.strict().then_some(true),
        }
    }
}
