//! Assembles Anthropic stream events (message_start … content_block_delta … message_stop).

use std::collections::BTreeMap;

use serde_json::Value;

use super::wire::{assemble, usage_of};
use crate::models::client::StreamItem;
use crate::models::error::ModelError;
use crate::models::sse::{Feed, SseAssembler};
use crate::models::types::{CreateResult, FunctionCall, RequestUsage};

/// A tool_use block being streamed.
struct PendingCall {
    id: String,
    name: String,
    json: String,
}

/// Accumulates one streamed Anthropic message.
pub(crate) struct AnthropicAssembler {
    provider: String,
    text: String,
    thinking: String,
    calls: BTreeMap<u64, PendingCall>,
    stop_reason: Option<String>,
    usage: RequestUsage,
}

impl AnthropicAssembler {
    /// An empty assembler.
    pub fn new(provider: &str) -> Self {
        Self {
            provider: provider.to_string(),
            text: String::new(),
            thinking: String::new(),
            calls: BTreeMap::new(),
            stop_reason: None,
            usage: RequestUsage::default(),
        }
    }

    fn delta(&mut self, index: u64, delta: &Value) -> Option<StreamItem> {
        let s = |k: &str| {
            delta
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        match delta.get("type").and_then(Value::as_str) {
            Some("text_delta") => {
                let t = s("text");
                self.text.push_str(&t);
                (!t.is_empty()).then_some(StreamItem::Chunk(t))
            }
            Some("thinking_delta") => {
                let t = s("thinking");
                self.thinking.push_str(&t);
                (!t.is_empty()).then_some(StreamItem::Thought(t))
            }
            Some("input_json_delta") => {
                if let Some(call) = self.calls.get_mut(&index) {
                    call.json.push_str(&s("partial_json"));
                }
                None
            }
            _ => None,
        }
    }

    fn block_start(&mut self, index: u64, block: &Value) {
        if block.get("type").and_then(Value::as_str) != Some("tool_use") {
            return;
        }
        let s = |k: &str| {
            block
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        self.calls.insert(
            index,
            PendingCall {
                id: s("id"),
                name: s("name"),
                json: String::new(),
            },
        );
    }
}

impl SseAssembler for AnthropicAssembler {
    fn feed(&mut self, event: &str, data: &str) -> Result<Feed, ModelError> {
        let v: Value = serde_json::from_str(data).map_err(|e| ModelError::InvalidResponse {
            provider: self.provider.clone(),
            reason: format!("bad stream event `{event}`: {e}"),
        })?;
        let kind = v.get("type").and_then(Value::as_str).unwrap_or(event);
        let index = v.get("index").and_then(Value::as_u64).unwrap_or(0);
        let mut feed = Feed::default();
        match kind {
            "message_start" => {
                let usage = usage_of(&v["message"]["usage"]);
                self.usage.prompt_tokens = usage.prompt_tokens;
                self.usage.completion_tokens = usage.completion_tokens;
            }
            "content_block_start" => self.block_start(index, &v["content_block"]),
            "content_block_delta" => feed.items.extend(self.delta(index, &v["delta"])),
            "message_delta" => {
                if let Some(r) = v["delta"].get("stop_reason").and_then(Value::as_str) {
                    self.stop_reason = Some(r.to_string());
                }
                if let Some(out) = v["usage"].get("output_tokens").and_then(Value::as_u64) {
                    self.usage.completion_tokens = out;
                }
            }
            "message_stop" => feed.done = true,
            "error" => {
                return Err(ModelError::StreamBroken {
                    provider: self.provider.clone(),
                    reason: format!("provider error in stream: {}", v["error"]),
                });
            }
            _ => {}
        }
        Ok(feed)
    }

    fn finish(self: Box<Self>) -> Result<CreateResult, ModelError> {
        let this = *self;
        let calls = this
            .calls
            .into_values()
            .map(|c| FunctionCall {
                id: c.id,
                name: c.name,
                arguments: if c.json.trim().is_empty() {
                    "{}".into()
                } else {
                    c.json
                },
            })
            .collect();
        Ok(assemble(
            this.text,
            this.thinking,
            calls,
            this.stop_reason.as_deref(),
            this.usage,
        ))
    }
}
