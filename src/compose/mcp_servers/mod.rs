//! AutoGen `McpWorkbench` entries of workbench files (`autogen_ext.tools.mcp.McpWorkbench` in an
//! agent's `workbench` list): the MCP servers they name, started and supervised by toolyard like
//! servers.toml upstreams ([`crate::mcp::McpWorkbench`]: own process group, restart with
//! backoff, SIGTERM then SIGKILL of the group on stop), owned by one run or shared by all runs
//! of a file ([`Scope`], the file's `[toolyard] mcp_servers`).

pub mod params;
mod tools;

use std::collections::BTreeMap;
use std::sync::Mutex;

use tokio_util::sync::{CancellationToken, DropGuard};

use crate::mcp::McpWorkbench;
use crate::workbench::WorkbenchError;

pub use params::{McpSpec, PROVIDER, ParamsError, parse, server_name};
pub use tools::OverriddenMcp;

/// Who owns the MCP servers of a file's `McpWorkbench` entries (`[toolyard] mcp_servers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    /// `"shared"` (default): one server per entry for all runs of the file, started on first
    /// use, stopped when the file changes or is removed and at shutdown.
    #[default]
    Shared,
    /// `"per-run"`: every run starts its own servers and stops them when it ends.
    PerRun,
}

impl Scope {
    /// The `[toolyard]` key.
    pub const KEY: &'static str = "mcp_servers";
    /// The accepted values.
    pub const VALUES: [&'static str; 2] = ["shared", "per-run"];

    /// Parses a `[toolyard] mcp_servers` value.
    pub fn parse(value: &str) -> Result<Self, String> {
        match value {
            "shared" => Ok(Self::Shared),
            "per-run" => Ok(Self::PerRun),
            other => Err(format!(
                "`{other}` is not one of {}{}",
                Self::VALUES.join(", "),
                crate::component::suggest::hint(other, Self::VALUES)
            )),
        }
    }
}

/// The MCP servers started for one file (shared) or one run: each entry's server is started on
/// first use; all are stopped by [`McpServers::shutdown`] or when this is dropped.
pub struct McpServers {
    cancel: CancellationToken,
    _stop_on_drop: DropGuard,
    started: Mutex<BTreeMap<usize, McpWorkbench>>,
}

impl std::fmt::Debug for McpServers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpServers")
            .field("started", &self.servers().len())
            .finish()
    }
}

impl Default for McpServers {
    fn default() -> Self {
        Self::new(&CancellationToken::new())
    }
}

impl McpServers {
    /// An empty set, stopped too when `parent` is cancelled.
    pub fn new(parent: &CancellationToken) -> Self {
        let cancel = parent.child_token();
        Self {
            _stop_on_drop: cancel.clone().drop_guard(),
            cancel,
            started: Mutex::new(BTreeMap::new()),
        }
    }

    /// The server of the file's `index`th `McpWorkbench` entry, started now if it is not yet.
    pub fn server(&self, index: usize, spec: &McpSpec) -> McpWorkbench {
        let mut started = self.started.lock().unwrap_or_else(|p| p.into_inner());
        started
            .entry(index)
            .or_insert_with(|| {
                tracing::info!(server = %spec.server.name, "starting the MCP server of an McpWorkbench");
                McpWorkbench::start(spec.server.clone(), self.cancel.clone())
            })
            .clone()
    }

    /// The servers started so far.
    pub fn servers(&self) -> Vec<McpWorkbench> {
        self.started
            .lock()
            .map(|s| s.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Waits for every started server's first connection attempt; the first that is not up,
    /// named with the reason (e.g. "cannot start `cmd`: No such file or directory").
    pub async fn wait_ready(&self) -> Result<(), WorkbenchError> {
        for server in self.servers() {
            tools::wait_ready(&server).await?;
        }
        Ok(())
    }

    /// Tells every server to stop (their supervisors close the sessions and end the child
    /// process groups in the background).
    pub fn stop(&self) {
        self.cancel.cancel();
    }

    /// Stops every server and waits until each session is closed and each child process group
    /// is gone.
    pub async fn shutdown(&self) {
        self.cancel.cancel();
        for server in self.servers() {
            server.stopped().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_values_and_a_hint_for_a_near_one() {
        assert_eq!(Scope::parse("shared"), Ok(Scope::Shared));
        assert_eq!(Scope::parse("per-run"), Ok(Scope::PerRun));
        let e = Scope::parse("per_run").unwrap_err();
        assert!(e.contains("did you mean `per-run`"), "{e}");
    }
}
