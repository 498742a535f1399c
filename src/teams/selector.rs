//! `Selector`: a model picks the next speaker from a prompt (AutoGen `SelectorGroupChat`), with
//! AutoGen's retry feedback, candidate filter and selector-function overrides.

use crate::models::complete;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::group_chat::{GroupChat, GroupChatBuilder, PolicyContext, Selection, SpeakerPolicy};
use crate::agents::ChatAgent;
use crate::component::ComponentError;

use crate::messages::{AgentEvent, AgentMessage, ChatMessage, ChunkEvent, MessageMeta, TextBody};
use crate::model_context::ChatCompletionContext;
use crate::models::{
    AssistantContent, ChatCompletionClient, CreateRequest, CreateResult, FunctionCall, LlmMessage,
    model_client_config,
};

/// AutoGen's default selector prompt.
pub const DEFAULT_SELECTOR_PROMPT: &str = "You are in a role play game. The following roles are available:
{roles}.
Read the following conversation. Then select the next role from {participants} to play. Only return the role.

{history}

Read the above conversation. Then select the next role from {participants} to play. Only return the role.
";

/// Overrides model selection: `Some(name)` picks the speaker, `None` falls back to the model.
pub type SelectorFn = Arc<dyn Fn(&[AgentMessage]) -> Option<String> + Send + Sync>;

/// Narrows the names the model may choose from.
pub type CandidateFn = Arc<dyn Fn(&[AgentMessage]) -> Vec<String> + Send + Sync>;

/// The selector policy.
#[derive(Clone)]
pub struct Selector {
    client: Arc<dyn ChatCompletionClient>,
    prompt: String,
    allow_repeated_speaker: bool,
    max_selector_attempts: usize,
    selector_fn: Option<SelectorFn>,
    candidate_fn: Option<CandidateFn>,
    streaming: bool,
    previous_speaker: Option<String>,
    /// Where the selector keeps the conversation it shows the model (AutoGen's selector
    /// `model_context`); `None`: the whole transcript.
    model_context: Option<Arc<dyn ChatCompletionContext>>,
    /// How many thread entries are already in `model_context`.
    in_context: usize,
    /// The thread was reset or reloaded: rebuild `model_context` from it before the next use.
    resync: bool,
}

impl Selector {
    /// A selector asking `client` with AutoGen's defaults (3 attempts, no repeated speaker).
    pub fn new(client: Arc<dyn ChatCompletionClient>) -> Self {
        Self {
            client,
            prompt: DEFAULT_SELECTOR_PROMPT.to_string(),
            allow_repeated_speaker: false,
            max_selector_attempts: 3,
            selector_fn: None,
            candidate_fn: None,
            streaming: false,
            previous_speaker: None,
            model_context: None,
            in_context: 0,
            resync: false,
        }
    }

    /// Keeps the history shown to the selector model in `context` (e.g. a buffered context to show
    /// only the last messages). It may be preloaded; a reset clears it.
    pub fn model_context(mut self, context: Arc<dyn ChatCompletionContext>) -> Self {
        self.model_context = Some(context);
        self
    }

    /// Brings the model context up to date with the thread and renders the `{history}` text.
    async fn history_text(&mut self, thread: &[AgentMessage]) -> String {
        let Some(context) = &self.model_context else {
            return history(thread);
        };
        if self.resync {
            context.clear().await;
            self.in_context = 0;
            self.resync = false;
        }
        for m in thread
            .iter()
            .skip(self.in_context)
            .filter_map(AgentMessage::as_chat)
        {
            if let ChatMessage::HandoffMessage(h) = m {
                for llm in &h.context {
                    context.add_message(llm.clone()).await;
                }
            }
            context.add_message(m.to_model_message()).await;
        }
        self.in_context = thread.len();
        context_history(&context.get_messages().await)
    }

    /// The prompt template (`{roles}`, `{participants}`, `{history}`).
    pub fn selector_prompt(mut self, prompt: impl Into<String>) -> Self {
        self.prompt = prompt.into();
        self
    }

