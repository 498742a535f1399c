//! One `CodeExecutorAgent` turn: without a model client, run the blocks found in the messages;
//! with one, generate code, execute it, ask whether to retry on failure, and reflect (AutoGen
//! 0.7.5's `on_messages_stream`, step for step).

use crate::models::{complete, fit_to_model};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use super::{CodeExecutorAgent, NO_CODE_BLOCKS_FOUND_MESSAGE};
use crate::agents::{AgentError, AgentStream, Response, drive_turn};
use crate::code_executors::CodeResult;
use crate::messages::{
    AgentEvent, AgentMessage, ChatMessage, ChunkEvent, CodeExecutionEvent, CodeGenerationEvent,
    MessageMeta, TextBody,
};
use crate::messages::{CodeBlock as WireBlock, CodeResult as WireResult};
use crate::models::{
    AssistantContent, ChatCompletionClient, CreateRequest, CreateResult, LlmMessage, OutputFormat,
};

/// The streamed form of a turn.
pub(super) fn stream(
    agent: &CodeExecutorAgent,
    messages: Vec<ChatMessage>,
    cancel: CancellationToken,
) -> AgentStream<'_> {
    let name = agent.name.clone();
    drive_turn(&name, cancel.clone(), move |tx| async move {
        let turn = Turn {
            agent,
            tx,
            inner: Vec::new(),
            cancel,
        };
        turn.run(messages).await
    })
}

/// AutoGen's `RetryDecision`: the model's structured answer after a failed run.
#[derive(Debug, Deserialize)]
struct RetryDecision {
    reason: String,
    retry: bool,
}

fn retry_schema() -> serde_json::Value {
    json!({
        "type": "object",
        "title": "RetryDecision",
        "properties": {
            "reason": {"title": "Reason", "type": "string"},
            "retry": {"title": "Retry", "type": "boolean"}
        },
        "required": ["reason", "retry"],
        "additionalProperties": false
    })
}

struct Turn<'a> {
    agent: &'a CodeExecutorAgent,
    tx: UnboundedSender<AgentMessage>,
    /// What AutoGen puts in `Response.inner_messages`: only thought events.
    inner: Vec<AgentMessage>,
    cancel: CancellationToken,
}

