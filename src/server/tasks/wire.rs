//! The wire shapes of tasks that differ between the eras: the 2025-11-25 `Task` object, the
//! `tasks/result` result with its related-task mark, and how a call's outcome is kept.

use rmcp::ErrorData;
use rmcp::model::{CallToolResult, ContentBlock, JsonObject, Task, TaskStatus};
use serde_json::{Value, json};

use crate::workbench::WorkbenchError;

/// The `_meta` key that ties a message to a task (2025-11-25).
pub const RELATED_TASK_META: &str = "io.modelcontextprotocol/related-task";

/// How a task ended, in the shape both eras render it from.
pub enum Ending {
    /// The call's result (also for a tool that reported an error: `isError: true`).
    Result(JsonObject),
    /// The JSON-RPC error the call failed with.
    Error(JsonObject),
    /// Cancelled before it ended.
    Cancelled,
}

impl Ending {
    /// How a call that returned `output` ended.
    pub fn of(output: Result<CallToolResult, WorkbenchError>) -> Self {
        match output {
            Ok(result) => Self::Result(to_object(result)),
            Err(WorkbenchError::Cancelled) => Self::Cancelled,
            Err(e) if e.is_tool_error() => {
                Self::Result(to_object(CallToolResult::error(vec![ContentBlock::text(
                    e.to_string(),
                )])))
            }
            Err(e) => Self::Error(to_object(e.to_error_data())),
        }
    }

    /// The status it ends the task with.
    pub fn status(&self) -> TaskStatus {
        match self {
            Self::Result(_) => TaskStatus::Completed,
            Self::Error(_) => TaskStatus::Failed,
            Self::Cancelled => TaskStatus::Cancelled,
        }
    }
}

/// A task in the 2025-11-25 wire shape (`ttl` / `pollInterval` instead of `ttlMs` /
/// `pollIntervalMs`).
pub fn legacy_task(task: &Task, status: TaskStatus) -> Value {
    let mut value = json!({
        "taskId": task.task_id,
        "status": status,
        "createdAt": task.created_at,
        "lastUpdatedAt": task.last_updated_at,
        "ttl": task.ttl_ms,
        "pollInterval": task.poll_interval_ms,
    });
    if let (Some(message), Some(obj)) = (&task.status_message, value.as_object_mut()) {
        obj.insert("statusMessage".into(), json!(message));
    }
    value
}

/// The 2025-11-25 `tasks/result` of a task that ended as `ending`: its result marked with the
/// related task, or its error.
pub fn legacy_result(task_id: &str, ending: &Ending) -> Result<Value, ErrorData> {
    match ending {
        Ending::Result(result) => {
            let mut result = result.clone();
            let meta = result
                .entry("_meta")
                .or_insert_with(|| Value::Object(JsonObject::new()));
            if let Some(meta) = meta.as_object_mut() {
                meta.insert(RELATED_TASK_META.into(), json!({ "taskId": task_id }));
            }
            Ok(Value::Object(result))
        }
        Ending::Error(error) => Err(serde_json::from_value(Value::Object(error.clone()))
            .unwrap_or_else(|_| {
                ErrorData::internal_error(format!("task `{task_id}` failed"), None)
            })),
        Ending::Cancelled => Err(ErrorData::invalid_request(
            format!("task `{task_id}` was cancelled; it has no result"),
            Some(json!({ "taskId": task_id })),
        )),
    }
}

/// The error for a task id the caller cannot see.
pub fn unknown(task_id: &str) -> ErrorData {
    ErrorData::invalid_params(
        format!("unknown task id `{task_id}` (never issued, expired, or not yours)"),
        Some(json!({ "taskId": task_id })),
    )
}

/// The current time as the tasks' timestamps show it.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn to_object(value: impl serde::Serialize) -> JsonObject {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => map,
        _ => JsonObject::new(),
    }
}