    /// Lets the previous speaker be chosen again.
    pub fn allow_repeated_speaker(mut self, on: bool) -> Self {
        self.allow_repeated_speaker = on;
        self
    }

    /// How many times the model is asked before falling back.
    pub fn max_selector_attempts(mut self, n: usize) -> Self {
        self.max_selector_attempts = n;
        self
    }

    /// Streams the selector's model calls (chunks and a `SelectorEvent` are emitted when the
    /// team emits team events).
    pub fn model_client_streaming(mut self, on: bool) -> Self {
        self.streaming = on;
        self
    }

    /// A function that may pick the speaker before the model is asked.
    pub fn selector_fn(
        mut self,
        f: impl Fn(&[AgentMessage]) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.selector_fn = Some(Arc::new(f));
        self
    }

    /// A function that narrows the candidates offered to the model.
    pub fn candidate_fn(
        mut self,
        f: impl Fn(&[AgentMessage]) -> Vec<String> + Send + Sync + 'static,
    ) -> Self {
        self.candidate_fn = Some(Arc::new(f));
        self
    }

    /// Whether the previous speaker may speak again.
    pub fn repeated_speaker_allowed(&self) -> bool {
        self.allow_repeated_speaker
    }

    /// The prompt template.
    pub fn prompt(&self) -> &str {
        &self.prompt
    }

    /// The attempt limit.
    pub fn attempts(&self) -> usize {
        self.max_selector_attempts
    }

    fn candidates(&self, ctx: &PolicyContext<'_>, names: &[String]) -> Result<Vec<String>, String> {
        if let Some(f) = &self.candidate_fn {
            let c = f(ctx.thread);
            if c.is_empty() {
                return Err(
                    "Candidate function must return a non-empty list of participant names.".into(),
                );
            }
            if !c.iter().all(|p| names.contains(p)) {
                return Err(format!(
                    "Candidate function returned invalid participant names: {}. Expected one of: {}.",
                    py_list(&c),
                    py_list(names)
                ));
            }
            return Ok(c);
        }
        Ok(names
            .iter()
            .filter(|n| self.allow_repeated_speaker || self.previous_speaker.as_ref() != Some(n))
            .cloned()
            .collect())
    }

    async fn ask_model(
        &self,
        ctx: &PolicyContext<'_>,
        names: &[String],
        candidates: &[String],
        cancel: &CancellationToken,
        events: &mut Vec<AgentMessage>,
        history: &str,
    ) -> Result<String, String> {
        let roles = ctx
            .participants
            .iter()
            .map(|p| collapse(&format!("{}: {}", p.name(), p.description())))
            .collect::<Vec<_>>()
            .join("\n");
        let prompt = self
            .prompt
            .replace("{roles}", roles.trim())
            .replace("{participants}", &py_list(candidates))
            .replace("{history}", history);
        let mut messages = vec![if self.client.model_info().is_openai_family() {
            LlmMessage::system(prompt)
        } else {
            LlmMessage::user(prompt, "user")
        }];
        for attempt in 1..=self.max_selector_attempts {
            let request = CreateRequest::new(messages.clone());
            let result = self
                .complete(request, ctx.emit_team_events, cancel, events)
                .await?;
            let text = result.content.as_text().unwrap_or_default().to_string();
            messages.push(LlmMessage::assistant(text.clone(), "selector"));
            let mentions = mentioned(&text, names);
            let feedback = match mentions.as_slice() {
                [] => format!(
                    "No valid name was mentioned. Please select from: {}.",
                    py_list(candidates)
                ),
                [one]
                    if !self.allow_repeated_speaker
                        && self.previous_speaker.as_ref() == Some(one) =>
                {
                    format!(
                        "Repeated speaker is not allowed, please select a different name from: {}.",
                        py_list(candidates)
                    )
                }
                [one] => return Ok(one.clone()),
                _ => format!(
                    "Expected exactly one name to be mentioned. Please select only one from: {}.",
                    py_list(candidates)
                ),
            };
            debug!(attempt, reply = %text, "selector reply rejected");
            messages.push(LlmMessage::user(feedback, "user"));
        }
        warn!(
            attempts = self.max_selector_attempts,
            "selector failed to select a speaker"
        );
        match &self.previous_speaker {
            Some(p) => Ok(p.clone()),
            None => candidates
                .first()
                .cloned()
                .ok_or_else(|| "no candidates".to_string()),
        }
    }
}

