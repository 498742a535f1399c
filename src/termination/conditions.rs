//! The built-in conditions, with AutoGen 0.7.5's stop-reason strings and component configs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{TerminationCondition, TerminationError, already, stop};
use crate::component::{ComponentError, ComponentModel, component};
use crate::messages::{AgentEvent, AgentMessage, ChatMessage, TextBody};

const PREFIX: &str = "autogen_agentchat.conditions.";

fn dump(name: &str, config: &impl Serialize) -> Result<ComponentModel, ComponentError> {
    component(&format!("{PREFIX}{name}"), "termination", 1, config)
}

/// Stops once `max_messages` chat messages (optionally events too) have been seen.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MaxMessageTermination {
    max_messages: usize,
    #[serde(default)]
    include_agent_event: bool,
    #[serde(skip)]
    count: usize,
}

impl MaxMessageTermination {
    /// Stops after `max_messages` chat messages.
    pub fn new(max_messages: usize) -> Self {
        Self {
            max_messages,
            include_agent_event: false,
            count: 0,
        }
    }

    /// Counts agent events as well.
    pub fn including_events(mut self) -> Self {
        self.include_agent_event = true;
        self
    }
}

#[async_trait]
impl TerminationCondition for MaxMessageTermination {
    fn name(&self) -> &'static str {
        "MaxMessageTermination"
    }

    fn terminated(&self) -> bool {
        self.count >= self.max_messages
    }

    async fn check(&mut self, msgs: &[AgentMessage]) -> Result<Option<TextBody>, TerminationError> {
        if self.terminated() {
            return Err(already(self.name()));
        }
        self.count += msgs
            .iter()
            .filter(|m| self.include_agent_event || m.as_chat().is_some())
            .count();
        Ok(self.terminated().then(|| {
            format!(
                "Maximum number of messages {} reached, current message count: {}",
                self.max_messages, self.count
            )
        }))
        .map(|c| c.and_then(|c| stop(self.name(), c)))
    }

    async fn reset(&mut self) {
        self.count = 0;
    }

    fn dump_component(&self) -> Result<ComponentModel, ComponentError> {
        dump(self.name(), self)
    }
}

/// Stops when a message's text contains `text` (only from `sources`, if given).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TextMentionTermination {
    text: String,
    #[serde(skip)]
    sources: Option<Vec<String>>,
    #[serde(skip)]
    terminated: bool,
}

impl TextMentionTermination {
    /// Stops when `text` is mentioned.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            sources: None,
            terminated: false,
        }
    }

    /// Only looks at messages from these sources.
    pub fn with_sources(mut self, sources: Vec<String>) -> Self {
        self.sources = Some(sources);
        self
    }
}

#[async_trait]
impl TerminationCondition for TextMentionTermination {
    fn name(&self) -> &'static str {
        "TextMentionTermination"
    }

    fn terminated(&self) -> bool {
        self.terminated
    }

    async fn check(&mut self, msgs: &[AgentMessage]) -> Result<Option<TextBody>, TerminationError> {
        if self.terminated {
            return Err(already(self.name()));
        }
        let hit = msgs.iter().any(|m| {
            self.sources
                .as_ref()
                .is_none_or(|s| s.iter().any(|s| s == m.source()))
                && m.to_text().contains(&self.text)
        });
        self.terminated = hit;
        Ok(hit
            .then(|| stop(self.name(), format!("Text '{}' mentioned", self.text)))
            .flatten())
    }

    async fn reset(&mut self) {
        self.terminated = false;
    }

    fn dump_component(&self) -> Result<ComponentModel, ComponentError> {
        dump(self.name(), &json!({ "text": self.text }))
    }
}

/// Stops when token usage reaches any of the limits.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TokenUsageTermination {
    max_total_token: Option<u64>,
    max_prompt_token: Option<u64>,
    max_completion_token: Option<u64>,
    #[serde(skip)]
    counts: (u64, u64, u64),
}

impl TokenUsageTermination {
    /// Limits on total, prompt and completion tokens; at least one must be set.
    pub fn new(
        max_total_token: Option<u64>,
        max_prompt_token: Option<u64>,
        max_completion_token: Option<u64>,
    ) -> Result<Self, TerminationError> {
        if max_total_token.is_none() && max_prompt_token.is_none() && max_completion_token.is_none()
        {
            return Err(TerminationError::Invalid {
                condition: "TokenUsageTermination".into(),
                reason: "At least one of max_total_token, max_prompt_token, or max_completion_token must be provided".into(),
            });
        }
        Ok(Self {
            max_total_token,
            max_prompt_token,
            max_completion_token,
            counts: (0, 0, 0),
        })
    }
}

