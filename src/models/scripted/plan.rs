//! Reads an incoming request into a neutral view and picks the scripted reply for it.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::schema_args::example_for;
use super::script::{Action, Matcher, Script, Step, WhenDone};

/// Which wire format a request came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wire {
    OpenAi,
    Anthropic,
}

/// What the server needs to know about a request, whatever its wire format.
#[derive(Debug, Default)]
pub(crate) struct Incoming {
    pub model: String,
    pub system: String,
    pub last_text: String,
    pub after_tool_result: bool,
    pub tools: Vec<(String, Value)>,
    pub stream: bool,
    pub include_usage: bool,
    pub prompt_chars: usize,
}

fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

impl Incoming {
    pub fn parse(wire: Wire, body: &Value) -> Self {
        let s = |k: &str| {
            body.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let messages = body
            .get("messages")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut me = Incoming {
            model: s("model"),
            stream: body.get("stream").and_then(Value::as_bool).unwrap_or(false),
            include_usage: body
                .pointer("/stream_options/include_usage")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            prompt_chars: messages.iter().map(|m| text_of(&m["content"]).len()).sum(),
            ..Incoming::default()
        };
        let tools = body
            .get("tools")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        match wire {
            Wire::OpenAi => {
                me.system = messages
                    .iter()
                    .filter(|m| m["role"] == "system" || m["role"] == "developer")
                    .map(|m| text_of(&m["content"]))
                    .collect::<Vec<_>>()
                    .join("\n");
                if let Some(last) = messages.last() {
                    me.after_tool_result = last["role"] == "tool";
                    me.last_text = text_of(&last["content"]);
                }
                me.tools = tools
                    .iter()
                    .map(|t| {
                        (
                            t["function"]["name"]
                                .as_str()
                                .unwrap_or_default()
                                .to_string(),
                            t["function"]["parameters"].clone(),
                        )
                    })
                    .collect();
            }
            Wire::Anthropic => {
                me.system = text_of(body.get("system").unwrap_or(&Value::Null));
                if let Some(last) = messages.last() {
                    let content = &last["content"];
                    me.after_tool_result = content
                        .as_array()
                        .is_some_and(|bs| bs.iter().any(|b| b["type"] == "tool_result"));
                    me.last_text = match content.as_array() {
                        Some(bs) => bs
                            .iter()
                            .map(|b| {
                                if b["type"] == "tool_result" {
                                    text_of(&b["content"])
                                } else {
                                    text_of(&json!([b]))
                                }
                            })
                            .collect::<Vec<_>>()
                            .join("\n"),
                        None => text_of(content),
                    };
                }
                me.tools = tools
                    .iter()
                    .map(|t| {
                        (
                            t["name"].as_str().unwrap_or_default().to_string(),
                            t["input_schema"].clone(),
                        )
                    })
                    .collect();
            }
        }
        me.prompt_chars += me.system.len();
        me
    }

    fn matches(&self, m: &Matcher) -> bool {
        m.last_contains
            .as_ref()
            .is_none_or(|s| self.last_text.contains(s.as_str()))
            && m.system_contains
                .as_ref()
                .is_none_or(|s| self.system.contains(s.as_str()))
            && m.tool_offered
                .as_ref()
                .is_none_or(|s| self.tools.iter().any(|(n, _)| n == s))
            && m.after_tool_result
                .is_none_or(|b| b == self.after_tool_result)
            && m.model.as_ref().is_none_or(|s| *s == self.model)
    }

    fn schema_of(&self, name: &str) -> Value {
        self.tools
            .iter()
            .find(|(n, _)| n == name)
            .map_or(json!({}), |(_, s)| s.clone())
    }
}

/// A tool call to send.
#[derive(Debug, Clone)]
pub(crate) struct PlannedCall {
    pub name: String,
    pub arguments: String,
}

/// The reply, independent of wire format.
#[derive(Debug, Clone)]
pub(crate) enum Reply {
    Text(String),
    Calls(Vec<PlannedCall>),
    Error {
        status: u16,
        message: String,
        retry_after: Option<u64>,
    },
    Cut(String),
}

/// A reply plus its timing.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub reply: Reply,
    pub delay_ms: u64,
    pub chunk_delay_ms: u64,
}

