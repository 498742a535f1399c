//! Tool calls as MCP tasks, for both protocol eras, on top of [`super::tasks::TaskStore`]:
//!
//! - 2026-07-28 (tasks extension, SEP-2663): the server decides. A call to a tool whose
//!   definition says `execution.taskSupport: "optional" | "required"` from a caller that
//!   declared the extension on its request gets a `CreateTaskResult`; `tasks/get`,
//!   `tasks/update`, `tasks/cancel` arrive as rmcp's typed requests.
//! - 2025-11-25 (experimental tasks): the caller asks with `params.task` on `tools/call`.
//!   rmcp models neither that field nor the 2025 task methods' shapes, so the faces rename
//!   those requests ([`rename_legacy_request`], during their one parse of each message) to `toolyard/tasks/*` custom methods, answered
//!   here with the 2025 wire shapes; `tasks/list` and `tasks/result` are custom methods as they
//!   are. Tasks of 2025 callers belong to the session that created them.

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CancelTaskParams, ClientCapabilities, CustomRequest, CustomResult,
    ErrorCode, GetTaskParams, GetTaskResult, ProgressToken, UpdateTaskParams,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer};
use serde_json::{Value, json};

use futures::FutureExt;

use super::calls::{OpKind, is_2026_caller, start_as_task};
use super::driver::{self, Sink, TaskPlan};
use super::handler::WorkbenchServer;
use super::observer::ChannelObserver;
use super::relay::StreamRelay;
use super::rewrite::OutgoingRewrite;
use super::tasks::{NewTask, TaskSupport, legacy_task};
use crate::workbench::{CallContext, TaskRequest, WorkbenchError};

/// The `_meta` key of a 2026-07-28 request's protocol version.
const PROTOCOL_VERSION_META: &str = "io.modelcontextprotocol/protocolVersion";

/// The custom method a 2025-era task-augmented `tools/call` is renamed to.
pub const LEGACY_CALL: &str = "toolyard/tasks/call";
/// The custom method a 2025-era `tasks/get` is renamed to.
pub const LEGACY_GET: &str = "toolyard/tasks/get";
/// The custom method a 2025-era `tasks/cancel` is renamed to.
pub const LEGACY_CANCEL: &str = "toolyard/tasks/cancel";

/// The 2025-11-25 `tasks` server capability.
pub fn legacy_capability() -> Value {
    json!({ "list": {}, "cancel": {}, "requests": { "tools": { "call": {} } } })
}

/// Rename a 2025-era task request to the custom method this module answers; `false` when the
/// message is not one (a request whose `_meta` names a protocol version is 2026-era).
pub fn rename_legacy_request(message: &mut Value) -> bool {
    let Some(obj) = message.as_object_mut() else {
        return false;
    };
    let params = obj.get("params");
    if params
        .and_then(|p| p.get("_meta"))
        .and_then(|m| m.get(PROTOCOL_VERSION_META))
        .is_some()
    {
        return false;
    }
    let renamed = match obj.get("method").and_then(Value::as_str) {
        Some("tools/call") if params.and_then(|p| p.get("task")).is_some() => LEGACY_CALL,
        Some("tasks/get") => LEGACY_GET,
        Some("tasks/cancel") => LEGACY_CANCEL,
        _ => return false,
    };
    obj.insert("method".into(), json!(renamed));
    true
}

/// `rewrite` (if any) followed by [`advertise_legacy_tasks`], for a face's outgoing messages.
pub fn with_legacy_tasks(rewrite: Option<OutgoingRewrite>) -> OutgoingRewrite {
    OutgoingRewrite::new(move |message| {
        if let Some(rewrite) = &rewrite {
            rewrite.apply(message);
        }
        advertise_legacy_tasks(message);
    })
}

/// Add the 2025-11-25 `capabilities.tasks` to an `initialize` response (rmcp's typed
/// capabilities cannot carry it).
pub fn advertise_legacy_tasks(message: &mut Value) {
    let Some(result) = message.get_mut("result").and_then(Value::as_object_mut) else {
        return;
    };
    if !result.contains_key("protocolVersion") {
        return;
    }
    if let Some(caps) = result
        .get_mut("capabilities")
        .and_then(Value::as_object_mut)
    {
        caps.entry("tasks").or_insert_with(legacy_capability);
    }
}

