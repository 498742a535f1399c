//! OpenAI chat-completions wire format: request bodies from our types, results from responses.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::models::error::ModelError;
use crate::models::request::{CreateRequest, OutputFormat, ToolChoice, ToolSchema};
use crate::models::types::{
    AssistantContent, CreateResult, FinishReason, FunctionCall, LlmMessage, RequestUsage,
    UserContent, UserPart,
};

/// How messages are rendered for OpenAI.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MessageOptions {
    /// Send `name` (the source) on user and assistant messages.
    pub include_name: bool,
    /// Prefix user/assistant text with "{source} said:\n".
    pub add_name_prefixes: bool,
}

impl Default for MessageOptions {
    fn default() -> Self {
        Self {
            include_name: true,
            add_name_prefixes: false,
        }
    }
}

/// Converts our messages to OpenAI chat messages (tool results become one message per call).
pub(crate) fn to_openai_messages(messages: &[LlmMessage], opts: MessageOptions) -> Vec<Value> {
    let mut out = Vec::with_capacity(messages.len());
    for message in messages {
        match message {
            LlmMessage::SystemMessage(m) => {
                out.push(json!({"role": "system", "content": m.content}))
            }
            LlmMessage::UserMessage(m) => {
                let mut v =
                    json!({"role": "user", "content": user_content(&m.content, &m.source, opts)});
                add_name(&mut v, &m.source, opts);
                out.push(v);
            }
            LlmMessage::AssistantMessage(m) => {
                let mut v = match &m.content {
                    AssistantContent::Text(t) => {
                        json!({"role": "assistant", "content": prefixed(t, &m.source, opts)})
                    }
                    AssistantContent::FunctionCalls(calls) => json!({
                        "role": "assistant",
                        "content": m.thought,
                        "tool_calls": calls.iter().map(tool_call_json).collect::<Vec<_>>(),
                    }),
                };
                add_name(&mut v, &m.source, opts);
                out.push(v);
            }
            LlmMessage::FunctionExecutionResultMessage(m) => {
                for r in &m.content {
                    out.push(
                        json!({"role": "tool", "content": r.content, "tool_call_id": r.call_id}),
                    );
                }
            }
        }
    }
    out
}

fn add_name(v: &mut Value, source: &str, opts: MessageOptions) {
    if opts.include_name && !source.is_empty() {
        v["name"] = Value::String(sanitize_name(source));
    }
}

/// OpenAI names must match `^[a-zA-Z0-9_-]+$`.
fn sanitize_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn prefixed(text: &str, source: &str, opts: MessageOptions) -> String {
    if opts.add_name_prefixes {
        format!("{source} said:\n{text}")
    } else {
        text.to_string()
    }
}

fn user_content(content: &UserContent, source: &str, opts: MessageOptions) -> Value {
    match content {
        UserContent::Text(t) => Value::String(prefixed(t, source, opts)),
        UserContent::Parts(parts) => Value::Array(
            parts
                .iter()
                .map(|p| match p {
                    UserPart::Text(t) => json!({"type": "text", "text": prefixed(t, source, opts)}),
                    UserPart::Image(i) => {
                        json!({"type": "image_url", "image_url": {"url": i.to_url()}})
                    }
                })
                .collect(),
        ),
    }
}

