//! `MessageFilterAgent`: wraps an agent and hands it only some of its new messages, chosen per
//! source (first or last N), as AutoGen 0.7.5's `MessageFilterAgent` with `MessageFilterConfig`.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::{AgentError, AgentStream, ChatAgent, LoadOptions, Response, load_agent};
use crate::component::{ComponentError, ComponentModel, component, parse_config};
use crate::messages::ChatMessage;

/// AutoGen's provider name.
pub const MESSAGE_FILTER_PROVIDER: &str = "autogen_agentchat.agents.MessageFilterAgent";

/// Which end of a source's messages to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Position {
    /// The first `count`.
    First,
    /// The last `count`.
    Last,
}

/// The messages to keep from one source (AutoGen `PerSourceFilter`): all of them unless both
/// `position` and a non-zero `count` are given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PerSourceFilter {
    /// The messages' `source`.
    pub source: String,
    /// Keep the first or the last messages.
    #[serde(default)]
    pub position: Option<Position>,
    /// How many to keep.
    #[serde(default)]
    pub count: Option<usize>,
}

impl PerSourceFilter {
    /// Every message from `source`.
    pub fn all(source: impl Into<String>) -> Self {
        Self {
            source: source.into(),
            position: None,
            count: None,
        }
    }

    /// The first `count` messages from `source`.
    pub fn first(source: impl Into<String>, count: usize) -> Self {
        Self {
            source: source.into(),
            position: Some(Position::First),
            count: Some(count),
        }
    }

    /// The last `count` messages from `source`.
    pub fn last(source: impl Into<String>, count: usize) -> Self {
        Self {
            source: source.into(),
            position: Some(Position::Last),
            count: Some(count),
        }
    }
}

/// The filter: one entry per source, applied in order (AutoGen `MessageFilterConfig`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageFilterConfig {
    /// The per-source filters; sources not listed are dropped.
    pub per_source: Vec<PerSourceFilter>,
}

impl MessageFilterConfig {
    /// A filter of these entries.
    pub fn new(per_source: Vec<PerSourceFilter>) -> Self {
        Self { per_source }
    }

    /// The kept messages: for each entry in order, that source's messages (first / last N).
    pub fn apply(&self, messages: &[ChatMessage]) -> Vec<ChatMessage> {
        let mut kept = Vec::new();
        for f in &self.per_source {
            let from: Vec<&ChatMessage> =
                messages.iter().filter(|m| m.source() == f.source).collect();
            let slice: &[&ChatMessage] = match (f.position, f.count) {
                (Some(Position::First), Some(n)) if n > 0 => &from[..n.min(from.len())],
                (Some(Position::Last), Some(n)) if n > 0 => &from[from.len().saturating_sub(n)..],
                _ => &from,
            };
            kept.extend(slice.iter().map(|m| (*m).clone()));
        }
        kept
    }
}

/// AutoGen's `MessageFilterAgentConfig`.
#[derive(Serialize, Deserialize)]
struct Config {
    name: String,
    wrapped_agent: ComponentModel,
    filter: MessageFilterConfig,
}

/// An agent that filters its new messages before its wrapped agent sees them.
pub struct MessageFilterAgent {
    name: String,
    description: String,
    wrapped: Arc<dyn ChatAgent>,
    filter: MessageFilterConfig,
}

impl MessageFilterAgent {
    /// Wraps `wrapped` under `name` with `filter` (description: the wrapped one's, as AutoGen).
    pub fn new(
        name: impl Into<String>,
        wrapped: Arc<dyn ChatAgent>,
        filter: MessageFilterConfig,
    ) -> Self {
        Self {
            name: name.into(),
            description: format!("{} (with message filtering)", wrapped.description()),
            wrapped,
            filter,
        }
    }

    /// The filter.
    pub fn filter(&self) -> &MessageFilterConfig {
        &self.filter
    }

    /// The wrapped agent.
    pub fn wrapped(&self) -> &Arc<dyn ChatAgent> {
        &self.wrapped
    }

    /// From its component config (the wrapped agent loaded with `options`).
    pub fn from_component(
        model: &ComponentModel,
        options: &LoadOptions,
    ) -> Result<Self, ComponentError> {
        let c: Config = parse_config(model)?;
        let wrapped = load_agent(&c.wrapped_agent, options)?;
        Ok(Self::new(c.name, wrapped, c.filter))
    }
}

#[async_trait]
impl ChatAgent for MessageFilterAgent {
    fn name(&self) -> &str {
        &self.name
    }

    fn description(&self) -> &str {
        &self.description
    }

    fn produced_message_types(&self) -> Vec<&'static str> {
        self.wrapped.produced_message_types()
    }

    fn on_messages_stream<'a>(
        &'a self,
        messages: Vec<ChatMessage>,
        cancel: CancellationToken,
    ) -> AgentStream<'a> {
        let kept = self.filter.apply(&messages);
        tracing::debug!(agent = %self.name, given = messages.len(), kept = kept.len(), "filtered messages");
        self.wrapped.on_messages_stream(kept, cancel)
    }

    async fn on_messages(
        &self,
        messages: Vec<ChatMessage>,
        cancel: CancellationToken,
    ) -> Result<Response, AgentError> {
        let kept = self.filter.apply(&messages);
        self.wrapped.on_messages(kept, cancel).await
    }

    async fn on_reset(&self, cancel: CancellationToken) -> Result<(), AgentError> {
        self.wrapped.on_reset(cancel).await
    }

    /// The wrapped agent's state (AutoGen saves only a `BaseState` here, which loses the
    /// wrapped agent's context on resume; such a state is accepted by `load_state`).
    async fn save_state(&self) -> Result<Value, AgentError> {
        self.wrapped.save_state().await
    }

    async fn load_state(&self, state: &Value) -> Result<(), AgentError> {
        if state.get("type").and_then(Value::as_str) == Some("BaseState") {
            return Ok(());
        }
        self.wrapped.load_state(state).await
    }

    async fn close(&self) -> Result<(), AgentError> {
        self.wrapped.close().await
    }

    fn dump_component(&self) -> Result<ComponentModel, ComponentError> {
        component(
            MESSAGE_FILTER_PROVIDER,
            "agent",
            1,
            &Config {
                name: self.name.clone(),
                wrapped_agent: self.wrapped.dump_component()?,
                filter: self.filter.clone(),
            },
        )
    }
}
