//! The loop itself: deliver new messages, ask the policy for speakers, run them, check
//! termination on the delta, repeat.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex as SyncMutex};

use futures::StreamExt;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, info_span};

use super::{GroupChat, Inner, PolicyContext, TeamStream};
use crate::agents::{
    AgentError, AgentStreamItem, ChatAgent, Driven, Response, RunItem, Task, drive,
};
use crate::messages::{
    AgentEvent, AgentMessage, ChatMessage, MessageMeta, SelectSpeakerEvent, TaskResult,
};
use crate::teams::TeamError;
use crate::telemetry::{self, events, metrics};
use crate::termination::TerminationCondition;

/// Where a run's messages go: the caller's stream, and the result (without streaming chunks).
struct Output {
    tx: UnboundedSender<AgentMessage>,
    kept: SyncMutex<Vec<AgentMessage>>,
    /// The run's id in its spans (none when traces are off).
    run: telemetry::RunId,
}

impl Output {
    fn emit(&self, m: AgentMessage) {
        let chunk = matches!(
            m,
            AgentMessage::Event(AgentEvent::ModelClientStreamingChunkEvent(_))
        );
        if !chunk {
            events::message(|| serde_json::to_value(&m).unwrap_or_default());
        }
        if !chunk && let Ok(mut kept) = self.kept.lock() {
            kept.push(m.clone());
        }
        let _ = self.tx.send(m);
    }

    fn take(self) -> Vec<AgentMessage> {
        self.kept.into_inner().unwrap_or_default()
    }
}

/// Streams a run of `team`.
pub(super) fn run_stream<'a>(
    team: &'a GroupChat,
    task: Task,
    cancel: CancellationToken,
) -> TeamStream<'a> {
    let (tx, rx) = unbounded_channel();
    let span = info_span!("team_run", team = %team.name);
    let (traced, run) = telemetry::team_run(&team.name);
    let on_span = traced.clone();
    let work = async move {
        let mut inner = team.lock()?;
        let out = Output {
            tx,
            kept: SyncMutex::new(Vec::new()),
            run,
        };
        let stop_reason = tokio::select! {
            biased;
            _ = cancel.cancelled() => Err(cancelled(team)),
            r = events::in_run(run, run_loop(team, &mut inner, task, &out, &cancel)) => r,
        };
        let ended = match &stop_reason {
            Ok(reason) => reason.as_str(),
            Err(TeamError::Cancelled { .. }) => "cancelled",
            Err(_) => "error",
        };
        metrics::team_run_ended(&team.name, ended);
        let stop_reason =
            stop_reason.inspect_err(|e| telemetry::record_error(&on_span, "team_error", e))?;
        telemetry::record_stop_reason(&on_span, &stop_reason);
        Ok(TaskResult {
            messages: out.take(),
            stop_reason: Some(stop_reason),
        })
    }
    .instrument(span)
    .instrument(traced);
    drive(work, rx)
        .map(|item| {
            item.map(|d| match d {
                Driven::Item(m) => RunItem::Message(m),
                Driven::Done(r) => RunItem::Result(r),
            })
        })
        .boxed()
}

fn cancelled(team: &GroupChat) -> TeamError {
    TeamError::Cancelled {
        team: team.name.clone(),
    }
}

