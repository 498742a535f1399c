//! `StaticWorkbench`: a fixed set of in-process [`Tool`]s served as a workbench.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use rmcp::model::{CallToolResult, ContentBlock, JsonObject, Tool as McpTool};
use serde_json::Value;

use super::{Tool, ToolError};
use crate::workbench::{CallContext, ToolSpec, Workbench, WorkbenchError};

/// In-process tools as a workbench. Tool failures become `isError` results, never errors.
#[derive(Clone, Default)]
pub struct StaticWorkbench {
    tools: Vec<Arc<dyn Tool>>,
    extras: HashMap<String, JsonObject>,
}

impl std::fmt::Debug for StaticWorkbench {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.tools.iter().map(|t| t.name()).collect();
        f.debug_struct("StaticWorkbench")
            .field("tools", &names)
            .finish()
    }
}

impl StaticWorkbench {
    /// A workbench over these tools.
    pub fn new(tools: Vec<Arc<dyn Tool>>) -> Self {
        Self {
            tools,
            extras: HashMap::new(),
        }
    }

    /// Add extra wire fields to the definition of tool `name` (e.g. `execution` with
    /// `taskSupport`; see [`ToolSpec::extra`]). Fields given again replace earlier ones.
    pub fn with_extra(mut self, name: &str, extra: JsonObject) -> Self {
        self.extras
            .entry(name.to_string())
            .or_default()
            .extend(extra);
        self
    }

    /// The tools.
    pub fn tools(&self) -> &[Arc<dyn Tool>] {
        &self.tools
    }
}

fn spec(tool: &dyn Tool) -> ToolSpec {
    let schema: JsonObject = match tool.parameters() {
        Value::Object(o) => o.clone(),
        _ => JsonObject::new(),
    };
    ToolSpec::new(McpTool::new(
        tool.name().to_string(),
        tool.description().to_string(),
        schema,
    ))
}

#[async_trait]
impl Workbench for StaticWorkbench {
    async fn list_tools(&self) -> Result<Vec<ToolSpec>, WorkbenchError> {
        Ok(self
            .tools
            .iter()
            .map(|t| {
                let mut spec = spec(t.as_ref());
                if let Some(extra) = self.extras.get(t.name()) {
                    spec.extra = extra.clone();
                }
                spec
            })
            .collect())
    }

    async fn call_tool(
        &self,
        name: &str,
        arguments: Option<JsonObject>,
        ctx: CallContext,
    ) -> Result<CallToolResult, WorkbenchError> {
        let tool = self
            .tools
            .iter()
            .find(|t| t.name() == name)
            .ok_or_else(|| WorkbenchError::UnknownTool { name: name.into() })?;
        let args = Value::Object(arguments.unwrap_or_default());
        match tool.run_in(args, &ctx).await {
            Ok(text) => Ok(CallToolResult::success(vec![ContentBlock::text(text)])),
            Err(ToolError::Cancelled { .. }) => Err(WorkbenchError::Cancelled),
            Err(e) => Ok(CallToolResult::error(vec![ContentBlock::text(
                e.to_string(),
            )])),
        }
    }
}
