//! The composition layer: every bridge between agent concepts and MCP calls, above agents,
//! teams, mcp and the gateway.
//!
//! Workbench files: agents and teams declared in files (`workbenches/*.json|toml`) served as MCP
//! tools beside the upstream tools, with models referenced by name from `[models.NAME]` in
//! `servers.toml` and per-agent filtered views of the gateway's tools. See `docs/workbenches.md`.
//! [`file`] parses one file, [`models`] holds the models table and builds a run's model
//! clients, [`prepare`] turns a file into a fresh component plus load options per call,
//! [`view`] is an agent's filtered gateway view, [`served`] is the `Workbench` the gateway
//! serves, [`check`] validates a folder for `toolyard check`, [`keys`] knows every component's
//! config keys (unknown keys are errors, with a "did you mean" hint), [`mcp_servers`] starts the
//! servers of AutoGen `McpWorkbench` entries, [`conversation`] continues a served tool's
//! conversation from the store.
//!
//! Agents and teams as tools and their loading: [`task_tools`] (`AgentTool`, `TeamTool`),
//! [`load`] (the `ComponentLoader` that builds them and `SocietyOfMindAgent` from configs). The
//! MCP caller inside a run: [`caller_input`] (its user, for `UserProxyAgent`) and [`sampling`]
//! (its model, as a `ChatCompletionClient`).

pub mod caller_input;
pub mod check;
pub mod conversation;
pub mod file;
pub mod keys;
pub mod load;
pub mod mcp_servers;
pub mod models;
pub mod prepare;
pub mod sampling;
pub mod served;
pub mod task_tools;
pub mod view;
mod watch;

use std::path::PathBuf;

pub use check::{Cycle, FolderCheck, Known, Problem, check_folder, cycles, runnable_problems};
pub use conversation::{CONVERSATION_ID, ConversationError, Conversations};
pub use file::{ExtraInput, Kind, WorkbenchFile, load_folder};
pub use load::{Loader, load_agent, load_team, loader, with_loader};
pub use mcp_servers::{McpServers, Scope as McpScope};
pub use models::{BuiltModel, ClientFactory, ModelSpec, ModelTable, RunEnv};
pub use served::{InputFactory, WorkbenchSet};
pub use task_tools::{
    AGENT_TOOL_PROVIDER, AgentTool, TEAM_TOOL_PROVIDER, TaskRunner, TaskRunnerTool, TeamTool,
};
pub use view::{GatewayHandle, GatewayView};

/// Why a workbench file, a model entry or a run could not be used.
#[derive(Debug, thiserror::Error)]
pub enum WorkbenchesError {
    /// A field of a workbench file is wrong.
    #[error("{path}: {field}: {message}")]
    File {
        path: PathBuf,
        field: String,
        message: String,
    },
    /// A file or folder could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A `[models.NAME]` entry is wrong or its model cannot be built.
    #[error("[models.{name}] {field}: {message}")]
    Model {
        name: String,
        field: String,
        message: String,
    },
}

impl WorkbenchesError {
    pub(crate) fn file(
        path: impl Into<PathBuf>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::File {
            path: path.into(),
            field: field.into(),
            message: message.into(),
        }
    }

    pub(crate) fn model(
        name: impl Into<String>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::Model {
            name: name.into(),
            field: field.into(),
            message: message.into(),
        }
    }
}
