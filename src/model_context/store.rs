//! `MessageStore`: the thread-safe message list every model context keeps.

use std::sync::Mutex;

use serde_json::{Value, json};

use super::ContextError;
use crate::models::LlmMessage;

/// All messages added to a context, plus the initial ones it was created with.
#[derive(Debug, Default)]
pub struct MessageStore {
    messages: Mutex<Vec<LlmMessage>>,
    initial: Option<Vec<LlmMessage>>,
}

impl MessageStore {
    /// A store starting with `initial` messages.
    pub fn new(initial: Option<Vec<LlmMessage>>) -> Self {
        Self {
            messages: Mutex::new(initial.clone().unwrap_or_default()),
            initial,
        }
    }

    /// The initial messages given at creation (for component configs).
    pub fn initial(&self) -> Option<&Vec<LlmMessage>> {
        self.initial.as_ref()
    }

    /// A copy of every message.
    pub fn all(&self) -> Vec<LlmMessage> {
        self.messages.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Appends a message.
    pub fn push(&self, message: LlmMessage) {
        if let Ok(mut m) = self.messages.lock() {
            m.push(message);
        }
    }

    /// Removes every message.
    pub fn clear(&self) {
        if let Ok(mut m) = self.messages.lock() {
            m.clear();
        }
    }

    /// `{"messages": [...]}`.
    pub fn save_state(&self) -> Value {
        json!({ "messages": self.all() })
    }

    /// Replaces the messages with those of a saved state.
    pub fn load_state(&self, state: &Value) -> Result<(), ContextError> {
        let messages = match state.get("messages") {
            None | Some(Value::Null) => Vec::new(),
            Some(v) => serde_json::from_value::<Vec<LlmMessage>>(v.clone()).map_err(|e| {
                ContextError::BadState {
                    reason: e.to_string(),
                }
            })?,
        };
        if let Ok(mut m) = self.messages.lock() {
            *m = messages;
        }
        Ok(())
    }
}
