//! Tool calls as tasks at the upstream that owns the tool, when it supports them. The task is
//! created there — 2026-07-28: the call declares the tasks extension for the caller and the
//! upstream decides (it may ask for input in rounds first, or answer without a task);
//! 2025-11-25: `params.task` on `tools/call`, sent as a custom request because rmcp models only
//! the 2026 shapes — and then followed to its end: a 2026 task is polled with `tasks/get` and
//! its questions are answered with `tasks/update`; a 2025 task's `tasks/result` is awaited
//! while its questions (marked with the related task) and status notifications arrive. What
//! the task asks or reports goes to the call's observer; cancelling the call cancels the task
//! at the upstream. The upstream's task id never leaves this module.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::FutureExt;
use rmcp::model::{
    CallToolRequest, CallToolRequestParams, CallToolResult, CancelTaskParams, CancelTaskRequest,
    ClientRequest, CustomRequest, DetailedTask, ErrorData, GetTaskParams, GetTaskRequest,
    JsonObject, ServerResult, TaskPayload, TaskStatus, UpdateTaskParams, UpdateTaskRequest,
};
use rmcp::service::PeerRequestOptions;
use serde_json::{Value, json};

use super::McpWorkbench;
use super::request::{Operation, Sending, is_modern, unexpected};
use super::via::Via;
use crate::mcp::callers::CallerLease;
use crate::mcp::handler::{RELATED_TASK_META, RouteGuard};
use crate::workbench::{
    CallContext, RemoteTask, RemoteTaskHandle, TaskRequest, TaskStart, TaskSupport, TaskUpdate,
    WorkbenchError,
};

/// Polling interval for a 2026 task whose upstream suggests none.
const DEFAULT_POLL: Duration = Duration::from_millis(500);
/// Bounds on the polling interval an upstream suggests.
const POLL_BOUNDS: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(5));

/// Which era's task methods the upstream speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Era {
    /// 2025-11-25 experimental tasks.
    Legacy,
    /// 2026-07-28 tasks extension.
    Modern,
}

/// How creating a task at the upstream went.
enum Created {
    /// The upstream answered without a task.
    Done(CallToolResult),
    /// A task: the upstream's id, its route here, and the suggested polling interval.
    Task {
        id: String,
        route: RouteGuard,
        poll: Option<u64>,
    },
}

/// The id of the task an upstream's answer created, if it is a task handle (2026-07-28:
/// `CreateTaskResult`; 2025-11-25: `{"task": {"taskId": ...}}`).
pub(super) fn created_task(result: &ServerResult) -> Option<String> {
    match result {
        ServerResult::CreateTaskResult(created) => Some(created.task.task_id.clone()),
        ServerResult::CallToolResult(_) | ServerResult::InputRequiredResult(_) => None,
        other => to_value(other)
            .pointer("/task/taskId")
            .and_then(Value::as_str)
            .map(str::to_string),
    }
}

impl McpWorkbench {
    /// Whether the upstream's definition of `name` lets it run as a task there.
    fn runs_tasks(&self, name: &str) -> bool {
        self.with_lists(|l| {
            l.tools
                .iter()
                .find(|t| t.name() == name)
                .is_some_and(|t| TaskSupport::of(t) != TaskSupport::Forbidden)
        })
    }

    /// Start `name` as a task at the upstream, on the session that serves the caller.
    pub(super) async fn start_upstream_task(
        &self,
        name: &str,
        arguments: Option<JsonObject>,
        ctx: CallContext,
        task: TaskRequest,
    ) -> Result<TaskStart, WorkbenchError> {
        if !self.runs_tasks(name) {
            return Ok(TaskStart::Local);
        }
        match self.via(&ctx).await? {
            Via::Here => self.start_here(name, arguments, ctx, task, None).await,
            Via::Lease(lease) => {
                let session = lease.workbench.clone();
                session
                    .start_here(name, arguments, ctx, task, Some(lease))
                    .await
            }
            Via::Other(other) => other.start_here(name, arguments, ctx, task, None).await,
        }
    }

    /// Create the task on this session; the caller's own session (`lease`) is held until the
    /// task ends.
    async fn start_here(
        &self,
        name: &str,
        arguments: Option<JsonObject>,
        ctx: CallContext,
        task: TaskRequest,
        lease: Option<CallerLease>,
    ) -> Result<TaskStart, WorkbenchError> {
        let peer = self.peer()?;
        let era = if is_modern(&peer) {
            let supports = peer
                .peer_info()
                .is_some_and(|i| i.capabilities.supports_tasks());
            if !supports {
                return Ok(TaskStart::Local);
            }
            Era::Modern
        } else {
            Era::Legacy
        };
        let created = match era {
            Era::Modern => self.create_modern(name, arguments, &ctx).await?,
            Era::Legacy => self.create_legacy(name, arguments, &ctx, task).await?,
        };
        let (id, route, poll) = match created {
            Created::Done(result) => return Ok(TaskStart::Done(result)),
            Created::Task { id, route, poll } => (id, route, poll),
        };
        tracing::info!(server = %self.name(), tool = %name, "task created at the upstream");
        let handle = Arc::new(UpstreamTask {
            session: self.clone(),
            id: id.clone(),
            era,
        });
        let session = self.clone();
        let poll = poll.map_or(DEFAULT_POLL, |ms| {
            Duration::from_millis(ms).clamp(POLL_BOUNDS.0, POLL_BOUNDS.1)
        });
        let follow = async move {
            // The task's questions and status come by this route; its session stays ours.
            let (_route, _lease) = (route, lease);
            let result = match era {
                Era::Modern => session.follow_modern(&id, poll, &ctx).await,
                Era::Legacy => session.follow_legacy(&id, &ctx).await,
            };
            if ctx.cancel.is_cancelled() {
                session.cancel_at_upstream(&id, era).await;
                return Err(WorkbenchError::Cancelled);
            }
            result.map(without_related_task)
        };
        Ok(TaskStart::Remote(RemoteTask {
            follow: follow.boxed(),
            handle,
        }))
    }

