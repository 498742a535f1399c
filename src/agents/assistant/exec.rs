//! Tool execution for one assistant turn: parallel calls across workbenches and handoff tools.
//! Failures become error results for the model; they never fail the turn.

use std::collections::HashMap;
use std::sync::Arc;

use futures::future::join_all;
use rmcp::model::CallToolResult;
use serde_json::Value;
use tokio::sync::mpsc::UnboundedSender;
use tracing::Instrument;

use super::{AssistantAgent, Handoff};
use crate::agents::AgentError;
use crate::messages::AgentMessage;
use crate::models::{FunctionCall, FunctionExecutionResult, ToolSchema};
use crate::telemetry;
use crate::workbench::{CallContext, CallObserver, Workbench};

/// The tools offered in one model call, and which workbench serves each.
pub(super) struct Offered {
    /// Shared by every model call that offers them (no copy per call).
    pub schemas: Arc<[ToolSchema]>,
    pub owner: HashMap<String, Arc<dyn Workbench>>,
}

impl AssistantAgent {
    /// Lists the tools of every workbench plus the handoff tools.
    pub(super) async fn offered(&self) -> Result<Offered, AgentError> {
        let mut schemas = Vec::new();
        let mut owner = HashMap::new();
        for wb in &self.workbenches {
            let specs = wb
                .list_tools()
                .await
                .map_err(|source| AgentError::Workbench {
                    agent: self.name.clone(),
                    source,
                })?;
            for spec in specs {
                let name = spec.name().to_string();
                schemas.push(ToolSchema {
                    name: name.clone(),
                    description: spec.tool.description.as_ref().map(|d| d.to_string()),
                    parameters: Some(Value::Object((*spec.tool.input_schema).clone())),
                    strict: None,
                });
                owner.entry(name).or_insert_with(|| wb.clone());
            }
        }
        schemas.extend(self.handoffs.iter().map(Handoff::tool_schema));
        Ok(Offered {
            schemas: schemas.into(),
            owner,
        })
    }

    /// Runs all calls concurrently, results in call order.
    pub(super) async fn execute(
        &self,
        calls: &[FunctionCall],
        offered: &Offered,
        ctx: &CallContext,
    ) -> Vec<(FunctionCall, FunctionExecutionResult)> {
        let runs = calls.iter().map(|c| async move {
            let result = self.execute_one(c, offered, ctx).await;
            (c.clone(), result)
        });
        join_all(runs).await
    }

    /// One call, in its `execute_tool` span.
    async fn execute_one(
        &self,
        call: &FunctionCall,
        offered: &Offered,
        ctx: &CallContext,
    ) -> FunctionExecutionResult {
        let span = telemetry::tool_execution(&call.name, &call.id, &call.arguments);
        let result = self
            .execute_untraced(call, offered, ctx)
            .instrument(span.clone())
            .await;
        telemetry::record_tool_outcome(&span, result.is_error == Some(true), || {
            result.content.clone()
        });
        result
    }

    async fn execute_untraced(
        &self,
        call: &FunctionCall,
        offered: &Offered,
        ctx: &CallContext,
    ) -> FunctionExecutionResult {
        let answer = |content: String, is_error: bool| FunctionExecutionResult {
            content,
            name: call.name.clone(),
            call_id: call.id.clone(),
            is_error: Some(is_error),
        };
        let arguments: Value = match serde_json::from_str(&call.arguments) {
            Ok(v) => v,
            Err(e) => return answer(format!("Error: {e}"), true),
        };
        if let Some(h) = self.handoffs.iter().find(|h| h.name == call.name) {
            return answer(h.message.clone(), false);
        }
        let Some(wb) = offered.owner.get(&call.name) else {
            return answer(
                format!("Error: tool '{}' not found in any workbench", call.name),
                true,
            );
        };
        let arguments = match arguments {
            Value::Object(map) => Some(map),
            Value::Null => None,
            other => {
                return answer(
                    format!("Error: arguments must be an object, got {other}"),
                    true,
                );
            }
        };
        tracing::debug!(agent = %self.name, tool = %call.name, "calling tool");
        match wb.call_tool(&call.name, arguments, ctx.clone()).await {
            Ok(result) => answer(result_text(&result), result.is_error == Some(true)),
            Err(e) => answer(e.to_string(), true),
        }
    }
}

/// Passes the messages of agents and teams running inside tool calls (AgentTool / TeamTool) to
/// the turn's stream as they arrive, and keeps them for the response's inner messages.
pub(super) struct InnerEvents {
    tx: UnboundedSender<AgentMessage>,
    kept: std::sync::Mutex<Vec<AgentMessage>>,
}

impl InnerEvents {
    /// Forwards to `tx`.
    pub fn new(tx: UnboundedSender<AgentMessage>) -> Self {
        Self {
            tx,
            kept: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// The messages forwarded so far (and forgets them).
    pub fn take(&self) -> Vec<AgentMessage> {
        self.kept
            .lock()
            .map(|mut k| std::mem::take(&mut *k))
            .unwrap_or_default()
    }
}

#[async_trait::async_trait]
impl CallObserver for InnerEvents {
    async fn agent_message(&self, message: AgentMessage) {
        let _ = self.tx.send(message.clone());
        if let Ok(mut kept) = self.kept.lock() {
            kept.push(message);
        }
    }
}

/// The text of a tool result: text blocks as they are, other blocks as JSON, one per line.
pub(crate) fn result_text(result: &CallToolResult) -> String {
    let mut parts: Vec<String> = result
        .content
        .iter()
        .map(|block| match block.as_text() {
            Some(t) => t.text.clone(),
            None => serde_json::to_string(block).unwrap_or_default(),
        })
        .collect();
    if parts.is_empty()
        && let Some(s) = &result.structured_content
    {
        parts.push(s.to_string());
    }
    parts.join("\n")
}
