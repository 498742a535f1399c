//! The gateway's side of `[policy]`: every call, prompt get, resource read and subscribe goes
//! through the [`Guard`] (decision, rate limit, audit line), and lists keep what the caller
//! may use. Without a guard nothing is checked and nothing is written.

use std::future::Future;

use rmcp::model::{CallToolResult, JsonObject};

use super::Gateway;
use crate::policy::{Guard, Outcome, Request};
use crate::workbench::{CallerInfo, WorkbenchError};

impl Gateway {
    /// Runs `call` if the guard lets `caller` make `request`, and audits how it ended.
    pub(super) async fn guarded<T>(
        &self,
        caller: &CallerInfo,
        request: Request<'_>,
        arguments: Option<&JsonObject>,
        call: impl Future<Output = Result<T, WorkbenchError>>,
        outcome: impl Fn(&T) -> Outcome,
    ) -> Result<T, WorkbenchError> {
        let Some(guard) = &self.guard else {
            return call.await;
        };
        let pass = guard.admit(caller, request, arguments).await?;
        let result = call.await;
        let ended = match &result {
            Ok(value) => outcome(value),
            Err(_) => Outcome::Error,
        };
        guard.finish(caller, request, &pass, ended).await;
        result
    }

    /// Whether audit lines carry call arguments (`[audit] include_arguments = true`): only
    /// then are they copied before the call.
    pub(super) fn audits_arguments(&self) -> bool {
        self.guard.as_ref().is_some_and(|g| g.audits_arguments())
    }

    /// Keeps the items `caller` may use (`request` says what each one is).
    pub(super) fn permitted<T>(
        &self,
        caller: &CallerInfo,
        items: impl IntoIterator<Item = T>,
        request: impl Fn(&T) -> Request<'_>,
    ) -> Vec<T> {
        let Some(guard) = &self.guard else {
            return items.into_iter().collect();
        };
        let claims = Guard::claims(caller);
        items
            .into_iter()
            .filter(|item| guard.permits(&claims, request(item)))
            .collect()
    }
}

/// Who a call was for, as the audit needs it after the call took its context.
pub(super) fn who(caller: &CallerInfo) -> CallerInfo {
    CallerInfo {
        session: caller.session.clone(),
        principal: caller.principal.clone(),
        ..CallerInfo::default()
    }
}

/// How a tool call ended: a tool error (`isError: true`) or an answer.
pub(super) fn tool_outcome(result: &CallToolResult) -> Outcome {
    match result.is_error {
        Some(true) => Outcome::ToolError,
        _ => Outcome::Ok,
    }
}
