//! `McpWorkbench`: one upstream MCP server as a workbench — connect, supervise, restart, call.

use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use rmcp::model::{
    CallToolRequest, CallToolRequestParams, CallToolResult, ClientRequest, CompleteRequestParams,
    CompleteResult, DEFAULT_MRTR_MAX_ROUNDS, GetPromptRequestParams, GetPromptResult,
    InputResponses, JsonObject, Prompt, ProtocolVersion, ReadResourceRequestParams,
    ReadResourceResult, RequestMetaObject, Resource, ResourceTemplate, ServerNotification,
    ServerResult, SubscribeRequestParams, SubscriptionFilter, UnsubscribeRequestParams,
};
use rmcp::service::{
    ClientLifecycleMode, PeerRequestOptions, RunningService, ServiceError,
    serve_client_with_lifecycle_and_ct,
};
use rmcp::{Peer, RoleClient};
use serde::Serialize;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::callers::CallerPool;
use super::handler::{Ownership, Routes, UpstreamHandler, UpstreamNotice, shared_capabilities};
use super::probe::ProbeGuard;
use super::stdio::{ChildGuard, StdioCommand};
use super::tap::ToolExtras;
use super::transport::{self, ConnectError};
use crate::config::{ProtocolPreference, ServerConfig, SessionMode, TransportConfig};
use crate::workbench::{CallContext, ToolSpec, Workbench, WorkbenchChange, WorkbenchError};

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

#[derive(Default)]
struct Lists {
    tools: Vec<ToolSpec>,
    resources: Vec<Resource>,
    templates: Vec<ResourceTemplate>,
    prompts: Vec<Prompt>,
}

struct Inner {
    config: ServerConfig,
    peer: RwLock<Option<Peer<RoleClient>>>,
    status: Mutex<UpstreamStatus>,
    lists: Mutex<Lists>,
    routes: Arc<Routes>,
    capabilities: rmcp::model::ClientCapabilities,
    extras: ToolExtras,
    changes: broadcast::Sender<WorkbenchChange>,
    ready: tokio::sync::watch::Sender<bool>,
    settled: tokio::sync::watch::Sender<bool>,
    shutdown: CancellationToken,
}

/// One upstream MCP server (any transport) as a [`Workbench`], with a supervisor task that
/// connects, re-connects a crashed server with backoff, and kills it on shutdown.
#[derive(Clone)]
pub struct McpWorkbench {
    inner: Arc<Inner>,
    supervisor: Arc<Mutex<Option<tokio::task::JoinHandle<()>>>>,
    listens: Arc<Mutex<Listens>>,
    /// With `session = "per_caller"`: the callers' own sessions (this one then only lists).
    callers: Option<Arc<CallerPool>>,
}

/// Open `subscriptions/listen` streams by resource URI: (subscriber count, forwarding task).
type Listens = std::collections::HashMap<String, (usize, tokio::task::JoinHandle<()>)>;

const MAX_BACKOFF: Duration = Duration::from_secs(30);

impl McpWorkbench {
    /// Start supervising the server; the first connection attempt begins at once. With
    /// `session = "per_caller"` this session only lists; each caller's calls go to a session
    /// of its own, started on its first call.
    pub fn start(config: ServerConfig, shutdown: CancellationToken) -> Self {
        let callers = (config.session == SessionMode::PerCaller)
            .then(|| CallerPool::start(config.clone(), shutdown.child_token()));
        let mut workbench =
            Self::supervised(config, shutdown, Ownership::Shared, shared_capabilities());
        workbench.callers = callers;
        workbench
    }

    /// One caller's own session (see [`CallerPool`]): it declares only the capabilities the
    /// caller has, and everything it sends belongs to that caller.
    pub fn start_dedicated(
        config: ServerConfig,
        shutdown: CancellationToken,
        capabilities: rmcp::model::ClientCapabilities,
    ) -> Self {
        Self::supervised(config, shutdown, Ownership::Dedicated, capabilities)
    }