impl Selector {
    /// One selector model call, streamed when configured (events only with team events on).
    async fn complete(
        &self,
        request: CreateRequest,
        emit: bool,
        cancel: &CancellationToken,
        events: &mut Vec<AgentMessage>,
    ) -> Result<CreateResult, String> {
        let failed = |e: crate::models::ModelError| format!("selector model call failed: {e}");
        let source = self.manager_name();
        let on_chunk = |text| {
            if emit {
                events.push(AgentMessage::Event(
                    AgentEvent::ModelClientStreamingChunkEvent(ChunkEvent {
                        meta: MessageMeta::new(source),
                        content: text,
                        full_message_id: None,
                    }),
                ));
            }
        };
        let result = complete(
            self.client.as_ref(),
            request,
            self.streaming,
            cancel.clone(),
            on_chunk,
        )
        .await
        .map_err(failed)?
        .ok_or("selector model stream ended without a result")?;
        if self.streaming && emit {
            let text = result.content.as_text().unwrap_or_default();
            events.push(AgentMessage::Event(AgentEvent::SelectorEvent(
                TextBody::new(source, text),
            )));
        }
        Ok(result)
    }
}

impl GroupChat {
    /// A `SelectorGroupChat` of these participants using `selector`.
    pub fn selector(participants: Vec<Arc<dyn ChatAgent>>, selector: Selector) -> GroupChatBuilder {
        GroupChat::builder(participants, selector)
    }
}

/// Python's `str(list_of_str)`: `['a', 'b']`.
fn py_list(names: &[String]) -> String {
    let items: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    format!("[{}]", items.join(", "))
}

