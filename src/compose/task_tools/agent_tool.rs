//! `AgentTool`: an agent offered to a model as a tool (a `TaskRunnerTool` over an agent).

use std::sync::Arc;

use futures::StreamExt;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::runner::{TaskRunner, TaskRunnerTool};
use crate::agents::{ChatAgent, LoadOptions, RunItem, Task, load_agent};
use crate::component::{ComponentError, ComponentModel, component, parse_config};

/// AutoGen's provider name for `AgentTool`.
pub const AGENT_TOOL_PROVIDER: &str = "autogen_agentchat.tools.AgentTool";

/// An agent as a tool, named and described as the agent is. Like AutoGen, the agent keeps its
/// conversation between calls; call `ChatAgent::on_reset` on it to start over.
pub type AgentTool = TaskRunnerTool<Arc<dyn ChatAgent>>;

#[derive(Serialize, Deserialize)]
struct Config {
    agent: ComponentModel,
    #[serde(default)]
    return_value_as_last_message: bool,
}

impl TaskRunner for Arc<dyn ChatAgent> {
    const KIND: &'static str = "AgentTool";

    fn run_task(
        &self,
        task: Task,
        cancel: CancellationToken,
    ) -> BoxStream<'_, Result<RunItem, String>> {
        self.run_stream(task, cancel)
            .map(|i| i.map_err(|e| e.to_string()))
            .boxed()
    }

    fn dump_tool(tool: &AgentTool) -> Result<ComponentModel, ComponentError> {
        component(
            AGENT_TOOL_PROVIDER,
            "tool",
            1,
            &Config {
                agent: tool.runner.dump_component()?,
                return_value_as_last_message: tool.return_value_as_last_message,
            },
        )
    }
}

impl AgentTool {
    /// A tool named and described as the agent is.
    pub fn new(agent: Arc<dyn ChatAgent>) -> Self {
        let (name, description) = (agent.name().to_string(), agent.description().to_string());
        Self::with_runner(agent, name, description)
    }

    /// The wrapped agent.
    pub fn agent(&self) -> &Arc<dyn ChatAgent> {
        &self.runner
    }

    /// Builds the tool from its component config (AutoGen's or ours).
    pub fn from_component(
        model: &ComponentModel,
        options: &LoadOptions,
    ) -> Result<Self, ComponentError> {
        let c: Config = parse_config(model)?;
        let options = &crate::compose::load::with_loader(options);
        let agent = load_agent(&c.agent, options)?;
        Ok(Self::new(agent).return_value_as_last_message(c.return_value_as_last_message))
    }
}
