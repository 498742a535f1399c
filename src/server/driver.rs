//! The call driver: every call (`tools/call`, `prompts/get`, `resources/read`, in either
//! protocol era, plain or as a task) is run by one task that polls the operation and owns its
//! event channel. Progress, logs and status changes are delivered in the order they happened,
//! by that task; a question to the caller is one more future it polls, so a question waiting
//! for its answer holds no other event up. The face decides only where events go (a [`Sink`]):
//! the requests of the caller (a 2025-era request's stream, or 2026-07-28 `input_required`
//! rounds parked by `requestState`), or a task.

use std::collections::VecDeque;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use rmcp::model::{InputRequests, InputResponses, LoggingLevel, Task};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::calls::{OpKind, RunOutput};
use super::observer::CallEvent;
use super::parked::ParkedInput;
use super::relay::StreamRelay;
use super::tasks::{NewTask, TaskSink, TaskStore};
use crate::workbench::{CallFuture, RemoteTaskHandle, WorkbenchError};

/// How long a cancelled operation may take to stop before it is answered as cancelled.
const CANCEL_GRACE: Duration = Duration::from_secs(5);

/// What the first part of a call ends with.
pub enum Step {
    /// The operation finished.
    Done(RunOutput),
    /// The call goes on as a task.
    Task(TaskRun),
}

/// The rest of a call that became a task.
pub struct TaskRun {
    /// Runs (or follows) the task to its result.
    pub call: CallFuture,
    /// For a task at another server: where to ask about it.
    pub remote: Option<std::sync::Arc<dyn RemoteTaskHandle>>,
}

/// How one round of the caller's requests ends.
pub enum RoundEnd {
    /// The operation finished.
    Done(RunOutput),
    /// The operation waits for these answers (2026-07-28 callers only).
    InputRequired(ParkedInput),
    /// The call became this task.
    Task(Task),
}

/// How questions reach the caller of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    /// 2025-11-25 and earlier: as server→client requests on the request's stream.
    Stream,
    /// 2026-07-28: as the `input_required` end of the round.
    Rounds,
}

/// What becomes of a call that turns into a task.
pub struct TaskPlan {
    /// The store the task goes into.
    pub store: TaskStore,
    /// Its owner and settings.
    pub new: NewTask,
}

/// Where a call's events go.
pub enum Sink {
    /// The caller's requests.
    Request(Box<RequestSink>),
    /// A task.
    Task(Box<TaskSink>),
}

impl Sink {
    /// The caller's requests, in `era`, starting with the request of `context` (attached at
    /// once, so nothing the call does first can miss it); `plan` says what a call that
    /// becomes a task becomes. The receiver gets how the first round ends.
    pub fn request(
        era: Era,
        min_level: Option<LoggingLevel>,
        plan: Option<TaskPlan>,
        context: RequestContext<RoleServer>,
    ) -> (Self, oneshot::Receiver<RoundEnd>) {
        let (end, ended) = oneshot::channel();
        let sink = Self::Request(Box::new(RequestSink {
            era,
            min_level,
            plan,
            round: Some((context, end)),
            held: VecDeque::new(),
            asked: VecDeque::new(),
        }));
        (sink, ended)
    }
}

/// The requests of one caller, one round at a time.
pub struct RequestSink {
    era: Era,
    min_level: Option<LoggingLevel>,
    plan: Option<TaskPlan>,
    /// The request attached now, and where its round's end goes.
    round: Option<(RequestContext<RoleServer>, oneshot::Sender<RoundEnd>)>,
    /// Progress and logs that came while no request was attached (2026 callers between rounds).
    held: VecDeque<CallEvent>,
    /// Questions that came while no request was attached.
    asked: VecDeque<ParkedInput>,
}

impl RequestSink {
    fn relay(&self, context: &RequestContext<RoleServer>) -> StreamRelay {
        StreamRelay {
            context: context.clone(),
            min_level: self.min_level,
            on_request_stream: true,
        }
    }

    async fn tell(&mut self, event: CallEvent) {
        match &self.round {
            Some((context, _)) => self.relay(context).tell(event).await,
            None => self.held.push_back(event),
        }
    }

