//! Sending one request upstream for a caller: the caller's per-request metadata (2026-07-28),
//! the call's route (so progress, logs and questions reach that caller), cancellation both ways,
//! `input_required` rounds answered through the caller, and errors that name the server.

use std::sync::Arc;

use rmcp::model::{
    ClientRequest, DEFAULT_MRTR_MAX_ROUNDS, InputResponses, RequestMetaObject, ServerResult,
};
use rmcp::service::{PeerRequestOptions, ServiceError};
use rmcp::{Peer, RoleClient};

use super::McpWorkbench;
use crate::workbench::{CallContext, WorkbenchError};

/// Whether the upstream negotiated 2026-07-28 or later.
pub fn is_modern(peer: &Peer<RoleClient>) -> bool {
    peer.peer_info()
        .is_some_and(|i| !i.protocol_version.has_initialize())
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

    pub(super) fn map_err(&self, operation: &str, e: ServiceError) -> WorkbenchError {
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
                message: crate::mcp::transport::cause_chain(&other),
            },
        }
    }

    /// Send a request that may come back `input_required` (2026-07-28 upstreams): each round's
    /// input requests go to the caller's observer and the request is re-sent with the answers.
    pub(super) async fn request_in_rounds(
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
                // Progress and logs that arrived before the response reach the caller first.
                self.inner.routes.drain(&id).await;
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
}
