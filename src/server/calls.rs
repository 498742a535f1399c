//! Running one operation (`tools/call`, `prompts/get`, `resources/read`) for a caller: the
//! operation is handed to a call driver ([`super::driver`]) whose events go to the caller's
//! requests — on the request's stream for 2025-era callers, as `input_required` rounds for
//! 2026-07-28 callers — and, for a tool call that may become a task, into a task.

use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use rmcp::model::{
    CallToolResult, GetPromptResult, InputRequiredResult, InputResponses, JsonObject, LoggingLevel,
    ReadResourceResult, Task,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer};
use tokio_util::sync::CancellationToken;

use super::auth::Authenticated;
use super::drain::shutting_down;
use super::driver::{self, CallHandle, Era, RoundEnd, Sink, Step, TaskPlan, TaskRun};
use super::handler::WorkbenchServer;
use super::observer::ChannelObserver;
use super::rounds::input_required;
use crate::workbench::{
    CallContext, CallerInfo, CallerSession, Principal, TaskRequest, TaskStart, Workbench,
    WorkbenchError,
};

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

/// The kind of an operation, which its output (and its failure) must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    /// `tools/call`.
    Tool,
    /// `prompts/get`.
    Prompt,
    /// `resources/read`.
    Resource,
}

/// What an operation produces in the end.
pub enum RunOutput {
    /// `tools/call`.
    Tool(Result<CallToolResult, WorkbenchError>),
    /// `prompts/get`.
    Prompt(Result<GetPromptResult, WorkbenchError>),
    /// `resources/read`.
    Resource(Result<ReadResourceResult, WorkbenchError>),
}

impl RunOutput {
    /// An operation of `kind` that failed with `error`.
    pub fn failure(kind: OpKind, error: WorkbenchError) -> Self {
        match kind {
            OpKind::Tool => Self::Tool(Err(error)),
            OpKind::Prompt => Self::Prompt(Err(error)),
            OpKind::Resource => Self::Resource(Err(error)),
        }
    }
}

/// How an operation ended for this request.
pub enum Outcome {
    /// It finished.
    Output(RunOutput),
    /// It waits for the caller's answers (2026-07-28 callers only).
    InputRequired(InputRequiredResult),
    /// It became this task (2026-07-28 callers that declared the tasks extension).
    Task(Task),
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

impl Op {
    fn kind(&self) -> OpKind {
        match self {
            Op::Tool { .. } => OpKind::Tool,
            Op::Prompt { .. } => OpKind::Prompt,
            Op::Resource { .. } => OpKind::Resource,
        }
    }

    /// The operation as a driver runs it; a tool call with `task` may become a task.
    fn start(
        self,
        workbench: Arc<dyn Workbench>,
        ctx: CallContext,
        task: Option<TaskRequest>,
    ) -> BoxFuture<'static, Step> {
        match (self, task) {
            (Op::Tool { name, arguments }, Some(task)) => {
                start_as_task(workbench, name, arguments, ctx, task).boxed()
            }
            (Op::Tool { name, arguments }, None) => async move {
                Step::Done(RunOutput::Tool(
                    workbench.call_tool(&name, arguments, ctx).await,
                ))
            }
            .boxed(),
            (Op::Prompt { name, arguments }, _) => async move {
                Step::Done(RunOutput::Prompt(
                    workbench.get_prompt(&name, arguments, ctx).await,
                ))
            }
            .boxed(),
            (Op::Resource { uri }, _) => async move {
                Step::Done(RunOutput::Resource(
                    workbench.read_resource(&uri, ctx).await,
                ))
            }
            .boxed(),
        }
    }
}

/// A tool call that may run as a task: the workbench says how it starts (see
/// [`Workbench::start_task`]); what it asks meanwhile belongs to the caller's request.
pub(super) async fn start_as_task(
    workbench: Arc<dyn Workbench>,
    name: String,
    arguments: Option<JsonObject>,
    ctx: CallContext,
    task: TaskRequest,
) -> Step {
    let started = workbench
        .start_task(&name, arguments.clone(), ctx.clone(), task)
        .await;
    let run = match started {
        Ok(TaskStart::Local) => TaskRun {
            call: async move { workbench.call_tool(&name, arguments, ctx).await }.boxed(),
            remote: None,
        },
        Ok(TaskStart::Continue(call)) => TaskRun { call, remote: None },
        Ok(TaskStart::Remote(remote)) => TaskRun {
            call: remote.follow,
            remote: Some(remote.handle),
        },
        Ok(TaskStart::Done(result)) => return Step::Done(RunOutput::Tool(Ok(result))),
        Err(e) => return Step::Done(RunOutput::Tool(Err(e))),
    };
    Step::Task(run)
}