#[async_trait]
impl TerminationCondition for TokenUsageTermination {
    fn name(&self) -> &'static str {
        "TokenUsageTermination"
    }

    fn terminated(&self) -> bool {
        let (total, prompt, completion) = self.counts;
        self.max_total_token.is_some_and(|m| total >= m)
            || self.max_prompt_token.is_some_and(|m| prompt >= m)
            || self.max_completion_token.is_some_and(|m| completion >= m)
    }

    async fn check(&mut self, msgs: &[AgentMessage]) -> Result<Option<TextBody>, TerminationError> {
        if self.terminated() {
            return Err(already(self.name()));
        }
        for usage in msgs.iter().filter_map(|m| m.models_usage()) {
            self.counts.0 += usage.prompt_tokens + usage.completion_tokens;
            self.counts.1 += usage.prompt_tokens;
            self.counts.2 += usage.completion_tokens;
        }
        let (t, p, c) = self.counts;
        Ok(self.terminated().then(|| {
            format!("Token usage limit reached, total token count: {t}, prompt token count: {p}, completion token count: {c}.")
        }).and_then(|c| stop(self.name(), c)))
    }

    async fn reset(&mut self) {
        self.counts = (0, 0, 0);
    }

    fn dump_component(&self) -> Result<ComponentModel, ComponentError> {
        dump(self.name(), self)
    }
}

/// Stops once `timeout_seconds` have passed since creation or the last reset.
#[derive(Debug, Clone)]
pub struct TimeoutTermination {
    timeout_seconds: f64,
    start: Instant,
    terminated: bool,
}

impl TimeoutTermination {
    /// Stops after this many seconds.
    pub fn new(timeout_seconds: f64) -> Self {
        Self {
            timeout_seconds,
            start: Instant::now(),
            terminated: false,
        }
    }
}

/// Formats a float as Python's `str(float)` does for ordinary values (`30.0`, `0.5`).
fn py_float(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e16 {
        format!("{v:.1}")
    } else {
        v.to_string()
    }
}

#[async_trait]
impl TerminationCondition for TimeoutTermination {
    fn name(&self) -> &'static str {
        "TimeoutTermination"
    }

    fn terminated(&self) -> bool {
        self.terminated
    }

    async fn check(&mut self, _: &[AgentMessage]) -> Result<Option<TextBody>, TerminationError> {
        if self.terminated {
            return Err(already(self.name()));
        }
        let limit = Duration::try_from_secs_f64(self.timeout_seconds).unwrap_or(Duration::ZERO);
        if self.start.elapsed() < limit {
            return Ok(None);
        }
        self.terminated = true;
        let text = format!(
            "Timeout of {} seconds reached",
            py_float(self.timeout_seconds)
        );
        Ok(stop(self.name(), text))
    }

    async fn reset(&mut self) {
        self.start = Instant::now();
        self.terminated = false;
    }

    fn dump_component(&self) -> Result<ComponentModel, ComponentError> {
        dump(
            self.name(),
            &json!({ "timeout_seconds": self.timeout_seconds }),
        )
    }
}

/// Generates a simple "first matching message" condition with a one-field config.
macro_rules! match_condition {
    ($(#[$doc:meta])* $ty:ident { $field:ident : $fty:ty }, |$s:ident, $m:ident| $test:expr, |$s2:ident, $m2:ident| $text:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $ty {
            $field: $fty,
            terminated: bool,
        }

        impl $ty {
            /// A new condition.
            pub fn new($field: $fty) -> Self {
                Self { $field, terminated: false }
            }
        }

        #[async_trait]
        impl TerminationCondition for $ty {
            fn name(&self) -> &'static str {
                stringify!($ty)
            }

            fn terminated(&self) -> bool {
                self.terminated
            }

            async fn check(&mut self, msgs: &[AgentMessage]) -> Result<Option<TextBody>, TerminationError> {
                if self.terminated {
                    return Err(already(self.name()));
                }
                let $s = &*self;
                let Some($m2) = msgs.iter().find(|$m| $test) else {
                    return Ok(None);
                };
                let $s2 = &*self;
                let text: String = $text;
                self.terminated = true;
                Ok(stop(self.name(), text))
            }

            async fn reset(&mut self) {
                self.terminated = false;
            }

            fn dump_component(&self) -> Result<ComponentModel, ComponentError> {
                dump(self.name(), &json!({ stringify!($field): self.$field }))
            }
        }
    };
}