    /// 2026-07-28: `tools/call` with the tasks extension declared; the upstream may ask for
    /// input in rounds (answered through the caller) before it answers.
    async fn create_modern(
        &self,
        name: &str,
        arguments: Option<JsonObject>,
        ctx: &CallContext,
    ) -> Result<Created, WorkbenchError> {
        let make = |responses, state| {
            let mut params = CallToolRequestParams::new(name.to_string());
            params.arguments = arguments.clone();
            params.input_responses = responses;
            params.request_state = state;
            ClientRequest::CallToolRequest(CallToolRequest::new(params))
        };
        let sending = Sending {
            tasks: true,
            creates_task: true,
            ..Sending::default()
        };
        let operation = Operation::tool_call(name);
        let answered = self
            .request_in_rounds(make, operation, ctx, sending)
            .await?;
        match (answered.result, answered.task_route) {
            (ServerResult::CallToolResult(result), _) => Ok(Created::Done(result)),
            (ServerResult::CreateTaskResult(created), Some((id, route))) => Ok(Created::Task {
                id,
                route,
                poll: created.task.poll_interval_ms,
            }),
            (other, _) => Err(unexpected(self.name(), "tools/call", &other)),
        }
    }

    /// 2025-11-25: a task-augmented `tools/call` (`params.task`), read as JSON.
    async fn create_legacy(
        &self,
        name: &str,
        arguments: Option<JsonObject>,
        ctx: &CallContext,
        task: TaskRequest,
    ) -> Result<Created, WorkbenchError> {
        let mut params = JsonObject::new();
        params.insert("name".into(), json!(name));
        if let Some(arguments) = arguments {
            params.insert("arguments".into(), Value::Object(arguments));
        }
        let ttl = task.ttl_ms.map_or(json!({}), |ttl| json!({ "ttl": ttl }));
        params.insert("task".into(), ttl);
        let request = CustomRequest::new("tools/call", Some(Value::Object(params)));
        let operation = Operation::tool_call(name);
        let answered = self
            .request(
                ClientRequest::CustomRequest(request),
                operation,
                ctx,
                Sending {
                    creates_task: true,
                    ..Sending::default()
                },
            )
            .await?;
        // An upstream that ignores `params.task` answers the call itself.
        if let ServerResult::CallToolResult(result) = answered.result {
            return Ok(Created::Done(result));
        }
        let poll = to_value(&answered.result)
            .pointer("/task/pollInterval")
            .and_then(Value::as_u64);
        match answered.task_route {
            Some((id, route)) => Ok(Created::Task { id, route, poll }),
            None => Err(unexpected(self.name(), "tools/call", &answered.result)),
        }
    }

