//! `SpeakerPolicy`: the seam between the group-chat loop and a team type.

use async_trait::async_trait;
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use crate::agents::ChatAgent;
use crate::component::ComponentError;
use crate::messages::{AgentMessage, ChatMessage};
use std::sync::Arc;

/// What a policy sees when asked for the next speakers.
pub struct PolicyContext<'a> {
    /// The team's name.
    pub team: &'a str,
    /// The participants in order.
    pub participants: &'a [Arc<dyn ChatAgent>],
    /// The conversation so far (messages and events).
    pub thread: &'a [AgentMessage],
    /// Whether the team emits its own events (selection, selector output).
    pub emit_team_events: bool,
}

impl PolicyContext<'_> {
    /// The participants' names in order.
    pub fn names(&self) -> Vec<String> {
        self.participants
            .iter()
            .map(|p| p.name().to_string())
            .collect()
    }
}

/// The next speakers, and events the policy produced while choosing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    /// Names of the participants to run next (more than one runs them concurrently).
    pub speakers: Vec<String>,
    /// Events to emit (e.g. the selector's retry feedback).
    pub events: Vec<AgentMessage>,
    /// Messages the manager itself posts to the conversation before the speakers run (e.g. an
    /// orchestrator's plan or instruction): emitted, added to the thread and delivered to every
    /// participant.
    pub messages: Vec<ChatMessage>,
    /// Ends the run with this stop reason instead of running anyone (e.g. a graph with no more
    /// nodes to run, or an orchestrator's final answer). `speakers` is then ignored.
    pub stop: Option<String>,
    /// Before posting `messages[i]` (or after all of them when `i == messages.len()`), resets
    /// every participant (`on_reset`, unseen messages dropped) and clears the manager's thread
    /// (Magentic-One's outer loop). Messages before `i` are still emitted.
    pub reset_before: Option<usize>,
}

impl Selection {
    /// One speaker, no events.
    pub fn one(name: impl Into<String>) -> Self {
        Self {
            speakers: vec![name.into()],
            ..Self::default()
        }
    }

    /// Ends the run with `reason`.
    pub fn stop(reason: impl Into<String>) -> Self {
        Self {
            stop: Some(reason.into()),
            ..Self::default()
        }
    }
}

/// Chooses who speaks next; each team type is one (AutoGen's `select_speaker` and friends).
#[async_trait]
pub trait SpeakerPolicy: Send + Sync {
    /// AutoGen's team class name (`RoundRobinGroupChat`), used as the default team name.
    fn team_type(&self) -> &'static str;

    /// AutoGen's manager name (`RoundRobinGroupChatManager`): the source of its stop messages
    /// and the key of its state.
    fn manager_name(&self) -> &'static str;

    /// AutoGen's manager state type (`RoundRobinManagerState`).
    fn state_type(&self) -> &'static str;

    /// Checks the participant names when the team is built.
    fn check(&self, _names: &[String]) -> Result<(), String> {
        Ok(())
    }

    /// Checks the team's limits when it is built (e.g. a cyclic graph needs a termination
    /// condition or `max_turns`).
    fn check_limits(&self, _has_termination: bool, _has_max_turns: bool) -> Result<(), String> {
        Ok(())
    }

    /// Sees messages as they join the thread: the task, then, once a turn has succeeded, each
    /// speaker's response (its inner messages, then its chat message) in the order they arrived
    /// (AutoGen's `update_message_thread`).
    fn observe(&mut self, _messages: &[AgentMessage]) {}

    /// Checked after the task (`after_turn` false) and after each completed turn (true), before
    /// the termination condition: `Some(reason)` ends the run (AutoGen's GraphFlow stops when no
    /// node is ready).
    fn finished(&mut self, _after_turn: bool) -> Option<String> {
        None
    }

    /// Checks the task messages (or the resumed conversation when there are none).
    fn validate(&self, _ctx: &PolicyContext<'_>, _task: &[ChatMessage]) -> Result<(), String> {
        Ok(())
    }

    /// Receives the task messages of a run after `validate` (empty when resuming).
    fn on_task(&mut self, _task: &[ChatMessage]) {}

    /// Whether the termination condition checks the task and the manager's own messages too
    /// (AutoGen's Magentic-One orchestrator checks only the participants' responses).
    fn terminates_on_manager_messages(&self) -> bool {
        true
    }

    /// Chooses the next speakers.
    async fn select(
        &mut self,
        ctx: &PolicyContext<'_>,
        cancel: &CancellationToken,
    ) -> Result<Selection, String>;

    /// Forgets the conversation.
    fn reset(&mut self);

    /// The policy's own fields of the manager state.
    fn save_state(&self) -> Map<String, Value> {
        Map::new()
    }

    /// The policy's own fields of the team's component config.
    fn dump_config(&self) -> Result<Map<String, Value>, ComponentError> {
        Ok(Map::new())
    }

    /// Restores the fields `save_state` produced.
    fn load_state(&mut self, _state: &Map<String, Value>) -> Result<(), String> {
        Ok(())
    }
}
