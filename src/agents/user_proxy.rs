//! `UserProxyAgent`: answers with a human's input, read through a pluggable async input function
//! (the console by default).

use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::{AgentError, AgentStream, AgentStreamItem, ChatAgent, Driven, Response, drive};
use crate::component::{ComponentError, ComponentModel, component, parse_config};
use crate::messages::{
    AgentEvent, AgentMessage, ChatMessage, HandoffMessage, MessageMeta, UserInputRequestedEvent,
};

/// AutoGen's provider name.
pub const PROVIDER: &str = "autogen_agentchat.agents.UserProxyAgent";

/// Reads one answer: gets the prompt, returns the text or an error message.
pub type InputFn = Arc<
    dyn Fn(String, CancellationToken) -> BoxFuture<'static, Result<String, String>> + Send + Sync,
>;

/// The console input: prints the prompt on stderr and reads a line from stdin.
pub fn console_input() -> InputFn {
    Arc::new(|prompt, _cancel| {
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                eprint!("{prompt}");
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .map_err(|e| e.to_string())?;
                Ok(line.trim_end_matches(['\r', '\n']).to_string())
            })
            .await
            .map_err(|e| e.to_string())?
        })
    })
}

#[derive(Debug, Serialize, Deserialize)]
struct Config {
    name: String,
    #[serde(default = "default_description")]
    description: String,
}

fn default_description() -> String {
    "A human user".into()
}

/// An agent standing in for a human.
pub struct UserProxyAgent {
    name: String,
    description: String,
    input: InputFn,
}

impl std::fmt::Debug for UserProxyAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserProxyAgent")
            .field("name", &self.name)
            .finish()
    }
}

impl UserProxyAgent {
    /// A user proxy reading from the console.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            description: default_description(),
            input: console_input(),
        }
    }

    /// Uses this input function instead of the console.
    pub fn with_input(mut self, input: InputFn) -> Self {
        self.input = input;
        self
    }

    /// Sets the description.
    pub fn with_description(mut self, d: impl Into<String>) -> Self {
        self.description = d.into();
        self
    }

    /// From its component config (console input).
    pub fn from_component(model: &ComponentModel) -> Result<Self, ComponentError> {
        let c: Config = parse_config(model)?;
        Ok(Self::new(c.name).with_description(c.description))
    }

    async fn answer(
        &self,
        messages: Vec<ChatMessage>,
        tx: tokio::sync::mpsc::UnboundedSender<AgentMessage>,
        cancel: CancellationToken,
    ) -> Result<Response, AgentError> {
        let request = AgentMessage::Event(AgentEvent::UserInputRequestedEvent(
            UserInputRequestedEvent {
                meta: MessageMeta::new(&self.name),
                request_id: uuid::Uuid::new_v4().to_string(),
                content: String::new(),
            },
        ));
        let _ = tx.send(request.clone());
        let read = (self.input)("Enter your response: ".into(), cancel.clone());
        let text = tokio::select! {
            r = read => r.map_err(|reason| AgentError::Input { agent: self.name.clone(), reason })?,
            _ = cancel.cancelled() => return Err(AgentError::Cancelled { agent: self.name.clone() }),
        };
        let handoff = messages.iter().rev().find_map(|m| match m {
            ChatMessage::HandoffMessage(h) if h.target == self.name => Some(h),
            _ => None,
        });
        let chat_message = match handoff {
            Some(h) => ChatMessage::HandoffMessage(HandoffMessage {
                meta: MessageMeta::new(&self.name),
                content: text,
                target: h.meta.source.clone(),
                context: Vec::new(),
            }),
            None => ChatMessage::text(&self.name, text),
        };
        Ok(Response {
            chat_message,
            inner_messages: vec![request],
        })
    }
}

#[async_trait]
impl ChatAgent for UserProxyAgent {
    fn name(&self) -> &str {
        &self.name
    }

    fn description(&self) -> &str {
        &self.description
    }

    fn produced_message_types(&self) -> Vec<&'static str> {
        vec!["TextMessage", "HandoffMessage"]
    }

    fn on_messages_stream<'a>(
        &'a self,
        messages: Vec<ChatMessage>,
        cancel: CancellationToken,
    ) -> AgentStream<'a> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        drive(self.answer(messages, tx, cancel), rx)
            .map(|item| {
                item.map(|d| match d {
                    Driven::Item(m) => AgentStreamItem::Event(m),
                    Driven::Done(r) => AgentStreamItem::Response(r),
                })
            })
            .boxed()
    }

    async fn on_reset(&self, _cancel: CancellationToken) -> Result<(), AgentError> {
        Ok(())
    }

    fn dump_component(&self) -> Result<ComponentModel, ComponentError> {
        let config = Config {
            name: self.name.clone(),
            description: self.description.clone(),
        };
        component(PROVIDER, "agent", 1, &config)
    }
}