match_condition!(
    /// Stops on a HandoffMessage to `target`.
    HandoffTermination { target: String },
    |s, m| matches!(m, AgentMessage::Chat(ChatMessage::HandoffMessage(h)) if h.target == s.target),
    |s, m| format!("Handoff to {} from {} detected.", s.target, m.source())
);

match_condition!(
    /// Stops when one of `sources` produced a message.
    SourceMatchTermination { sources: Vec<String> },
    |s, m| s.sources.iter().any(|x| x == m.source()),
    |_s, m| format!("'{}' answered", m.source())
);

match_condition!(
    /// Stops on a TextMessage (from `source`, if given).
    TextMessageTermination { source: Option<String> },
    |s, m| matches!(m, AgentMessage::Chat(ChatMessage::TextMessage(t)) if s.source.as_ref().is_none_or(|x| *x == t.meta.source)),
    |_s, m| format!("Text message received from '{}'", m.source())
);

match_condition!(
    /// Stops once a tool named `function_name` was executed.
    FunctionCallTermination { function_name: String },
    |s, m| matches!(m, AgentMessage::Event(AgentEvent::ToolCallExecutionEvent(e)) if e.content.iter().any(|r| r.name == s.function_name)),
    |s, _m| format!("Function '{}' was executed.", s.function_name)
);

/// Stops on a StopMessage.
#[derive(Debug, Clone, Default)]
pub struct StopMessageTermination {
    terminated: bool,
}

impl StopMessageTermination {
    /// A new condition.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl TerminationCondition for StopMessageTermination {
    fn name(&self) -> &'static str {
        "StopMessageTermination"
    }

    fn terminated(&self) -> bool {
        self.terminated
    }

    async fn check(&mut self, msgs: &[AgentMessage]) -> Result<Option<TextBody>, TerminationError> {
        if self.terminated {
            return Err(already(self.name()));
        }
        let hit = msgs
            .iter()
            .any(|m| matches!(m, AgentMessage::Chat(ChatMessage::StopMessage(_))));
        self.terminated = hit;
        Ok(hit
            .then(|| stop(self.name(), "Stop message received".into()))
            .flatten())
    }

    async fn reset(&mut self) {
        self.terminated = false;
    }

    fn dump_component(&self) -> Result<ComponentModel, ComponentError> {
        dump(self.name(), &json!({}))
    }
}

/// An async predicate over the delta.
pub type TerminationFn =
    Arc<dyn Fn(Vec<AgentMessage>) -> BoxFuture<'static, bool> + Send + Sync + 'static>;

/// Stops when a function of the delta returns true (no component config, as in AutoGen).
#[derive(Clone)]
pub struct FunctionalTermination {
    func: TerminationFn,
    terminated: bool,
}

impl std::fmt::Debug for FunctionalTermination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FunctionalTermination")
    }
}

impl FunctionalTermination {
    /// A condition from a synchronous predicate.
    pub fn new(func: impl Fn(&[AgentMessage]) -> bool + Send + Sync + 'static) -> Self {
        let func = Arc::new(func);
        Self::new_async(move |msgs| {
            let hit = func(&msgs);
            Box::pin(async move { hit })
        })
    }

    /// A condition from an async predicate.
    pub fn new_async(
        func: impl Fn(Vec<AgentMessage>) -> BoxFuture<'static, bool> + Send + Sync + 'static,
    ) -> Self {
        Self {
            func: Arc::new(func),
            terminated: false,
        }
    }
}

#[async_trait]
impl TerminationCondition for FunctionalTermination {
    fn name(&self) -> &'static str {
        "FunctionalTermination"
    }

    fn terminated(&self) -> bool {
        self.terminated
    }

    async fn check(&mut self, msgs: &[AgentMessage]) -> Result<Option<TextBody>, TerminationError> {
        if self.terminated {
            return Err(already(self.name()));
        }
        self.terminated = (self.func)(msgs.to_vec()).await;
        Ok(self
            .terminated
            .then(|| stop(self.name(), "Functional termination condition met".into()))
            .flatten())
    }

    async fn reset(&mut self) {
        self.terminated = false;
    }

    fn dump_component(&self) -> Result<ComponentModel, ComponentError> {
        Err(ComponentError::NotSerialisable {
            what: "FunctionalTermination".into(),
            reason: "it wraps a Rust function".into(),
        })
    }
}
