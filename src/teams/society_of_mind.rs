//! `SocietyOfMindAgent`: runs an inner team on the new messages and answers with a model's
//! summary of the team's transcript (AutoGen 0.7.5's agent, its default prompts and flow). An
//! agent made of a team, so it lives with the teams (AutoGen keeps it in `agents`; its provider
//! name is unchanged).

use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use super::{GroupChat, TeamError, load_team};
use crate::agents::{
    AgentError, AgentStream, AgentStreamItem, ChatAgent, Driven, LoadOptions, Response, RunItem,
    Task, drive,
};
use crate::component::{ComponentError, ComponentModel, component, parse_config};
use crate::messages::{AgentEvent, AgentMessage, ChatMessage, HandoffMessage, MessageMeta};
use crate::models::{
    AssistantContent, ChatCompletionClient, CreateRequest, LlmMessage, model_client_config,
};

/// AutoGen's default instruction (put before the inner team's transcript).
pub const DEFAULT_INSTRUCTION: &str = "Earlier you were asked to fulfill a request. You and your team worked diligently to address that request. Here is a transcript of that conversation:";

/// AutoGen's default response prompt (put after the transcript).
pub const DEFAULT_RESPONSE_PROMPT: &str = "Output a standalone response to the original request, without mentioning any of the intermediate discussion.";

/// AutoGen's default description.
pub const DEFAULT_SOM_DESCRIPTION: &str =
    "An agent that uses an inner team of agents to generate responses.";

/// AutoGen's provider name.
pub const SOM_PROVIDER: &str = "autogen_agentchat.agents.SocietyOfMindAgent";

/// AutoGen's `SocietyOfMindAgentConfig` (without `model_context`).
#[derive(Serialize, Deserialize)]
struct Config {
    name: String,
    team: ComponentModel,
    model_client: ComponentModel,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    instruction: Option<String>,
    #[serde(default)]
    response_prompt: Option<String>,
}

/// An agent whose answer is a model's summary of what its inner team said. Like AutoGen, the
/// inner team is reset after every answer and the agent's own context keeps the messages it was
/// given, handed to the team as a `HandoffMessage` with that context on the next call.
pub struct SocietyOfMindAgent {
    name: String,
    description: String,
    team: Arc<GroupChat>,
    client: Arc<dyn ChatCompletionClient>,
    instruction: String,
    response_prompt: String,
    context: Mutex<Vec<LlmMessage>>,
}

impl SocietyOfMindAgent {
    /// An agent named `name` wrapping `team`, summarising with `client`.
    pub fn new(
        name: impl Into<String>,
        team: Arc<GroupChat>,
        client: Arc<dyn ChatCompletionClient>,
    ) -> Self {
        Self {
            name: name.into(),
            description: DEFAULT_SOM_DESCRIPTION.into(),
            team,
            client,
            instruction: DEFAULT_INSTRUCTION.into(),
            response_prompt: DEFAULT_RESPONSE_PROMPT.into(),
            context: Mutex::new(Vec::new()),
        }
    }

