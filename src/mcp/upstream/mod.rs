//! `McpWorkbench`: one upstream MCP server as a workbench. Its main session (supervised,
//! restarted with backoff, killed on shutdown) keeps the lists; each call goes to the session
//! that serves its caller (see [`via`]).

mod request;
mod session;
mod subscriptions;
mod tasks;
mod via;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rmcp::model::{
    CallToolRequest, CallToolRequestParams, CallToolResult, ClientCapabilities, ClientRequest,
    CompleteRequestParams, CompleteResult, GetPromptRequestParams, GetPromptResult, JsonObject,
    Prompt, ReadResourceRequestParams, ReadResourceResult, Resource, ResourceTemplate,
    ServerResult,
};
use serde::Serialize;
use tokio::sync::{Notify, broadcast};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use self::request::{Operation, Sending, unexpected};
use self::session::{Inner, Lists, Role, Spec, supervise};
use self::subscriptions::Subscriptions;
use self::via::{OtherEraSlot, Via};
use super::callers::CallerPool;
use super::handler::{Ownership, shared_capabilities};
use crate::config::{ServerConfig, SessionMode};
use crate::workbench::{
    CallContext, CallerInfo, TaskRequest, TaskStart, ToolSpec, Workbench, WorkbenchChange,
    WorkbenchError,
};

pub use self::via::is_legacy_caller;

/// A server's main session as its other sessions see it: its change channel and its
/// re-list signal.
pub type PrimaryLink = (broadcast::Sender<WorkbenchChange>, Arc<Notify>);

/// Health of one upstream, as reported by `/healthz` and `toolyard check`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UpstreamStatus {
    /// Server name.
    pub name: String,
    /// `stdio`, `streamable-http` or `sse`.
    pub transport: &'static str,
    /// `starting`, `ready`, `down` or `stopped`.
    pub state: &'static str,
    /// Negotiated protocol version, when connected.
    pub protocol_version: Option<String>,
    /// Number of tools offered (before filtering), when listed.
    pub tools: usize,
    /// The last error, when down.
    pub error: Option<String>,
    /// How many times the connection was (re)established.
    pub connects: u32,
    /// With `session = "per_caller"`: how many callers have a session of their own now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller_sessions: Option<usize>,
}

/// One upstream MCP server (any transport) as a [`Workbench`], with a supervisor task that
/// connects, re-connects a crashed server with backoff, and kills it on shutdown.
#[derive(Clone)]
pub struct McpWorkbench {
    inner: Arc<Inner>,
    supervisor: Arc<Mutex<Option<tokio::task::JoinHandle<()>>>>,
    subscriptions: Arc<Subscriptions>,
    /// With `session = "per_caller"`: the callers' own sessions (this one then only lists).
    callers: Option<Arc<CallerPool>>,
    /// For a server that speaks both eras: its 2025-era session, for 2025-era callers.
    other_era: Arc<OtherEraSlot>,
}

impl McpWorkbench {
    /// Start supervising the server; the first connection attempt begins at once. With
    /// `session = "per_caller"` this session only lists; each caller's calls go to a session
    /// of its own, started on its first call.
    pub fn start(config: ServerConfig, shutdown: CancellationToken) -> Self {
        let changes = broadcast::channel(64).0;
        let relist = Arc::new(Notify::new());
        let callers = (config.session == SessionMode::PerCaller).then(|| {
            let shared = (changes.clone(), Arc::clone(&relist));
            CallerPool::start(config.clone(), shutdown.child_token(), shared)
        });
        let mut workbench = Self::supervised(Spec {
            config,
            role: Role::Primary,
            ownership: Ownership::Shared,
            capabilities: shared_capabilities(),
            changes,
            relist,
            shutdown,
            acting_for: None,
        });
        workbench.callers = callers;
        workbench
    }

    /// One caller's own session (see [`CallerPool`]): it declares only the capabilities the
    /// caller has, and everything it sends belongs to that caller; its resource updates and
    /// list changes go to the server's main session (`primary`: its change channel and
    /// re-list signal).
    pub fn start_dedicated(
        config: ServerConfig,
        shutdown: CancellationToken,
        capabilities: ClientCapabilities,
        primary: &PrimaryLink,
        acting_for: Option<Arc<crate::workbench::Principal>>,
    ) -> Self {
        Self::supervised(Spec {
            config,
            role: Role::Calls,
            ownership: Ownership::Dedicated,
            capabilities,
            changes: primary.0.clone(),
            relist: Arc::clone(&primary.1),
            shutdown,
            acting_for,
        })
    }

