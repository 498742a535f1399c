//! `RoundRobin`: participants speak in turn (AutoGen `RoundRobinGroupChat`).

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use super::group_chat::{GroupChat, GroupChatBuilder, PolicyContext, Selection, SpeakerPolicy};
use crate::agents::ChatAgent;

/// The round-robin policy: the next index, wrapping around.
#[derive(Debug, Clone, Default)]
pub struct RoundRobin {
    next_speaker_index: usize,
}

impl RoundRobin {
    /// A policy starting with the first participant.
    pub fn new() -> Self {
        Self::default()
    }
}

impl GroupChat {
    /// A `RoundRobinGroupChat` of these participants.
    pub fn round_robin(participants: Vec<Arc<dyn ChatAgent>>) -> GroupChatBuilder {
        GroupChat::builder(participants, RoundRobin::new())
    }
}

#[async_trait]
impl SpeakerPolicy for RoundRobin {
    fn team_type(&self) -> &'static str {
        "RoundRobinGroupChat"
    }

    fn manager_name(&self) -> &'static str {
        "RoundRobinGroupChatManager"
    }

    fn state_type(&self) -> &'static str {
        "RoundRobinManagerState"
    }

    async fn select(
        &mut self,
        ctx: &PolicyContext<'_>,
        _cancel: &CancellationToken,
    ) -> Result<Selection, String> {
        let count = ctx.participants.len().max(1);
        let current = self.next_speaker_index % count;
        self.next_speaker_index = (current + 1) % count;
        let speaker = ctx
            .participants
            .get(current)
            .ok_or_else(|| "no participants".to_string())?;
        Ok(Selection::one(speaker.name()))
    }

    fn reset(&mut self) {
        self.next_speaker_index = 0;
    }

    fn save_state(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("next_speaker_index".into(), json!(self.next_speaker_index));
        m
    }

    fn load_state(&mut self, state: &Map<String, Value>) -> Result<(), String> {
        let i = state
            .get("next_speaker_index")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        self.next_speaker_index = usize::try_from(i).map_err(|e| e.to_string())?;
        Ok(())
    }
}
