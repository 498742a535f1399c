//! `TaskRunnerTool`: what AgentTool and TeamTool share (AutoGen's `TaskRunnerTool`): the
//! `{"task": string}` schema, running the agent or team while streaming its messages to the call's
//! observer, and AutoGen's result text. The runner itself (agent or team) is a `TaskRunner`.

use async_trait::async_trait;
use futures::stream::BoxStream;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::follow::{Followed, Reporting, follow};
use crate::agents::{RunItem, Task};
use crate::component::{ComponentError, ComponentModel};
use crate::tools::{Tool, ToolError};
use crate::workbench::CallContext;

/// Something a `TaskRunnerTool` runs: an agent or a team.
pub trait TaskRunner: Send + Sync + Sized {
    /// AutoGen's class name of the tool (`AgentTool`, `TeamTool`), for `Debug`.
    const KIND: &'static str;

    /// Streams a run on `task`; errors as text.
    fn run_task(
        &self,
        task: Task,
        cancel: CancellationToken,
    ) -> BoxStream<'_, Result<RunItem, String>>;

    /// The tool's component config (AutoGen's `AgentToolConfig` / `TeamToolConfig`).
    fn dump_tool(tool: &TaskRunnerTool<Self>) -> Result<ComponentModel, ComponentError>;
}

/// An agent or a team offered as a tool. Like AutoGen, the runner keeps its conversation between
/// calls (it is not reset); reset it yourself to start over.
pub struct TaskRunnerTool<R> {
    pub(super) runner: R,
    pub(super) name: String,
    pub(super) description: String,
    parameters: Value,
    pub(super) return_value_as_last_message: bool,
}

impl<R: TaskRunner> std::fmt::Debug for TaskRunnerTool<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct(R::KIND).field("name", &self.name).finish()
    }
}

impl<R: TaskRunner> TaskRunnerTool<R> {
    pub(super) fn with_runner(runner: R, name: String, description: String) -> Self {
        Self {
            runner,
            name,
            description,
            parameters: task_schema(),
            return_value_as_last_message: false,
        }
    }

    /// Returns only the last message's text instead of every message.
    pub fn return_value_as_last_message(mut self, on: bool) -> Self {
        self.return_value_as_last_message = on;
        self
    }

    /// The component config (AutoGen's).
    pub fn dump_component(&self) -> Result<ComponentModel, ComponentError> {
        R::dump_tool(self)
    }
}

/// The input schema of task-runner tools (AutoGen's `TaskRunnerToolArgs`).
fn task_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "task": {"type": "string", "title": "Task", "description": "The task to be executed."}
        },
        "required": ["task"],
        "additionalProperties": false
    })
}

#[async_trait]
impl<R: TaskRunner> Tool for TaskRunnerTool<R> {
    fn name(&self) -> &str {
        &self.name
    }

    fn description(&self) -> &str {
        &self.description
    }

    fn parameters(&self) -> &Value {
        &self.parameters
    }

    fn strict(&self) -> bool {
        true
    }

    fn to_component(&self) -> Option<Result<ComponentModel, ComponentError>> {
        Some(self.dump_component())
    }

    async fn run(&self, arguments: Value, cancel: CancellationToken) -> Result<String, ToolError> {
        self.run_in(arguments, &CallContext::with_cancel(cancel))
            .await
    }

    /// Runs the task on the one team-as-tool path ([`follow`]): every message goes to the call's
    /// observer as it arrives (AutoGen's `run_json_stream`); the result is AutoGen's
    /// `return_value_as_string`.
    async fn run_in(&self, arguments: Value, ctx: &CallContext) -> Result<String, ToolError> {
        let tool = || self.name.clone();
        let task = arguments
            .get("task")
            .and_then(Value::as_str)
            .ok_or_else(|| ToolError::InvalidArguments {
                tool: tool(),
                reason: "`task` must be a string".into(),
            })?;
        let cancel = ctx.cancel.child_token();
        let _stop = cancel.clone().drop_guard();
        let stream = self.runner.run_task(Task::Text(task.to_string()), cancel);
        match follow(&self.name, stream, ctx, Reporting::Messages).await {
            Followed::Done(result) => result
                .runner_text(self.return_value_as_last_message)
                .ok_or_else(|| ToolError::Failed {
                    tool: tool(),
                    message: "The last message is not a BaseChatMessage.".into(),
                }),
            Followed::Cancelled => Err(ToolError::Cancelled { tool: tool() }),
            Followed::Failed(message) => Err(ToolError::Failed {
                tool: tool(),
                message,
            }),
        }
    }
}
