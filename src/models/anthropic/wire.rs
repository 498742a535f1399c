//! Anthropic Messages API wire format: request bodies from our types, results from responses.

use serde_json::{Map, Value, json};

use crate::models::error::ModelError;
use crate::models::request::{CreateRequest, OutputFormat, ToolChoice, ToolSchema};
use crate::models::types::{
    AssistantContent, CreateResult, FinishReason, FunctionCall, Image, LlmMessage, RequestUsage,
    UserContent, UserPart,
};

/// Splits system text from the conversation and renders Anthropic messages (same roles merged).
pub(crate) fn to_anthropic_messages(messages: &[LlmMessage]) -> (Option<String>, Vec<Value>) {
    let mut system = Vec::new();
    let mut out: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for message in messages {
        let (role, blocks) = match message {
            LlmMessage::SystemMessage(m) => {
                system.push(m.content.clone());
                continue;
            }
            LlmMessage::UserMessage(m) => ("user", user_blocks(&m.content)),
            LlmMessage::AssistantMessage(m) => ("assistant", assistant_blocks(&m.content, m.thought.as_deref())),
            LlmMessage::FunctionExecutionResultMessage(m) => (
                "user",
                m.content
                    .iter()
                    .map(|r| {
                        let mut b = json!({"type": "tool_result", "tool_use_id": r.call_id, "content": r.content});
                        if r.is_error == Some(true) {
                            b["is_error"] = json!(true);
                        }
                        b
                    })
                    .collect(),
            ),
        };
        match out.last_mut() {
            Some((last_role, last_blocks)) if *last_role == role => last_blocks.extend(blocks),
            _ => out.push((role, blocks)),
        }
    }
    let rendered = out
        .into_iter()
        .map(|(role, blocks)| json!({"role": role, "content": simplify(blocks)}))
        .collect();
    let system = (!system.is_empty()).then(|| system.join("\n"));
    (system, rendered)
}

/// A single text block is sent as a plain string.
fn simplify(blocks: Vec<Value>) -> Value {
    if blocks.len() == 1 && blocks[0]["type"] == "text" {
        return blocks[0]["text"].clone();
    }
    Value::Array(blocks)
}

fn text_block(text: &str) -> Value {
    json!({"type": "text", "text": text})
}

fn user_blocks(content: &UserContent) -> Vec<Value> {
    match content {
        UserContent::Text(t) => vec![text_block(t)],
        UserContent::Parts(parts) => parts
            .iter()
            .map(|p| match p {
                UserPart::Text(t) => text_block(t),
                UserPart::Image(Image::Base64 { data }) => json!({
                    "type": "image",
                    "source": {"type": "base64", "media_type": Image::mime_of(data), "data": data},
                }),
                UserPart::Image(Image::Url { url }) => {
                    json!({"type": "image", "source": {"type": "url", "url": url}})
                }
            })
            .collect(),
    }
}

fn assistant_blocks(content: &AssistantContent, thought: Option<&str>) -> Vec<Value> {
    match content {
        AssistantContent::Text(t) => vec![text_block(t)],
        AssistantContent::FunctionCalls(calls) => {
            let mut blocks: Vec<Value> = thought
                .filter(|t| !t.is_empty())
                .map(text_block)
                .into_iter()
                .collect();
            for call in calls {
                let input =
                    serde_json::from_str::<Value>(&call.arguments).unwrap_or_else(|_| json!({}));
                blocks.push(
                    json!({"type": "tool_use", "id": call.id, "name": call.name, "input": input}),
                );
            }
            blocks
        }
    }
}

fn tools_json(tools: &[ToolSchema]) -> Vec<Value> {
    tools
        .iter()
        .map(|t| {
            let mut v = json!({"name": t.name, "input_schema": t.parameters_or_empty()});
            if let Some(d) = &t.description {
                v["description"] = json!(d);
            }
            v
        })
        .collect()
}

fn tool_choice_json(choice: &ToolChoice) -> Value {
    match choice {
        ToolChoice::Auto => json!({"type": "auto"}),
        ToolChoice::None => json!({"type": "none"}),
        ToolChoice::Required => json!({"type": "any"}),
        ToolChoice::Named(name) => json!({"type": "tool", "name": name}),
    }
}

