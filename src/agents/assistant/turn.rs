//! One assistant turn: context and memory, model call (streamed or not), the tool-call loop,
//! handoffs, reflection or a tool-call summary, and the final message.

use crate::models::{complete, fit_to_model};
use crate::telemetry::events;
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use super::AssistantAgent;
use super::exec::{InnerEvents, Offered};
use crate::agents::{AgentError, AgentStream, Response, drive_turn};
use crate::messages::{
    AgentEvent, AgentMessage, ChatMessage, ChunkEvent, HandoffMessage, MemoryQueryEvent,
    MessageMeta, StructuredMessage, TextBody, ToolCallExecutionEvent, ToolCallRequestEvent,
    ToolCallSummaryMessage,
};
use crate::models::{
    AssistantContent, CreateRequest, CreateResult, FunctionCall, FunctionExecutionResult,
    LlmMessage, OutputFormat, ToolChoice,
};
use crate::workbench::{CallContext, CallerInfo};
use std::sync::Arc;

/// The streamed form of a turn.
pub(super) fn stream(
    agent: &AssistantAgent,
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

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

struct Turn<'a> {
    agent: &'a AssistantAgent,
    tx: UnboundedSender<AgentMessage>,
    inner: Vec<AgentMessage>,
    cancel: CancellationToken,
}