    /// A dedicated session acts for the newest token of its caller (token exchange).
    pub fn act_for(&self, principal: Option<Arc<crate::workbench::Principal>>) {
        if let Some(credentials) = &self.inner.credentials {
            credentials.act_for(principal);
        }
    }

    fn supervised(spec: Spec) -> Self {
        let inner = Arc::new(Inner::new(spec));
        let span = tracing::info_span!("upstream", server = %inner.config.name);
        let task = tokio::spawn(supervise(Arc::clone(&inner)).instrument(span));
        Self {
            inner,
            supervisor: Arc::new(Mutex::new(Some(task))),
            subscriptions: Arc::default(),
            callers: None,
            other_era: Arc::default(),
        }
    }

    /// The server's name.
    pub fn name(&self) -> &str {
        &self.inner.config.name
    }

    /// The server's config.
    pub fn config(&self) -> &ServerConfig {
        &self.inner.config
    }

    /// Current health.
    pub fn status(&self) -> UpstreamStatus {
        let mut status = self
            .inner
            .status
            .lock()
            .map(|s| s.clone())
            .unwrap_or_else(|p| p.into_inner().clone());
        status.caller_sessions = self.callers.as_ref().map(|c| c.open_sessions());
        status
    }

    /// Wait until the server is connected (or `timeout` passes); returns whether it is.
    pub async fn wait_ready(&self, timeout: Duration) -> bool {
        let mut rx = self.inner.ready.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|r| *r))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Whether the first connection attempt has succeeded or failed.
    pub fn is_settled(&self) -> bool {
        *self.inner.settled.borrow()
    }

    /// Wait until the first connection attempt has succeeded or failed (bounded by `timeout`).
    pub async fn wait_settled(&self, timeout: Duration) {
        let mut rx = self.inner.settled.subscribe();
        let _ = tokio::time::timeout(timeout, rx.wait_for(|s| *s)).await;
    }

    /// Wait for every session of this server to finish after the shutdown token was cancelled:
    /// sessions closed, every stdio child's process group gone.
    pub async fn stopped(&self) {
        if let Some(callers) = &self.callers {
            callers.stop().await;
        }
        let other = match &*self.other_era.lock().await {
            via::OtherEra::Open(other) => Some(other.clone()),
            _ => None,
        };
        if let Some(other) = other {
            Box::pin(other.stopped()).await;
        }
        let task = self.supervisor.lock().ok().and_then(|mut t| t.take());
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    fn with_lists<T>(&self, f: impl FnOnce(&Lists) -> T) -> T {
        match self.inner.lists.lock() {
            Ok(lists) => f(&lists),
            Err(poisoned) => f(&poisoned.into_inner()),
        }
    }

    async fn call_here(
        &self,
        name: &str,
        arguments: Option<JsonObject>,
        ctx: &CallContext,
    ) -> Result<CallToolResult, WorkbenchError> {
        let make = |responses, state| {
            let mut params = CallToolRequestParams::new(name.to_string());
            params.arguments = arguments.clone();
            params.input_responses = responses;
            params.request_state = state;
            ClientRequest::CallToolRequest(CallToolRequest::new(params))
        };
        let span = tracing::info_span!("upstream_call", server = %self.name(), tool = %name);
        let operation = Operation::tool_call(name);
        match self
            .request_in_rounds(make, operation, ctx, Sending::default())
            .instrument(span)
            .await?
            .result
        {
            ServerResult::CallToolResult(result) => Ok(result),
            other => Err(unexpected(self.name(), "tools/call", &other)),
        }
    }

    async fn read_here(
        &self,
        uri: &str,
        ctx: &CallContext,
    ) -> Result<ReadResourceResult, WorkbenchError> {
        let make = |responses, state| {
            let mut params = ReadResourceRequestParams::new(uri);
            params.input_responses = responses;
            params.request_state = state;
            ClientRequest::ReadResourceRequest(rmcp::model::ReadResourceRequest::new(params))
        };
        match self
            .request_in_rounds(make, "resources/read".into(), ctx, Sending::default())
            .await?
            .result
        {
            ServerResult::ReadResourceResult(result) => Ok(result),
            other => Err(unexpected(self.name(), "resources/read", &other)),
        }
    }

    async fn prompt_here(
        &self,
        name: &str,
        arguments: Option<JsonObject>,
        ctx: &CallContext,
    ) -> Result<GetPromptResult, WorkbenchError> {
        let make = |responses, state| {
            let mut params = GetPromptRequestParams::new(name.to_string());
            params.arguments = arguments.clone();
            params.input_responses = responses;
            params.request_state = state;
            ClientRequest::GetPromptRequest(rmcp::model::GetPromptRequest::new(params))
        };
        match self
            .request_in_rounds(make, "prompts/get".into(), ctx, Sending::default())
            .await?
            .result
        {
            ServerResult::GetPromptResult(result) => Ok(result),
            other => Err(unexpected(self.name(), "prompts/get", &other)),
        }
    }

    /// The session a subscription of this caller goes to: the 2025-era one for a 2025-era
    /// caller of a dual-era server (its updates come on the same change channel), else this.
    async fn subscriber_session(&self, caller: &CallerInfo) -> McpWorkbench {
        let ctx = CallContext {
            caller: caller.clone(),
            ..CallContext::default()
        };
        match self.via_era(&ctx).await {
            Some(other) => other,
            None => self.clone(),
        }
    }
}

