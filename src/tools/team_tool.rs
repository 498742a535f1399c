//! `TeamTool`: a team offered to a model as a tool (`{"task": string}` in, the team's messages
//! out, formatted as AutoGen 0.7.5's `TaskRunnerTool` does).

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::agent_tool::{format_result, stream_to_observer, task_argument, task_schema};
use super::{Tool, ToolError};
use crate::agents::{LoadOptions, Task};
use crate::component::{ComponentError, ComponentModel, component, parse_config};
use crate::teams::{GroupChat, load_team};
use crate::workbench::CallContext;

/// AutoGen's provider name for `TeamTool`.
pub const TEAM_TOOL_PROVIDER: &str = "autogen_agentchat.tools.TeamTool";

/// A team as a tool. Like AutoGen, the team keeps its conversation between calls (each call is a
/// new task on the same team); call `GroupChat::reset` to start over.
pub struct TeamTool {
    team: Arc<GroupChat>,
    name: String,
    description: String,
    parameters: Value,
    return_value_as_last_message: bool,
}

impl std::fmt::Debug for TeamTool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TeamTool")
            .field("name", &self.name)
            .finish()
    }
}

#[derive(Serialize, Deserialize)]
struct Config {
    name: String,
    description: String,
    team: ComponentModel,
    #[serde(default)]
    return_value_as_last_message: bool,
}

impl TeamTool {
    /// A tool running `team`, offered to models as `name` with `description`.
    pub fn new(
        team: Arc<GroupChat>,
        name: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        Self {
            team,
            name: name.into(),
            description: description.into(),
            parameters: task_schema(),
            return_value_as_last_message: false,
        }
    }

    /// Returns only the last message's text instead of every message.
    pub fn return_value_as_last_message(mut self, on: bool) -> Self {
        self.return_value_as_last_message = on;
        self
    }

    /// The wrapped team.
    pub fn team(&self) -> &Arc<GroupChat> {
        &self.team
    }

    /// The component config (AutoGen's `TeamToolConfig`).
    pub fn dump_component(&self) -> Result<ComponentModel, ComponentError> {
        component(
            TEAM_TOOL_PROVIDER,
            "tool",
            1,
            &Config {
                name: self.name.clone(),
                description: self.description.clone(),
                team: self.team.dump_component()?,
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
        let team = load_team(&c.team, options)?;
        Ok(Self::new(Arc::new(team), c.name, c.description)
            .return_value_as_last_message(c.return_value_as_last_message))
    }
}

#[async_trait]
impl Tool for TeamTool {
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
        let stream = self.team.run_stream(Task::Text(task), ctx.cancel.clone());
        let result = stream_to_observer(stream, ctx, &self.name).await?;
        format_result(&self.name, &result, self.return_value_as_last_message)
    }
}
