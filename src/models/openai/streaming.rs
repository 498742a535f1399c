//! Assembles OpenAI `chat.completion.chunk` events (text, reasoning, tool-call deltas by index, usage).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::completion::{WireUsage, assemble};
use crate::models::client::StreamItem;
use crate::models::error::ModelError;
use crate::models::sse::{Feed, SseAssembler};
use crate::models::types::{CreateResult, FunctionCall};

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<ChunkChoice>,
    usage: Option<WireUsage>,
    error: Option<Value>,
}

#[derive(Deserialize)]
struct ChunkChoice {
    #[serde(default)]
    delta: Delta,
    finish_reason: Option<String>,
}

#[derive(Deserialize, Default)]
struct Delta {
    content: Option<String>,
    reasoning_content: Option<String>,
    #[serde(default)]
    tool_calls: Vec<ToolCallDelta>,
}

#[derive(Deserialize)]
struct ToolCallDelta {
    #[serde(default)]
    index: usize,
    id: Option<String>,
    function: Option<FunctionDelta>,
}

#[derive(Deserialize)]
struct FunctionDelta {
    name: Option<String>,
    arguments: Option<String>,
}

/// Accumulates one streamed OpenAI completion.
pub(crate) struct OpenAiAssembler {
    provider: String,
    content: String,
    reasoning: String,
    calls: BTreeMap<usize, FunctionCall>,
    finish: Option<String>,
    usage: Option<WireUsage>,
}

impl OpenAiAssembler {
    /// An empty assembler for `provider`.
    pub fn new(provider: &str) -> Self {
        Self {
            provider: provider.to_string(),
            content: String::new(),
            reasoning: String::new(),
            calls: BTreeMap::new(),
            finish: None,
            usage: None,
        }
    }

    fn apply_tool_delta(&mut self, d: ToolCallDelta) {
        let call = self.calls.entry(d.index).or_insert_with(|| FunctionCall {
            id: String::new(),
            arguments: String::new(),
            name: String::new(),
        });
        if let Some(id) = d.id.filter(|i| !i.is_empty()) {
            call.id = id;
        }
        if let Some(f) = d.function {
            if let Some(name) = f.name.filter(|n| !n.is_empty()) {
                if call.name.is_empty() {
                    call.name = name;
                } else if call.name != name {
                    call.name.push_str(&name);
                }
            }
            if let Some(args) = f.arguments {
                call.arguments.push_str(&args);
            }
        }
    }
}

impl SseAssembler for OpenAiAssembler {
    fn feed(&mut self, _event: &str, data: &str) -> Result<Feed, ModelError> {
        let data = data.trim();
        if data == "[DONE]" {
            return Ok(Feed {
                items: Vec::new(),
                done: true,
            });
        }
        if data.is_empty() {
            return Ok(Feed::default());
        }
        let chunk: Chunk = serde_json::from_str(data).map_err(|e| ModelError::InvalidResponse {
            provider: self.provider.clone(),
            reason: format!("bad stream chunk: {e}"),
        })?;
        if let Some(error) = chunk.error {
            return Err(ModelError::StreamBroken {
                provider: self.provider.clone(),
                reason: format!("provider error in stream: {error}"),
            });
        }
        if chunk.usage.is_some() {
            self.usage = chunk.usage;
        }
        let mut items = Vec::new();
        for choice in chunk.choices {
            if let Some(r) = choice.finish_reason {
                self.finish = Some(r);
            }
            if let Some(text) = choice.delta.content.filter(|t| !t.is_empty()) {
                self.content.push_str(&text);
                items.push(StreamItem::Chunk(text));
            }
            if let Some(text) = choice.delta.reasoning_content.filter(|t| !t.is_empty()) {
                self.reasoning.push_str(&text);
                items.push(StreamItem::Thought(text));
            }
            for d in choice.delta.tool_calls {
                self.apply_tool_delta(d);
            }
        }
        Ok(Feed { items, done: false })
    }

    fn finish(self: Box<Self>) -> Result<CreateResult, ModelError> {
        let this = *self;
        let content = (!this.content.is_empty() || this.calls.is_empty()).then_some(this.content);
        let reasoning = (!this.reasoning.is_empty()).then_some(this.reasoning);
        Ok(assemble(
            content,
            reasoning,
            this.calls.into_values().collect(),
            this.finish.as_deref(),
            this.usage.unwrap_or_default().into(),
        ))
    }
}