    fn ask(
        &mut self,
        requests: InputRequests,
        reply: oneshot::Sender<Result<InputResponses, ErrorData>>,
        withdrawn: CancellationToken,
    ) -> Option<BoxFuture<'static, ()>> {
        match self.era {
            Era::Stream => {
                let (context, _) = self.round.as_ref()?;
                Some(self.relay(context).ask(requests, reply, withdrawn))
            }
            Era::Rounds => {
                let parked = ParkedInput::new(requests, reply);
                match self.round.take() {
                    Some((_, end)) => {
                        let _ = end.send(RoundEnd::InputRequired(parked));
                    }
                    None => self.asked.push_back(parked),
                }
                None
            }
        }
    }

    async fn attach(
        &mut self,
        context: RequestContext<RoleServer>,
        end: oneshot::Sender<RoundEnd>,
    ) {
        if let Some(parked) = self.asked.pop_front() {
            let _ = end.send(RoundEnd::InputRequired(parked));
            return;
        }
        let relay = self.relay(&context);
        while let Some(event) = self.held.pop_front() {
            relay.tell(event).await;
        }
        self.round = Some((context, end));
    }
}

enum Command {
    /// A request of the caller attaches; the sender gets how its round ends.
    Round(RequestContext<RoleServer>, oneshot::Sender<RoundEnd>),
}

/// The face's handle on a driven call. Dropping it cancels the call (which then has
/// [`CANCEL_GRACE`] to stop).
pub struct CallHandle {
    commands: mpsc::UnboundedSender<Command>,
    cancel: Option<CancellationToken>,
    task: Option<JoinHandle<()>>,
    kind: OpKind,
}

impl CallHandle {
    /// Attach the caller's request of `context` and wait until its round ends.
    pub async fn round(&self, context: RequestContext<RoleServer>) -> RoundEnd {
        let (end, ended) = oneshot::channel();
        if self.commands.send(Command::Round(context, end)).is_err() {
            return self.failed();
        }
        self.ended(ended).await
    }

    /// How the round whose end goes to `ended` ended.
    pub async fn ended(&self, ended: oneshot::Receiver<RoundEnd>) -> RoundEnd {
        ended.await.unwrap_or_else(|_| self.failed())
    }

    fn failed(&self) -> RoundEnd {
        RoundEnd::Done(RunOutput::failure(self.kind, driver_gone()))
    }

    /// The driver's task, for a task store that owns the call from now on (the call is no
    /// longer cancelled when this handle goes).
    pub fn into_task(mut self) -> Option<JoinHandle<()>> {
        self.cancel = None;
        self.task.take()
    }
}

impl Drop for CallHandle {
    fn drop(&mut self) {
        if let Some(cancel) = &self.cancel {
            cancel.cancel();
        }
    }
}

fn driver_gone() -> WorkbenchError {
    WorkbenchError::Unsupported("the task running the call failed".into())
}

/// Start driving a call: `op` with the events of its observer, `cancel` the token its context
/// carries. The driver runs in the current span.
pub fn spawn(
    op: BoxFuture<'static, Step>,
    kind: OpKind,
    events: mpsc::UnboundedReceiver<CallEvent>,
    cancel: CancellationToken,
    sink: Sink,
) -> CallHandle {
    let (commands, received) = mpsc::unbounded_channel();
    let driver = Driver {
        op: Some(op),
        kind,
        events,
        commands: received,
        commands_open: true,
        questions: FuturesUnordered::new(),
        sink,
        cancel: cancel.clone(),
        give_up: None,
        pending_end: None,
        orphaned: false,
        over: false,
    };
    let task = tokio::spawn(driver.run().in_current_span());
    CallHandle {
        commands,
        cancel: Some(cancel),
        task: Some(task),
        kind,
    }
}

struct Driver {
    op: Option<BoxFuture<'static, Step>>,
    kind: OpKind,
    events: mpsc::UnboundedReceiver<CallEvent>,
    commands: mpsc::UnboundedReceiver<Command>,
    commands_open: bool,
    /// Questions to the caller waiting for their answers.
    questions: FuturesUnordered<BoxFuture<'static, ()>>,
    sink: Sink,
    cancel: CancellationToken,
    /// When a cancelled operation that has not stopped is given up.
    give_up: Option<Instant>,
    /// A round's end that came while no request was attached.
    pending_end: Option<RoundEnd>,
    /// Nobody holds the handle any more: no round will come.
    orphaned: bool,
    over: bool,
}

async fn poll_op(op: &mut Option<BoxFuture<'static, Step>>) -> Step {
    match op {
        Some(op) => op.await,
        None => std::future::pending().await,
    }
}

async fn fired(token: Option<CancellationToken>) {
    match token {
        Some(token) => token.cancelled().await,
        None => std::future::pending().await,
    }
}

async fn until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

