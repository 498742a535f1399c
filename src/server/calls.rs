//! Running one operation (tools/call, prompts/get, resources/read) for a caller: 2025-era
//! callers get events relayed on their request's stream; 2026-07-28 callers get input requests
//! as `input_required` rounds.

use std::sync::Arc;

use rmcp::model::{InputRequiredResult, InputResponses, JsonObject, LoggingLevel};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer};
use tokio_util::sync::CancellationToken;

use super::drain::shutting_down;
use super::handler::GatewayServer;
use super::mrtr::{PendingRun, Round, RunOutput, input_required};
use super::observer::ChannelObserver;
use super::relay::relay;
use crate::workbench::{CallContext, CallerInfo, Workbench};

/// One operation a caller asked for.
pub enum Op {
    /// `tools/call`.
    Tool {
        name: String,
        arguments: Option<JsonObject>,
    },
    /// `prompts/get`.
    Prompt {
        name: String,
        arguments: Option<JsonObject>,
    },
    /// `resources/read`.
    Resource { uri: String },
}

/// How an operation ended for this request.
pub enum Outcome {
    /// It finished.
    Output(RunOutput),
    /// It waits for the caller's answers (2026-07-28 callers only).
    InputRequired(InputRequiredResult),
}

/// A retry of a multi-round request: its `requestState` and `inputResponses`.
pub struct Retry {
    /// The `requestState` token we issued.
    pub state: String,
    /// The caller's answers.
    pub responses: Option<InputResponses>,
}

/// Whether the caller negotiated 2026-07-28 or later (no server→client requests allowed).
pub fn is_2026_caller(context: &RequestContext<RoleServer>) -> bool {
    context
        .protocol_version()
        .is_some_and(|v| !v.has_initialize())
}

async fn run(workbench: Arc<dyn Workbench>, op: Op, ctx: CallContext) -> RunOutput {
    match op {
        Op::Tool { name, arguments } => {
            RunOutput::Tool(workbench.call_tool(&name, arguments, ctx).await)
        }
        Op::Prompt { name, arguments } => {
            RunOutput::Prompt(workbench.get_prompt(&name, arguments, ctx).await)
        }
        Op::Resource { uri } => RunOutput::Resource(workbench.read_resource(&uri, ctx).await),
    }
}

impl GatewayServer {
    /// What the caller told us about itself, for the upstream.
    pub(super) fn caller(&self, context: &RequestContext<RoleServer>) -> CallerInfo {
        let log_level = if is_2026_caller(context) {
            context.meta.log_level()
        } else {
            // 2025-era sessions get every log message until they call logging/setLevel.
            Some(self.session_level().unwrap_or(LoggingLevel::Debug))
        };
        CallerInfo {
            capabilities: context.client_capabilities(),
            log_level,
            session: Some(self.caller_session()),
            protocol: context.protocol_version(),
        }
    }

    /// Run `op` (or resume the run a retry names) for the caller of `context`. Once the server
    /// is stopping, new operations are refused and running ones end when the grace period does,
    /// each with a `-32603 server shutting down` error.
    pub(super) async fn execute(
        &self,
        op: Op,
        retry: Option<Retry>,
        context: &RequestContext<RoleServer>,
    ) -> Result<Outcome, ErrorData> {
        let drain = self.drain();
        let Some(_in_flight) = drain.enter() else {
            return Err(shutting_down());
        };
        tokio::select! {
            outcome = self.execute_now(op, retry, context) => outcome,
            () = drain.expired() => Err(shutting_down()),
        }
    }

    async fn execute_now(
        &self,
        op: Op,
        retry: Option<Retry>,
        context: &RequestContext<RoleServer>,
    ) -> Result<Outcome, ErrorData> {
        if is_2026_caller(context) {
            return self.execute_in_rounds(op, retry, context).await;
        }
        let (observer, mut events) = ChannelObserver::new();
        let ctx = CallContext {
            cancel: context.ct.clone(),
            observer: Arc::new(observer),
            caller: self.caller(context),
        };
        let allows = |level| self.level_allows(level);
        let mut fut = Box::pin(run(self.workbench(), op, ctx));
        loop {
            tokio::select! {
                biased;
                Some(event) = events.recv() => relay(event, context, &allows).await,
                output = &mut fut => {
                    while let Ok(event) = events.try_recv() {
                        relay(event, context, &allows).await;
                    }
                    return Ok(Outcome::Output(output));
                }
            }
        }
    }

    async fn execute_in_rounds(
        &self,
        op: Op,
        retry: Option<Retry>,
        context: &RequestContext<RoleServer>,
    ) -> Result<Outcome, ErrorData> {
        let mut pending = match retry {
            Some(retry) => {
                let mut run = self.pending().resume(&retry.state)?;
                run.answer(retry.responses.unwrap_or_default())?;
                run
            }
            None => {
                let (observer, events) = ChannelObserver::new();
                let cancel = CancellationToken::new();
                let ctx = CallContext {
                    cancel: cancel.clone(),
                    observer: Arc::new(observer),
                    caller: self.caller(context),
                };
                let task = tokio::spawn(run(self.workbench(), op, ctx));
                PendingRun::new(task, cancel, events)
            }
        };
        let allows = |level| self.level_allows(level);
        loop {
            match pending.next(&context.ct).await {
                Round::Event(event) => relay(event, context, &allows).await,
                Round::InputRequired(requests) => {
                    let token = self.pending().park(pending);
                    return Ok(Outcome::InputRequired(input_required(requests, token)));
                }
                Round::Done(output) => {
                    for event in pending.leftover() {
                        relay(event, context, &allows).await;
                    }
                    return Ok(Outcome::Output(output));
                }
            }
        }
    }
}
