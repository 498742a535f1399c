//! One `McpWorkbench` entry as its agent sees it: AutoGen's `tool_overrides` applied (listed
//! under the new name and description, called back under the upstream name), and a first use
//! that waits for the server's first start instead of seeing an empty tool list.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use rmcp::model::{CallToolResult, JsonObject};
use tokio::sync::broadcast;

use crate::config::ToolOverride;
use crate::mcp::McpWorkbench;
use crate::workbench::{CallContext, ToolSpec, Workbench, WorkbenchChange, WorkbenchError};

/// An upstream MCP server with AutoGen's tool overrides.
#[derive(Clone)]
pub struct OverriddenMcp {
    server: McpWorkbench,
    overrides: BTreeMap<String, ToolOverride>,
    /// Override name → upstream name (only names that differ), as AutoGen maps them back.
    originals: HashMap<String, String>,
}

impl OverriddenMcp {
    /// `server` with `overrides` keyed by upstream tool name.
    pub fn new(server: McpWorkbench, overrides: BTreeMap<String, ToolOverride>) -> Self {
        let originals = overrides
            .iter()
            .filter_map(|(original, o)| {
                o.name
                    .as_ref()
                    .filter(|n| *n != original)
                    .map(|n| (n.clone(), original.clone()))
            })
            .collect();
        Self {
            server,
            overrides,
            originals,
        }
    }

    /// Waits for the server's first connection attempt; an error naming the server and why it
    /// is not up (e.g. "cannot start `cmd`: No such file or directory").
    pub async fn ready(&self) -> Result<(), WorkbenchError> {
        wait_ready(&self.server).await
    }
}

/// Waits for `server`'s first connection attempt (bounded by its start-up timeout), and for a
/// server that was up and is being restarted (it crashed) for its reconnection; an error naming
/// the server and the reason when it is not connected.
pub(super) async fn wait_ready(server: &McpWorkbench) -> Result<(), WorkbenchError> {
    let startup = server.config().startup_timeout;
    server.wait_settled(startup).await;
    let mut status = server.status();
    if status.state != "ready" && status.connects > 0 && status.state != "stopped" {
        server.wait_ready(startup).await;
        status = server.status();
    }
    if status.state == "ready" {
        return Ok(());
    }
    Err(WorkbenchError::Unavailable {
        server: server.name().to_string(),
        reason: status
            .error
            .unwrap_or_else(|| format!("not connected ({})", status.state)),
    })
}

#[async_trait]
impl Workbench for OverriddenMcp {
    async fn list_tools(&self) -> Result<Vec<ToolSpec>, WorkbenchError> {
        self.ready().await?;
        let mut specs = self.server.list_tools().await?;
        for spec in &mut specs {
            if let Some(o) = self.overrides.get(spec.name()) {
                if let Some(name) = &o.name {
                    spec.tool.name = name.clone().into();
                }
                if let Some(description) = &o.description {
                    spec.tool.description = Some(description.clone().into());
                }
            }
        }
        Ok(specs)
    }

    async fn call_tool(
        &self,
        name: &str,
        arguments: Option<JsonObject>,
        ctx: CallContext,
    ) -> Result<CallToolResult, WorkbenchError> {
        let original = self.originals.get(name).map_or(name, String::as_str);
        self.server.call_tool(original, arguments, ctx).await
    }

    fn changes(&self) -> Option<broadcast::Receiver<WorkbenchChange>> {
        self.server.changes()
    }
}
