//! The one group-chat loop: a `GroupChat` holds participants, a `SpeakerPolicy`, a termination
//! condition and the conversation; every team type is a policy plugged into it.

mod policy;
mod run;
mod state;

use std::collections::HashSet;
use std::sync::Arc;

use futures::StreamExt;
use futures::stream::BoxStream;
use serde_json::Value;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

pub use policy::{PolicyContext, Selection, SpeakerPolicy};

use super::TeamError;
use crate::agents::{ChatAgent, RunItem, Task};
use crate::component::{ComponentError, ComponentModel, component};
use crate::messages::{AgentMessage, ChatMessage, TaskResult};
use crate::termination::{Termination, TerminationCondition};

/// A stream of team messages and events ending with the task result.
pub type TeamStream<'a> = BoxStream<'a, Result<RunItem, TeamError>>;

/// A team: participants taking turns as the speaker policy decides (AutoGen `BaseGroupChat`).
pub struct GroupChat {
    name: String,
    description: String,
    participants: Vec<Arc<dyn ChatAgent>>,
    max_turns: Option<usize>,
    emit_team_events: bool,
    inner: Mutex<Inner>,
}

/// The mutable part of a team, held for the length of a run.
struct Inner {
    policy: Box<dyn SpeakerPolicy>,
    termination: Option<Termination>,
    /// Every message and event of the conversation (AutoGen's manager `message_thread`).
    thread: Vec<AgentMessage>,
    /// Messages each participant has not seen yet, by participant index.
    buffers: Vec<Vec<ChatMessage>>,
    /// Turns taken since the last termination.
    current_turn: usize,
}

/// Builds a `GroupChat`.
pub struct GroupChatBuilder {
    name: Option<String>,
    description: String,
    participants: Vec<Arc<dyn ChatAgent>>,
    policy: Box<dyn SpeakerPolicy>,
    termination: Option<Termination>,
    max_turns: Option<usize>,
    emit_team_events: bool,
}

impl GroupChatBuilder {
    /// The team's name (defaults to the policy's team type name).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// What the team does.
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = d.into();
        self
    }

    /// Stops the run when the condition fires (checked on each turn's delta).
    pub fn termination(mut self, t: impl Into<Termination>) -> Self {
        self.termination = Some(t.into());
        self
    }

    /// Stops the run after this many turns.
    pub fn max_turns(mut self, n: usize) -> Self {
        self.max_turns = Some(n);
        self
    }

    /// Emits a `SelectSpeakerEvent` before each turn.
    pub fn emit_team_events(mut self, on: bool) -> Self {
        self.emit_team_events = on;
        self
    }

    /// Checks the participants and builds the team.
    pub fn build(self) -> Result<GroupChat, TeamError> {
        let name = self
            .name
            .unwrap_or_else(|| self.policy.team_type().to_string());
        let config = |reason: String| TeamError::Config {
            team: name.clone(),
            reason,
        };
        if self.participants.is_empty() {
            return Err(config("at least one participant is required".into()));
        }
        let mut seen = HashSet::new();
        for p in &self.participants {
            if !seen.insert(p.name().to_string()) {
                return Err(config(format!(
                    "participant names must be unique: `{}`",
                    p.name()
                )));
            }
        }
        if self.max_turns == Some(0) {
            return Err(config("max_turns must be greater than 0".into()));
        }
        let names: Vec<String> = self.participants.iter().map(|p| p.name().into()).collect();
        self.policy.check(&names).map_err(config)?;
        self.policy
            .check_limits(self.termination.is_some(), self.max_turns.is_some())
            .map_err(config)?;
        let buffers = vec![Vec::new(); self.participants.len()];
        Ok(GroupChat {
            name,
            description: self.description,
            participants: self.participants,
            max_turns: self.max_turns,
            emit_team_events: self.emit_team_events,
            inner: Mutex::new(Inner {
                policy: self.policy,
                termination: self.termination,
                thread: Vec::new(),
                buffers,
                current_turn: 0,
            }),
        })
    }
}

