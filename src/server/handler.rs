//! `GatewayServer`: the rmcp `ServerHandler` that serves any workbench over MCP, on every face
//! (stdio, streamable HTTP, legacy SSE) and in both protocol eras (rmcp negotiates the era).

use std::sync::{Arc, Mutex};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CompleteRequestParams, CompleteResult,
    ContentBlock, GetPromptRequestParams, GetPromptResponse, Implementation, ListPromptsResult,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, LoggingLevel,
    PaginatedRequestParams, ProgressNotificationParam, ReadResourceRequestParams,
    ReadResourceResponse, ResultType, ServerCapabilities, ServerConfig, SetLevelRequestParams,
    SubscribeRequestParams, SubscriptionFilter, UnsubscribeRequestParams,
};
use rmcp::service::{NotificationContext, RequestContext, SubscriptionContext};
use rmcp::{ErrorData, Peer, RoleServer, ServerHandler};
use tokio::sync::broadcast;

use super::mrtr::{PendingRun, PendingRuns, Round, input_required};
use super::observer::{CallEvent, ChannelObserver};
use crate::workbench::{CallContext, Workbench, WorkbenchChange, WorkbenchError};

/// Serves one workbench to one downstream session (rmcp creates one per session).
#[derive(Clone)]
pub struct GatewayServer {
    workbench: Arc<dyn Workbench>,
    name: String,
    session: Arc<Session>,
    pending: PendingRuns,
}

#[derive(Default)]
struct Session {
    level: Mutex<Option<LoggingLevel>>,
    subscriptions: Mutex<Vec<String>>,
    notifier: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Ok(mut n) = self.notifier.lock()
            && let Some(task) = n.take()
        {
            task.abort();
        }
    }
}

impl GatewayServer {
    /// A handler serving `workbench` under the server name `name`.
    pub fn new(workbench: Arc<dyn Workbench>, name: impl Into<String>) -> Self {
        Self {
            workbench,
            name: name.into(),
            session: Arc::new(Session::default()),
            pending: PendingRuns::default(),
        }
    }

    /// A fresh handler for a new session over the same workbench (multi-round calls are shared).
    pub fn fresh(&self) -> Self {
        Self {
            session: Arc::new(Session::default()),
            ..self.clone()
        }
    }

    /// A tools/call from a 2026-07-28 caller: input requests become `input_required` rounds.
    async fn call_tool_in_rounds(
        &self,
        request: CallToolRequestParams,
        context: &RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let mut run = match &request.request_state {
            Some(token) => {
                let mut run = self.pending.resume(token)?;
                run.answer(request.input_responses.clone().unwrap_or_default())?;
                run
            }
            None => {
                let (observer, events) = ChannelObserver::new();
                let cancel = tokio_util::sync::CancellationToken::new();
                let ctx = CallContext {
                    cancel: cancel.clone(),
                    observer: Arc::new(observer),
                };
                let workbench = Arc::clone(&self.workbench);
                let name = request.name.to_string();
                let arguments = request.arguments.clone();
                let task =
                    tokio::spawn(async move { workbench.call_tool(&name, arguments, ctx).await });
                PendingRun::new(task, cancel, events)
            }
        };
        match self.drive_round(&mut run, context).await {
            Round::Done(result) => finish_call(result),
            Round::InputRequired(requests) => {
                let token = self.pending.park(run);
                Ok(input_required(requests, token).into())
            }
        }
    }

    async fn drive_round(
        &self,
        run: &mut PendingRun,
        context: &RequestContext<RoleServer>,
    ) -> Round {
        let mut requests = std::collections::BTreeMap::new();
        loop {
            tokio::select! {
                biased;
                _ = context.ct.cancelled() => {
                    run.cancel.cancel();
                    return Round::Done(Err(WorkbenchError::Cancelled));
                }
                Some(event) = run.events.recv() => {
                    if let Some(other) = run.ask(event, &mut requests) {
                        self.relay(other, context).await;
                        continue;
                    }
                    while let Ok(event) = run.events.try_recv() {
                        if let Some(other) = run.ask(event, &mut requests) {
                            self.relay(other, context).await;
                        }
                    }
                    return Round::InputRequired(requests);
                }
                joined = &mut run.task => {
                    while let Ok(event) = run.events.try_recv() {
                        self.relay(event, context).await;
                    }
                    return Round::Done(joined.unwrap_or_else(|e| {
                        Err(WorkbenchError::Unsupported(format!("the call task failed: {e}")))
                    }));
                }
            }
        }
    }

