//! `AgentError`: why an agent turn or run failed.

use crate::code_executors::CodeExecutorError;
use crate::component::ComponentError;
use crate::memory::MemoryError;
use crate::model_context::ContextError;
use crate::models::ModelError;
use crate::workbench::WorkbenchError;

/// Why an agent failed. Tool failures are not errors: they go back to the model as results.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The model call failed.
    #[error("agent `{agent}`: model call failed: {source}")]
    Model {
        agent: String,
        #[source]
        source: ModelError,
    },
    /// The run was cancelled.
    #[error("agent `{agent}`: cancelled")]
    Cancelled { agent: String },
    /// Structured output did not parse or validate.
    #[error("agent `{agent}`: structured output is invalid: {reason}; content: {content}")]
    StructuredOutput {
        agent: String,
        reason: String,
        content: String,
    },
    /// The model answered reflection with tool calls instead of text.
    #[error("agent `{agent}`: reflect on tool use produced no valid text response")]
    Reflection { agent: String },
    /// A task given as a list had no messages.
    #[error("task list cannot be empty")]
    EmptyTask,
    /// The agent was configured wrongly.
    #[error("agent `{agent}`: invalid configuration: {reason}")]
    Config { agent: String, reason: String },
    /// Saved state could not be loaded.
    #[error("agent `{agent}`: bad state: {reason}")]
    State { agent: String, reason: String },
    /// The model context rejected something.
    #[error("agent `{agent}`: model context: {source}")]
    Context {
        agent: String,
        #[source]
        source: ContextError,
    },
    /// A memory failed.
    #[error("agent `{agent}`: memory: {source}")]
    Memory {
        agent: String,
        #[source]
        source: MemoryError,
    },
    /// Listing the tools of a workbench failed.
    #[error("agent `{agent}`: workbench: {source}")]
    Workbench {
        agent: String,
        #[source]
        source: WorkbenchError,
    },
    /// User input could not be read.
    #[error("agent `{agent}`: user input failed: {reason}")]
    Input { agent: String, reason: String },
    /// A component config could not be used.
    #[error(transparent)]
    Component(#[from] ComponentError),
    /// The code executor failed (not the code: that is a result with a non-zero exit code).
    #[error("agent `{agent}`: code executor: {source}")]
    CodeExecutor {
        agent: String,
        #[source]
        source: CodeExecutorError,
    },
    /// The agent's stream ended without a response.
    #[error("agent `{agent}` produced no response")]
    NoResponse { agent: String },
}
