//! `WorkbenchServer`: the rmcp `ServerHandler` that serves any workbench (the gateway, a set of
//! workbench files, in-process tools) over MCP, on every face (stdio, streamable HTTP, legacy
//! SSE) and in both protocol eras (rmcp negotiates the era).

use std::sync::{Arc, Mutex, OnceLock};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CancelTaskParams,
    CompleteRequestParams, CompleteResult, ContentBlock, CreateTaskResult, CustomRequest,
    CustomResult, GetPromptRequestParams, GetPromptResponse, GetTaskParams, GetTaskResult,
    Implementation, ListPromptsResult, ListResourceTemplatesResult, ListResourcesResult,
    ListToolsResult, LoggingLevel, PaginatedRequestParams, ReadResourceRequestParams,
    ReadResourceResponse, ResultType, ServerCapabilities, ServerConfig, SetLevelRequestParams,
    SubscribeRequestParams, SubscriptionFilter, Tool, UnsubscribeRequestParams, UpdateTaskParams,
};
use rmcp::service::{NotificationContext, RequestContext, SubscriptionContext};
use rmcp::{ErrorData, Peer, RoleServer, ServerHandler};
use tracing::Instrument;

use super::calls::{Op, Outcome, Retry, RunOutput};
use super::drain::Drain;
use super::notify;
use super::rounds::PendingRuns;
use super::tasks::{SessionTasks, TaskStore};

use crate::telemetry;
use crate::workbench::{CallerInfo, Principal, Workbench, WorkbenchError};

/// Serves one workbench to one downstream session (rmcp creates one per session, and one per
/// sessionless 2026-07-28 request). The session's state is built on first use: a sessionless
/// request that only calls a tool builds none of it.
#[derive(Clone)]
pub struct WorkbenchServer {
    workbench: Arc<dyn Workbench>,
    name: Arc<str>,
    session: Arc<OnceLock<Session>>,
    pending: PendingRuns,
    tasks: TaskStore,
    drain: Drain,
    /// The caller of every request that carries no authenticated one (the stdio face's).
    principal: Option<Arc<Principal>>,
}

struct Session {
    /// The owner key of this session's 2025-era tasks (they are cancelled when it ends).
    tasks: Arc<SessionTasks>,
    /// Who this session is, for per-caller upstream sessions and routing.
    caller: crate::workbench::CallerSession,
    level: Mutex<Option<LoggingLevel>>,
    subscriptions: Arc<Mutex<Vec<String>>>,
    /// Where this session's subscriptions are released when it ends.
    subscribed_at: Mutex<Option<(Arc<dyn Workbench>, CallerInfo)>>,
    notifier: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Ok(mut n) = self.notifier.lock()
            && let Some(task) = n.take()
        {
            task.abort();
        }
        // A session that ends with subscriptions releases them, so the upstream stops sending
        // updates nobody wants (other sessions' subscriptions to the same URI stay).
        let uris = self
            .subscriptions
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default();
        let at = self.subscribed_at.lock().ok().and_then(|mut a| a.take());
        if let (false, Some((workbench, caller))) = (uris.is_empty(), at)
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let span = tracing::info_span!("session_end", caller = ?caller.session);
            runtime.spawn(
                async move {
                    for uri in uris {
                        let _ = workbench.unsubscribe_resource(&uri, &caller).await;
                    }
                }
                .instrument(span),
            );
        }
    }
}

impl WorkbenchServer {
    /// A handler serving `workbench` under the server name `name`.
    pub fn new(workbench: Arc<dyn Workbench>, name: impl Into<String>) -> Self {
        Self {
            workbench,
            name: Arc::from(name.into()),
            session: Arc::default(),
            pending: PendingRuns::default(),
            tasks: TaskStore::default(),
            drain: Drain::default(),
            principal: None,
        }
    }

    /// The same server, calling for `principal` whenever a request carries no authenticated
    /// caller (the stdio face: the user who launched toolyard, with `[auth.stdio]` claims).
    pub fn with_principal(mut self, principal: Arc<Principal>) -> Self {
        self.principal = Some(principal);
        self
    }

    pub(super) fn own_principal(&self) -> Option<Arc<Principal>> {
        self.principal.clone()
    }

    /// A fresh handler for a new session over the same workbench (multi-round calls are shared).
    pub fn fresh(&self) -> Self {
        Self {
            session: Arc::default(),
            ..self.clone()
        }
    }

    /// This session's state, built on first use.
    fn session(&self) -> &Session {
        self.session.get_or_init(|| Session {
            tasks: self.tasks.session(),
            caller: crate::workbench::CallerSession::new(),
            level: Mutex::default(),
            subscriptions: Arc::default(),
            subscribed_at: Mutex::default(),
            notifier: Mutex::default(),
        })
    }