fn method_not_found(message: String) -> ErrorData {
    ErrorData::new(ErrorCode::METHOD_NOT_FOUND, message, None)
}

/// The MCP requests rmcp decodes into typed requests.
const TYPED_METHODS: &[&str] = &[
    "initialize",
    "ping",
    "server/discover",
    "completion/complete",
    "logging/setLevel",
    "prompts/get",
    "prompts/list",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "resources/directory/read",
    "subscriptions/listen",
    "tools/call",
    "tools/list",
    "tasks/get",
    "tasks/update",
    "tasks/cancel",
    "skills/list",
    "skills/get",
];

/// The error for a request no handler took. rmcp decodes a request whose params do not fit its
/// method's shape (e.g. `tools/call` with `"name": 123`) as a custom request, so a known
/// method arriving here had invalid params (`-32602`); any other is unknown (`-32601`).
/// The 2025-era methods the 2026-07-28 revision removed: unknown (`-32601`, HTTP 404) to a
/// 2026-era caller, whatever their params.
const REMOVED_IN_2026: &[&str] = &[
    "initialize",
    "ping",
    "logging/setLevel",
    "resources/subscribe",
    "resources/unsubscribe",
];

fn unknown_method(method: &str, modern_caller: bool) -> ErrorData {
    if modern_caller && REMOVED_IN_2026.contains(&method) {
        method_not_found(format!("unknown method `{method}`"))
    } else if TYPED_METHODS.contains(&method) {
        ErrorData::invalid_params(
            format!("invalid params for `{method}`: they do not match its schema"),
            None,
        )
    } else {
        method_not_found(format!("unknown method `{method}`"))
    }
}

fn param<'a>(params: &'a Value, key: &str) -> Result<&'a str, ErrorData> {
    params
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| ErrorData::invalid_params(format!("params.{key} must be a string"), None))
}

impl WorkbenchServer {
    /// The task support the served definition of `name` declares; `None`: no such tool.
    async fn task_support(&self, name: &str) -> Option<TaskSupport> {
        // The gateway answers from its table; only a workbench without one is listed.
        if let Some(support) = self.workbench().cached_task_support(name) {
            return Some(support);
        }
        let tools = self.workbench().list_tools().await.ok()?;
        tools.iter().find(|t| t.name() == name).map(TaskSupport::of)
    }

    /// Decide how a plain `tools/call` meets the tool's task support: `Ok(Some)` when the call
    /// may become a task (2026-07-28 callers that declared the extension; the workbench decides
    /// when, see [`crate::workbench::Workbench::start_task`]), `Ok(None)` to run it normally,
    /// or an error when the tool requires a task the caller cannot use.
    pub(super) async fn task_plan(
        &self,
        request: &CallToolRequestParams,
        context: &RequestContext<RoleServer>,
    ) -> Result<Option<TaskPlan>, ErrorData> {
        if request.request_state.is_some() {
            return Ok(None);
        }
        let support = match self.task_support(&request.name).await {
            None | Some(TaskSupport::Forbidden) => return Ok(None),
            Some(support) => support,
        };
        if !is_2026_caller(context) {
            return match support {
                TaskSupport::Required => Err(method_not_found(format!(
                    "tool `{}` must be called as a task (execution.taskSupport is \"required\")",
                    request.name
                ))),
                _ => Ok(None),
            };
        }
        let declared = context
            .client_capabilities()
            .is_some_and(|c| c.supports_tasks());
        match (support, declared) {
            (_, true) => Ok(Some(TaskPlan {
                store: self.tasks().clone(),
                new: NewTask {
                    ttl_ms: None,
                    owner: None,
                    relay: None,
                },
            })),
            (TaskSupport::Required, false) => Err(ErrorData::missing_required_client_capability(
                ClientCapabilities::builder().enable_tasks().build(),
            )),
            _ => Ok(None),
        }
    }

    /// 2026-07-28 `tasks/get` (a forwarded task's owner is asked how it is first).
    pub(super) async fn get_task_2026(
        &self,
        params: GetTaskParams,
    ) -> Result<GetTaskResult, ErrorData> {
        self.tasks().refresh(&params.task_id, None).await?;
        Ok(GetTaskResult::new(self.tasks().detailed(&params.task_id)?))
    }