/// Collapses runs of whitespace to one space (AutoGen's roles lines).
fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// AutoGen's transcript: `source: text` per chat message, separated by blank lines.
fn history(thread: &[AgentMessage]) -> String {
    thread
        .iter()
        .filter_map(AgentMessage::as_chat)
        .map(|m| {
            format!("{}: {}", m.source(), m.to_model_text())
                .trim_end()
                .to_string()
                + "\n\n"
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// AutoGen's transcript from a model context: `source: content` of each user and assistant
/// message (tool calls in Python's repr, as AutoGen prints them).
fn context_history(messages: &[LlmMessage]) -> String {
    messages
        .iter()
        .filter_map(|m| match m {
            LlmMessage::UserMessage(u) => Some(format!("{}: {}", u.source, u.content.text())),
            LlmMessage::AssistantMessage(a) => Some(format!(
                "{}: {}",
                a.source,
                match &a.content {
                    AssistantContent::Text(t) => t.clone(),
                    AssistantContent::FunctionCalls(calls) => py_calls(calls),
                }
            )),
            _ => None,
        })
        .map(|line| line.trim_end().to_string() + "\n\n")
        .collect::<Vec<_>>()
        .join("\n")
}

/// `[FunctionCall(id='…', arguments='…', name='…')]` as Python prints it.
fn py_calls(calls: &[FunctionCall]) -> String {
    let q = |s: &str| format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"));
    let items: Vec<String> = calls
        .iter()
        .map(|c| {
            format!(
                "FunctionCall(id={}, arguments={}, name={})",
                q(&c.id),
                q(&c.arguments),
                q(&c.name)
            )
        })
        .collect();
    format!("[{}]", items.join(", "))
}

/// Names mentioned in `text` as whole words (also with `_` as a space or as `\_`), in
/// participant order.
fn mentioned(text: &str, names: &[String]) -> Vec<String> {
    let padded: Vec<char> = format!(" {text} ").chars().collect();
    names
        .iter()
        .filter(|name| {
            let variants = [
                name.to_string(),
                name.replace('_', " "),
                name.replace('_', "\\_"),
            ];
            variants.iter().any(|v| occurs_as_word(&padded, v))
        })
        .cloned()
        .collect()
}

fn occurs_as_word(text: &[char], word: &str) -> bool {
    let word: Vec<char> = word.chars().collect();
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    if word.is_empty() || word.len() + 2 > text.len() {
        return false;
    }
    (1..=text.len() - word.len() - 1).any(|i| {
        text[i..i + word.len()] == word[..]
            && !is_word(text[i - 1])
            && !is_word(text[i + word.len()])
    })
}

#[async_trait]
impl SpeakerPolicy for Selector {
    fn team_type(&self) -> &'static str {
        "SelectorGroupChat"
    }

    fn manager_name(&self) -> &'static str {
        "SelectorGroupChatManager"
    }

    fn state_type(&self) -> &'static str {
        "SelectorManagerState"
    }

    fn check(&self, names: &[String]) -> Result<(), String> {
        if names.len() < 2 {
            return Err("At least two participants are required for SelectorGroupChat.".into());
        }
        Ok(())
    }

    async fn select(
        &mut self,
        ctx: &PolicyContext<'_>,
        cancel: &CancellationToken,
    ) -> Result<Selection, String> {
        let names = ctx.names();
        if let Some(f) = &self.selector_fn
            && let Some(speaker) = f(ctx.thread)
        {
            if !names.contains(&speaker) {
                return Err(format!(
                    "Selector function returned an invalid speaker name: {speaker}. Expected one of: {}.",
                    py_list(&names)
                ));
            }
            return Ok(Selection::one(speaker));
        }
        let candidates = self.candidates(ctx, &names)?;
        let mut events = Vec::new();
        let speaker = match candidates.as_slice() {
            [] => return Err("no candidate speakers".into()),
            [one] => one.clone(),
            _ => {
                let history = self.history_text(ctx.thread).await;
                self.ask_model(ctx, &names, &candidates, cancel, &mut events, &history)
                    .await?
            }
        };
        self.previous_speaker = Some(speaker.clone());
        Ok(Selection {
            speakers: vec![speaker],
            events,
            ..Selection::default()
        })
    }

    fn dump_config(&self) -> Result<Map<String, Value>, ComponentError> {
        let client = model_client_config(self.client.as_ref(), "SelectorGroupChat")?;
        let mut m = Map::new();
        m.insert("model_client".into(), json!(client));
        m.insert("selector_prompt".into(), json!(self.prompt));
        m.insert(
            "allow_repeated_speaker".into(),
            json!(self.allow_repeated_speaker),
        );
        m.insert(
            "max_selector_attempts".into(),
            json!(self.max_selector_attempts),
        );
        m.insert("model_client_streaming".into(), json!(self.streaming));
        if let Some(context) = &self.model_context {
            m.insert("model_context".into(), json!(context.dump_component()?));
        }
        Ok(m)
    }

    fn reset(&mut self) {
        self.previous_speaker = None;
        self.resync = true;
    }

    fn save_state(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("previous_speaker".into(), json!(self.previous_speaker));
        m
    }

    fn load_state(&mut self, state: &Map<String, Value>) -> Result<(), String> {
        self.previous_speaker = state
            .get("previous_speaker")
            .and_then(Value::as_str)
            .map(str::to_string);
        self.resync = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_whole_words_only() {
        let names = vec!["alice".to_string(), "story_writer".to_string()];
        assert_eq!(mentioned("alice", &names), ["alice"]);
        assert_eq!(mentioned("malice", &names), Vec::<String>::new());
        assert_eq!(
            mentioned("story writer then alice.", &names),
            ["alice", "story_writer"]
        );
        assert_eq!(mentioned("story\\_writer", &names), ["story_writer"]);
        assert_eq!(py_list(&names), "['alice', 'story_writer']");
    }
}