    fn supervised(
        config: ServerConfig,
        shutdown: CancellationToken,
        ownership: Ownership,
        capabilities: rmcp::model::ClientCapabilities,
    ) -> Self {
        let (changes, _) = broadcast::channel(64);
        let (ready, _) = tokio::sync::watch::channel(false);
        let (settled, _) = tokio::sync::watch::channel(false);
        let status = UpstreamStatus {
            name: config.name.clone(),
            transport: config.transport.kind(),
            state: "starting",
            protocol_version: None,
            tools: 0,
            error: None,
            connects: 0,
            caller_sessions: None,
        };
        let inner = Arc::new(Inner {
            config,
            peer: RwLock::new(None),
            status: Mutex::new(status),
            lists: Mutex::new(Lists::default()),
            routes: Arc::new(Routes::new(ownership)),
            capabilities,
            extras: ToolExtras::default(),
            changes,
            ready,
            settled,
            shutdown,
        });
        let span = tracing::info_span!("upstream", server = %inner.config.name);
        let task = tokio::spawn(supervise(Arc::clone(&inner)).instrument(span));
        Self {
            inner,
            supervisor: Arc::new(Mutex::new(Some(task))),
            listens: Arc::default(),
            callers: None,
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

    /// Wait for the supervisor to finish after the shutdown token was cancelled:
    /// the session is closed and a stdio child's process group is gone.
    pub async fn stopped(&self) {
        if let Some(callers) = &self.callers {
            callers.stop().await;
        }
        let task = self.supervisor.lock().ok().and_then(|mut t| t.take());
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    /// The caller's own session when this server has one per caller (held for the call).
    async fn caller_session(
        &self,
        ctx: &CallContext,
    ) -> Result<Option<super::callers::CallerLease>, WorkbenchError> {
        match &self.callers {
            Some(pool) => pool.lease(ctx).await.map(Some),
            None => Ok(None),
        }
    }

    fn peer(&self) -> Result<Peer<RoleClient>, WorkbenchError> {
        let peer = self.inner.peer.read().ok().and_then(|p| p.clone());
        peer.ok_or_else(|| WorkbenchError::Unavailable {
            server: self.name().into(),
            reason: self
                .status()
                .error
                .unwrap_or_else(|| "not connected yet".into()),
        })
    }

    fn map_err(&self, operation: &str, e: ServiceError) -> WorkbenchError {
        let server = self.name().to_string();
        match e {
            ServiceError::McpError(error) => WorkbenchError::Upstream {
                server,
                error: Box::new(error),
            },
            ServiceError::Timeout { timeout } => WorkbenchError::Timeout {
                server,
                operation: operation.into(),
                timeout,
            },
            ServiceError::Cancelled { .. } => WorkbenchError::Cancelled,
            other => WorkbenchError::Connection {
                server,
                operation: operation.into(),
                message: super::transport::cause_chain(&other),
            },
        }
    }

    /// Send a request that may come back `input_required` (2026-07-28 upstreams): each round's
    /// input requests go to the caller's observer and the request is re-sent with the answers.
    async fn request_in_rounds(
        &self,
        make: impl Fn(Option<InputResponses>, Option<String>) -> ClientRequest,
        operation: &str,
        ctx: &CallContext,
    ) -> Result<ServerResult, WorkbenchError> {
        let mut responses = None;
        let mut state = None;
        for _ in 0..DEFAULT_MRTR_MAX_ROUNDS {
            match self
                .request(make(responses.take(), state.take()), operation, ctx)
                .await?
            {
                ServerResult::InputRequiredResult(round) => {
                    if let Some(requests) = round.input_requests.filter(|r| !r.is_empty()) {
                        let answers = ctx
                            .observer
                            .input(requests, ctx.cancel.clone())
                            .await
                            .map_err(|error| WorkbenchError::Input {
                                server: self.name().into(),
                                error: Box::new(error),
                            })?;
                        responses = Some(answers);
                    }
                    state = round.request_state;
                }
                other => return Ok(other),
            }
        }
        Err(WorkbenchError::TooManyRounds {
            server: self.name().into(),
            rounds: DEFAULT_MRTR_MAX_ROUNDS,
        })
    }

    /// Per-request metadata for 2026-07-28 upstreams: the caller's capabilities and log level,
    /// so the upstream asks only for input the caller can give and logs only what it wants.
    fn caller_meta(&self, peer: &Peer<RoleClient>, ctx: &CallContext) -> Option<RequestMetaObject> {
        if !is_modern(peer) {
            return None;
        }
        let mut meta = RequestMetaObject::new();
        if let Some(capabilities) = &ctx.caller.capabilities {
            let mut ours = capabilities.clone();
            ours.extensions = None;
            ours.experimental = None;
            meta.set_client_capabilities(ours);
        }
        if let Some(level) = ctx.caller.log_level {
            meta.set_log_level(level);
        }
        Some(meta)
    }

    async fn request(
        &self,
        request: ClientRequest,
        operation: &str,
        ctx: &CallContext,
    ) -> Result<ServerResult, WorkbenchError> {
        let peer = self.peer()?;
        let mut options = PeerRequestOptions::with_timeout(self.inner.config.timeout);
        if let Some(meta) = self.caller_meta(&peer, ctx) {
            options = options.with_meta(meta);
        }
        let handle = peer
            .send_request_with_option(request, options)
            .await
            .map_err(|e| self.map_err(operation, e))?;
        let _route = self.inner.routes.register(
            handle.id.clone(),
            handle.progress_token.clone(),
            Arc::clone(&ctx.observer),
        );
        let id = handle.id.clone();
        tokio::select! {
            result = handle.await_response() => {
                // rmcp hands notifications to spawned tasks, so progress sent just before the
                // response may still be queued: let those tasks run before the route goes away.
                for _ in 0..4 {
                    tokio::task::yield_now().await;
                }
                result.map_err(|e| self.map_err(operation, e))
            }
            _ = ctx.cancel.cancelled() => {
                let _ = peer
                    .notify_cancelled(rmcp::model::CancelledNotificationParam::new(
                        Some(id),
                        Some("cancelled by the downstream caller".into()),
                    ))
                    .await;
                Err(WorkbenchError::Cancelled)
            }
        }
    }

    fn lock_listens(&self) -> std::sync::MutexGuard<'_, Listens> {
        self.listens.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn with_lists<T>(&self, f: impl FnOnce(&Lists) -> T) -> T {
        match self.inner.lists.lock() {
            Ok(lists) => f(&lists),
            Err(poisoned) => f(&poisoned.into_inner()),
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
        if let Some(lease) = self.caller_session(&ctx).await? {
            return lease.workbench.call_tool(name, arguments, ctx).await;
        }
        let make = |responses, state| {
            let mut params = CallToolRequestParams::new(name.to_string());
            params.arguments = arguments.clone();
            params.input_responses = responses;
            params.request_state = state;
            ClientRequest::CallToolRequest(CallToolRequest::new(params))
        };
        let span = tracing::info_span!("upstream_call", server = %self.name(), tool = %name);
        let operation = format!("tools/call {name}");
        let result = self
            .request_in_rounds(make, &operation, &ctx)
            .instrument(span)
            .await?;
        match result {
            ServerResult::CallToolResult(result) => Ok(result),
            other => Err(unexpected(self.name(), "tools/call", &other)),
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
        if let Some(lease) = self.caller_session(&ctx).await? {
            return lease.workbench.read_resource(uri, ctx).await;
        }
        let make = |responses, state| {
            let mut params = ReadResourceRequestParams::new(uri);
            params.input_responses = responses;
            params.request_state = state;
            ClientRequest::ReadResourceRequest(rmcp::model::ReadResourceRequest::new(params))
        };
        match self.request_in_rounds(make, "resources/read", &ctx).await? {
            ServerResult::ReadResourceResult(result) => Ok(result),
            other => Err(unexpected(self.name(), "resources/read", &other)),
        }
    }

    #[allow(deprecated)]
    async fn subscribe_resource(&self, uri: &str) -> Result<(), WorkbenchError> {
        let peer = self.peer()?;
        if !is_modern(&peer) {
            return peer
                .subscribe(SubscribeRequestParams::new(uri))
                .await
                .map_err(|e| self.map_err("resources/subscribe", e));
        }
        // 2026-07-28: resource updates come on a `subscriptions/listen` stream.
        if let Some(entry) = self.lock_listens().get_mut(uri) {
            entry.0 += 1;
            return Ok(());
        }
        let mut filter = SubscriptionFilter::new();
        filter.resource_subscriptions = Some(vec![uri.to_string()]);
        let mut subscription = peer
            .listen(filter)
            .await
            .map_err(|e| self.map_err("subscriptions/listen", e))?;
        let changes = self.inner.changes.clone();
        let task = tokio::spawn(async move {
            while let Ok(Some(notification)) = subscription.next().await {
                if let ServerNotification::ResourceUpdatedNotification(n) = notification {
                    let _ = changes.send(WorkbenchChange::ResourceUpdated(n.params.uri));
                }
            }
        });
        self.lock_listens().insert(uri.to_string(), (1, task));
        Ok(())
    }

    #[allow(deprecated)]
    async fn unsubscribe_resource(&self, uri: &str) -> Result<(), WorkbenchError> {
        let peer = self.peer()?;
        if !is_modern(&peer) {
            return peer
                .unsubscribe(UnsubscribeRequestParams::new(uri))
                .await
                .map_err(|e| self.map_err("resources/unsubscribe", e));
        }
        let mut listens = self.lock_listens();
        if let Some(entry) = listens.get_mut(uri) {
            entry.0 -= 1;
            if entry.0 == 0
                && let Some((_, task)) = listens.remove(uri)
            {
                // Dropping the subscription cancels the listen request upstream.
                task.abort();
            }
        }
        Ok(())
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
        if let Some(lease) = self.caller_session(&ctx).await? {
            return lease.workbench.get_prompt(name, arguments, ctx).await;
        }
        let make = |responses, state| {
            let mut params = GetPromptRequestParams::new(name.to_string());
            params.arguments = arguments.clone();
            params.input_responses = responses;
            params.request_state = state;
            ClientRequest::GetPromptRequest(rmcp::model::GetPromptRequest::new(params))
        };
        match self.request_in_rounds(make, "prompts/get", &ctx).await? {
            ServerResult::GetPromptResult(result) => Ok(result),
            other => Err(unexpected(self.name(), "prompts/get", &other)),
        }
    }

    async fn complete(
        &self,
        params: CompleteRequestParams,
    ) -> Result<CompleteResult, WorkbenchError> {
        self.peer()?
            .complete(params)
            .await
            .map_err(|e| self.map_err("completion/complete", e))
    }

    fn changes(&self) -> Option<broadcast::Receiver<WorkbenchChange>> {
        Some(self.inner.changes.subscribe())
    }
}

/// Whether the upstream negotiated 2026-07-28 or later.
fn is_modern(peer: &Peer<RoleClient>) -> bool {
    peer.peer_info()
        .is_some_and(|i| !i.protocol_version.has_initialize())
}

fn unexpected(server: &str, operation: &str, result: &ServerResult) -> WorkbenchError {
    WorkbenchError::Connection {
        server: server.into(),
        operation: operation.into(),
        message: format!("unexpected result shape: {result:?}"),
    }
}

impl Inner {
    fn set_status(&self, f: impl FnOnce(&mut UpstreamStatus)) {
        let mut status = match self.status.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        f(&mut status);
    }

    fn set_peer(&self, peer: Option<Peer<RoleClient>>) {
        let ready = peer.is_some();
        if let Ok(mut slot) = self.peer.write() {
            *slot = peer;
        }
        self.ready.send_replace(ready);
        let _ = self.changes.send(WorkbenchChange::Health);
    }

    fn lifecycle(&self) -> ClientLifecycleMode {
        match self.config.protocol {
            ProtocolPreference::Auto => ClientLifecycleMode::Auto {
                preferred_versions: vec![ProtocolVersion::V_2026_07_28],
                legacy_version: Some(ProtocolVersion::V_2025_11_25),
            },
            ProtocolPreference::Initialize => ClientLifecycleMode::Initialize,
            ProtocolPreference::Discover => ClientLifecycleMode::Discover {
                preferred_versions: vec![ProtocolVersion::V_2026_07_28],
            },
        }
    }
}

type Running = RunningService<RoleClient, UpstreamHandler>;

async fn connect(
    inner: &Arc<Inner>,
    notices: mpsc::UnboundedSender<UpstreamNotice>,
    session_ct: CancellationToken,
) -> Result<(Running, Option<ChildGuard>), ConnectError> {
    let handler = UpstreamHandler {
        server: inner.config.name.as_str().into(),
        routes: Arc::clone(&inner.routes),
        notices,
        capabilities: inner.capabilities.clone(),
    };
    let lifecycle = inner.lifecycle();
    let tap = inner.extras.tap();
    let fut = async {
        match &inner.config.transport {
            TransportConfig::Stdio {
                command,
                args,
                env,
                cwd,
            } => {
                let cmd = StdioCommand {
                    command: command.clone(),
                    args: args.clone(),
                    env: env.clone(),
                    cwd: cwd.clone(),
                };
                let (t, child) =
                    super::stdio::spawn(&inner.config.name, &cmd, tap).map_err(|source| {
                        ConnectError::Spawn {
                            command: command.clone(),
                            source,
                        }
                    })?;
                let mut child = child;
                let handshake = serve_client_with_lifecycle_and_ct(
                    handler,
                    ProbeGuard::new(t),
                    lifecycle,
                    session_ct,
                )
                .await;
                match handshake {
                    Ok(running) => Ok((running, Some(child))),
                    // A child that died says more (its exit status, its stderr) than the closed pipe.
                    Err(e) => Err(match child.exit_report(Duration::from_millis(500)).await {
                        Some((status, stderr)) => ConnectError::Exited { status, stderr },
                        None => ConnectError::handshake(e),
                    }),
                }
            }
            TransportConfig::StreamableHttp { url, headers } => {
                let t = transport::streamable_http(url, headers)?;
                let running = serve_client_with_lifecycle_and_ct(
                    handler,
                    ProbeGuard::new(t),
                    lifecycle,
                    session_ct,
                )
                .await
                .map_err(ConnectError::handshake)?;
                Ok((running, None))
            }
            TransportConfig::Sse { url, headers } => {
                let t = transport::sse(url, headers, tap).await?;
                let running = serve_client_with_lifecycle_and_ct(
                    handler,
                    ProbeGuard::new(t),
                    lifecycle,
                    session_ct,
                )
                .await
                .map_err(ConnectError::handshake)?;
                Ok((running, None))
            }
        }
    };
    match tokio::time::timeout(inner.config.startup_timeout, fut).await {
        Ok(result) => result,
        Err(_) => Err(ConnectError::StartupTimeout {
            timeout: inner.config.startup_timeout,
        }),
    }
}

/// The supervisor: connect, serve until the session ends, back off, repeat; stop on shutdown.
async fn supervise(inner: Arc<Inner>) {
    let name = inner.config.name.clone();
    let mut backoff = Duration::from_millis(250);
    loop {
        if inner.shutdown.is_cancelled() {
            break;
        }
        let (notice_tx, notice_rx) = mpsc::unbounded_channel();
        let session_ct = inner.shutdown.child_token();
        let attempt = tokio::select! {
            r = connect(&inner, notice_tx, session_ct.clone()) => r,
            _ = inner.shutdown.cancelled() => break,
        };
        match attempt {
            Ok((running, child)) => {
                backoff = Duration::from_millis(250);
                serve_session(&inner, running, child, notice_rx).await;
                if inner.shutdown.is_cancelled() {
                    break;
                }
                tracing::warn!(server = %name, "upstream session ended; reconnecting");
            }
            Err(e) => {
                tracing::warn!(server = %name, error = %e, "upstream connection failed");
                inner.set_status(|s| {
                    s.state = "down";
                    s.error = Some(e.to_string());
                });
                inner.settled.send_replace(true);
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = inner.shutdown.cancelled() => break,
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
    inner.set_peer(None);
    inner.settled.send_replace(true);
    inner.set_status(|s| s.state = "stopped");
}

async fn serve_session(
    inner: &Arc<Inner>,
    running: Running,
    mut child: Option<ChildGuard>,
    mut notices: mpsc::UnboundedReceiver<UpstreamNotice>,
) {
    let peer = running.peer().clone();
    let protocol = peer
        .peer_info()
        .map(|info| info.protocol_version.to_string());
    refresh_all(inner, &peer).await;
    inner.set_status(|s| {
        s.state = "ready";
        s.error = None;
        s.protocol_version = protocol.clone();
        s.connects += 1;
    });
    inner.set_peer(Some(peer.clone()));
    inner.settled.send_replace(true);
    tracing::info!(server = %inner.config.name, protocol = ?protocol, "upstream ready");
    let mut waiting = Box::pin(running.waiting());
    let reason = loop {
        tokio::select! {
            reason = &mut waiting => break reason,
            Some(notice) = notices.recv() => handle_notice(inner, &peer, notice).await,
        }
    };
    inner.set_peer(None);
    let message = match reason {
        Ok(r) => format!("session ended ({r:?})"),
        Err(e) => format!("session task failed: {e}"),
    };
    if let Some(child) = child.as_mut() {
        if inner.shutdown.is_cancelled() {
            child.shutdown(Duration::from_secs(2)).await;
        } else {
            child.shutdown(Duration::from_millis(200)).await;
        }
    }
    inner.set_status(|s| {
        s.state = if inner.shutdown.is_cancelled() {
            "stopped"
        } else {
            "down"
        };
        s.error = Some(message);
    });
}

async fn handle_notice(inner: &Arc<Inner>, peer: &Peer<RoleClient>, notice: UpstreamNotice) {
    if peer.is_transport_closed() || inner.shutdown.is_cancelled() {
        return;
    }
    match notice {
        UpstreamNotice::Tools => {
            refresh_tools(inner, peer).await;
            let _ = inner.changes.send(WorkbenchChange::Tools);
        }
        UpstreamNotice::Resources => {
            refresh_resources(inner, peer).await;
            let _ = inner.changes.send(WorkbenchChange::Resources);
        }
        UpstreamNotice::Prompts => {
            refresh_prompts(inner, peer).await;
            let _ = inner.changes.send(WorkbenchChange::Prompts);
        }
        UpstreamNotice::ResourceUpdated(uri) => {
            let _ = inner.changes.send(WorkbenchChange::ResourceUpdated(uri));
        }
    }
}

async fn refresh_all(inner: &Arc<Inner>, peer: &Peer<RoleClient>) {
    refresh_tools(inner, peer).await;
    refresh_resources(inner, peer).await;
    refresh_prompts(inner, peer).await;
    let _ = inner.changes.send(WorkbenchChange::Tools);
    let _ = inner.changes.send(WorkbenchChange::Resources);
    let _ = inner.changes.send(WorkbenchChange::Prompts);
}

fn capabilities(peer: &Peer<RoleClient>) -> rmcp::model::ServerCapabilities {
    peer.peer_info()
        .map(|i| i.capabilities.clone())
        .unwrap_or_default()
}

fn store(inner: &Inner, f: impl FnOnce(&mut Lists)) {
    match inner.lists.lock() {
        Ok(mut lists) => f(&mut lists),
        Err(p) => f(&mut p.into_inner()),
    }
}

async fn refresh_tools(inner: &Arc<Inner>, peer: &Peer<RoleClient>) {
    if capabilities(peer).tools.is_none() {
        return;
    }
    match peer.list_all_tools().await {
        Ok(tools) => {
            let specs: Vec<ToolSpec> = tools
                .into_iter()
                .map(|tool| ToolSpec {
                    extra: inner.extras.get(&tool.name),
                    tool,
                })
                .collect();
            inner.set_status(|s| s.tools = specs.len());
            store(inner, |l| l.tools = specs);
        }
        Err(e) => tracing::warn!(server = %inner.config.name, error = %e, "tools/list failed"),
    }
}

async fn refresh_resources(inner: &Arc<Inner>, peer: &Peer<RoleClient>) {
    if capabilities(peer).resources.is_none() {
        return;
    }
    let resources = peer.list_all_resources().await;
    let templates = peer.list_all_resource_templates().await;
    if let Err(e) = &resources {
        tracing::warn!(server = %inner.config.name, error = %e, "resources/list failed");
    }
    store(inner, |l| {
        l.resources = resources.unwrap_or_default();
        l.templates = templates.unwrap_or_default();
    });
}

async fn refresh_prompts(inner: &Arc<Inner>, peer: &Peer<RoleClient>) {
    if capabilities(peer).prompts.is_none() {
        return;
    }
    match peer.list_all_prompts().await {
        Ok(prompts) => store(inner, |l| l.prompts = prompts),
        Err(e) => tracing::warn!(server = %inner.config.name, error = %e, "prompts/list failed"),
    }
}
