//! One supervised connection to an upstream: connect (spawn or open the transport, handshake),
//! fetch and refresh its lists, serve until the session ends, back off, reconnect; stop on
//! shutdown with the child's whole process group gone.

use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rmcp::model::{ClientCapabilities, Prompt, ProtocolVersion, Resource, ResourceTemplate};
use rmcp::service::{ClientLifecycleMode, RunningService, serve_client_with_lifecycle_and_ct};
use rmcp::{Peer, RoleClient};
use tokio::sync::{Notify, broadcast, mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::UpstreamStatus;
use crate::config::{ProtocolPreference, ServerConfig, TransportConfig};
use crate::mcp::credentials::Credentials;
use crate::mcp::handler::{Ownership, Routes, UpstreamHandler, UpstreamNotice};
use crate::mcp::inbound::Inbound;
use crate::mcp::stdio::{ChildGuard, StdioCommand};
use crate::mcp::tap::ToolExtras;
use crate::mcp::transport::{self, ConnectError};
use crate::net::Backoff;
use crate::telemetry::metrics::UpstreamLabel;
use crate::workbench::{TaskSupport, ToolSpec, WorkbenchChange};

/// Restarts of a failed upstream: 250 ms, doubling, at most 30 s; back to the start once a
/// session has been served.
const RESTARTS: Backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(30));

/// What a session is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The server's main session: it keeps the lists and announces their changes.
    Primary,
    /// A session only for calls (a caller's own, or the other protocol era's): it keeps no
    /// lists and passes on only resource updates.
    Calls,
}

/// The lists an upstream offered when last asked.
#[derive(Default)]
pub struct Lists {
    pub tools: Vec<ToolSpec>,
    pub resources: Vec<Resource>,
    pub templates: Vec<ResourceTemplate>,
    pub prompts: Vec<Prompt>,
}

/// The state of one supervised connection, shared by its handle and its supervisor task.
pub struct Inner {
    pub config: ServerConfig,
    pub role: Role,
    pub peer: RwLock<Option<Peer<RoleClient>>>,
    pub status: Mutex<UpstreamStatus>,
    pub lists: Mutex<Lists>,
    pub routes: Arc<Routes>,
    pub capabilities: ClientCapabilities,
    pub extras: ToolExtras,
    pub changes: broadcast::Sender<WorkbenchChange>,
    /// Signalled when the server's lists changed; the primary re-fetches them.
    pub relist: Arc<Notify>,
    pub ready: watch::Sender<bool>,
    pub settled: watch::Sender<bool>,
    pub shutdown: CancellationToken,
    /// Where this session's requests get their tokens (`[servers.NAME.auth]`).
    pub credentials: Option<Arc<Credentials>>,
    /// This server's label on `mcp.client.operation.duration`.
    pub metric: UpstreamLabel,
}

/// How to start one connection.
pub struct Spec {
    pub config: ServerConfig,
    pub role: Role,
    pub ownership: Ownership,
    pub capabilities: ClientCapabilities,
    /// Where changes go (a secondary session shares its primary's channel).
    pub changes: broadcast::Sender<WorkbenchChange>,
    /// The primary's re-list signal (a secondary session shares it: a list change it hears,
    /// e.g. after a tool of a caller's own session changed the tools, makes the primary re-list).
    pub relist: Arc<Notify>,
    pub shutdown: CancellationToken,
    /// The caller a dedicated session acts for (token exchange: its requests carry that
    /// caller's exchanged token, `initialize` included).
    pub acting_for: Option<Arc<crate::workbench::Principal>>,
}

impl Inner {
    /// The state for a connection not started yet.
    pub fn new(spec: Spec) -> Self {
        let status = UpstreamStatus {
            name: spec.config.name.clone(),
            transport: spec.config.transport.kind(),
            state: "starting",
            protocol_version: None,
            tools: 0,
            error: None,
            connects: 0,
            caller_sessions: None,
        };
        Self {
            role: spec.role,
            peer: RwLock::new(None),
            status: Mutex::new(status),
            lists: Mutex::new(Lists::default()),
            routes: Arc::new(Routes::new(spec.ownership)),
            capabilities: spec.capabilities,
            extras: ToolExtras::default(),
            changes: spec.changes,
            relist: spec.relist,
            ready: watch::channel(false).0,
            settled: watch::channel(false).0,
            shutdown: spec.shutdown,
            credentials: spec.config.auth.clone().map(|auth| {
                let credentials = Credentials::new(auth);
                if spec.ownership == Ownership::Dedicated {
                    credentials.act_for(spec.acting_for.clone());
                }
                Arc::new(credentials)
            }),
            metric: UpstreamLabel::new(&spec.config.name),
            config: spec.config,
        }
    }

