//! Turns a planned reply into an HTTP answer: a JSON body, or SSE events (optionally cut).

use serde_json::{Value, json};

use super::plan::{Incoming, PlannedCall, Reply, Wire};

/// The body of an answer.
pub(crate) enum Body {
    /// A complete body.
    Full(String),
    /// SSE events; `cut` drops the connection after them instead of ending cleanly.
    Events { events: Vec<String>, cut: bool },
}

/// A rendered answer.
pub(crate) struct Rendered {
    pub status: u16,
    pub retry_after: Option<u64>,
    pub body: Body,
}

/// Deterministic token estimate: a quarter of the characters, at least one.
fn tokens(chars: usize) -> u64 {
    (chars / 4 + 1) as u64
}

fn pieces(text: &str) -> Vec<String> {
    text.split_inclusive(' ').map(str::to_string).collect()
}

/// Splits a JSON argument string into a few fragments, as providers stream them.
fn fragments(args: &str) -> Vec<String> {
    let chars: Vec<char> = args.chars().collect();
    chars.chunks(8).map(|c| c.iter().collect()).collect()
}

/// Renders `reply` for `wire`; `seq` makes ids unique.
pub(crate) fn render(wire: Wire, reply: &Reply, incoming: &Incoming, seq: u64) -> Rendered {
    if let Reply::Error {
        status,
        message,
        retry_after,
    } = reply
    {
        return error(wire, *status, message, *retry_after);
    }
    let out_chars = match reply {
        Reply::Text(t) | Reply::Cut(t) => t.len(),
        Reply::Calls(calls) => calls.iter().map(|c| c.name.len() + c.arguments.len()).sum(),
        Reply::Error { .. } => 0,
    };
    let usage = (tokens(incoming.prompt_chars), tokens(out_chars));
    let body = match (wire, incoming.stream) {
        (Wire::OpenAi, false) => full(openai_json(reply, incoming, seq, usage), reply),
        (Wire::OpenAi, true) => openai_events(reply, incoming, seq, usage),
        (Wire::Anthropic, false) => full(anthropic_json(reply, incoming, seq, usage), reply),
        (Wire::Anthropic, true) => anthropic_events(reply, incoming, seq, usage),
    };
    Rendered {
        status: 200,
        retry_after: None,
        body,
    }
}

/// A non-streamed body; a cut reply sends only the first half of it.
fn full(value: Value, reply: &Reply) -> Body {
    let text = value.to_string();
    if matches!(reply, Reply::Cut(_)) {
        let half: String = text.chars().take(text.chars().count() / 2).collect();
        return Body::Events {
            events: vec![half],
            cut: true,
        };
    }
    Body::Full(text)
}

/// An error body in the provider's shape.
pub(crate) fn error(wire: Wire, status: u16, message: &str, retry_after: Option<u64>) -> Rendered {
    let kind = match status {
        401 => "authentication_error",
        429 => "rate_limit_error",
        400..=499 => "invalid_request_error",
        _ => "server_error",
    };
    let body = match wire {
        Wire::OpenAi => {
            json!({"error": {"message": message, "type": kind, "param": null, "code": null}})
        }
        Wire::Anthropic => json!({"type": "error", "error": {"type": kind, "message": message}}),
    };
    Rendered {
        status,
        retry_after,
        body: Body::Full(body.to_string()),
    }
}

fn openai_tool_call(i: usize, c: &PlannedCall, seq: u64) -> Value {
    json!({"id": format!("call_{seq}_{i}"), "type": "function", "function": {"name": c.name, "arguments": c.arguments}})
}

fn openai_json(reply: &Reply, incoming: &Incoming, seq: u64, (p, c): (u64, u64)) -> Value {
    let (message, finish) = match reply {
        Reply::Calls(calls) => (
            json!({"role": "assistant", "content": null, "refusal": null,
                   "tool_calls": calls.iter().enumerate().map(|(i, c)| openai_tool_call(i, c, seq)).collect::<Vec<_>>()}),
            "tool_calls",
        ),
        Reply::Text(t) | Reply::Cut(t) => (
            json!({"role": "assistant", "content": t, "refusal": null}),
            "stop",
        ),
        Reply::Error { .. } => (json!({}), "stop"),
    };
    json!({
        "id": format!("chatcmpl-scripted-{seq}"), "object": "chat.completion", "created": 1_700_000_000,
        "model": incoming.model,
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish}],
        "usage": {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c},
    })
}