    pub(super) fn workbench(&self) -> Arc<dyn Workbench> {
        Arc::clone(&self.workbench)
    }

    pub(super) fn pending(&self) -> &PendingRuns {
        &self.pending
    }

    pub(super) fn tasks(&self) -> &TaskStore {
        &self.tasks
    }

    /// The tasks of every session of this server (e.g. to cancel them all at shutdown with
    /// [`TaskStore::shutdown`]).
    pub fn task_store(&self) -> TaskStore {
        self.tasks.clone()
    }

    /// The calls in flight on every session of this server, and their graceful stop.
    pub fn drain(&self) -> Drain {
        self.drain.clone()
    }

    /// Identifies this session's 2025-era tasks.
    pub(super) fn session_key(&self) -> &str {
        self.session().tasks.key()
    }

    pub(super) fn caller_session(&self) -> crate::workbench::CallerSession {
        self.session().caller.clone()
    }

    /// The level a 2025-era session asked for with `logging/setLevel` (none: every message).
    pub(super) fn session_level(&self) -> Option<LoggingLevel> {
        self.session
            .get()
            .and_then(|session| session.level.lock().ok().and_then(|l| *l))
    }

    fn start_notifier(&self, peer: Peer<RoleServer>) {
        let Some(changes) = self.workbench.changes() else {
            return;
        };
        let Ok(mut slot) = self.session().notifier.lock() else {
            return;
        };
        if slot.is_none() {
            let subscriptions = Arc::downgrade(&self.session().subscriptions);
            *slot = Some(tokio::spawn(
                notify::notify_session(peer, changes, subscriptions).in_current_span(),
            ));
        }
    }
}

pub(super) fn severity(level: LoggingLevel) -> u8 {
    match level {
        LoggingLevel::Debug => 0,
        LoggingLevel::Info => 1,
        LoggingLevel::Notice => 2,
        LoggingLevel::Warning => 3,
        LoggingLevel::Error => 4,
        LoggingLevel::Critical => 5,
        LoggingLevel::Alert => 6,
        LoggingLevel::Emergency => 7,
    }
}

fn retry(state: Option<String>, responses: Option<rmcp::model::InputResponses>) -> Option<Retry> {
    state.map(|state| Retry { state, responses })
}

fn mismatch() -> ErrorData {
    ErrorData::invalid_params("requestState belongs to a different kind of request", None)
}

/// Tool errors go in-band (`isError: true`); routing errors become JSON-RPC errors. `resultType`
/// is set for 2026 callers (a 2025-era upstream sends none; rmcp strips it for 2025 callers).
fn tool_response(
    result: Result<CallToolResult, WorkbenchError>,
) -> Result<CallToolResponse, ErrorData> {
    match result {
        Ok(mut r) => {
            r.result_type = Some(ResultType::COMPLETE);
            Ok(r.into())
        }
        Err(e) if e.is_tool_error() => {
            Ok(CallToolResult::error(vec![ContentBlock::text(e.to_string())]).into())
        }
        Err(e) => Err(e.to_error_data()),
    }
}

