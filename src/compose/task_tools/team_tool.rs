//! `TeamTool`: a team offered to a model as a tool (a `TaskRunnerTool` over a team).

use std::sync::Arc;

use futures::StreamExt;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::runner::{TaskRunner, TaskRunnerTool};
use crate::agents::{LoadOptions, RunItem, Task};
use crate::component::{ComponentError, ComponentModel, component, parse_config};
use crate::teams::{GroupChat, load_team};

/// AutoGen's provider name for `TeamTool`.
pub const TEAM_TOOL_PROVIDER: &str = "autogen_agentchat.tools.TeamTool";

/// A team as a tool. Like AutoGen, the team keeps its conversation between calls (each call is a
/// new task on the same team); call `GroupChat::reset` to start over.
pub type TeamTool = TaskRunnerTool<Arc<GroupChat>>;

#[derive(Serialize, Deserialize)]
struct Config {
    name: String,
    description: String,
    team: ComponentModel,
    #[serde(default)]
    return_value_as_last_message: bool,
}

impl TaskRunner for Arc<GroupChat> {
    const KIND: &'static str = "TeamTool";

    fn run_task(
        &self,
        task: Task,
        cancel: CancellationToken,
    ) -> BoxStream<'_, Result<RunItem, String>> {
        self.run_stream(task, cancel)
            .map(|i| i.map_err(|e| e.to_string()))
            .boxed()
    }

    fn dump_tool(tool: &TeamTool) -> Result<ComponentModel, ComponentError> {
        component(
            TEAM_TOOL_PROVIDER,
            "tool",
            1,
            &Config {
                name: tool.name.clone(),
                description: tool.description.clone(),
                team: tool.runner.dump_component()?,
                return_value_as_last_message: tool.return_value_as_last_message,
            },
        )
    }
}

impl TeamTool {
    /// A tool running `team`, offered to models as `name` with `description`.
    pub fn new(
        team: Arc<GroupChat>,
        name: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        Self::with_runner(team, name.into(), description.into())
    }

    /// The wrapped team.
    pub fn team(&self) -> &Arc<GroupChat> {
        &self.runner
    }

    /// Builds the tool from its component config (AutoGen's or ours).
    pub fn from_component(
        model: &ComponentModel,
        options: &LoadOptions,
    ) -> Result<Self, ComponentError> {
        let c: Config = parse_config(model)?;
        let options = &crate::compose::load::with_loader(options);
        let team = load_team(&c.team, options)?;
        Ok(Self::new(Arc::new(team), c.name, c.description)
            .return_value_as_last_message(c.return_value_as_last_message))
    }
}
