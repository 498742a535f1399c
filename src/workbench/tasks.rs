//! Tool calls run as tasks: what a tool declares (`execution.taskSupport`), and how a call asked
//! to run as a task starts at a workbench — as a task the server runs itself, or as a task at
//! the server that owns the tool (an upstream with task support), which the call then follows.

use std::sync::Arc;

use async_trait::async_trait;
use futures::future::BoxFuture;
use rmcp::model::{CallToolResult, JsonObject, TaskStatus};
use serde_json::{Value, json};

use super::{ToolSpec, WorkbenchError};

/// Whether a tool may (or must) run as a task: its definition's `execution.taskSupport`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskSupport {
    /// Never as a task (also when the field is absent).
    Forbidden,
    /// As a task when the caller asks (2025) or supports it (2026).
    Optional,
    /// Only as a task.
    Required,
}

impl TaskSupport {
    /// The support a tool definition declares.
    pub fn of(spec: &ToolSpec) -> Self {
        let declared = spec
            .extra
            .get("execution")
            .and_then(|e| e.get("taskSupport"))
            .and_then(Value::as_str);
        match declared {
            Some("optional") => Self::Optional,
            Some("required") => Self::Required,
            _ => Self::Forbidden,
        }
    }

    /// The `execution` extra that declares this support (for tool definitions).
    pub fn extra(self) -> JsonObject {
        let value = match self {
            Self::Forbidden => "forbidden",
            Self::Optional => "optional",
            Self::Required => "required",
        };
        let mut extra = JsonObject::new();
        extra.insert("execution".into(), json!({ "taskSupport": value }));
        extra
    }
}

/// What the caller asked of a task.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaskRequest {
    /// The requested time to live in milliseconds, if any.
    pub ttl_ms: Option<u64>,
}

/// A task's state as the server that owns it reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskUpdate {
    /// Its status there.
    pub status: TaskStatus,
    /// Its status message there.
    pub message: Option<String>,
}

/// The call's result, once it is known.
pub type CallFuture = BoxFuture<'static, Result<CallToolResult, WorkbenchError>>;

/// How a tool call that may run as a task starts (see [`super::Workbench::start_task`]).
pub enum TaskStart {
    /// Nothing here runs tasks: the server runs the plain call as a task of its own.
    Local,
    /// The call answered without becoming a task (an upstream may decide so).
    Done(CallToolResult),
    /// The call did its first part within the caller's request (e.g. it asked for input) and
    /// goes on as a task with this future.
    Continue(CallFuture),
    /// The call became a task at the server that owns the tool.
    Remote(RemoteTask),
}

/// A task at another server, as the call that created it follows it.
pub struct RemoteTask {
    /// Follows the task to its end (input it asks for goes to the call's observer) and yields
    /// its result; cancelling the call's token cancels the task at its owner.
    pub follow: CallFuture,
    /// Asks the owner about the task while it runs.
    pub handle: Arc<dyn RemoteTaskHandle>,
}

/// Live questions about a task at another server.
#[async_trait]
pub trait RemoteTaskHandle: Send + Sync {
    /// The server that owns the task.
    fn server(&self) -> &str;

    /// Its state at the owner now.
    async fn status(&self) -> Result<TaskUpdate, WorkbenchError>;
}