/// Runs turns until a stop; returns the stop reason.
async fn run_loop(
    team: &GroupChat,
    inner: &mut Inner,
    task: Task,
    out: &Output,
    cancel: &CancellationToken,
) -> Result<String, TeamError> {
    if inner.termination.as_ref().is_some_and(|t| t.terminated()) {
        return Ok("The group chat has already terminated.".into());
    }
    let task = task.into_messages().map_err(|e| TeamError::Task {
        team: team.name.clone(),
        reason: e.to_string(),
    })?;
    let ctx = PolicyContext {
        team: &team.name,
        participants: &team.participants,
        thread: &inner.thread,
        emit_team_events: team.emit_team_events,
    };
    inner
        .policy
        .validate(&ctx, &task)
        .map_err(|reason| TeamError::Task {
            team: team.name.clone(),
            reason,
        })?;
    inner.policy.on_task(&task);
    if !task.is_empty() {
        for m in &task {
            out.emit(m.clone().into());
            inner.buffers.iter_mut().for_each(|b| b.push(m.clone()));
        }
        let delta: Vec<AgentMessage> = task.into_iter().map(Into::into).collect();
        inner.thread.extend(delta.iter().cloned());
        inner.policy.observe(&delta);
        if let Some(reason) = inner.policy.finished(false) {
            return Ok(stop_by_policy(inner, reason).await);
        }
        if let Some(reason) = apply_termination(team, inner, &delta, false).await? {
            return Ok(reason);
        }
    }
    loop {
        let (speakers, posted) = match select(team, inner, out, cancel).await? {
            Next::Speakers { speakers, posted } => (speakers, posted),
            Next::Stop(reason) => return Ok(stop_by_policy(inner, reason).await),
        };
        let mut delta = posted;
        delta.extend(run_speakers(team, inner, &speakers, out, cancel).await?);
        if let Some(reason) = inner.policy.finished(true) {
            return Ok(stop_by_policy(inner, reason).await);
        }
        if let Some(reason) = apply_termination(team, inner, &delta, true).await? {
            return Ok(reason);
        }
    }
}

/// The policy ended the run: re-arms the termination condition and the turn count.
async fn stop_by_policy(inner: &mut Inner, reason: String) -> String {
    if let Some(t) = inner.termination.as_mut() {
        t.reset().await;
    }
    inner.current_turn = 0;
    reason
}

/// What the policy decided.
enum Next {
    /// Run these participants (by index); `posted` are the manager's own messages of this turn.
    Speakers {
        speakers: Vec<usize>,
        posted: Vec<AgentMessage>,
    },
    /// End the run with this stop reason.
    Stop(String),
}

/// Asks the policy for the next speakers (as participant indices) and logs the choice; posts
/// the manager's own messages to the conversation.
async fn select(
    team: &GroupChat,
    inner: &mut Inner,
    out: &Output,
    cancel: &CancellationToken,
) -> Result<Next, TeamError> {
    let ctx = PolicyContext {
        team: &team.name,
        participants: &team.participants,
        thread: &inner.thread,
        emit_team_events: team.emit_team_events,
    };
    let selection =
        inner
            .policy
            .select(&ctx, cancel)
            .await
            .map_err(|reason| TeamError::Selection {
                team: team.name.clone(),
                reason,
            })?;
    for e in selection.events {
        out.emit(e);
    }
    let mut posted = Vec::with_capacity(selection.messages.len());
    let count = selection.messages.len();
    for (i, m) in selection.messages.into_iter().enumerate() {
        if selection.reset_before == Some(i) {
            reset_participants(team, inner, cancel).await?;
        }
        out.emit(m.clone().into());
        inner.buffers.iter_mut().for_each(|b| b.push(m.clone()));
        let m: AgentMessage = m.into();
        inner.thread.push(m.clone());
        if inner.policy.terminates_on_manager_messages() {
            posted.push(m);
        }
    }
    if selection.reset_before.is_some_and(|i| i >= count) {
        reset_participants(team, inner, cancel).await?;
    }
    if let Some(reason) = selection.stop {
        return Ok(Next::Stop(reason));
    }
    let mut indices = Vec::with_capacity(selection.speakers.len());
    for name in &selection.speakers {
        let i = team
            .participants
            .iter()
            .position(|p| p.name() == name)
            .ok_or_else(|| TeamError::UnknownSpeaker {
                team: team.name.clone(),
                speaker: name.clone(),
            })?;
        indices.push(i);
    }
    if indices.is_empty() {
        return Err(TeamError::Selection {
            team: team.name.clone(),
            reason: "the policy selected no speaker".into(),
        });
    }
    debug!(team = %team.name, speakers = ?selection.speakers, "selected speakers");
    if team.emit_team_events {
        out.emit(AgentMessage::Event(AgentEvent::SelectSpeakerEvent(
            SelectSpeakerEvent {
                meta: MessageMeta::new(inner.policy.manager_name()),
                content: selection.speakers,
            },
        )));
    }
    Ok(Next::Speakers {
        speakers: indices,
        posted,
    })
}