impl Driver {
    async fn run(mut self) {
        while !self.over {
            let request_gone = match &self.sink {
                Sink::Request(r) if !self.cancel.is_cancelled() => {
                    r.round.as_ref().map(|(context, _)| context.ct.clone())
                }
                _ => None,
            };
            tokio::select! {
                biased;
                command = self.commands.recv(), if self.commands_open => match command {
                    Some(command) => self.command(command).await,
                    None => self.abandoned(),
                },
                Some(event) = self.events.recv() => self.event(event).await,
                Some(()) = self.questions.next(), if !self.questions.is_empty() => {}
                step = poll_op(&mut self.op), if self.op.is_some() => {
                    self.op = None;
                    self.step(step).await;
                }
                () = self.cancel.cancelled(), if self.give_up.is_none() => {
                    self.give_up = Some(Instant::now() + CANCEL_GRACE);
                    if let Sink::Task(task) = &mut self.sink {
                        task.cancelled().await;
                    }
                }
                () = fired(request_gone) => self.cancel.cancel(),
                () = until(self.give_up), if self.op.is_some() => {
                    tracing::warn!("the cancelled call did not stop in time; answered as cancelled");
                    self.op = None;
                    self.ended(RunOutput::failure(self.kind, WorkbenchError::Cancelled)).await;
                }
                else => break,
            }
        }
    }

    /// The face let go of the call: it is cancelled (by the handle's drop) and nobody waits
    /// for rounds; a task goes on (its store owns it).
    fn abandoned(&mut self) {
        self.commands_open = false;
        if let Sink::Request(_) = self.sink {
            self.orphaned = true;
            if self.op.is_none() {
                self.over = true;
            }
        }
    }

    async fn command(&mut self, command: Command) {
        let Command::Round(context, end) = command;
        if let Some(ended) = self.pending_end.take() {
            self.over = matches!(ended, RoundEnd::Done(_));
            let _ = end.send(ended);
            return;
        }
        match &mut self.sink {
            Sink::Request(r) => r.attach(context, end).await,
            // The call is a task now: its rounds are over.
            Sink::Task(_) => drop(end),
        }
    }

    async fn event(&mut self, event: CallEvent) {
        match event {
            CallEvent::Input(requests, reply, withdrawn) => {
                let asked = match &mut self.sink {
                    Sink::Request(r) => r.ask(requests, reply, withdrawn),
                    Sink::Task(t) => t.ask(requests, reply, withdrawn),
                };
                if let Some(question) = asked {
                    self.questions.push(question);
                }
            }
            notice => match &mut self.sink {
                Sink::Request(r) => r.tell(notice).await,
                Sink::Task(t) => t.tell(notice).await,
            },
        }
    }

    async fn step(&mut self, step: Step) {
        match step {
            Step::Done(output) => {
                // What the call reported before it ended reaches the caller first.
                while let Ok(event) = self.events.try_recv() {
                    if !matches!(event, CallEvent::Input(..)) {
                        self.event(event).await;
                    }
                }
                self.ended(output).await;
            }
            Step::Task(run) => self.become_task(run),
        }
    }

    fn become_task(&mut self, run: TaskRun) {
        let TaskRun { call, remote } = run;
        self.op = Some(call.map(|r| Step::Done(RunOutput::Tool(r))).boxed());
        let plan = match &mut self.sink {
            Sink::Task(task) => {
                task.set_remote(remote);
                return;
            }
            Sink::Request(r) => r.plan.take(),
        };
        let Some(TaskPlan { store, new }) = plan else {
            self.op = None;
            let failure = WorkbenchError::Unsupported("this call cannot become a task".into());
            self.end_round(RoundEnd::Done(RunOutput::failure(self.kind, failure)));
            return;
        };
        let (task, mut sink) = store.create(new, self.cancel.clone());
        sink.set_remote(remote);
        tracing::info!(task = %task.task_id, "the call became a task");
        self.end_round(RoundEnd::Task(task));
        self.sink = Sink::Task(Box::new(sink));
    }

    /// The operation ended (or was given up).
    async fn ended(&mut self, output: RunOutput) {
        self.questions.clear();
        match &mut self.sink {
            Sink::Task(task) => {
                let result = match output {
                    RunOutput::Tool(result) => result,
                    _ => Err(WorkbenchError::Unsupported(
                        "a task must be a tool call".into(),
                    )),
                };
                task.finish(result, self.cancel.is_cancelled()).await;
                self.over = true;
            }
            Sink::Request(_) => self.end_round(RoundEnd::Done(output)),
        }
    }

    /// Give a round's end to the request attached now, or keep it for the next one.
    fn end_round(&mut self, end: RoundEnd) {
        let done = matches!(end, RoundEnd::Done(_));
        let attached = match &mut self.sink {
            Sink::Request(r) => r.round.take(),
            Sink::Task(_) => None,
        };
        match attached {
            Some((_, reply)) => {
                let _ = reply.send(end);
                self.over |= done;
            }
            None if self.orphaned => self.over |= done,
            None => self.pending_end = Some(end),
        }
    }
}
