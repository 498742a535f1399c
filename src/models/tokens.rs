//! Prompt token counting with tiktoken, approximating OpenAI's accounting as AutoGen does.

use serde_json::Value;
use tiktoken_rs::CoreBPE;

use super::openai::completion::{MessageOptions, to_openai_messages, tools_json};
use super::request::ToolSchema;
use super::types::LlmMessage;

/// Flat token cost assumed for one image (OpenAI's low-detail price).
const IMAGE_TOKENS: u64 = 85;

/// The tokenizer for `model`, falling back to cl100k_base.
fn bpe_for(model: &str) -> &'static CoreBPE {
    tiktoken_rs::bpe_for_model(model).unwrap_or_else(|_| tiktoken_rs::cl100k_base_singleton())
}

fn n(bpe: &CoreBPE, text: &str) -> u64 {
    bpe.encode_with_special_tokens(text).len() as u64
}

/// Counts prompt tokens for `messages` and `tools` sent to `model`.
pub fn count_tokens(model: &str, messages: &[LlmMessage], tools: &[ToolSchema]) -> u64 {
    let bpe = bpe_for(model);
    let mut total = 0;
    for message in to_openai_messages(messages, MessageOptions::default()) {
        total += 3;
        let Value::Object(fields) = message else {
            continue;
        };
        for (key, value) in fields {
            total += value_tokens(bpe, &value);
            if key == "name" {
                total += 1;
            }
        }
    }
    total += 3;
    for tool in tools_json(tools) {
        total += tool_tokens(bpe, &tool["function"]);
    }
    total
}

fn value_tokens(bpe: &CoreBPE, value: &Value) -> u64 {
    match value {
        Value::Null => 0,
        Value::String(s) => n(bpe, s),
        Value::Array(parts) => parts.iter().map(|p| part_tokens(bpe, p)).sum(),
        other => n(bpe, &other.to_string()),
    }
}

fn part_tokens(bpe: &CoreBPE, part: &Value) -> u64 {
    match part.get("type").and_then(Value::as_str) {
        Some("image_url") => IMAGE_TOKENS,
        Some("text") => part
            .get("text")
            .and_then(Value::as_str)
            .map_or(0, |t| n(bpe, t)),
        _ => n(bpe, &part.to_string()),
    }
}

fn tool_tokens(bpe: &CoreBPE, function: &Value) -> u64 {
    let text = |k: &str| function.get(k).and_then(Value::as_str).unwrap_or_default();
    let mut tokens = n(bpe, text("name")) as i64 + n(bpe, text("description")) as i64 - 2;
    if let Some(props) = function
        .get("parameters")
        .and_then(|p| p.get("properties"))
        .and_then(Value::as_object)
    {
        for (name, spec) in props {
            tokens += n(bpe, name) as i64;
            if let Some(spec) = spec.as_object() {
                for (field, v) in spec {
                    tokens += field_tokens(bpe, field, v);
                }
            }
        }
        tokens += 11;
        if props.is_empty() {
            tokens -= 2;
        }
    }
    tokens.max(0) as u64
}

fn field_tokens(bpe: &CoreBPE, field: &str, v: &Value) -> i64 {
    let s = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match field {
        "type" | "description" | "title" | "default" => 2 + n(bpe, &s(v)) as i64,
        "enum" | "anyOf" => {
            let items = v.as_array().map(Vec::as_slice).unwrap_or_default();
            -3 + items
                .iter()
                .map(|o| 3 + n(bpe, &s(o.get("type").unwrap_or(o))) as i64)
                .sum::<i64>()
        }
        _ => 0,
    }
}