impl Turn<'_> {
    /// Streams an event without keeping it in `inner_messages` (as AutoGen does for code
    /// generation / execution events and chunks).
    fn yield_event(&self, event: AgentEvent) {
        let _ = self.tx.send(AgentMessage::Event(event));
    }

    fn name(&self) -> &str {
        &self.agent.name
    }

    fn model_err(&self) -> impl Fn(crate::models::ModelError) -> AgentError + '_ {
        |source| AgentError::Model {
            agent: self.agent.name.clone(),
            source,
        }
    }

    async fn run(self, messages: Vec<ChatMessage>) -> Result<Response, AgentError> {
        let a = self.agent;
        let Some(client) = a.client.clone() else {
            let blocks = a.extract_code_blocks_from_messages(&messages)?;
            let text = if blocks.is_empty() {
                NO_CODE_BLOCKS_FOUND_MESSAGE.to_string()
            } else {
                a.execute_code_block(&blocks, &self.cancel).await?.output
            };
            return Ok(Response {
                chat_message: ChatMessage::text(&a.name, text),
                inner_messages: Vec::new(),
            });
        };
        self.with_model(client.as_ref(), messages).await
    }

    async fn with_model(
        mut self,
        client: &dyn ChatCompletionClient,
        messages: Vec<ChatMessage>,
    ) -> Result<Response, AgentError> {
        let a = self.agent;
        for nth_try in 0..=a.max_retries_on_error {
            // AutoGen adds the incoming messages again on every attempt.
            for m in &messages {
                if let ChatMessage::HandoffMessage(h) = m {
                    for c in &h.context {
                        a.context.add_message(c.clone()).await;
                    }
                }
                a.context.add_message(m.to_model_message()).await;
            }
            let result = self.call_model(client).await?;
            let text = self.record(&result).await?;
            let blocks = a.extract(&text)?;
            if blocks.is_empty() {
                return Ok(Response {
                    chat_message: ChatMessage::text(&a.name, text),
                    inner_messages: self.inner,
                });
            }
            self.yield_event(AgentEvent::CodeGenerationEvent(CodeGenerationEvent {
                meta: MessageMeta::new(&a.name),
                retry_attempt: nth_try,
                content: text,
                code_blocks: blocks
                    .iter()
                    .map(|b| WireBlock {
                        code: b.code.clone(),
                        language: b.language.clone(),
                    })
                    .collect(),
            }));
            let executed = a.execute_code_block(&blocks, &self.cancel).await?;
            a.context
                .add_message(LlmMessage::user(executed.output.clone(), &a.name))
                .await;
            self.yield_event(AgentEvent::CodeExecutionEvent(CodeExecutionEvent {
                meta: MessageMeta::new(&a.name),
                retry_attempt: nth_try,
                result: WireResult {
                    exit_code: executed.exit_code,
                    output: executed.output.clone(),
                },
            }));
            if executed.exit_code == 0 || nth_try == a.max_retries_on_error {
                break;
            }
            let decision = self.retry_decision(client, &executed).await?;
            if !decision.retry {
                break;
            }
            self.yield_event(AgentEvent::CodeGenerationEvent(CodeGenerationEvent {
                meta: MessageMeta::new(&a.name),
                retry_attempt: nth_try,
                content: format!(
                    "Attempt number: {}\nProposed correction: {}",
                    nth_try + 1,
                    decision.reason
                ),
                code_blocks: Vec::new(),
            }));
        }
        self.reflect(client).await
    }

    /// Asks the model (structured output) whether a failed run should be retried.
    async fn retry_decision(
        &self,
        client: &dyn ChatCompletionClient,
        executed: &CodeResult,
    ) -> Result<RetryDecision, AgentError> {
        let prompt = format!(
            "The most recent code execution resulted in an error:\n{}\n\n\
             Should we attempt to resolve it? Please respond with:\n\
             - A boolean value for 'retry' indicating whether it should be retried.\n\
             - A detailed explanation in 'reason' that identifies the issue, justifies your decision to retry or not, and outlines how you would resolve the error if a retry is attempted.",
            executed.output
        );
        let mut messages = self.agent.context.get_messages().await;
        messages.push(LlmMessage::user(prompt, self.name()));
        let request = CreateRequest::new(messages).with_output(OutputFormat::JsonSchema {
            name: "RetryDecision".into(),
            schema: retry_schema(),
            strict: true,
        });
        let response = client
            .create(request, self.cancel.clone())
            .await
            .map_err(self.model_err())?;
        let content = match response.content {
            AssistantContent::Text(t) => t,
            AssistantContent::FunctionCalls(_) => String::new(),
        };
        serde_json::from_str(&content).map_err(|e| AgentError::StructuredOutput {
            agent: self.agent.name.clone(),
            reason: format!("retry decision: {e}"),
            content,
        })
    }

    /// The system message and the context, images removed for models without vision.
    async fn llm_messages(&self, client: &dyn ChatCompletionClient) -> Vec<LlmMessage> {
        let a = self.agent;
        let mut messages: Vec<LlmMessage> = a
            .system_message
            .iter()
            .map(|s| LlmMessage::system(s.clone()))
            .collect();
        messages.extend(fit_to_model(client, a.context.get_messages().await));
        messages
    }

    /// One inference, streamed as chunk events when configured.
    async fn call_model(
        &self,
        client: &dyn ChatCompletionClient,
    ) -> Result<CreateResult, AgentError> {
        let request = CreateRequest::new(self.llm_messages(client).await);
        let on_chunk = |text| {
            self.yield_event(AgentEvent::ModelClientStreamingChunkEvent(ChunkEvent {
                meta: MessageMeta::new(self.name()),
                content: text,
                full_message_id: None,
            }))
        };
        complete(
            client,
            request,
            self.agent.stream,
            self.cancel.clone(),
            on_chunk,
        )
        .await
        .map_err(self.model_err())?
        .ok_or_else(|| AgentError::NoResponse {
            agent: self.name().to_string(),
        })
    }

    /// Emits the thought (kept in `inner_messages`), adds the answer to the context and returns
    /// its text (a model answering with tool calls is an error: none were offered).
    async fn record(&mut self, result: &CreateResult) -> Result<String, AgentError> {
        if let Some(thought) = &result.thought {
            let m = AgentMessage::Event(AgentEvent::ThoughtEvent(TextBody::new(
                self.name(),
                thought.clone(),
            )));
            let _ = self.tx.send(m.clone());
            self.inner.push(m);
        }
        self.agent
            .context
            .add_message(result.to_message(self.name()))
            .await;
        match &result.content {
            AssistantContent::Text(t) => Ok(t.clone()),
            AssistantContent::FunctionCalls(_) => Err(AgentError::Reflection {
                agent: self.name().to_string(),
            }),
        }
    }

    /// The final inference on the execution results; its text is the response.
    async fn reflect(mut self, client: &dyn ChatCompletionClient) -> Result<Response, AgentError> {
        let result = self.call_model(client).await?;
        let text = self.record(&result).await?;
        let mut body = TextBody::new(self.name(), text);
        body.meta.models_usage = Some(result.usage);
        Ok(Response {
            chat_message: ChatMessage::TextMessage(body),
            inner_messages: self.inner,
        })
    }
}
