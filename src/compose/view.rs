//! An agent's filtered view of the gateway: the tools of named servers (`"everything"`) and
//! single served tools (`"fs__read_file"`), called through the gateway (validation, routing,
//! cancellation and progress as for any caller). A view made for a run on a caller's behalf
//! acts as that caller: its principal goes with every call, so the gateway's `[policy]`
//! decides for it, and the model is offered only the tools that caller may call.

use std::sync::{Arc, OnceLock, Weak};
use tracing::Instrument;

use async_trait::async_trait;
use rmcp::model::{CallToolResult, JsonObject};

use crate::gateway::{ExposedTool, Gateway};
use crate::workbench::{
    CallContext, CallerInfo, CallerSession, Principal, ToolSpec, Workbench, WorkbenchError,
};

/// The gateway a workbench set serves in, bound once the gateway exists (it holds the set).
#[derive(Clone, Default)]
pub struct GatewayHandle(Arc<OnceLock<Weak<Gateway>>>);

impl std::fmt::Debug for GatewayHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayHandle")
            .field("bound", &self.0.get().is_some())
            .finish()
    }
}

impl GatewayHandle {
    /// Binds the gateway (later binds are ignored).
    pub fn bind(&self, gateway: &Arc<Gateway>) {
        let _ = self.0.set(Arc::downgrade(gateway));
    }

    /// The gateway, if bound and alive.
    pub fn get(&self) -> Result<Arc<Gateway>, WorkbenchError> {
        self.0
            .get()
            .and_then(Weak::upgrade)
            .ok_or_else(|| WorkbenchError::Unavailable {
                server: "gateway".into(),
                reason: "the workbench set is not serving in a gateway".into(),
            })
    }
}

/// A filtered view of the gateway's tools.
#[derive(Debug, Clone)]
pub struct GatewayView {
    gateway: GatewayHandle,
    entries: Vec<String>,
    caller: Option<CallerSession>,
    principal: Option<Arc<Principal>>,
}

impl GatewayView {
    /// A view admitting tools of these servers and these served tool names.
    pub fn new(gateway: GatewayHandle, entries: Vec<String>) -> Self {
        Self {
            gateway,
            entries,
            caller: None,
            principal: None,
        }
    }

    /// The same view for the agents of a run made on a caller's behalf: their tool calls are
    /// that caller's (its per-caller upstream sessions, and its principal, which the policy
    /// decides on), whatever context the agent passes.
    pub fn for_caller(mut self, caller: &CallerInfo) -> Self {
        self.caller = caller.session.clone();
        self.principal = caller.principal.clone();
        self
    }

    /// Who the view's calls are made for, as the gateway's policy sees it.
    fn acting_for(&self) -> CallerInfo {
        CallerInfo {
            session: self.caller.clone(),
            principal: self.principal.clone(),
            ..CallerInfo::default()
        }
    }

    /// What the view admits.
    pub fn entries(&self) -> &[String] {
        &self.entries
    }

    /// Whether a served tool is in the view.
    pub fn admits(&self, tool: &ExposedTool) -> bool {
        admits(&self.entries, tool)
    }

    /// Whether the view may hold tools of the upstream `server` (named whole, or a tool of it
    /// named with its prefix): the upstreams worth waiting for before listing.
    fn mentions(&self, server: &str, separator: &str) -> bool {
        self.entries.iter().any(|e| {
            e == server
                || e.strip_prefix(server)
                    .is_some_and(|rest| rest.starts_with(separator))
        })
    }
}

/// Whether a served tool is named by `entries` (by server or by served name).
pub fn admits(entries: &[String], tool: &ExposedTool) -> bool {
    entries
        .iter()
        .any(|e| (!tool.server.is_empty() && *e == tool.server) || *e == tool.name)
}

#[async_trait]
impl Workbench for GatewayView {
    async fn list_tools(&self) -> Result<Vec<ToolSpec>, WorkbenchError> {
        let gateway = self.gateway.get()?;
        // An agent's model sees the tools it is offered at the start of its turn: wait for the
        // upstreams this view names that are still starting (not for any other).
        let separator = gateway.settings().separator.clone();
        gateway
            .settle(
                |u| self.mentions(u.name(), &separator),
                &tokio_util::sync::CancellationToken::new(),
            )
            .await;
        Ok(gateway
            .exposed_tools_for(&self.acting_for())
            .await
            .into_iter()
            .filter(|t| self.admits(t))
            .map(|t| t.spec)
            .collect())
    }

    async fn call_tool(
        &self,
        name: &str,
        arguments: Option<JsonObject>,
        ctx: CallContext,
    ) -> Result<CallToolResult, WorkbenchError> {
        let gateway = self.gateway.get()?;
        let served = gateway.exposed_tool(name).await;
        if !served.is_some_and(|t| self.admits(&t)) {
            return Err(WorkbenchError::UnknownTool { name: name.into() });
        }
        // A team loop that is cancelled drops its agents' turns mid-call. The upstream call runs
        // in its own task with a token cancelled when this future is dropped, so the upstream
        // server still gets its `notifications/cancelled` instead of a silently abandoned call.
        let cancel = ctx.cancel.child_token();
        let guard = cancel.clone().drop_guard();
        let mut ctx = CallContext { cancel, ..ctx };
        if self.caller.is_some() {
            ctx.caller.session = self.caller.clone();
        }
        if self.principal.is_some() {
            ctx.caller.principal = self.principal.clone();
        }
        let name = name.to_string();
        // The call's task carries the caller's span, so the upstream request stays in its trace.
        let call = tokio::spawn(
            async move { gateway.call_tool(&name, arguments, ctx).await }.in_current_span(),
        );
        let outcome = call.await;
        guard.disarm();
        outcome.map_err(|e| WorkbenchError::Unsupported(format!("tool call task failed: {e}")))?
    }
}