impl ServerHandler for WorkbenchServer {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_tool_list_changed()
            .enable_resources()
            .enable_resources_subscribe()
            .enable_resources_list_changed()
            .enable_prompts()
            .enable_prompts_list_changed()
            .enable_completions()
            .enable_logging()
            .enable_tasks()
            .build();
        let mut info = ServerConfig::new(capabilities);
        info.server_info = Implementation::new(self.name.to_string(), env!("CARGO_PKG_VERSION"));
        info.instructions = Some(
            "toolyard gateway: the tools, resources and prompts of several MCP servers, namespaced by server."
                .into(),
        );
        info
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.workbench.cached_tool(name).map(|spec| spec.tool)
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        self.start_notifier(context.peer);
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        if context.peer.peer_info().is_some() {
            self.start_notifier(context.peer.clone());
        }
        let tools = self
            .workbench
            .list_tools_for(&self.caller(&context))
            .await
            .map_err(|e| e.to_error_data())?;
        Ok(ListToolsResult::with_all_items(
            tools.into_iter().map(|t| t.tool).collect(),
        ))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        // The served span (Metered) is the current one.
        telemetry::record_content(
            &tracing::Span::current(),
            "gen_ai.tool.call.arguments",
            || serde_json::to_string(&request.arguments).unwrap_or_default(),
        );
        let span = tracing::info_span!("call_tool", tool = %request.name, request = ?context.id);
        async move {
            let plan = self.task_plan(&request, &context).await?;
            let op = Op::Tool {
                name: request.name.to_string(),
                arguments: request.arguments,
            };
            let retry = retry(request.request_state, request.input_responses);
            match self.execute(op, retry, &context, plan).await? {
                Outcome::InputRequired(r) => Ok(r.into()),
                Outcome::Task(task) => Ok(CallToolResponse::Task(CreateTaskResult::new(task))),
                Outcome::Output(RunOutput::Tool(result)) => tool_response(result),
                Outcome::Output(_) => Err(mismatch()),
            }
        }
        .instrument(span)
        .await
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let items = self
            .workbench
            .list_resources_for(&self.caller(&context))
            .await
            .map_err(|e| e.to_error_data())?;
        Ok(ListResourcesResult::with_all_items(items))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        let items = self
            .workbench
            .list_resource_templates()
            .await
            .map_err(|e| e.to_error_data())?;
        Ok(ListResourceTemplatesResult::with_all_items(items))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let span = tracing::info_span!("read_resource", uri = %request.uri, request = ?context.id);
        let op = Op::Resource { uri: request.uri };
        let retry = retry(request.request_state, request.input_responses);
        let outcome = self
            .execute(op, retry, &context, None)
            .instrument(span)
            .await;
        match outcome? {
            Outcome::InputRequired(r) => Ok(r.into()),
            Outcome::Output(RunOutput::Resource(result)) => {
                let mut r = result.map_err(|e| e.to_error_data())?;
                r.result_type = Some(ResultType::COMPLETE);
                Ok(r.into())
            }
            Outcome::Output(_) | Outcome::Task(_) => Err(mismatch()),
        }
    }

    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.start_notifier(context.peer.clone());
        let fresh = self.session().subscriptions.lock().is_ok_and(|mut subs| {
            let fresh = !subs.contains(&request.uri);
            if fresh {
                subs.push(request.uri.clone());
            }
            fresh
        });
        if !fresh {
            return Ok(());
        }
        let caller = self.caller(&context);
        let subscribed = self
            .workbench
            .subscribe_resource(&request.uri, &caller)
            .await;
        match subscribed {
            Ok(()) => {
                if let Ok(mut at) = self.session().subscribed_at.lock() {
                    *at = Some((Arc::clone(&self.workbench), caller));
                }
                Ok(())
            }
            Err(e) => {
                if let Ok(mut subs) = self.session().subscriptions.lock() {
                    subs.retain(|u| u != &request.uri);
                }
                Err(e.to_error_data())
            }
        }
    }

    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        let had = self.session().subscriptions.lock().is_ok_and(|mut subs| {
            let had = subs.contains(&request.uri);
            subs.retain(|u| u != &request.uri);
            had
        });
        if !had {
            return Ok(());
        }
        self.workbench
            .unsubscribe_resource(&request.uri, &self.caller(&context))
            .await
            .map_err(|e| e.to_error_data())
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        let items = self
            .workbench
            .list_prompts_for(&self.caller(&context))
            .await
            .map_err(|e| e.to_error_data())?;
        Ok(ListPromptsResult::with_all_items(items))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        let span = tracing::info_span!("get_prompt", prompt = %request.name, request = ?context.id);
        let op = Op::Prompt {
            name: request.name,
            arguments: request.arguments,
        };
        let retry = retry(request.request_state, request.input_responses);
        let outcome = self
            .execute(op, retry, &context, None)
            .instrument(span)
            .await;
        match outcome? {
            Outcome::InputRequired(r) => Ok(r.into()),
            Outcome::Output(RunOutput::Prompt(result)) => {
                let mut r = result.map_err(|e| e.to_error_data())?;
                r.result_type = Some(ResultType::COMPLETE);
                Ok(r.into())
            }
            Outcome::Output(_) | Outcome::Task(_) => Err(mismatch()),
        }
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        let mut result = self
            .workbench
            .complete(request)
            .await
            .map_err(|e| e.to_error_data())?;
        result.result_type = Some(ResultType::COMPLETE);
        Ok(result)
    }

    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        if let Ok(mut level) = self.session().level.lock() {
            *level = Some(request.level);
        }
        Ok(())
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        Some(requested.clone())
    }

    async fn listen(&self, context: SubscriptionContext) -> Result<(), ErrorData> {
        let caller = CallerInfo {
            session: Some(self.caller_session()),
            ..CallerInfo::default()
        };
        notify::listen(self.workbench.as_ref(), context, &caller).await;
        Ok(())
    }

    async fn get_task(
        &self,
        request: GetTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetTaskResult, ErrorData> {
        self.get_task_2026(request).await
    }

    async fn update_task(
        &self,
        request: UpdateTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.update_task_2026(request)
    }

    async fn cancel_task(
        &self,
        request: CancelTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.cancel_task_2026(request)
    }

    async fn on_custom_request(
        &self,
        request: CustomRequest,
        context: RequestContext<RoleServer>,
    ) -> Result<CustomResult, ErrorData> {
        self.legacy_task_request(request, context).await
    }
}