impl GroupChat {
    /// Starts building a team of these participants driven by `policy`.
    pub fn builder(
        participants: Vec<Arc<dyn ChatAgent>>,
        policy: impl SpeakerPolicy + 'static,
    ) -> GroupChatBuilder {
        GroupChatBuilder {
            name: None,
            description: "A team of agents.".into(),
            participants,
            policy: Box::new(policy),
            termination: None,
            max_turns: None,
            emit_team_events: false,
        }
    }

    /// The team's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the team does.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The participants in order.
    pub fn participants(&self) -> &[Arc<dyn ChatAgent>] {
        &self.participants
    }

    /// The turn limit, if any.
    pub fn max_turns(&self) -> Option<usize> {
        self.max_turns
    }

    /// Runs a task (or resumes with `Task::None`), streaming messages and events, ending with
    /// the `TaskResult`. Dropping the stream or cancelling `cancel` leaves the team resumable.
    pub fn run_stream<'a>(&'a self, task: Task, cancel: CancellationToken) -> TeamStream<'a> {
        run::run_stream(self, task, cancel)
    }

    /// Runs a task and returns the `TaskResult`.
    pub async fn run(
        &self,
        task: Task,
        cancel: CancellationToken,
    ) -> Result<TaskResult, TeamError> {
        let mut stream = self.run_stream(task, cancel);
        while let Some(item) = stream.next().await {
            if let RunItem::Result(r) = item? {
                return Ok(r);
            }
        }
        Err(TeamError::Cancelled {
            team: self.name.clone(),
        })
    }

    /// Forgets the conversation: participants, policy, termination condition and turn count.
    pub async fn reset(&self) -> Result<(), TeamError> {
        let mut inner = self.lock()?;
        for p in &self.participants {
            p.on_reset(CancellationToken::new())
                .await
                .map_err(|source| TeamError::Agent {
                    agent: p.name().to_string(),
                    source: Box::new(source),
                })?;
        }
        inner.thread.clear();
        inner.buffers.iter_mut().for_each(Vec::clear);
        inner.current_turn = 0;
        inner.policy.reset();
        if let Some(t) = inner.termination.as_mut() {
            t.reset().await;
        }
        Ok(())
    }

    /// The team's state in AutoGen's `TeamState` shape (participants and manager).
    pub async fn save_state(&self) -> Result<Value, TeamError> {
        let inner = self.lock()?;
        state::save(self, &inner).await
    }

    /// Restores what `save_state` produced (also AutoGen's `TeamState` JSON).
    pub async fn load_state(&self, value: &Value) -> Result<(), TeamError> {
        let mut inner = self.lock()?;
        state::load(self, &mut inner, value).await
    }

    /// Whether the termination condition has fired and not been reset.
    pub async fn terminated(&self) -> bool {
        let inner = self.inner.lock().await;
        inner.termination.as_ref().is_some_and(|t| t.terminated())
    }

    /// The component config that recreates the team (AutoGen's provider names and shape).
    pub fn dump_component(&self) -> Result<ComponentModel, ComponentError> {
        let inner = self
            .inner
            .try_lock()
            .map_err(|_| ComponentError::NotSerialisable {
                what: self.name.clone(),
                reason: "the team is running".into(),
            })?;
        let participants = self
            .participants
            .iter()
            .map(|p| p.dump_component())
            .collect::<Result<Vec<_>, _>>()?;
        let termination = inner
            .termination
            .as_ref()
            .map(|t| t.dump_component())
            .transpose()?;
        let mut config = serde_json::Map::new();
        config.insert("name".into(), serde_json::json!(self.name));
        config.insert("description".into(), serde_json::json!(self.description));
        config.insert("participants".into(), serde_json::json!(participants));
        config.insert(
            "termination_condition".into(),
            serde_json::json!(termination),
        );
        config.insert("max_turns".into(), serde_json::json!(self.max_turns));
        config.insert(
            "emit_team_events".into(),
            serde_json::json!(self.emit_team_events),
        );
        config.extend(inner.policy.dump_config()?);
        let provider = format!("autogen_agentchat.teams.{}", inner.policy.team_type());
        component(&provider, "team", 1, &config)
    }

    fn lock(&self) -> Result<tokio::sync::MutexGuard<'_, Inner>, TeamError> {
        self.inner
            .try_lock()
            .map_err(|_| TeamError::AlreadyRunning {
                team: self.name.clone(),
            })
    }
}
