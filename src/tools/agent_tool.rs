//! `AgentTool`: an agent offered to a model as a tool (`{"task": string}` in, the agent's
//! messages out, formatted as AutoGen 0.7.5's `TaskRunnerTool` does).

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::{Tool, ToolError};
use crate::agents::{ChatAgent, LoadOptions, RunItem, Task, load_agent};
use crate::component::{ComponentError, ComponentModel, component, parse_config};
use crate::messages::{AgentMessage, TaskResult};
use crate::workbench::CallContext;
use futures::StreamExt;
use futures::stream::BoxStream;

/// AutoGen's provider name for `AgentTool`.
pub const AGENT_TOOL_PROVIDER: &str = "autogen_agentchat.tools.AgentTool";

/// The input schema of task-runner tools (AutoGen's `TaskRunnerToolArgs`).
pub(crate) fn task_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "task": {"type": "string", "title": "Task", "description": "The task to be executed."}
        },
        "required": ["task"],
        "additionalProperties": false
    })
}

/// Reads the `task` argument.
pub(crate) fn task_argument(tool: &str, arguments: &Value) -> Result<String, ToolError> {
    arguments
        .get("task")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| ToolError::InvalidArguments {
            tool: tool.to_string(),
            reason: "`task` must be a string".into(),
        })
}

/// Drains a task runner's stream: every message goes to the call's observer (AutoGen's
/// `run_json_stream`), the result is returned. Errors become tool errors (cancelled when the
/// call was cancelled).
pub(crate) async fn stream_to_observer<E: std::fmt::Display>(
    mut stream: BoxStream<'_, Result<RunItem, E>>,
    ctx: &CallContext,
    tool: &str,
) -> Result<TaskResult, ToolError> {
    let fail = |message: String| {
        if ctx.cancel.is_cancelled() {
            ToolError::Cancelled { tool: tool.into() }
        } else {
            ToolError::Failed {
                tool: tool.into(),
                message,
            }
        }
    };
    while let Some(item) = stream.next().await {
        match item.map_err(|e| fail(e.to_string()))? {
            RunItem::Message(m) => ctx.observer.agent_message(m).await,
            RunItem::Result(r) => return Ok(r),
        }
    }
    Err(fail("the run ended without a result".into()))
}

/// Formats a task result as AutoGen's `TaskRunnerTool.return_value_as_string`: either the last
/// message's model text, or `source: text` of every chat message not from `user`, joined by a
/// blank line.
pub(crate) fn format_result(
    tool: &str,
    result: &TaskResult,
    last_only: bool,
) -> Result<String, ToolError> {
    if last_only {
        return match result.messages.last() {
            Some(AgentMessage::Chat(m)) => Ok(m.to_model_text()),
            _ => Err(ToolError::Failed {
                tool: tool.to_string(),
                message: "The last message is not a BaseChatMessage.".into(),
            }),
        };
    }
    let parts: Vec<String> = result
        .messages
        .iter()
        .filter_map(AgentMessage::as_chat)
        .filter(|m| m.source() != "user")
        .map(|m| format!("{}: {}", m.source(), m.to_model_text()))
        .collect();
    Ok(parts.join("\n\n"))
}

/// An agent as a tool. Like AutoGen, the agent keeps its conversation between calls (it is not
/// reset); call `ChatAgent::on_reset` on it to start over.
pub struct AgentTool {
    agent: Arc<dyn ChatAgent>,
    name: String,
    description: String,
    parameters: Value,
    return_value_as_last_message: bool,
}

impl std::fmt::Debug for AgentTool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentTool")
            .field("name", &self.name)
            .finish()
    }
}

#[derive(Serialize, Deserialize)]
struct Config {
    agent: ComponentModel,
    #[serde(default)]
    return_value_as_last_message: bool,
}

impl AgentTool {
    /// A tool named and described as the agent is.
    pub fn new(agent: Arc<dyn ChatAgent>) -> Self {
        Self {
            name: agent.name().to_string(),
            description: agent.description().to_string(),
            agent,
            parameters: task_schema(),
            return_value_as_last_message: false,
        }
    }

    /// Returns only the last message's text instead of every message.
    pub fn return_value_as_last_message(mut self, on: bool) -> Self {
        self.return_value_as_last_message = on;
        self
    }

    /// The wrapped agent.
    pub fn agent(&self) -> &Arc<dyn ChatAgent> {
        &self.agent
    }

    /// The component config (AutoGen's `AgentToolConfig`).
    pub fn dump_component(&self) -> Result<ComponentModel, ComponentError> {
        component(
            AGENT_TOOL_PROVIDER,
            "tool",
            1,
            &Config {
                agent: self.agent.dump_component()?,
                return_value_as_last_message: self.return_value_as_last_message,
            },
        )
    }

    /// Builds the tool from its component config (AutoGen's or ours).
    pub fn from_component(
        model: &ComponentModel,
        options: &LoadOptions,
    ) -> Result<Self, ComponentError> {
        let c: Config = parse_config(model)?;
        let agent = load_agent(&c.agent, options)?;
        Ok(Self::new(agent).return_value_as_last_message(c.return_value_as_last_message))
    }
}

#[async_trait]
impl Tool for AgentTool {
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

    async fn run_in(&self, arguments: Value, ctx: &CallContext) -> Result<String, ToolError> {
        let task = task_argument(&self.name, &arguments)?;
        let stream = self.agent.run_stream(Task::Text(task), ctx.cancel.clone());
        let result = stream_to_observer(stream, ctx, &self.name).await?;
        format_result(&self.name, &result, self.return_value_as_last_message)
    }
}