    fn start_notifier(&self, peer: Peer<RoleServer>) {
        let Some(changes) = self.workbench.changes() else {
            return;
        };
        let Ok(mut slot) = self.session.notifier.lock() else {
            return;
        };
        if slot.is_some() {
            return;
        }
        let session = Arc::downgrade(&self.session);
        *slot = Some(tokio::spawn(notify_session(peer, changes, session)));
    }

    fn level_allows(&self, level: LoggingLevel) -> bool {
        let min = self.session.level.lock().ok().and_then(|l| *l);
        min.is_none_or(|min| severity(level) >= severity(min))
    }

    async fn relay(&self, event: CallEvent, context: &RequestContext<RoleServer>) {
        match event {
            CallEvent::Progress {
                progress,
                total,
                message,
            } => {
                if let Some(token) = context.meta.get_progress_token() {
                    let mut p = ProgressNotificationParam::new(token, progress);
                    p.total = total;
                    p.message = message;
                    let _ = context.peer.notify_progress(p).await;
                }
            }
            CallEvent::Log(message) => {
                if self.level_allows(message.level) {
                    let _ = context.peer.notify_logging_message(message).await;
                }
            }
            CallEvent::CreateMessage(params, reply) => {
                let supported = context
                    .client_capabilities()
                    .is_some_and(|c| c.sampling.is_some());
                let answer = if supported {
                    context
                        .peer
                        .create_message(params)
                        .await
                        .map_err(service_error)
                } else {
                    Err(ErrorData::invalid_request(
                        "the calling client did not declare the sampling capability",
                        None,
                    ))
                };
                let _ = reply.send(answer);
            }
            CallEvent::Elicit(params, reply) => {
                let supported = context
                    .client_capabilities()
                    .is_some_and(|c| c.elicitation.is_some());
                let answer = if supported {
                    context
                        .peer
                        .create_elicitation(params)
                        .await
                        .map_err(service_error)
                } else {
                    Err(ErrorData::invalid_request(
                        "the calling client did not declare the elicitation capability",
                        None,
                    ))
                };
                let _ = reply.send(answer);
            }
        }
    }

    /// Run `op` with a channel observer, relaying its events on this request's stream.
    async fn observed<T, F>(&self, context: &RequestContext<RoleServer>, op: F) -> T
    where
        F: FnOnce(CallContext) -> futures::future::BoxFuture<'static, T>,
    {
        let (observer, mut events) = ChannelObserver::new();
        let ctx = CallContext {
            cancel: context.ct.clone(),
            observer: Arc::new(observer),
        };
        let mut fut = op(ctx);
        loop {
            tokio::select! {
                biased;
                Some(event) = events.recv() => self.relay(event, context).await,
                result = &mut fut => {
                    // Deliver what the call reported before it returned.
                    while let Ok(event) = events.try_recv() {
                        self.relay(event, context).await;
                    }
                    return result;
                }
            }
        }
    }
}

fn service_error(e: rmcp::service::ServiceError) -> ErrorData {
    match e {
        rmcp::service::ServiceError::McpError(e) => e,
        other => ErrorData::internal_error(other.to_string(), None),
    }
}

fn severity(level: LoggingLevel) -> u8 {
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

async fn notify_session(
    peer: Peer<RoleServer>,
    mut changes: broadcast::Receiver<WorkbenchChange>,
    session: std::sync::Weak<Session>,
) {
    loop {
        let change = match changes.recv().await {
            Ok(c) => c,
            Err(broadcast::error::RecvError::Lagged(_)) => WorkbenchChange::Tools,
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if peer.is_transport_closed() {
            return;
        }
        let sent = match change {
            WorkbenchChange::Tools | WorkbenchChange::Health => {
                peer.notify_tool_list_changed().await
            }
            WorkbenchChange::Resources => peer.notify_resource_list_changed().await,
            WorkbenchChange::Prompts => peer.notify_prompt_list_changed().await,
            WorkbenchChange::ResourceUpdated(uri) => {
                let subscribed = session
                    .upgrade()
                    .and_then(|s| s.subscriptions.lock().ok().map(|v| v.contains(&uri)))
                    .unwrap_or(false);
                if !subscribed {
                    continue;
                }
                peer.notify_resource_updated(rmcp::model::ResourceUpdatedNotificationParam::new(
                    uri,
                ))
                .await
            }
        };
        if sent.is_err() {
            return;
        }
    }
}

/// Whether the caller negotiated 2026-07-28 or later (no server→client requests allowed).
fn is_2026_caller(context: &RequestContext<RoleServer>) -> bool {
    context
        .protocol_version()
        .is_some_and(|v| v.as_str() >= rmcp::model::ProtocolVersion::V_2026_07_28.as_str())
}

/// Turn a workbench outcome into the tools/call answer: tool errors in-band, routing errors as
/// JSON-RPC errors, and `resultType` set (a 2025-era upstream sends none; a 2026-era caller
/// requires it; rmcp strips it again for 2025-era callers).
fn finish_call(
    result: Result<CallToolResult, WorkbenchError>,
) -> Result<CallToolResponse, ErrorData> {
    match result {
        Ok(mut r) => {
            r.result_type = Some(ResultType::COMPLETE);
            Ok(r.into())
        }
        Err(e) if e.is_tool_error() => Ok(tool_error(&e).into()),
        Err(e) => Err(e.to_error_data()),
    }
}

fn tool_error(e: &WorkbenchError) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(e.to_string())])
}

