//! Sending one request upstream for a caller: the caller's per-request metadata (2026-07-28),
//! the call's route (so progress, logs and questions reach that caller), cancellation both ways,
//! `input_required` rounds answered through the caller, and errors that name the server.

use std::sync::Arc;

use rmcp::model::{
    ClientRequest, DEFAULT_MRTR_MAX_ROUNDS, InputResponses, JsonObject, RequestMetaObject,
    ServerResult, TASKS_EXTENSION_ID,
};
use rmcp::service::{PeerRequestOptions, ServiceError};
use rmcp::{Peer, RoleClient};

use tracing::Instrument;

use super::McpWorkbench;
use super::tasks::created_task;
use crate::config::TransportConfig;
use crate::mcp::handler::RouteGuard;
use crate::telemetry::{self, McpRequest};
use crate::workbench::{CallContext, WorkbenchError};

/// Whether the upstream negotiated 2026-07-28 or later.
pub fn is_modern(peer: &Peer<RoleClient>) -> bool {
    peer.peer_info()
        .is_some_and(|i| !i.protocol_version.has_initialize())
}

/// How one upstream request is sent besides its content.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sending {
    /// Declare the tasks extension for the caller (a 2026-07-28 upstream may then answer with
    /// a task).
    pub tasks: bool,
    /// Wait for the answer as long as it takes (a task's result comes when the task ends; the
    /// task's own TTL and cancellation bound the wait).
    pub unbounded: bool,
    /// The request may create a task at the upstream: wait for the answer even when the caller
    /// cancels (the task must be known, to be cancelled in turn), and route what the upstream
    /// says about the task to the caller from the moment the answer arrives (before the
    /// notifications that came with it are delivered).
    pub creates_task: bool,
}

/// An upstream's answer to one request.
pub struct Answered {
    /// The result.
    pub result: ServerResult,
    /// The route of the task the request created, if it created one.
    pub task_route: Option<(String, RouteGuard)>,
}

/// What a request is, for errors (`tools/call NAME`): formatted only when one is reported.
#[derive(Debug, Clone, Copy)]
pub struct Operation<'a> {
    method: &'a str,
    target: Option<&'a str>,
}

impl<'a> Operation<'a> {
    /// `tools/call NAME`.
    pub fn tool_call(name: &'a str) -> Self {
        Self {
            method: "tools/call",
            target: Some(name),
        }
    }
}

impl<'a> From<&'a str> for Operation<'a> {
    fn from(method: &'a str) -> Self {
        Self {
            method,
            target: None,
        }
    }
}

impl std::fmt::Display for Operation<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.target {
            Some(target) => write!(f, "{} {target}", self.method),
            None => f.write_str(self.method),
        }
    }
}

/// An upstream result of the wrong kind for the request.
pub fn unexpected(server: &str, operation: &str, result: &ServerResult) -> WorkbenchError {
    WorkbenchError::Connection {
        server: server.into(),
        operation: operation.into(),
        message: format!("unexpected result shape: {result:?}"),
    }
}

impl McpWorkbench {
    pub(super) fn peer(&self) -> Result<Peer<RoleClient>, WorkbenchError> {
        let peer = self.inner.peer.read().ok().and_then(|p| p.clone());
        peer.ok_or_else(|| WorkbenchError::Unavailable {
            server: self.name().into(),
            reason: self
                .status()
                .error
                .unwrap_or_else(|| "not connected yet".into()),
        })
    }

    pub(super) fn map_err(&self, operation: Operation<'_>, e: ServiceError) -> WorkbenchError {
        let server = self.name().to_string();
        match e {
            ServiceError::McpError(error) => WorkbenchError::Upstream {
                server,
                error: Box::new(error),
            },
            ServiceError::Timeout { timeout } => WorkbenchError::Timeout {
                server,
                operation: operation.to_string(),
                timeout,
            },
            ServiceError::Cancelled { .. } => WorkbenchError::Cancelled,
            other => WorkbenchError::Connection {
                server,
                operation: operation.to_string(),
                message: crate::mcp::transport::cause_chain(&other),
            },
        }
    }

    /// Send a request that may come back `input_required` (2026-07-28 upstreams): each round's
    /// input requests go to the caller's observer and the request is re-sent with the answers.
    pub(super) async fn request_in_rounds(
        &self,
        make: impl Fn(Option<InputResponses>, Option<String>) -> ClientRequest,
        operation: Operation<'_>,
        ctx: &CallContext,
        sending: Sending,
    ) -> Result<Answered, WorkbenchError> {
        let mut responses = None;
        let mut state = None;
        for _ in 0..DEFAULT_MRTR_MAX_ROUNDS {
            let answered = self
                .request(
                    make(responses.take(), state.take()),
                    operation,
                    ctx,
                    sending,
                )
                .await?;
            match answered.result {
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
                _ => return Ok(answered),
            }
        }
        Err(WorkbenchError::TooManyRounds {
            server: self.name().into(),
            rounds: DEFAULT_MRTR_MAX_ROUNDS,
        })
    }

