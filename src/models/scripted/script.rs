//! The scripted server's script: ordered steps and matching rules, loadable from JSON or TOML.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What the scripted server does once its steps run out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhenDone {
    /// Start again from the first step.
    #[default]
    Cycle,
    /// Keep answering with the last step.
    RepeatLast,
    /// Answer 500 "script exhausted".
    Error,
}

/// A tool call named in a script.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallSpec {
    /// Tool name.
    pub name: String,
    /// Arguments object (generated from the tool's schema when absent).
    #[serde(default)]
    pub arguments: Option<Value>,
}

fn default_stop_word() -> String {
    "TERMINATE".into()
}

fn default_working() -> String {
    "Working on it.".into()
}

/// What one reply does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// Reply with fixed text.
    Text {
        /// The text.
        text: String,
    },
    /// Reply with the text of the last user message.
    Echo,
    /// Reply with this JSON value as text (structured output).
    Json {
        /// The value.
        value: Value,
    },
    /// Call the first offered tool with arguments generated from its schema.
    CallFirstTool,
    /// Call every offered tool at once, arguments generated from their schemas.
    CallAllTools,
    /// Call one named tool.
    CallTool {
        /// Tool name.
        name: String,
        /// Arguments (generated from the schema when absent).
        #[serde(default)]
        arguments: Option<Value>,
    },
    /// Several tool calls in one turn.
    Parallel {
        /// The calls.
        calls: Vec<CallSpec>,
    },
    /// Call `transfer_to_<target>` with no arguments.
    Handoff {
        /// Target agent name.
        target: String,
    },
    /// Reply `text` for `turns - 1` turns, then `text` plus the stop word, then move on.
    StopAfter {
        /// Turn on which the stop word appears (1 = immediately).
        turns: u32,
        /// The stop word.
        #[serde(default = "default_stop_word")]
        word: String,
        /// Text of every turn.
        #[serde(default = "default_working")]
        text: String,
    },
    /// Answer with an HTTP error.
    Error {
        /// HTTP status.
        status: u16,
        /// Error message in the provider's error body.
        #[serde(default)]
        message: Option<String>,
        /// `Retry-After` seconds.
        #[serde(default)]
        retry_after: Option<u64>,
    },
    /// Start answering with `text`, then drop the connection before the end marker.
    CutStream {
        /// Text sent before the cut.
        #[serde(default = "default_working")]
        text: String,
    },
}

/// One scripted reply with its timing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// What to reply.
    #[serde(flatten)]
    pub action: Action,
    /// Wait this long before answering (overrides the script's `delay_ms`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// When streaming, wait this long between events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk_delay_ms: Option<u64>,
}

impl Step {
    /// A step doing `action` with no delays.
    pub fn new(action: Action) -> Self {
        Self {
            action,
            delay_ms: None,
            chunk_delay_ms: None,
        }
    }

    /// A fixed-text step.
    pub fn text(text: impl Into<String>) -> Self {
        Self::new(Action::Text { text: text.into() })
    }

    /// Sets the delay before answering.
    pub fn delayed(mut self, ms: u64) -> Self {
        self.delay_ms = Some(ms);
        self
    }

    /// Sets the delay between streamed events.
    pub fn chunk_delayed(mut self, ms: u64) -> Self {
        self.chunk_delay_ms = Some(ms);
        self
    }
}

/// Conditions on the incoming request; all given ones must hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Matcher {
    /// The last message's text contains this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_contains: Option<String>,
    /// The system prompt contains this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_contains: Option<String>,
    /// A tool with this name is offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_offered: Option<String>,
    /// The last message is (true) or is not (false) a tool result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_tool_result: Option<bool>,
    /// The requested model equals this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

/// Replies chosen when the request matches, before the ordered steps are consulted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// When the rule applies.
    #[serde(default)]
    pub when: Matcher,
    /// One reply, used every time the rule matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<Step>,
    /// Or a sequence of replies with its own cursor (e.g. one agent's turns).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Step>,
}

impl Rule {
    /// A rule answering `reply` whenever `when` matches.
    pub fn new(when: Matcher, reply: Step) -> Self {
        Self {
            when,
            reply: Some(reply),
            steps: Vec::new(),
        }
    }

    /// The rule's replies: its `steps`, or its single `reply`.
    pub fn sequence(&self) -> &[Step] {
        if self.steps.is_empty() {
            self.reply.as_slice()
        } else {
            &self.steps
        }
    }
}

/// A deterministic script for the scripted model server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Script {
    /// Replies in order.
    #[serde(default)]
    pub steps: Vec<Step>,
    /// Rules tried first, in order.
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// What happens after the last step.
    #[serde(default)]
    pub when_done: WhenDone,
    /// Default delay before every answer.
    #[serde(default)]
    pub delay_ms: u64,
    /// When set, requests must carry this key (Bearer, `api-key` or `x-api-key`), else 401.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// Record received requests (turn off for long benchmarks).
    #[serde(default = "default_true")]
    pub record: bool,
}

fn default_true() -> bool {
    true
}

impl Default for Script {
    fn default() -> Self {
        Self {
            steps: Vec::new(),
            rules: Vec::new(),
            when_done: WhenDone::default(),
            delay_ms: 0,
            api_key: None,
            record: true,
        }
    }
}

/// A script that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    /// The file could not be read, or the listener not bound.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The script text is invalid.
    #[error("invalid {format} script: {reason}")]
    Parse {
        /// json or toml.
        format: &'static str,
        /// Parser message.
        reason: String,
    },
}

impl Script {
    /// A script of these steps.
    pub fn steps(steps: Vec<Step>) -> Self {
        Self {
            steps,
            ..Self::default()
        }
    }

    /// Parses JSON script text.
    pub fn from_json(text: &str) -> Result<Self, ScriptError> {
        serde_json::from_str(text).map_err(|e| ScriptError::Parse {
            format: "json",
            reason: e.to_string(),
        })
    }

    /// Parses TOML script text.
    pub fn from_toml(text: &str) -> Result<Self, ScriptError> {
        toml::from_str(text).map_err(|e| ScriptError::Parse {
            format: "toml",
            reason: e.to_string(),
        })
    }

    /// Loads a `.json` or `.toml` script file.
    pub fn load(path: &Path) -> Result<Self, ScriptError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScriptError::Io {
            what: format!("reading {}", path.display()),
            source,
        })?;
        match path.extension().and_then(|e| e.to_str()) {
            Some("toml") => Self::from_toml(&text),
            _ => Self::from_json(&text),
        }
    }
}
