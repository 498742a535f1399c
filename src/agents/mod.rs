//! Agents: the `ChatAgent` trait (with `run` / `run_stream` for every agent), the small
//! `BaseChatAgent` trait for custom agents, `AssistantAgent`, `UserProxyAgent`,
//! `CodeExecutorAgent`, `MessageFilterAgent`, and loading agents from component configs (agents
//! made of teams, and agents or teams as tools, load through a `ComponentLoader` from above).

mod assistant;
mod base;
mod code_executor;
mod drive;
mod error;
mod load;
pub mod message_filter;
pub mod user_proxy;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

pub use assistant::{
    AssistantAgent, AssistantAgentBuilder, Handoff, StructuredOutput, SummaryFormatter,
};
pub use base::BaseChatAgent;
pub use code_executor::{
    ApprovalFn, ApprovalRequest, ApprovalResponse, CodeExecutorAgent, CodeExecutorAgentBuilder,
};
pub use drive::{Driven, drive, drive_turn};
pub use error::AgentError;
pub use load::{ComponentLoader, LoadOptions, MODEL_REF_PROVIDER, load_agent};
pub use user_proxy::{
    InputFn, UserInputFn, UserInputRequest, UserProxyAgent, console_input, prompt_input,
};

use crate::component::{ComponentError, ComponentModel};
use crate::messages::{AgentEvent, AgentMessage, ChatMessage, TaskResult};

/// What an agent answers with: its final chat message and the events that led to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// The final message.
    pub chat_message: ChatMessage,
    /// Events and inner messages produced on the way.
    pub inner_messages: Vec<AgentMessage>,
}

/// One item of `on_messages_stream`: an event (or inner message), then the response.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentStreamItem {
    /// An event or inner message.
    Event(AgentMessage),
    /// The final response (always the last item).
    Response(Response),
}

/// One item of `run_stream`: a message or event, then the task result.
#[derive(Debug, Clone, PartialEq)]
pub enum RunItem {
    /// A task message, event or chat message.
    Message(AgentMessage),
    /// The result (always the last item).
    Result(TaskResult),
}

/// A stream of agent events ending with the response.
pub type AgentStream<'a> = BoxStream<'a, Result<AgentStreamItem, AgentError>>;

/// A stream of run items ending with the task result.
pub type RunStream<'a> = BoxStream<'a, Result<RunItem, AgentError>>;

/// The task of a run: nothing (continue), a string (a `TextMessage` from `user`), or messages.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Task {
    /// No new input.
    #[default]
    None,
    /// Text from `user`.
    Text(String),
    /// Chat messages.
    Messages(Vec<ChatMessage>),
}

impl From<&str> for Task {
    fn from(s: &str) -> Self {
        Self::Text(s.to_string())
    }
}

impl From<String> for Task {
    fn from(s: String) -> Self {
        Self::Text(s)
    }
}

impl From<ChatMessage> for Task {
    fn from(m: ChatMessage) -> Self {
        Self::Messages(vec![m])
    }
}

impl From<Vec<ChatMessage>> for Task {
    fn from(m: Vec<ChatMessage>) -> Self {
        Self::Messages(m)
    }
}

impl Task {
    /// The task as chat messages (an empty list of messages is an error, as in AutoGen).
    pub fn into_messages(self) -> Result<Vec<ChatMessage>, AgentError> {
        match self {
            Self::None => Ok(Vec::new()),
            Self::Text(t) => Ok(vec![ChatMessage::text("user", t)]),
            Self::Messages(m) if m.is_empty() => Err(AgentError::EmptyTask),
            Self::Messages(m) => Ok(m),
        }
    }
}

/// An agent that takes part in a chat (AutoGen `ChatAgent`). Shared as `Arc<dyn ChatAgent>`.
#[async_trait]
pub trait ChatAgent: Send + Sync {
    /// Unique name within a team.
    fn name(&self) -> &str;

    /// What the agent does (used by selectors).
    fn description(&self) -> &str;

    /// AutoGen type names of the chat messages it can answer with.
    fn produced_message_types(&self) -> Vec<&'static str> {
        vec!["TextMessage"]
    }

    /// Handles new messages, streaming events and ending with the response.
    fn on_messages_stream<'a>(
        &'a self,
        messages: Vec<ChatMessage>,
        cancel: CancellationToken,
    ) -> AgentStream<'a>;

    /// Handles new messages and returns the response.
    async fn on_messages(
        &self,
        messages: Vec<ChatMessage>,
        cancel: CancellationToken,
    ) -> Result<Response, AgentError> {
        let mut stream = self.on_messages_stream(messages, cancel);
        while let Some(item) = stream.next().await {
            if let AgentStreamItem::Response(r) = item? {
                return Ok(r);
            }
        }
        Err(AgentError::NoResponse {
            agent: self.name().to_string(),
        })
    }

    /// Forgets the conversation.
    async fn on_reset(&self, cancel: CancellationToken) -> Result<(), AgentError>;

    /// The agent's state as JSON (AutoGen's shapes).
    async fn save_state(&self) -> Result<Value, AgentError> {
        Ok(json!({"type": "BaseState", "version": "1.0.0"}))
    }

    /// Restores what `save_state` produced.
    async fn load_state(&self, _state: &Value) -> Result<(), AgentError> {
        Ok(())
    }

    /// Releases resources.
    async fn close(&self) -> Result<(), AgentError> {
        Ok(())
    }

    /// The component config that recreates the agent.
    fn dump_component(&self) -> Result<ComponentModel, ComponentError> {
        Err(ComponentError::NotSerialisable {
            what: self.name().to_string(),
            reason: "this agent type has no component config".into(),
        })
    }

    /// Runs a task, streaming task messages, events and messages, ending with the `TaskResult`.
    fn run_stream<'a>(&'a self, task: Task, cancel: CancellationToken) -> RunStream<'a> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let work = async move {
            let input = task.into_messages()?;
            let mut output: Vec<AgentMessage> = Vec::new();
            let mut send = |m: AgentMessage, keep: bool| {
                let _ = tx.send(m.clone());
                if keep {
                    output.push(m);
                }
            };
            for m in &input {
                send(m.clone().into(), true);
            }
            let mut inner = self.on_messages_stream(input, cancel);
            while let Some(item) = inner.next().await {
                match item? {
                    AgentStreamItem::Event(ev) => {
                        let keep = !matches!(
                            ev,
                            AgentMessage::Event(AgentEvent::ModelClientStreamingChunkEvent(_))
                        );
                        send(ev, keep);
                    }
                    AgentStreamItem::Response(r) => {
                        send(r.chat_message.into(), true);
                        return Ok(TaskResult {
                            messages: output,
                            stop_reason: None,
                        });
                    }
                }
            }
            Err(AgentError::NoResponse {
                agent: self.name().to_string(),
            })
        };
        drive(work, rx)
            .map(|item| {
                item.map(|d| match d {
                    Driven::Item(m) => RunItem::Message(m),
                    Driven::Done(r) => RunItem::Result(r),
                })
            })
            .boxed()
    }

    /// Runs a task and returns the `TaskResult`.
    async fn run(&self, task: Task, cancel: CancellationToken) -> Result<TaskResult, AgentError> {
        let mut stream = self.run_stream(task, cancel);
        while let Some(item) = stream.next().await {
            if let RunItem::Result(r) = item? {
                return Ok(r);
            }
        }
        Err(AgentError::NoResponse {
            agent: self.name().to_string(),
        })
    }
}