/// Resets every participant, drops their unseen messages and clears the manager's thread.
async fn reset_participants(
    team: &GroupChat,
    inner: &mut Inner,
    cancel: &CancellationToken,
) -> Result<(), TeamError> {
    for p in &team.participants {
        p.on_reset(cancel.clone())
            .await
            .map_err(|source| match source {
                AgentError::Cancelled { .. } => cancelled(team),
                source => TeamError::Agent {
                    agent: p.name().to_string(),
                    source: Box::new(source),
                },
            })?;
    }
    inner.buffers.iter_mut().for_each(Vec::clear);
    inner.thread.clear();
    Ok(())
}

/// Runs the speakers concurrently, then records their messages (in the order they arrived, as
/// AutoGen's manager does) and delivers them to the others.
async fn run_speakers(
    team: &GroupChat,
    inner: &mut Inner,
    speakers: &[usize],
    out: &Output,
    cancel: &CancellationToken,
) -> Result<Vec<AgentMessage>, TeamError> {
    let arrivals = AtomicUsize::new(0);
    let turns = speakers.iter().map(|&i| {
        let input = inner.buffers[i].clone();
        let arrivals = &arrivals;
        async move {
            let agent = &team.participants[i];
            let traced = telemetry::agent_turn(agent.name(), agent.description(), out.run);
            let turn = run_speaker(agent, input, out, cancel.clone()).instrument(traced);
            let response = events::in_agent(agent.name(), turn).await;
            (arrivals.fetch_add(1, Ordering::Relaxed), i, response)
        }
    });
    let mut responses = futures::future::join_all(turns).await;
    responses.sort_by_key(|(arrival, _, _)| *arrival);
    let mut delta = Vec::new();
    let mut chats = Vec::new();
    let mut responses_at = Vec::new();
    for (_, i, response) in responses {
        let response = response.map_err(|source| match source {
            AgentError::Cancelled { .. } => cancelled(team),
            source => TeamError::Agent {
                agent: team.participants[i].name().to_string(),
                source: Box::new(source),
            },
        })?;
        inner.buffers[i].clear();
        let start = delta.len();
        delta.extend(response.inner_messages);
        delta.push(response.chat_message.clone().into());
        responses_at.push(start..delta.len());
        chats.push((i, response.chat_message));
    }
    for range in responses_at {
        inner.policy.observe(&delta[range]);
    }
    for (speaker, chat) in chats {
        for (j, buffer) in inner.buffers.iter_mut().enumerate() {
            if j != speaker {
                buffer.push(chat.clone());
            }
        }
    }
    inner.thread.extend(delta.iter().cloned());
    Ok(delta)
}

/// One participant's turn: streams its events and returns its response.
async fn run_speaker(
    agent: &Arc<dyn ChatAgent>,
    input: Vec<ChatMessage>,
    out: &Output,
    cancel: CancellationToken,
) -> Result<Response, AgentError> {
    let mut stream = agent.on_messages_stream(input, cancel);
    while let Some(item) = stream.next().await {
        match item? {
            AgentStreamItem::Event(e) => out.emit(e),
            AgentStreamItem::Response(r) => {
                out.emit(r.chat_message.clone().into());
                return Ok(r);
            }
        }
    }
    Err(AgentError::NoResponse {
        agent: agent.name().to_string(),
    })
}

/// AutoGen's `_apply_termination_condition`: checks the delta, counts the turn, enforces
/// `max_turns`; on a stop, re-arms the condition and the turn count and returns the reason.
async fn apply_termination(
    team: &GroupChat,
    inner: &mut Inner,
    delta: &[AgentMessage],
    count_turn: bool,
) -> Result<Option<String>, TeamError> {
    // The task delta (no turn counted) is kept from a policy that checks only responses.
    let check = count_turn || inner.policy.terminates_on_manager_messages();
    if check && let Some(t) = inner.termination.as_mut() {
        let stop = t
            .check(delta)
            .await
            .map_err(|source| TeamError::Termination {
                team: team.name.clone(),
                source,
            })?;
        if let Some(stop) = stop {
            t.reset().await;
            inner.current_turn = 0;
            return Ok(Some(stop.content));
        }
    }
    if count_turn {
        inner.current_turn += 1;
    }
    if let Some(max) = team.max_turns
        && inner.current_turn >= max
    {
        if let Some(t) = inner.termination.as_mut() {
            t.reset().await;
        }
        inner.current_turn = 0;
        return Ok(Some(format!("Maximum number of turns {max} reached.")));
    }
    Ok(None)
}
