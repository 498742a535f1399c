//! `BaseChatAgent`: the small trait for custom agents; implementing it gives a full `ChatAgent`
//! (streaming, `run`, `run_stream`) for free.

use async_trait::async_trait;
use futures::StreamExt;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::{AgentError, AgentStream, AgentStreamItem, ChatAgent, Response};
use crate::messages::ChatMessage;

/// A custom agent: a name, a description and `on_messages`. Everything else has a default.
#[async_trait]
pub trait BaseChatAgent: Send + Sync {
    /// Unique name.
    fn name(&self) -> &str;

    /// What the agent does.
    fn description(&self) -> &str;

    /// Handles new messages.
    async fn on_messages(
        &self,
        messages: Vec<ChatMessage>,
        cancel: CancellationToken,
    ) -> Result<Response, AgentError>;

    /// Forgets the conversation.
    async fn on_reset(&self, _cancel: CancellationToken) -> Result<(), AgentError> {
        Ok(())
    }

    /// Message types it answers with.
    fn produced_message_types(&self) -> Vec<&'static str> {
        vec!["TextMessage"]
    }

    /// State as JSON.
    async fn save_state(&self) -> Result<Value, AgentError> {
        Ok(serde_json::json!({"type": "BaseState", "version": "1.0.0"}))
    }

    /// Restores state.
    async fn load_state(&self, _state: &Value) -> Result<(), AgentError> {
        Ok(())
    }
}

#[async_trait]
impl<T: BaseChatAgent> ChatAgent for T {
    fn name(&self) -> &str {
        BaseChatAgent::name(self)
    }

    fn description(&self) -> &str {
        BaseChatAgent::description(self)
    }

    fn produced_message_types(&self) -> Vec<&'static str> {
        BaseChatAgent::produced_message_types(self)
    }

    fn on_messages_stream<'a>(
        &'a self,
        messages: Vec<ChatMessage>,
        cancel: CancellationToken,
    ) -> AgentStream<'a> {
        let work = async move {
            let response = BaseChatAgent::on_messages(self, messages, cancel).await?;
            let mut items: Vec<Result<AgentStreamItem, AgentError>> = response
                .inner_messages
                .iter()
                .cloned()
                .map(|m| Ok(AgentStreamItem::Event(m)))
                .collect();
            items.push(Ok(AgentStreamItem::Response(response)));
            Ok::<_, AgentError>(futures::stream::iter(items))
        };
        futures::stream::once(work)
            .map(|r| match r {
                Ok(s) => s.boxed(),
                Err(e) => futures::stream::iter(vec![Err(e)]).boxed(),
            })
            .flatten()
            .boxed()
    }

    async fn on_reset(&self, cancel: CancellationToken) -> Result<(), AgentError> {
        BaseChatAgent::on_reset(self, cancel).await
    }

    async fn save_state(&self) -> Result<Value, AgentError> {
        BaseChatAgent::save_state(self).await
    }

    async fn load_state(&self, state: &Value) -> Result<(), AgentError> {
        BaseChatAgent::load_state(self, state).await
    }
}