    /// Per-request metadata for 2026-07-28 upstreams: the caller's capabilities and log level,
    /// so the upstream asks only for input the caller can give and logs only what it wants.
    fn caller_meta(
        &self,
        peer: &Peer<RoleClient>,
        ctx: &CallContext,
        sending: Sending,
    ) -> Option<RequestMetaObject> {
        if !is_modern(peer) {
            return None;
        }
        let mut meta = RequestMetaObject::new();
        if ctx.caller.capabilities.is_some() || sending.tasks {
            let mut ours = ctx.caller.capabilities.clone().unwrap_or_default();
            ours.extensions = None;
            ours.experimental = None;
            if sending.tasks {
                let mut extensions = rmcp::model::ExtensionCapabilities::new();
                extensions.insert(TASKS_EXTENSION_ID.to_string(), JsonObject::new());
                ours.extensions = Some(extensions);
            }
            meta.set_client_capabilities(ours);
        }
        if let Some(level) = ctx.caller.log_level {
            meta.set_log_level(level);
        }
        Some(meta)
    }

    /// Send one request for the caller of `ctx`: what the upstream reports or asks meanwhile
    /// goes to the caller; the caller's cancellation cancels it upstream.
    pub(super) async fn request(
        &self,
        request: ClientRequest,
        operation: Operation<'_>,
        ctx: &CallContext,
        sending: Sending,
    ) -> Result<Answered, WorkbenchError> {
        let peer = self.peer()?;
        let _timer = self.inner.metric.request(operation.method);
        let span = self.client_span(&peer, operation);
        self.send(peer, request, operation, ctx, sending, &span)
            .instrument(span.clone())
            .await
            .inspect_err(|e| record_failure(&span, e))
            .inspect(|answered| record_result(&span, &answered.result))
    }

    /// The CLIENT span of one upstream request (disabled when traces are off).
    fn client_span(&self, peer: &Peer<RoleClient>, operation: Operation<'_>) -> tracing::Span {
        if !telemetry::enabled() {
            return tracing::Span::none();
        }
        let config = &self.inner.config;
        let (transport, url) = match &config.transport {
            TransportConfig::Stdio { .. } => ("pipe", None),
            TransportConfig::StreamableHttp { url, .. } | TransportConfig::Sse { url, .. } => {
                ("tcp", Some(url))
            }
        };
        let info = peer.peer_info();
        let protocol = info.as_ref().map(|i| &i.protocol_version);
        let address = url.and_then(|u| Some((u.host_str()?, u.port_or_known_default()?)));
        telemetry::upstream_request(
            &McpRequest {
                method: operation.method,
                target: operation.target,
                request_id: None,
                session_id: None,
                protocol_version: protocol.map(|v| v as &dyn std::fmt::Display),
                transport,
            },
            &config.name,
            address,
        )
    }

    async fn send(
        &self,
        peer: Peer<RoleClient>,
        request: ClientRequest,
        operation: Operation<'_>,
        ctx: &CallContext,
        sending: Sending,
        span: &tracing::Span,
    ) -> Result<Answered, WorkbenchError> {
        let mut options = if sending.unbounded {
            PeerRequestOptions::no_options()
        } else {
            PeerRequestOptions::with_timeout(self.inner.config.timeout)
        };
        let mut meta = self.caller_meta(&peer, ctx, sending);
        if !span.is_disabled() {
            telemetry::inject_meta(span, meta.get_or_insert_with(RequestMetaObject::new));
        }
        if let Some(meta) = meta {
            options = options.with_meta(meta);
        }
        let handle = peer
            .send_request_with_option(request, options)
            .await
            .map_err(|e| self.map_err(operation, e))?;
        telemetry::record_request_id(span, &handle.id);
        let _route = self.inner.routes.register(
            handle.id.clone(),
            handle.progress_token.clone(),
            Arc::clone(&ctx.observer),
        );
        let (id, token) = (handle.id.clone(), handle.progress_token.clone());
        let cancelled = async {
            match sending.creates_task {
                true => std::future::pending().await,
                false => ctx.cancel.cancelled().await,
            }
        };
        tokio::select! {
            result = handle.await_response() => {
                let result = result.map_err(|e| self.map_err(operation, e));
                let task_route = match &result {
                    Ok(result) if sending.creates_task => created_task(result).map(|task| {
                        let observer = Arc::clone(&ctx.observer);
                        let route = self.inner.routes.register_task(task.clone(), token.clone(), observer);
                        (task, route)
                    }),
                    _ => None,
                };
                // Progress and logs that arrived before the response reach the caller first.
                self.inner.routes.drain(&id).await;
                Ok(Answered { result: result?, task_route })
            }
            () = cancelled => {
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
}

/// `error.type = tool_error` on the span of an upstream `tools/call` answered with `isError`.
fn record_result(span: &tracing::Span, result: &ServerResult) {
    if let ServerResult::CallToolResult(result) = result
        && !span.is_disabled()
    {
        telemetry::record_tool_outcome(span, result.is_error == Some(true), || {
            serde_json::to_string(&result.content).unwrap_or_default()
        });
    }
}

/// `error.type` of a failed upstream request: the JSON-RPC code the upstream answered, else
/// what went wrong on the way.
fn record_failure(span: &tracing::Span, error: &WorkbenchError) {
    if span.is_disabled() {
        return;
    }
    let kind = match error {
        WorkbenchError::Upstream { error: data, .. } => data.code.0.to_string(),
        WorkbenchError::Timeout { .. } => "timeout".into(),
        WorkbenchError::Cancelled => "cancelled".into(),
        WorkbenchError::Connection { .. } | WorkbenchError::Unavailable { .. } => {
            "connection".into()
        }
        _ => "_OTHER".into(),
    };
    telemetry::record_error(span, &kind, error);
}