fn openai_events(reply: &Reply, incoming: &Incoming, seq: u64, (p, c): (u64, u64)) -> Body {
    let chunk = |delta: Value, finish: Value| {
        let v = json!({"id": format!("chatcmpl-scripted-{seq}"), "object": "chat.completion.chunk",
            "created": 1_700_000_000, "model": incoming.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]});
        format!("data: {v}\n\n")
    };
    let mut events = vec![chunk(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    )];
    let finish = match reply {
        Reply::Text(t) | Reply::Cut(t) => {
            events.extend(
                pieces(t)
                    .into_iter()
                    .map(|s| chunk(json!({"content": s}), Value::Null)),
            );
            "stop"
        }
        Reply::Calls(calls) => {
            for (i, call) in calls.iter().enumerate() {
                let head = json!({"index": i, "id": format!("call_{seq}_{i}"), "type": "function",
                    "function": {"name": call.name, "arguments": ""}});
                events.push(chunk(json!({"tool_calls": [head]}), Value::Null));
                for f in fragments(&call.arguments) {
                    let d = json!({"index": i, "function": {"arguments": f}});
                    events.push(chunk(json!({"tool_calls": [d]}), Value::Null));
                }
            }
            "tool_calls"
        }
        Reply::Error { .. } => "stop",
    };
    if let Reply::Cut(_) = reply {
        return Body::Events { events, cut: true };
    }
    events.push(chunk(json!({}), json!(finish)));
    if incoming.include_usage {
        let v = json!({"id": format!("chatcmpl-scripted-{seq}"), "object": "chat.completion.chunk",
            "created": 1_700_000_000, "model": incoming.model, "choices": [],
            "usage": {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}});
        events.push(format!("data: {v}\n\n"));
    }
    events.push("data: [DONE]\n\n".to_string());
    Body::Events { events, cut: false }
}

fn anthropic_blocks(reply: &Reply, seq: u64) -> (Vec<Value>, &'static str) {
    match reply {
        Reply::Calls(calls) => (
            calls
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let input: Value = serde_json::from_str(&c.arguments).unwrap_or_else(|_| json!({}));
                    json!({"type": "tool_use", "id": format!("toolu_{seq}_{i}"), "name": c.name, "input": input})
                })
                .collect(),
            "tool_use",
        ),
        Reply::Text(t) | Reply::Cut(t) => (vec![json!({"type": "text", "text": t})], "end_turn"),
        Reply::Error { .. } => (Vec::new(), "end_turn"),
    }
}

fn anthropic_json(reply: &Reply, incoming: &Incoming, seq: u64, (p, c): (u64, u64)) -> Value {
    let (content, stop) = anthropic_blocks(reply, seq);
    json!({
        "id": format!("msg_scripted_{seq}"), "type": "message", "role": "assistant",
        "model": incoming.model, "content": content, "stop_reason": stop, "stop_sequence": null,
        "usage": {"input_tokens": p, "output_tokens": c},
    })
}

fn sse(event: &str, data: Value) -> String {
    format!("event: {event}\ndata: {data}\n\n")
}

fn anthropic_events(reply: &Reply, incoming: &Incoming, seq: u64, (p, c): (u64, u64)) -> Body {
    let (blocks, stop) = anthropic_blocks(reply, seq);
    let mut events = vec![sse(
        "message_start",
        json!({"type": "message_start", "message": {
        "id": format!("msg_scripted_{seq}"), "type": "message", "role": "assistant", "content": [],
        "model": incoming.model, "stop_reason": null, "stop_sequence": null,
        "usage": {"input_tokens": p, "output_tokens": 1}}}),
    )];
    for (index, block) in blocks.iter().enumerate() {
        if block["type"] == "text" {
            events.push(sse(
                "content_block_start",
                json!({"type": "content_block_start", "index": index,
                "content_block": {"type": "text", "text": ""}}),
            ));
            for piece in pieces(block["text"].as_str().unwrap_or_default()) {
                events.push(sse(
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": index,
                    "delta": {"type": "text_delta", "text": piece}}),
                ));
            }
        } else {
            events.push(sse("content_block_start", json!({"type": "content_block_start", "index": index,
                "content_block": {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}})));
            for f in fragments(&block["input"].to_string()) {
                events.push(sse(
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": index,
                    "delta": {"type": "input_json_delta", "partial_json": f}}),
                ));
            }
        }
        if matches!(reply, Reply::Cut(_)) {
            return Body::Events { events, cut: true };
        }
        events.push(sse(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        ));
    }
    events.push(sse(
        "message_delta",
        json!({"type": "message_delta",
        "delta": {"stop_reason": stop, "stop_sequence": null}, "usage": {"output_tokens": c}}),
    ));
    events.push(sse("message_stop", json!({"type": "message_stop"})));
    Body::Events { events, cut: false }
}