    /// Sets the description.
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = d.into();
        self
    }

    /// Sets the instruction put before the transcript.
    pub fn instruction(mut self, i: impl Into<String>) -> Self {
        self.instruction = i.into();
        self
    }

    /// Sets the prompt put after the transcript.
    pub fn response_prompt(mut self, p: impl Into<String>) -> Self {
        self.response_prompt = p.into();
        self
    }

    /// The inner team.
    pub fn team(&self) -> &Arc<GroupChat> {
        &self.team
    }

    /// Builds the agent from its component config (AutoGen's `SocietyOfMindAgentConfig`; a
    /// `model_context` in it is ignored: the agent keeps its given messages unbounded).
    pub fn from_component(
        model: &ComponentModel,
        options: &LoadOptions,
    ) -> Result<Self, ComponentError> {
        let c: Config = parse_config(model)?;
        let team = load_team(&c.team, options)?;
        let client =
            options
                .model_client(&c.model_client)
                .map_err(|source| ComponentError::Model {
                    provider: model.provider.clone(),
                    source: Box::new(source),
                })?;
        let mut agent = Self::new(c.name, Arc::new(team), client);
        if let Some(d) = c.description {
            agent = agent.description(d);
        }
        if let Some(i) = c.instruction {
            agent = agent.instruction(i);
        }
        if let Some(p) = c.response_prompt {
            agent = agent.response_prompt(p);
        }
        Ok(agent)
    }

    fn team_error(&self, e: TeamError) -> AgentError {
        match e {
            TeamError::Agent { source, .. } => *source,
            TeamError::Cancelled { .. } => AgentError::Cancelled {
                agent: self.name.clone(),
            },
            e => AgentError::Config {
                agent: self.name.clone(),
                reason: format!("inner team: {e}"),
            },
        }
    }

    /// The model prompt: instruction, the transcript's chat messages, response prompt.
    fn prompt(&self, inner: &[AgentMessage]) -> Vec<LlmMessage> {
        let system = self
            .client
            .model_info()
            .multiple_system_messages
            .unwrap_or(false);
        let wrap = |text: &str| {
            if system {
                LlmMessage::system(text)
            } else {
                LlmMessage::user(text, "user")
            }
        };
        let mut messages = vec![wrap(&self.instruction)];
        messages.extend(
            inner
                .iter()
                .filter_map(AgentMessage::as_chat)
                .map(ChatMessage::to_model_message),
        );
        messages.push(wrap(&self.response_prompt));
        messages
    }

    async fn answer(
        &self,
        messages: Vec<ChatMessage>,
        cancel: CancellationToken,
        tx: tokio::sync::mpsc::UnboundedSender<AgentMessage>,
    ) -> Result<Response, AgentError> {
        let mut task_messages = messages.clone();
        let previous = self.context.lock().await.clone();
        if !previous.is_empty() {
            task_messages.insert(
                0,
                ChatMessage::HandoffMessage(HandoffMessage {
                    meta: MessageMeta::new(self.name.clone()),
                    content: "relevant previous messages".into(),
                    target: String::new(),
                    context: previous,
                }),
            );
        }
        // AutoGen runs the team with `output_task_messages=False`: skip the echoed task.
        let mut to_skip = task_messages.len();
        let task = if task_messages.is_empty() {
            Task::None
        } else {
            Task::Messages(task_messages)
        };
        let mut inner: Vec<AgentMessage> = Vec::new();
        {
            let mut stream = self.team.run_stream(task, cancel.clone());
            while let Some(item) = stream.next().await {
                match item.map_err(|e| self.team_error(e))? {
                    RunItem::Message(m) => {
                        if to_skip > 0 && m.as_chat().is_some() {
                            to_skip -= 1;
                            continue;
                        }
                        let _ = tx.send(m.clone());
                        if !matches!(
                            m,
                            AgentMessage::Event(AgentEvent::ModelClientStreamingChunkEvent(_))
                        ) {
                            inner.push(m);
                        }
                    }
                    RunItem::Result(_) => {}
                }
            }
        }
        let chat_message = if inner.is_empty() {
            ChatMessage::text(self.name.clone(), "No response.")
        } else {
            let result = self
                .client
                .create(CreateRequest::new(self.prompt(&inner)), cancel)
                .await
                .map_err(|source| AgentError::Model {
                    agent: self.name.clone(),
                    source,
                })?;
            match result.content {
                AssistantContent::Text(text) => {
                    let mut m = ChatMessage::text(self.name.clone(), text);
                    *m.meta_mut() = m.meta().clone().with_usage(result.usage);
                    m
                }
                AssistantContent::FunctionCalls(_) => {
                    return Err(AgentError::Reflection {
                        agent: self.name.clone(),
                    });
                }
            }
        };
        {
            let mut context = self.context.lock().await;
            for m in &messages {
                if let ChatMessage::HandoffMessage(h) = m {
                    context.extend(h.context.iter().cloned());
                }
                context.push(m.to_model_message());
            }
        }
        self.team.reset().await.map_err(|e| self.team_error(e))?;
        Ok(Response {
            chat_message,
            inner_messages: Vec::new(),
        })
    }
}

#[async_trait]
impl ChatAgent for SocietyOfMindAgent {
    fn name(&self) -> &str {
        &self.name
    }

    fn description(&self) -> &str {
        &self.description
    }

    fn on_messages_stream<'a>(
        &'a self,
        messages: Vec<ChatMessage>,
        cancel: CancellationToken,
    ) -> AgentStream<'a> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        drive(self.answer(messages, cancel, tx), rx)
            .map(|item| {
                item.map(|d| match d {
                    Driven::Item(m) => AgentStreamItem::Event(m),
                    Driven::Done(r) => AgentStreamItem::Response(r),
                })
            })
            .boxed()
    }

    async fn on_reset(&self, _cancel: CancellationToken) -> Result<(), AgentError> {
        self.team.reset().await.map_err(|e| self.team_error(e))?;
        self.context.lock().await.clear();
        Ok(())
    }

    fn dump_component(&self) -> Result<ComponentModel, ComponentError> {
        let model_client = model_client_config(self.client.as_ref(), &self.name)?;
        component(
            SOM_PROVIDER,
            "agent",
            1,
            &Config {
                name: self.name.clone(),
                team: self.team.dump_component()?,
                model_client,
                description: Some(self.description.clone()),
                instruction: Some(self.instruction.clone()),
                response_prompt: Some(self.response_prompt.clone()),
            },
        )
    }

    /// AutoGen's `SocietyOfMindAgentState`: the inner team's state.
    async fn save_state(&self) -> Result<Value, AgentError> {
        let team = self
            .team
            .save_state()
            .await
            .map_err(|e| self.team_error(e))?;
        Ok(json!({"type": "SocietyOfMindAgentState", "version": "1.0.0", "inner_team_state": team}))
    }

    /// Restores the inner team's state from a `SocietyOfMindAgentState`.
    async fn load_state(&self, state: &Value) -> Result<(), AgentError> {
        let team = state
            .get("inner_team_state")
            .ok_or_else(|| AgentError::State {
                agent: self.name.clone(),
                reason: "`inner_team_state` is missing".into(),
            })?;
        self.team
            .load_state(team)
            .await
            .map_err(|e| AgentError::State {
                agent: self.name.clone(),
                reason: e.to_string(),
            })
    }
}