#[async_trait]
impl Workbench for McpWorkbench {
    async fn list_tools(&self) -> Result<Vec<ToolSpec>, WorkbenchError> {
        Ok(self.with_lists(|l| l.tools.clone()))
    }

    async fn call_tool(
        &self,
        name: &str,
        arguments: Option<JsonObject>,
        ctx: CallContext,
    ) -> Result<CallToolResult, WorkbenchError> {
        match self.via(&ctx).await? {
            Via::Here => self.call_here(name, arguments, &ctx).await,
            Via::Lease(lease) => lease.workbench.call_here(name, arguments, &ctx).await,
            Via::Other(other) => other.call_here(name, arguments, &ctx).await,
        }
    }

    async fn list_resources(&self) -> Result<Vec<Resource>, WorkbenchError> {
        Ok(self.with_lists(|l| l.resources.clone()))
    }

    async fn list_resource_templates(&self) -> Result<Vec<ResourceTemplate>, WorkbenchError> {
        Ok(self.with_lists(|l| l.templates.clone()))
    }

    async fn read_resource(
        &self,
        uri: &str,
        ctx: CallContext,
    ) -> Result<ReadResourceResult, WorkbenchError> {
        match self.via(&ctx).await? {
            Via::Here => self.read_here(uri, &ctx).await,
            Via::Lease(lease) => lease.workbench.read_here(uri, &ctx).await,
            Via::Other(other) => other.read_here(uri, &ctx).await,
        }
    }

    async fn subscribe_resource(
        &self,
        uri: &str,
        caller: &CallerInfo,
    ) -> Result<(), WorkbenchError> {
        self.subscriber_session(caller)
            .await
            .subscribe_here(uri)
            .await
    }

    async fn unsubscribe_resource(
        &self,
        uri: &str,
        caller: &CallerInfo,
    ) -> Result<(), WorkbenchError> {
        self.subscriber_session(caller)
            .await
            .unsubscribe_here(uri)
            .await
    }

    async fn list_prompts(&self) -> Result<Vec<Prompt>, WorkbenchError> {
        Ok(self.with_lists(|l| l.prompts.clone()))
    }

    async fn get_prompt(
        &self,
        name: &str,
        arguments: Option<JsonObject>,
        ctx: CallContext,
    ) -> Result<GetPromptResult, WorkbenchError> {
        match self.via(&ctx).await? {
            Via::Here => self.prompt_here(name, arguments, &ctx).await,
            Via::Lease(lease) => lease.workbench.prompt_here(name, arguments, &ctx).await,
            Via::Other(other) => other.prompt_here(name, arguments, &ctx).await,
        }
    }

    async fn complete(
        &self,
        params: CompleteRequestParams,
    ) -> Result<CompleteResult, WorkbenchError> {
        self.peer()?
            .complete(params)
            .await
            .map_err(|e| self.map_err("completion/complete".into(), e))
    }

    async fn start_task(
        &self,
        name: &str,
        arguments: Option<JsonObject>,
        ctx: CallContext,
        task: TaskRequest,
    ) -> Result<TaskStart, WorkbenchError> {
        self.start_upstream_task(name, arguments, ctx, task).await
    }

    fn changes(&self) -> Option<broadcast::Receiver<WorkbenchChange>> {
        Some(self.inner.changes.subscribe())
    }
}