/// Instruction appended to the system prompt for JSON output (Anthropic has no JSON mode).
fn output_instruction(output: &OutputFormat) -> Option<String> {
    match output {
        OutputFormat::Text => None,
        OutputFormat::JsonObject => {
            Some("Respond only with a single JSON object, no other text.".into())
        }
        OutputFormat::JsonSchema { schema, .. } => Some(format!(
            "Respond only with a single JSON object, no other text, matching this JSON schema: {schema}"
        )),
    }
}

/// Builds a Messages API body.
pub(crate) fn build_body(
    model: &str,
    request: &CreateRequest,
    output: &OutputFormat,
    create_args: &Map<String, Value>,
    stream: bool,
) -> Value {
    let (system, messages) = to_anthropic_messages(&request.messages);
    let system = match (system, output_instruction(output)) {
        (Some(s), Some(i)) => Some(format!("{s}\n\n{i}")),
        (s, i) => s.or(i),
    };
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert("max_tokens".into(), json!(4096));
    for (k, v) in create_args {
        body.insert(k.clone(), v.clone());
    }
    body.insert("messages".into(), Value::Array(messages));
    if let Some(system) = system {
        body.insert("system".into(), json!(system));
    }
    if !request.tools.is_empty() {
        body.insert("tools".into(), Value::Array(tools_json(&request.tools)));
        body.insert("tool_choice".into(), tool_choice_json(&request.tool_choice));
    }
    if stream {
        body.insert("stream".into(), json!(true));
    }
    for (k, v) in &request.extra_args {
        body.insert(k.clone(), v.clone());
    }
    Value::Object(body)
}

/// Maps Anthropic's `stop_reason`.
pub(crate) fn finish_reason(stop: Option<&str>, has_calls: bool) -> FinishReason {
    if has_calls {
        return FinishReason::FunctionCalls;
    }
    match stop {
        Some("end_turn") | Some("stop_sequence") | Some("tool_use") => FinishReason::Stop,
        Some("max_tokens") => FinishReason::Length,
        Some("refusal") => FinishReason::ContentFilter,
        _ => FinishReason::Unknown,
    }
}

/// Builds a result from text, thinking and tool calls.
pub(crate) fn assemble(
    text: String,
    thinking: String,
    calls: Vec<FunctionCall>,
    stop: Option<&str>,
    usage: RequestUsage,
) -> CreateResult {
    let finish_reason = finish_reason(stop, !calls.is_empty());
    let thinking = (!thinking.is_empty()).then_some(thinking);
    let (content, thought) = if calls.is_empty() {
        (AssistantContent::Text(text), thinking)
    } else {
        let text = (!text.is_empty()).then_some(text);
        let thought = match (thinking, text) {
            (Some(a), Some(b)) => Some(format!("{a}\n{b}")),
            (a, b) => a.or(b),
        };
        (AssistantContent::FunctionCalls(calls), thought)
    };
    CreateResult {
        finish_reason,
        content,
        usage,
        cached: false,
        logprobs: None,
        thought,
    }
}

/// Reads `usage` (`input_tokens`, `output_tokens`).
pub(crate) fn usage_of(v: &Value) -> RequestUsage {
    let n = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
    RequestUsage {
        prompt_tokens: n("input_tokens"),
        completion_tokens: n("output_tokens"),
    }
}

/// Parses a non-streaming Messages API response.
pub(crate) fn parse_response(provider: &str, body: &[u8]) -> Result<CreateResult, ModelError> {
    let invalid = |reason: String| ModelError::InvalidResponse {
        provider: provider.to_string(),
        reason,
    };
    let v: Value =
        serde_json::from_slice(body).map_err(|e| invalid(format!("bad JSON body: {e}")))?;
    let blocks = v
        .get("content")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("no `content` array in the response".into()))?;
    let (mut text, mut thinking, mut calls) = (String::new(), String::new(), Vec::new());
    for b in blocks {
        let s = |k: &str| {
            b.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        match b.get("type").and_then(Value::as_str) {
            Some("text") => text.push_str(&s("text")),
            Some("thinking") => thinking.push_str(&s("thinking")),
            Some("tool_use") => calls.push(FunctionCall {
                id: s("id"),
                name: s("name"),
                arguments: b.get("input").map_or_else(|| "{}".into(), Value::to_string),
            }),
            _ => {}
        }
    }
    let usage = v.get("usage").map(usage_of).unwrap_or_default();
    Ok(assemble(
        text,
        thinking,
        calls,
        v.get("stop_reason").and_then(Value::as_str),
        usage,
    ))
}
