//! `UserProxyAgent`: answers with a human's input, read through a pluggable async input function
//! (the console by default; `crate::compose::caller_input` asks the calling MCP client's user
//! instead).

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

/// What a user proxy asks the human: AutoGen's prompt plus what the human is answering.
#[derive(Debug, Clone, PartialEq)]
pub struct UserInputRequest {
    /// The user proxy's name.
    pub agent: String,
    /// The id of the `UserInputRequestedEvent` this request belongs to.
    pub request_id: String,
    /// AutoGen's prompt: `Enter your response: `, or `Handoff received from X. Enter your
    /// response: ` after a handoff.
    pub prompt: String,
    /// The newest message the agent was given (what the human answers), if any.
    pub last_message: Option<ChatMessage>,
}

/// Reads one answer with the full request; returns the text or an error message.
pub type UserInputFn = Arc<
    dyn Fn(UserInputRequest, CancellationToken) -> BoxFuture<'static, Result<String, String>>
        + Send
        + Sync,
>;

/// A request-aware input function that hands only the prompt to `input` (e.g. the console).
pub fn prompt_input(input: InputFn) -> UserInputFn {
    Arc::new(move |request: UserInputRequest, cancel| input(request.prompt, cancel))
}

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
    input: UserInputFn,
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
            input: prompt_input(console_input()),
        }
    }

    /// Uses this input function instead of the console.
    pub fn with_input(mut self, input: InputFn) -> Self {
        self.input = prompt_input(input);
        self
    }

    /// Uses an input function that sees the whole request (e.g. `crate::compose::caller_input`).
    pub fn with_request_input(mut self, input: UserInputFn) -> Self {
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
        let handoff = messages.iter().rev().find_map(|m| match m {
            ChatMessage::HandoffMessage(h) if h.target == self.name => Some(h),
            _ => None,
        });
        let request_id = uuid::Uuid::new_v4().to_string();
        let request = AgentMessage::Event(AgentEvent::UserInputRequestedEvent(
            UserInputRequestedEvent {
                meta: MessageMeta::new(&self.name),
                request_id: request_id.clone(),
                content: String::new(),
            },
        ));
        let _ = tx.send(request.clone());
        let prompt = match handoff {
            Some(h) => format!(
                "Handoff received from {}. Enter your response: ",
                h.meta.source
            ),
            None => "Enter your response: ".to_string(),
        };
        let ask = UserInputRequest {
            agent: self.name.clone(),
            request_id,
            prompt,
            last_message: messages.last().cloned(),
        };
        let read = (self.input)(ask, cancel.clone());
        let text = tokio::select! {
            r = read => r.map_err(|reason| AgentError::Input { agent: self.name.clone(), reason })?,
            _ = cancel.cancelled() => return Err(AgentError::Cancelled { agent: self.name.clone() }),
        };
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