    /// 2026-07-28 `tasks/update`.
    pub(super) fn update_task_2026(&self, params: UpdateTaskParams) -> Result<(), ErrorData> {
        self.tasks().update(&params.task_id, params.input_responses)
    }

    /// 2026-07-28 `tasks/cancel` (idempotent on ended tasks).
    pub(super) fn cancel_task_2026(&self, params: CancelTaskParams) -> Result<(), ErrorData> {
        self.tasks()
            .cancel(&params.task_id, None, false)
            .map(|_| ())
    }

    /// The 2025-11-25 task methods (see the module docs for how they get here).
    pub(super) async fn legacy_task_request(
        &self,
        request: CustomRequest,
        context: RequestContext<RoleServer>,
    ) -> Result<CustomResult, ErrorData> {
        if is_2026_caller(&context) {
            // tasks/result and tasks/list do not exist in the 2026-07-28 tasks extension.
            return Err(unknown_method(&request.method, true));
        }
        let params = request.params.unwrap_or(Value::Null);
        let owner = self.session_key();
        let result = match request.method.as_str() {
            LEGACY_CALL => self.legacy_call(&params, context).await?,
            LEGACY_GET | "tasks/get" => {
                let id = param(&params, "taskId")?;
                self.tasks().refresh(id, Some(owner)).await?;
                self.tasks().legacy(id, owner)?
            }
            LEGACY_CANCEL | "tasks/cancel" => {
                self.tasks()
                    .cancel(param(&params, "taskId")?, Some(owner), true)?
            }
            "tasks/list" => json!({ "tasks": self.tasks().list(owner) }),
            "tasks/result" => {
                let id = param(&params, "taskId")?;
                self.tasks().result(id, owner, &context.ct).await?
            }
            other => return Err(unknown_method(other, false)),
        };
        Ok(CustomResult::new(result))
    }

    async fn legacy_call(
        &self,
        params: &Value,
        mut context: RequestContext<RoleServer>,
    ) -> Result<Value, ErrorData> {
        let name = param(params, "name")?.to_string();
        let arguments = match params.get("arguments") {
            None | Some(Value::Null) => None,
            Some(Value::Object(args)) => Some(args.clone()),
            Some(_) => {
                return Err(ErrorData::invalid_params(
                    "params.arguments must be an object",
                    None,
                ));
            }
        };
        match self.task_support(&name).await {
            None => return Err(WorkbenchError::UnknownTool { name }.to_error_data()),
            Some(TaskSupport::Forbidden) => {
                return Err(method_not_found(format!(
                    "tool `{name}` does not support task-augmented calls (execution.taskSupport)"
                )));
            }
            Some(_) => {}
        }
        let ttl_ms = params
            .get("task")
            .and_then(|t| t.get("ttl"))
            .and_then(Value::as_u64);
        if let Some(token) = params
            .get("_meta")
            .and_then(|m| m.get("progressToken"))
            .and_then(|t| serde_json::from_value::<ProgressToken>(t.clone()).ok())
        {
            context.meta.set_progress_token(token);
        }
        let relay = StreamRelay {
            context: context.clone(),
            min_level: self.session_level(),
            on_request_stream: false,
        };
        let new = NewTask {
            ttl_ms,
            owner: Some(self.session_key().to_string()),
            relay: Some(relay),
        };
        let cancel = self.tasks().run_token();
        let (task, sink) = self.tasks().create(new, cancel.clone());
        let (observer, events) = ChannelObserver::new();
        let ctx = CallContext {
            cancel: cancel.clone(),
            observer: Arc::new(observer),
            caller: self.caller(&context),
        };
        let span = tracing::info_span!("task", task = %task.task_id, tool = %name);
        let step = start_as_task(
            self.workbench(),
            name,
            arguments,
            ctx,
            TaskRequest { ttl_ms },
        );
        let handle = span.in_scope(|| {
            driver::spawn(
                step.boxed(),
                OpKind::Tool,
                events,
                cancel,
                Sink::Task(Box::new(sink)),
            )
        });
        self.tasks().adopt(&task.task_id, handle.into_task());
        Ok(json!({ "task": legacy_task(&task, task.status) }))
    }
}