impl WorkbenchServer {
    /// What the caller told us about itself, for the upstream.
    pub(super) fn caller(&self, context: &RequestContext<RoleServer>) -> CallerInfo {
        let era_2026 = is_2026_caller(context);
        let log_level = if era_2026 {
            context.meta.log_level()
        } else {
            // 2025-era sessions get every log message until they call logging/setLevel.
            Some(self.session_level().unwrap_or(LoggingLevel::Debug))
        };
        // A 2026-07-28 request over HTTP is a caller of its own, with no session to build.
        let sessionless = era_2026 && context.extensions.get::<http::request::Parts>().is_some();
        let session = match sessionless {
            true => CallerSession::new(),
            false => self.caller_session(),
        };
        CallerInfo {
            capabilities: context.client_capabilities(),
            log_level,
            session: Some(session),
            protocol: context.protocol_version(),
            principal: self.principal_of(context),
        }
    }

    /// Who the caller of `context` is: the principal the HTTP face authenticated (in the
    /// request's `http::request::Parts` on `/mcp`, on the message itself on `/messages`), else
    /// this server's own (the stdio face's `[auth.stdio]` caller), else nobody.
    fn principal_of(&self, context: &RequestContext<RoleServer>) -> Option<Arc<Principal>> {
        let authenticated = context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Authenticated>())
            .or_else(|| context.extensions.get::<Authenticated>());
        match authenticated {
            Some(caller) => Some(Arc::clone(&caller.principal)),
            None => self.own_principal(),
        }
    }

    /// Run `op` (or resume the run a retry names) for the caller of `context`; with `plan`,
    /// a tool call may become a task. Once the server is stopping, new operations are refused
    /// and running ones end when the grace period does, each with a `-32603 server shutting
    /// down` error.
    pub(super) async fn execute(
        &self,
        op: Op,
        retry: Option<Retry>,
        context: &RequestContext<RoleServer>,
        plan: Option<TaskPlan>,
    ) -> Result<Outcome, ErrorData> {
        let drain = self.drain();
        let Some(_in_flight) = drain.enter() else {
            return Err(shutting_down());
        };
        tokio::select! {
            outcome = self.execute_now(op, retry, context, plan) => outcome,
            () = drain.expired() => Err(shutting_down()),
        }
    }

    async fn execute_now(
        &self,
        op: Op,
        retry: Option<Retry>,
        context: &RequestContext<RoleServer>,
        plan: Option<TaskPlan>,
    ) -> Result<Outcome, ErrorData> {
        let era = if is_2026_caller(context) {
            Era::Rounds
        } else {
            Era::Stream
        };
        if let (Era::Rounds, Some(retry)) = (era, retry) {
            return self.resume(retry, context).await;
        }
        let min_level = match era {
            Era::Stream => self.session_level(),
            Era::Rounds => None,
        };
        let (observer, events) = ChannelObserver::new();
        let cancel = match &plan {
            Some(plan) => plan.store.run_token(),
            None => CancellationToken::new(),
        };
        let ctx = CallContext {
            cancel: cancel.clone(),
            observer: Arc::new(observer),
            caller: self.caller(context),
        };
        if let Some(principal) = &ctx.caller.principal {
            // Who the call is for (never the token: `Principal` does not show it).
            tracing::debug!(caller = %principal.subject, method = ?principal.method, "call for");
        }
        let kind = op.kind();
        let task = plan.as_ref().map(|_| TaskRequest::default());
        let step = op.start(self.workbench(), ctx, task);
        let (sink, first) = Sink::request(era, min_level, plan, context.clone());
        let handle = driver::spawn(step, kind, events, cancel, sink);
        let end = handle.ended(first).await;
        Ok(self.round_ended(handle, end))
    }

    /// A retry of a 2026-07-28 caller: its answers go to the waiting call, which goes on.
    async fn resume(
        &self,
        retry: Retry,
        context: &RequestContext<RoleServer>,
    ) -> Result<Outcome, ErrorData> {
        let (handle, parked) = self.pending().resume(&retry.state)?;
        let responses = retry.responses.unwrap_or_default();
        parked.check(&responses)?;
        match parked.answer(responses) {
            Some(open) => Ok(self.park(handle, open)),
            None => {
                let end = handle.round(context.clone()).await;
                Ok(self.round_ended(handle, end))
            }
        }
    }

    /// How a round of the caller's requests ended decides what the request answers.
    fn round_ended(&self, handle: CallHandle, end: RoundEnd) -> Outcome {
        match end {
            RoundEnd::Done(output) => Outcome::Output(output),
            RoundEnd::InputRequired(parked) => self.park(handle, parked),
            RoundEnd::Task(task) => {
                self.tasks().adopt(&task.task_id, handle.into_task());
                Outcome::Task(task)
            }
        }
    }

    fn park(&self, handle: CallHandle, parked: super::parked::ParkedInput) -> Outcome {
        let open = parked.open().clone();
        let token = self.pending().park(handle, parked);
        Outcome::InputRequired(input_required(open, token))
    }
}