impl ServerHandler for GatewayServer {
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
            .build();
        let mut info = ServerConfig::new(capabilities);
        info.server_info = Implementation::new(self.name.clone(), env!("CARGO_PKG_VERSION"));
        info.instructions = Some(
            "toolyard gateway: the tools, resources and prompts of several MCP servers, namespaced by server."
                .into(),
        );
        info
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
            .list_tools()
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
        let span = tracing::info_span!("call_tool", tool = %request.name, request = ?context.id);
        let _enter = span.enter();
        if is_2026_caller(&context) {
            return self.call_tool_in_rounds(request, &context).await;
        }
        let workbench = Arc::clone(&self.workbench);
        let name = request.name.to_string();
        let result = self
            .observed(&context, move |ctx| {
                Box::pin(async move { workbench.call_tool(&name, request.arguments, ctx).await })
            })
            .await;
        finish_call(result)
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let items = self
            .workbench
            .list_resources()
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
        let workbench = Arc::clone(&self.workbench);
        let uri = request.uri.clone();
        self.observed(&context, move |ctx| {
            Box::pin(async move { workbench.read_resource(&uri, ctx).await })
        })
        .await
        .map(|mut r| {
            r.result_type = Some(ResultType::COMPLETE);
            r.into()
        })
        .map_err(|e| e.to_error_data())
    }

    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.start_notifier(context.peer.clone());
        self.workbench
            .subscribe_resource(&request.uri)
            .await
            .map_err(|e| e.to_error_data())?;
        if let Ok(mut subs) = self.session.subscriptions.lock()
            && !subs.contains(&request.uri)
        {
            subs.push(request.uri);
        }
        Ok(())
    }

    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        if let Ok(mut subs) = self.session.subscriptions.lock() {
            subs.retain(|u| u != &request.uri);
        }
        self.workbench
            .unsubscribe_resource(&request.uri)
            .await
            .map_err(|e| e.to_error_data())
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        let items = self
            .workbench
            .list_prompts()
            .await
            .map_err(|e| e.to_error_data())?;
        Ok(ListPromptsResult::with_all_items(items))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        let workbench = Arc::clone(&self.workbench);
        self.observed(&context, move |ctx| {
            Box::pin(async move {
                workbench
                    .get_prompt(&request.name, request.arguments, ctx)
                    .await
            })
        })
        .await
        .map(|mut r| {
            r.result_type = Some(ResultType::COMPLETE);
            r.into()
        })
        .map_err(|e| e.to_error_data())
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
        if let Ok(mut level) = self.session.level.lock() {
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
        let Some(mut changes) = self.workbench.changes() else {
            context.cancelled().await;
            return Ok(());
        };
        let accepted = context.accepted().clone();
        let wants = |flag: Option<bool>| flag == Some(true);
        loop {
            let change = tokio::select! {
                _ = context.cancelled() => return Ok(()),
                c = changes.recv() => c,
            };
            let change = match change {
                Ok(c) => c,
                Err(broadcast::error::RecvError::Lagged(_)) => WorkbenchChange::Tools,
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            };
            let sink = context.sink();
            let sent = match change {
                WorkbenchChange::Tools | WorkbenchChange::Health
                    if wants(accepted.tools_list_changed) =>
                {
                    sink.notify_tool_list_changed().await
                }
                WorkbenchChange::Prompts if wants(accepted.prompts_list_changed) => {
                    sink.notify_prompt_list_changed().await
                }
                WorkbenchChange::Resources if wants(accepted.resources_list_changed) => {
                    sink.notify_resource_list_changed().await
                }
                WorkbenchChange::ResourceUpdated(uri)
                    if accepted
                        .resource_subscriptions
                        .as_ref()
                        .is_some_and(|s| s.contains(&uri)) =>
                {
                    sink.notify_resource_updated(uri).await
                }
                _ => Ok(()),
            };
            if sent.is_err() {
                return Ok(());
            }
        }
    }
}
