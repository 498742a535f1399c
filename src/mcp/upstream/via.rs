//! Which upstream session serves a caller: the caller's own (`session = "per_caller"`), the
//! 2025-11-25 session of an HTTP server that speaks both eras when the caller is 2025-era, or
//! the main session. A server speaking 2026-07-28 cannot ask its client anything mid-call (that era
//! has no server→client requests), so a 2025-era caller of a dual-era server gets what it gets
//! when it talks to that server directly only through a 2025-era session.

use rmcp::model::ProtocolVersion;
use tokio::sync::Mutex;

use super::McpWorkbench;
use super::request::is_modern;
use super::session::{Role, Spec};
use crate::config::{ProtocolPreference, TransportConfig};
use crate::mcp::callers::CallerLease;
use crate::mcp::handler::{Ownership, shared_capabilities};
use crate::workbench::{CallContext, CallerInfo, WorkbenchError};

/// The 2025-era session of a dual-era server, opened on the first 2025-era caller.
#[derive(Default)]
pub enum OtherEra {
    /// No 2025-era caller yet.
    #[default]
    Untried,
    /// Open.
    Open(McpWorkbench),
    /// The server refused `initialize` (2026-only): 2025-era callers use the main session.
    Unavailable,
}

/// Where one call goes.
pub enum Via {
    /// This session.
    Here,
    /// The caller's own session, held for the call.
    Lease(CallerLease),
    /// The 2025-era session of this server.
    Other(McpWorkbench),
}

/// Whether the caller speaks 2025-11-25 or earlier (sessions, server→client requests).
pub fn is_legacy_caller(caller: &CallerInfo) -> bool {
    caller
        .protocol
        .as_ref()
        .is_some_and(ProtocolVersion::has_initialize)
}

impl McpWorkbench {
    /// Where a call of `ctx`'s caller goes (see the module docs).
    pub(super) async fn via(&self, ctx: &CallContext) -> Result<Via, WorkbenchError> {
        if let Some(pool) = &self.callers {
            return pool.lease(ctx).await.map(Via::Lease);
        }
        Ok(match self.via_era(ctx).await {
            Some(other) => Via::Other(other),
            None => Via::Here,
        })
    }

    /// The 2025-era session for a 2025-era caller of an HTTP server whose main session speaks
    /// 2026-07-28 (`protocol = "auto"`); `None`: this session serves the caller. A stdio
    /// server gets no second session: that would be a second process with state of its own
    /// (a tool it enables would not be in the lists); its 2025-era callers are translated
    /// (`input_required` rounds become their questions), or get their own session with
    /// `session = "per_caller"`, which speaks the caller's era.
    pub(super) async fn via_era(&self, ctx: &CallContext) -> Option<McpWorkbench> {
        let dual = self.inner.config.protocol == ProtocolPreference::Auto
            && !matches!(self.inner.config.transport, TransportConfig::Stdio { .. })
            && is_legacy_caller(&ctx.caller)
            && self.peer().is_ok_and(|p| is_modern(&p));
        if dual {
            self.other_era(ctx).await
        } else {
            None
        }
    }

    async fn other_era(&self, ctx: &CallContext) -> Option<McpWorkbench> {
        let mut slot = self.other_era.lock().await;
        match &*slot {
            OtherEra::Open(other) => return Some(other.clone()),
            OtherEra::Unavailable => return None,
            OtherEra::Untried => {}
        }
        let mut config = self.inner.config.clone();
        config.protocol = ProtocolPreference::Initialize;
        let other = McpWorkbench::supervised(Spec {
            config,
            role: Role::Calls,
            ownership: Ownership::Shared,
            capabilities: shared_capabilities(),
            changes: self.inner.changes.clone(),
            relist: std::sync::Arc::clone(&self.inner.relist),
            shutdown: self.inner.shutdown.child_token(),
            acting_for: None,
        });
        let ready = tokio::select! {
            ready = other.wait_ready(self.inner.config.startup_timeout) => ready,
            _ = ctx.cancel.cancelled() => {
                other.inner.shutdown.cancel();
                other.stopped().await;
                return None;
            }
        };
        if ready {
            tracing::info!(server = %self.name(), "opened a 2025-11-25 session for 2025-era callers");
            *slot = OtherEra::Open(other.clone());
            Some(other)
        } else {
            tracing::warn!(server = %self.name(), error = ?other.status().error,
                "the server does not take a 2025-11-25 initialize; 2025-era callers use its 2026-07-28 session");
            other.inner.shutdown.cancel();
            other.stopped().await;
            *slot = OtherEra::Unavailable;
            None
        }
    }
}

/// The slot of a server's 2025-era session. It stays locked while that session starts, so a
/// second 2025-era caller waits for the first one's start instead of starting another.
pub type OtherEraSlot = Mutex<OtherEra>;