impl Turn<'_> {
    fn emit(&mut self, event: AgentEvent) {
        let m = AgentMessage::Event(event);
        let _ = self.tx.send(m.clone());
        self.inner.push(m);
    }

    fn name(&self) -> String {
        self.agent.name.clone()
    }

    fn respond(self, chat_message: ChatMessage) -> Response {
        Response {
            chat_message,
            inner_messages: self.inner,
        }
    }

    async fn run(mut self, messages: Vec<ChatMessage>) -> Result<Response, AgentError> {
        let a = self.agent;
        for m in &messages {
            if let ChatMessage::HandoffMessage(h) = m {
                for c in &h.context {
                    a.context.add_message(c.clone()).await;
                }
            }
            a.context.add_message(m.to_model_message()).await;
        }
        for mem in &a.memory {
            let r = mem
                .update_context(a.context.as_ref())
                .await
                .map_err(|source| AgentError::Memory {
                    agent: self.name(),
                    source,
                })?;
            if !r.memories.is_empty() {
                self.emit(AgentEvent::MemoryQueryEvent(MemoryQueryEvent {
                    meta: MessageMeta::new(&a.name),
                    content: r.memories,
                }));
            }
        }
        let mut message_id = new_id();
        let mut offered = a.offered().await?;
        let mut result = self.call_model(&offered, &message_id, true).await?;
        self.record(&result, &mut message_id).await;
        let mut executed = Vec::new();
        for iteration in 0..a.max_tool_iterations {
            let calls = match &result.content {
                AssistantContent::Text(text) => {
                    let msg = self.final_message(text, &result, &message_id)?;
                    return Ok(self.respond(msg));
                }
                AssistantContent::FunctionCalls(calls) => calls.clone(),
            };
            let mut request = ToolCallRequestEvent {
                meta: MessageMeta::new(&a.name),
                content: calls.clone(),
            };
            request.meta.models_usage = Some(result.usage);
            self.emit(AgentEvent::ToolCallRequestEvent(request));
            let inner_events = Arc::new(InnerEvents::new(self.tx.clone()));
            let ctx = CallContext {
                cancel: self.cancel.clone(),
                observer: inner_events.clone(),
                caller: CallerInfo::default(),
            };
            executed = a.execute(&calls, &offered, &ctx).await;
            for (call, result) in &executed {
                events::tool_call(&call.name, &call.arguments, &result.content);
            }
            self.inner.extend(inner_events.take());
            if self.cancel.is_cancelled() {
                return Err(AgentError::Cancelled { agent: self.name() });
            }
            let results: Vec<FunctionExecutionResult> =
                executed.iter().map(|(_, r)| r.clone()).collect();
            self.emit(AgentEvent::ToolCallExecutionEvent(ToolCallExecutionEvent {
                meta: MessageMeta::new(&a.name),
                content: results.clone(),
            }));
            a.context
                .add_message(LlmMessage::tool_results(results))
                .await;
            if let Some(handoff) = self.handoff(&result, &executed) {
                return Ok(self.respond(handoff));
            }
            if iteration + 1 == a.max_tool_iterations {
                break;
            }
            offered = a.offered().await?;
            result = self.call_model(&offered, &message_id, true).await?;
            self.record(&result, &mut message_id).await;
        }
        if a.reflect {
            return self.reflect().await;
        }
        let summary = self.summary(&executed);
        Ok(self.respond(summary))
    }

    /// Emits the thought (if any) and adds the model output to the context.
    async fn record(&mut self, result: &CreateResult, message_id: &mut String) {
        if let Some(thought) = &result.thought {
            let mut body = TextBody::new(&self.agent.name, thought.clone());
            body.meta.id = message_id.clone();
            self.emit(AgentEvent::ThoughtEvent(body));
            *message_id = new_id();
        }
        let name = self.name();
        self.agent
            .context
            .add_message(result.to_message(name))
            .await;
    }

    fn output_format(&self) -> OutputFormat {
        match &self.agent.output {
            Some(o) => OutputFormat::JsonSchema {
                name: o.name.clone(),
                schema: o.schema.clone(),
                strict: true,
            },
            None => OutputFormat::Text,
        }
    }

    async fn call_model(
        &mut self,
        offered: &Offered,
        message_id: &str,
        with_tools: bool,
    ) -> Result<CreateResult, AgentError> {
        let a = self.agent;
        let mut messages: Vec<LlmMessage> = a
            .system_message
            .iter()
            .map(|s| LlmMessage::system(s.clone()))
            .collect();
        messages.extend(fit_to_model(
            a.client.as_ref(),
            a.context.get_messages().await,
        ));
        let mut request = CreateRequest::new(messages).with_output(self.output_format());
        if with_tools {
            request = request.with_tools(Arc::clone(&offered.schemas));
        } else {
            request = request.with_tool_choice(ToolChoice::None);
        }
        let model_err = |source| AgentError::Model {
            agent: a.name.clone(),
            source,
        };
        let tx = &self.tx;
        let on_chunk = |text| {
            let _ = tx.send(AgentMessage::Event(
                AgentEvent::ModelClientStreamingChunkEvent(ChunkEvent {
                    meta: MessageMeta::new(&a.name),
                    content: text,
                    full_message_id: Some(message_id.to_string()),
                }),
            ));
        };
        complete(
            a.client.as_ref(),
            request,
            a.stream,
            self.cancel.clone(),
            on_chunk,
        )
        .await
        .map_err(model_err)?
        .ok_or_else(|| AgentError::NoResponse { agent: self.name() })
    }

    fn final_message(
        &self,
        text: &str,
        result: &CreateResult,
        id: &str,
    ) -> Result<ChatMessage, AgentError> {
        let meta = MessageMeta::new(&self.agent.name)
            .with_usage(result.usage)
            .with_id(id);
        let (Some(output), Some(validator)) = (&self.agent.output, &self.agent.output_validator)
        else {
            return Ok(ChatMessage::TextMessage(TextBody {
                meta,
                content: text.to_string(),
            }));
        };
        let invalid = |reason: String| AgentError::StructuredOutput {
            agent: self.name(),
            reason,
            content: text.to_string(),
        };
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let validator = validator.as_ref().map_err(|e| invalid(e.clone()))?;
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| format!("{} at `{}`", e, e.instance_path()))
            .collect();
        if !errors.is_empty() {
            return Err(invalid(errors.join("; ")));
        }
        Ok(ChatMessage::StructuredMessage(StructuredMessage {
            meta,
            content: value,
            format_string: output.format_string.clone(),
        }))
    }

    fn handoff(
        &self,
        result: &CreateResult,
        executed: &[(FunctionCall, FunctionExecutionResult)],
    ) -> Option<ChatMessage> {
        let a = self.agent;
        let is_handoff = |name: &str| a.handoffs.iter().any(|h| h.name == name);
        let (selected_call, selected_result) =
            executed.iter().find(|(c, _)| is_handoff(&c.name))?;
        let handoff = a.handoffs.iter().find(|h| h.name == selected_call.name)?;
        let others: Vec<&(FunctionCall, FunctionExecutionResult)> = executed
            .iter()
            .filter(|(c, _)| !is_handoff(&c.name))
            .collect();
        let mut context = Vec::new();
        if !others.is_empty() {
            let calls = others.iter().map(|(c, _)| c.clone()).collect();
            let mut call_msg = LlmMessage::tool_calls(calls, &a.name);
            if let LlmMessage::AssistantMessage(m) = &mut call_msg {
                m.thought = result.thought.clone();
            }
            context.push(call_msg);
            context.push(LlmMessage::tool_results(
                others.iter().map(|(_, r)| r.clone()).collect(),
            ));
        } else if let Some(thought) = &result.thought {
            context.push(LlmMessage::assistant(thought.clone(), &a.name));
        }
        Some(ChatMessage::HandoffMessage(HandoffMessage {
            meta: MessageMeta::new(&a.name),
            content: selected_result.content.clone(),
            target: handoff.target.clone(),
            context,
        }))
    }

    async fn reflect(mut self) -> Result<Response, AgentError> {
        let id = new_id();
        let offered = Offered {
            schemas: Arc::from([]),
            owner: Default::default(),
        };
        let result = self.call_model(&offered, &id, false).await?;
        let AssistantContent::Text(text) = &result.content else {
            return Err(AgentError::Reflection { agent: self.name() });
        };
        let mut scratch = String::new();
        self.record(&result, &mut scratch).await;
        let msg = self.final_message(text, &result, &id)?;
        Ok(self.respond(msg))
    }

    fn summary(&self, executed: &[(FunctionCall, FunctionExecutionResult)]) -> ChatMessage {
        let a = self.agent;
        let normal: Vec<&(FunctionCall, FunctionExecutionResult)> = executed
            .iter()
            .filter(|(c, _)| !a.handoffs.iter().any(|h| h.name == c.name))
            .collect();
        let lines: Vec<String> = normal
            .iter()
            .map(|(c, r)| match &a.summary_formatter {
                Some(f) => f(c, r),
                None => format_summary(&a.summary_format, c, r),
            })
            .collect();
        ChatMessage::ToolCallSummaryMessage(ToolCallSummaryMessage {
            meta: MessageMeta::new(&a.name),
            content: lines.join("\n"),
            tool_calls: normal.iter().map(|(c, _)| c.clone()).collect(),
            results: normal.iter().map(|(_, r)| r.clone()).collect(),
        })
    }
}

/// Fills AutoGen's `{tool_name}`, `{arguments}`, `{result}`, `{is_error}` placeholders.
pub(crate) fn format_summary(
    format: &str,
    call: &FunctionCall,
    result: &FunctionExecutionResult,
) -> String {
    let is_error = match result.is_error {
        Some(true) => "True",
        Some(false) => "False",
        None => "None",
    };
    format
        .replace("{tool_name}", &call.name)
        .replace("{arguments}", &call.arguments)
        .replace("{result}", &result.content)
        .replace("{is_error}", is_error)
}