    /// Poll a 2026 task until it ends; its questions go to the caller, the answers back by
    /// `tasks/update`.
    async fn follow_modern(
        &self,
        id: &str,
        poll: Duration,
        ctx: &CallContext,
    ) -> Result<CallToolResult, WorkbenchError> {
        let mut reported: Option<TaskUpdate> = None;
        loop {
            let task = tokio::select! {
                task = self.task_state(id) => task?,
                _ = ctx.cancel.cancelled() => return Err(WorkbenchError::Cancelled),
            };
            let update = TaskUpdate {
                status: task.task.status,
                message: task.task.status_message.clone(),
            };
            if reported.as_ref() != Some(&update) {
                ctx.observer.task_status(update.clone()).await;
                reported = Some(update);
            }
            match task.payload {
                TaskPayload::Completed { result } => return self.tool_result(result),
                TaskPayload::Failed { error } => return Err(self.failure(error)),
                TaskPayload::Cancelled => return Err(WorkbenchError::Cancelled),
                TaskPayload::InputRequired { input_requests } => {
                    let answers = ctx
                        .observer
                        .input(input_requests, ctx.cancel.clone())
                        .await
                        .map_err(|error| WorkbenchError::Input {
                            server: self.name().into(),
                            error: Box::new(error),
                        })?;
                    let update = UpdateTaskRequest::new(UpdateTaskParams::new(id, answers));
                    self.plain(
                        ClientRequest::UpdateTaskRequest(update),
                        "tasks/update".into(),
                    )
                    .await?;
                    continue;
                }
                _ => {}
            }
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                _ = ctx.cancel.cancelled() => return Err(WorkbenchError::Cancelled),
            }
        }
    }

    /// Wait for a 2025 task's `tasks/result` (its questions come meanwhile, by the related
    /// task or on this request's stream).
    async fn follow_legacy(
        &self,
        id: &str,
        ctx: &CallContext,
    ) -> Result<CallToolResult, WorkbenchError> {
        let request = CustomRequest::new("tasks/result", Some(json!({ "taskId": id })));
        let sending = Sending {
            unbounded: true,
            ..Sending::default()
        };
        let answered = self
            .request(
                ClientRequest::CustomRequest(request),
                "tasks/result".into(),
                ctx,
                sending,
            )
            .await?;
        match answered.result {
            ServerResult::CallToolResult(result) => Ok(result),
            other => match to_value(&other) {
                Value::Object(result) => self.tool_result(result),
                _ => Err(unexpected(self.name(), "tasks/result", &other)),
            },
        }
    }

    /// A 2026 task's state at the upstream.
    async fn task_state(&self, id: &str) -> Result<DetailedTask, WorkbenchError> {
        let request = GetTaskRequest::new(GetTaskParams::new(id));
        match self
            .plain(ClientRequest::GetTaskRequest(request), "tasks/get".into())
            .await?
        {
            ServerResult::GetTaskResult(result) => Ok(result.task),
            other => Err(unexpected(self.name(), "tasks/get", &other)),
        }
    }

    /// Cancel the task at the upstream (best effort: the caller's task is cancelled anyway).
    async fn cancel_at_upstream(&self, id: &str, era: Era) {
        let request = match era {
            Era::Modern => {
                ClientRequest::CancelTaskRequest(CancelTaskRequest::new(CancelTaskParams::new(id)))
            }
            Era::Legacy => ClientRequest::CustomRequest(CustomRequest::new(
                "tasks/cancel",
                Some(json!({ "taskId": id })),
            )),
        };
        match self.plain(request, "tasks/cancel".into()).await {
            Ok(_) => tracing::info!(server = %self.name(), "task cancelled at the upstream"),
            Err(e) => {
                tracing::warn!(server = %self.name(), error = %e, "could not cancel a task at the upstream")
            }
        }
    }

    /// A request on nobody's behalf (no caller events expected), with the server's timeout.
    async fn plain(
        &self,
        request: ClientRequest,
        operation: Operation<'_>,
    ) -> Result<ServerResult, WorkbenchError> {
        let peer = self.peer()?;
        let options = PeerRequestOptions::with_timeout(self.inner.config.timeout);
        let handle = peer
            .send_request_with_option(request, options)
            .await
            .map_err(|e| self.map_err(operation, e))?;
        handle
            .await_response()
            .await
            .map_err(|e| self.map_err(operation, e))
    }

    fn tool_result(&self, result: JsonObject) -> Result<CallToolResult, WorkbenchError> {
        serde_json::from_value(Value::Object(result)).map_err(|e| WorkbenchError::Connection {
            server: self.name().into(),
            operation: "tasks/result".into(),
            message: format!("the task's result is not a tool result: {e}"),
        })
    }

    fn failure(&self, error: JsonObject) -> WorkbenchError {
        let error = serde_json::from_value(Value::Object(error))
            .unwrap_or_else(|_| ErrorData::internal_error("the task failed at the upstream", None));
        WorkbenchError::Upstream {
            server: self.name().into(),
            error: Box::new(error),
        }
    }
}

fn to_value(result: &ServerResult) -> Value {
    serde_json::to_value(result).unwrap_or(Value::Null)
}

/// The result without the upstream's related-task mark (its task id is not the caller's).
fn without_related_task(mut result: CallToolResult) -> CallToolResult {
    if let Some(meta) = result.meta.as_mut() {
        meta.0.remove(RELATED_TASK_META);
        if meta.0.is_empty() {
            result.meta = None;
        }
    }
    result
}

/// A task at the upstream, as the server's task store asks about it.
struct UpstreamTask {
    session: McpWorkbench,
    id: String,
    era: Era,
}

#[async_trait]
impl RemoteTaskHandle for UpstreamTask {
    fn server(&self) -> &str {
        self.session.name()
    }

    async fn status(&self) -> Result<TaskUpdate, WorkbenchError> {
        if self.era == Era::Modern {
            let task = self.session.task_state(&self.id).await?;
            return Ok(TaskUpdate {
                status: task.task.status,
                message: task.task.status_message,
            });
        }
        let request = CustomRequest::new("tasks/get", Some(json!({ "taskId": self.id })));
        let result = self
            .session
            .plain(ClientRequest::CustomRequest(request), "tasks/get".into())
            .await?;
        let value = to_value(&result);
        let status = value
            .get("status")
            .and_then(|s| serde_json::from_value::<TaskStatus>(s.clone()).ok())
            .ok_or_else(|| unexpected(self.session.name(), "tasks/get", &result))?;
        let message = value
            .get("statusMessage")
            .and_then(Value::as_str)
            .map(str::to_string);
        Ok(TaskUpdate { status, message })
    }
}