/// Which sequence a step belongs to: the main steps (`None`) or rule `i`'s steps.
type Track = Option<usize>;

/// Mutable script position: a cursor per sequence and per-step turn counters.
#[derive(Debug, Default)]
pub(crate) struct Cursor {
    next: HashMap<Track, usize>,
    turns: HashMap<(Track, usize), u32>,
}

fn exhausted() -> Plan {
    Plan {
        reply: Reply::Error {
            status: 500,
            message: "scripted server: script exhausted".into(),
            retry_after: None,
        },
        delay_ms: 0,
        chunk_delay_ms: 0,
    }
}

/// Picks the reply for `incoming`, advancing the cursor.
pub(crate) fn plan(script: &Script, cursor: &mut Cursor, incoming: &Incoming) -> Plan {
    let rule = script
        .rules
        .iter()
        .enumerate()
        .find(|(_, r)| !r.sequence().is_empty() && incoming.matches(&r.when));
    let (track, steps) = match rule {
        Some((i, r)) => (Some(i), r.sequence()),
        None => (None, script.steps.as_slice()),
    };
    let next = cursor.next.entry(track).or_insert(0);
    let Some((step, index)) = pick(steps, script.when_done, next) else {
        return exhausted();
    };
    let reply = reply_for(step, (track, index), cursor, incoming);
    Plan {
        reply,
        delay_ms: step.delay_ms.unwrap_or(script.delay_ms),
        chunk_delay_ms: step.chunk_delay_ms.unwrap_or(0),
    }
}

fn pick<'a>(steps: &'a [Step], when_done: WhenDone, next: &mut usize) -> Option<(&'a Step, usize)> {
    let len = steps.len();
    if len == 0 {
        return None;
    }
    let index = if *next < len {
        *next
    } else {
        match when_done {
            WhenDone::Cycle => *next % len,
            WhenDone::RepeatLast => len - 1,
            WhenDone::Error => return None,
        }
    };
    *next += 1;
    Some((&steps[index], index))
}

fn reply_for(step: &Step, key: (Track, usize), cursor: &mut Cursor, incoming: &Incoming) -> Reply {
    let call = |name: &str, args: Option<&Value>| PlannedCall {
        name: name.to_string(),
        arguments: args
            .cloned()
            .unwrap_or_else(|| example_for(&incoming.schema_of(name)))
            .to_string(),
    };
    match &step.action {
        Action::Text { text } => Reply::Text(text.clone()),
        Action::Echo => Reply::Text(incoming.last_text.clone()),
        Action::Json { value } => Reply::Text(value.to_string()),
        Action::CallFirstTool => match incoming.tools.first() {
            Some((name, _)) => Reply::Calls(vec![call(name, None)]),
            None => Reply::Text("no tools were offered".into()),
        },
        Action::CallAllTools => {
            Reply::Calls(incoming.tools.iter().map(|(n, _)| call(n, None)).collect())
        }
        Action::CallTool { name, arguments } => Reply::Calls(vec![call(name, arguments.as_ref())]),
        Action::Parallel { calls } => Reply::Calls(
            calls
                .iter()
                .map(|c| call(&c.name, c.arguments.as_ref()))
                .collect(),
        ),
        Action::Handoff { target } => Reply::Calls(vec![PlannedCall {
            name: format!("transfer_to_{target}"),
            arguments: "{}".into(),
        }]),
        Action::StopAfter { turns, word, text } => {
            let count = cursor.turns.entry(key).or_insert(0);
            *count += 1;
            if *count >= *turns {
                cursor.turns.remove(&key);
                Reply::Text(format!("{text} {word}"))
            } else {
                if let Some(next) = cursor.next.get_mut(&key.0) {
                    *next = next.saturating_sub(1);
                }
                Reply::Text(text.clone())
            }
        }
        Action::Error {
            status,
            message,
            retry_after,
        } => Reply::Error {
            status: *status,
            message: message
                .clone()
                .unwrap_or_else(|| format!("scripted error {status}")),
            retry_after: *retry_after,
        },
        Action::CutStream { text } => Reply::Cut(text.clone()),
    }
}