    pub fn set_status(&self, f: impl FnOnce(&mut UpstreamStatus)) {
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
        if self.role == Role::Primary {
            let _ = self.changes.send(WorkbenchChange::Health);
        }
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

    fn announce(&self, change: WorkbenchChange) {
        let _ = self.changes.send(change);
    }
}

type Running = RunningService<RoleClient, UpstreamHandler>;

async fn connect(
    inner: &Arc<Inner>,
    notices: mpsc::UnboundedSender<UpstreamNotice>,
    session_ct: CancellationToken,
) -> Result<(Running, Option<ChildGuard>), ConnectError> {
    let server: Arc<str> = inner.config.name.as_str().into();
    let handler = UpstreamHandler {
        server: Arc::clone(&server),
        routes: Arc::clone(&inner.routes),
        notices,
        capabilities: inner.capabilities.clone(),
    };
    let lifecycle = inner.lifecycle();
    let tap = inner.extras.tap();
    let routes = Arc::clone(&inner.routes);
    let fut = async {
        match &inner.config.transport {
            TransportConfig::Stdio {
                command,
                args,
                env,
                cwd,
                inherit_env,
            } => {
                let cmd = StdioCommand {
                    command: command.clone(),
                    args: args.clone(),
                    env: env.clone(),
                    cwd: cwd.clone(),
                    inherit_env: *inherit_env,
                };
                let (t, mut child) = crate::mcp::stdio::spawn(&inner.config.name, &cmd, tap)
                    .map_err(|source| ConnectError::Spawn {
                        command: command.clone(),
                        source,
                    })?;
                let t = Inbound::new(t, routes, server);
                match serve_client_with_lifecycle_and_ct(handler, t, lifecycle, session_ct).await {
                    Ok(running) => Ok((running, Some(child))),
                    // A child that died says more (its exit status, its stderr) than the pipe.
                    Err(e) => Err(match child.exit_report(Duration::from_millis(500)).await {
                        Some((status, stderr)) => ConnectError::Exited { status, stderr },
                        None => ConnectError::handshake(e),
                    }),
                }
            }
            TransportConfig::StreamableHttp { url, headers } => {
                let credentials = inner.credentials.clone();
                let t = transport::streamable_http(url, headers, tap, credentials)?;
                let t = Inbound::new(t, routes, server);
                let running = serve_client_with_lifecycle_and_ct(handler, t, lifecycle, session_ct)
                    .await
                    .map_err(ConnectError::handshake)?;
                Ok((running, None))
            }
            TransportConfig::Sse { url, headers } => {
                let t = Inbound::new(transport::sse(url, headers, tap).await?, routes, server);
                let running = serve_client_with_lifecycle_and_ct(handler, t, lifecycle, session_ct)
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
pub async fn supervise(inner: Arc<Inner>) {
    let name = inner.config.name.clone();
    let mut failures = 0;
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
                failures = 0;
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
            _ = tokio::time::sleep(RESTARTS.delay(failures)) => {}
            _ = inner.shutdown.cancelled() => break,
        }
        failures = failures.saturating_add(1);
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
    if inner.role == Role::Primary {
        refresh_all(inner, &peer).await;
    }
    inner.set_status(|s| {
        s.state = "ready";
        s.error = None;
        s.protocol_version = protocol.clone();
        s.connects += 1;
    });
    inner.set_peer(Some(peer.clone()));
    inner.settled.send_replace(true);
    tracing::info!(server = %inner.config.name, protocol = ?protocol, role = ?inner.role, "upstream ready");
    let mut waiting = Box::pin(running.waiting());
    let relist = Arc::clone(&inner.relist);
    let reason = loop {
        tokio::select! {
            reason = &mut waiting => break reason,
            Some(notice) = notices.recv() => handle_notice(inner, &peer, notice).await,
            _ = relist.notified(), if inner.role == Role::Primary => {
                if !peer.is_transport_closed() && !inner.shutdown.is_cancelled() {
                    refresh_all(inner, &peer).await;
                }
            }
        }
    };
    inner.set_peer(None);
    let message = match reason {
        Ok(r) => format!("session ended ({r:?})"),
        Err(e) => format!("session task failed: {e}"),
    };
    if let Some(child) = child.as_mut() {
        let grace = if inner.shutdown.is_cancelled() {
            Duration::from_secs(2)
        } else {
            Duration::from_millis(200)
        };
        child.shutdown(grace).await;
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
    match (notice, inner.role) {
        (UpstreamNotice::ResourceUpdated(uri), _) => {
            inner.announce(WorkbenchChange::ResourceUpdated(uri));
        }
        // Another session of the same server heard its lists change: the primary re-lists.
        (_, Role::Calls) => inner.relist.notify_one(),
        (UpstreamNotice::Tools, Role::Primary) => {
            refresh_tools(inner, peer).await;
            inner.announce(WorkbenchChange::Tools);
        }
        (UpstreamNotice::Resources, Role::Primary) => {
            refresh_resources(inner, peer).await;
            inner.announce(WorkbenchChange::Resources);
        }
        (UpstreamNotice::Prompts, Role::Primary) => {
            refresh_prompts(inner, peer).await;
            inner.announce(WorkbenchChange::Prompts);
        }
    }
}

async fn refresh_all(inner: &Arc<Inner>, peer: &Peer<RoleClient>) {
    refresh_tools(inner, peer).await;
    refresh_resources(inner, peer).await;
    refresh_prompts(inner, peer).await;
    inner.announce(WorkbenchChange::Tools);
    inner.announce(WorkbenchChange::Resources);
    inner.announce(WorkbenchChange::Prompts);
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
    // A 2026-07-28 upstream with the tasks extension decides per call whether a call becomes
    // a task (its tools carry no `execution`): its tools are served as task-capable.
    let decides_tasks = super::request::is_modern(peer) && capabilities(peer).supports_tasks();
    match peer.list_all_tools().await {
        Ok(tools) => {
            let specs: Vec<ToolSpec> = tools
                .into_iter()
                .map(|tool| {
                    let mut extra = inner.extras.get(&tool.name);
                    if decides_tasks && !extra.contains_key("execution") {
                        extra.extend(TaskSupport::Optional.extra());
                    }
                    ToolSpec { extra, tool }
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
