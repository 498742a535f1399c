//! Agents and teams offered to a model as tools: `AgentTool`, `TeamTool` and what they share
//! (`TaskRunnerTool` over a `TaskRunner`). They sit above agents and teams, so an agent's tool
//! may be a team and a team's agent may carry an agent as a tool.

mod agent_tool;
pub(crate) mod follow;
mod runner;
mod team_tool;

pub use agent_tool::{AGENT_TOOL_PROVIDER, AgentTool};
pub use runner::{TaskRunner, TaskRunnerTool};
pub use team_tool::{TEAM_TOOL_PROVIDER, TeamTool};
