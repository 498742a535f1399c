//! `Swarm`: the speaker is whoever the last `HandoffMessage` targets (AutoGen `Swarm`).

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use super::group_chat::{GroupChat, GroupChatBuilder, PolicyContext, Selection, SpeakerPolicy};
use crate::agents::ChatAgent;
use crate::messages::{AgentMessage, ChatMessage};

/// The swarm policy: the current speaker keeps the floor until it hands off.
#[derive(Debug, Clone, Default)]
pub struct Swarm {
    /// Empty until the first turn (then the first participant).
    current_speaker: String,
}

impl Swarm {
    /// A policy starting with the first participant.
    pub fn new() -> Self {
        Self::default()
    }
}

impl GroupChat {
    /// A `Swarm` of these participants; the first one speaks first.
    pub fn swarm(participants: Vec<Arc<dyn ChatAgent>>) -> GroupChatBuilder {
        GroupChat::builder(participants, Swarm::new())
    }
}

fn last_handoff(thread: &[AgentMessage]) -> Option<&str> {
    thread.iter().rev().find_map(|m| match m {
        AgentMessage::Chat(ChatMessage::HandoffMessage(h)) => Some(h.target.as_str()),
        _ => None,
    })
}

#[async_trait]
impl SpeakerPolicy for Swarm {
    fn team_type(&self) -> &'static str {
        "Swarm"
    }

    fn manager_name(&self) -> &'static str {
        "SwarmGroupChatManager"
    }

    fn state_type(&self) -> &'static str {
        "SwarmManagerState"
    }

    fn validate(&self, ctx: &PolicyContext<'_>, task: &[ChatMessage]) -> Result<(), String> {
        let names = ctx.names();
        for m in task {
            if let ChatMessage::HandoffMessage(h) = m {
                if !names.contains(&h.target) {
                    return Err(format!(
                        "The target {} is not one of the participants {names:?}. If you are \
                         resuming Swarm with a new HandoffMessage make sure to set the target to \
                         a valid participant as the target.",
                        h.target
                    ));
                }
                return Ok(());
            }
        }
        match last_handoff(ctx.thread) {
            Some(target) if !names.iter().any(|n| n == target) => Err(format!(
                "The existing handoff target {target} is not one of the participants {names:?}. \
                 If you are resuming Swarm with a new task make sure to include in your task a \
                 HandoffMessage with a valid participant as the target. For example, if you are \
                 resuming from a HandoffTermination, make sure the new task is a HandoffMessage \
                 with a valid participant as the target."
            )),
            _ => Ok(()),
        }
    }

    async fn select(
        &mut self,
        ctx: &PolicyContext<'_>,
        _cancel: &CancellationToken,
    ) -> Result<Selection, String> {
        if self.current_speaker.is_empty() {
            let first = ctx.participants.first().ok_or("no participants")?;
            self.current_speaker = first.name().to_string();
        }
        if let Some(target) = last_handoff(ctx.thread) {
            self.current_speaker = target.to_string();
        }
        Ok(Selection::one(self.current_speaker.clone()))
    }

    fn reset(&mut self) {
        self.current_speaker.clear();
    }

    fn save_state(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("current_speaker".into(), json!(self.current_speaker));
        m
    }

    fn load_state(&mut self, state: &Map<String, Value>) -> Result<(), String> {
        self.current_speaker = state
            .get("current_speaker")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        Ok(())
    }
}