fn tool_call_json(call: &FunctionCall) -> Value {
    json!({"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}})
}

/// OpenAI `tools` entries.
pub(crate) fn tools_json(tools: &[ToolSchema]) -> Vec<Value> {
    tools
        .iter()
        .map(|t| {
            let mut f = json!({"name": t.name, "parameters": t.parameters_or_empty()});
            if let Some(d) = &t.description {
                f["description"] = Value::String(d.clone());
            }
            if let Some(s) = t.strict {
                f["strict"] = Value::Bool(s);
            }
            json!({"type": "function", "function": f})
        })
        .collect()
}

fn tool_choice_json(choice: &ToolChoice) -> Value {
    match choice {
        ToolChoice::Auto => json!("auto"),
        ToolChoice::None => json!("none"),
        ToolChoice::Required => json!("required"),
        ToolChoice::Named(name) => json!({"type": "function", "function": {"name": name}}),
    }
}

fn response_format_json(output: &OutputFormat) -> Option<Value> {
    match output {
        OutputFormat::Text => None,
        OutputFormat::JsonObject => Some(json!({"type": "json_object"})),
        OutputFormat::JsonSchema {
            name,
            schema,
            strict,
        } => Some(json!({
            "type": "json_schema",
            "json_schema": {"name": name, "schema": schema, "strict": strict},
        })),
    }
}

/// Builds the request body: model, messages, config args, tools, format, stream, extra args.
pub(crate) fn build_body(
    model: &str,
    request: &CreateRequest,
    create_args: &Map<String, Value>,
    opts: MessageOptions,
    stream: bool,
) -> Value {
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert(
        "messages".into(),
        Value::Array(to_openai_messages(&request.messages, opts)),
    );
    for (k, v) in create_args {
        body.insert(k.clone(), v.clone());
    }
    if request.tools.is_empty() {
        body.remove("parallel_tool_calls");
    } else {
        body.insert("tools".into(), Value::Array(tools_json(&request.tools)));
        body.insert("tool_choice".into(), tool_choice_json(&request.tool_choice));
    }
    if let Some(format) = response_format_json(&request.output) {
        body.insert("response_format".into(), format);
    }
    if stream {
        body.insert("stream".into(), json!(true));
        body.entry("stream_options")
            .or_insert_with(|| json!({"include_usage": true}));
    } else {
        body.remove("stream_options");
    }
    for (k, v) in &request.extra_args {
        body.insert(k.clone(), v.clone());
    }
    Value::Object(body)
}

#[derive(Deserialize)]
struct ChatResponse {
    #[serde(default)]
    choices: Vec<Choice>,
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct Choice {
    message: WireMessage,
    finish_reason: Option<String>,
    logprobs: Option<Value>,
}

#[derive(Deserialize)]
struct WireMessage {
    content: Option<String>,
    refusal: Option<String>,
    reasoning_content: Option<String>,
    #[serde(default)]
    tool_calls: Vec<WireToolCall>,
}

#[derive(Deserialize)]
struct WireToolCall {
    #[serde(default)]
    id: String,
    function: WireFunction,
}

#[derive(Deserialize)]
struct WireFunction {
    name: String,
    #[serde(default)]
    arguments: String,
}

/// `usage` of a response or final stream chunk.
#[derive(Deserialize, Default, Clone, Copy)]
pub(crate) struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

impl From<WireUsage> for RequestUsage {
    fn from(u: WireUsage) -> Self {
        RequestUsage {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
        }
    }
}

/// Parses a non-streaming chat-completions response body.
pub(crate) fn parse_response(provider: &str, body: &[u8]) -> Result<CreateResult, ModelError> {
    let invalid = |reason: String| ModelError::InvalidResponse {
        provider: provider.to_string(),
        reason,
    };
    let response: ChatResponse =
        serde_json::from_slice(body).map_err(|e| invalid(format!("bad JSON body: {e}")))?;
    let choice = response
        .choices
        .into_iter()
        .next()
        .ok_or_else(|| invalid("no choices in the response".into()))?;
    let message = choice.message;
    let calls = message
        .tool_calls
        .into_iter()
        .map(|c| FunctionCall {
            id: c.id,
            arguments: c.function.arguments,
            name: c.function.name,
        })
        .collect();
    let mut result = assemble(
        message.content.or(message.refusal),
        message.reasoning_content,
        calls,
        choice.finish_reason.as_deref(),
        response.usage.unwrap_or_default().into(),
    );
    result.logprobs = choice.logprobs.filter(|v| !v.is_null());
    Ok(result)
}

/// Builds a result from parsed parts (shared with streaming).
pub(crate) fn assemble(
    content: Option<String>,
    reasoning: Option<String>,
    calls: Vec<FunctionCall>,
    finish: Option<&str>,
    usage: RequestUsage,
) -> CreateResult {
    let reasoning = reasoning.filter(|r| !r.is_empty());
    let (content, thought, finish_reason) = if calls.is_empty() {
        let reason = match finish {
            Some("stop") | Some("tool_calls") | Some("function_call") => FinishReason::Stop,
            Some("length") => FinishReason::Length,
            Some("content_filter") => FinishReason::ContentFilter,
            _ => FinishReason::Unknown,
        };
        (
            AssistantContent::Text(content.unwrap_or_default()),
            reasoning,
            reason,
        )
    } else {
        let text = content.filter(|c| !c.is_empty());
        let thought = match (reasoning, text) {
            (Some(r), Some(t)) => Some(format!("{r}\n{t}")),
            (r, t) => r.or(t),
        };
        (
            AssistantContent::FunctionCalls(calls),
            thought,
            FinishReason::FunctionCalls,
        )
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
