//! `SamplingClient`: a chat model client backed by the calling MCP client's own model, through
//! MCP sampling (`sampling/createMessage`) sent via the call's [`CallObserver`] — so an agent in
//! a served team runs on the IDE's model, with no API key of ours. 2025-era callers get a
//! server→client request, 2026-07-28 callers an `input_required` round (the server face decides).
//!
//! Tools are offered only when the caller declares `sampling.tools` (2025-11-25, SEP-1577);
//! otherwise the client is text-only and its `model_info` says so (`function_calling: false`).
//! Sampling reports no token usage: results carry zero usage.

use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use rmcp::model::{
    CreateMessageRequest, CreateMessageRequestParams, CreateMessageResult, ImageContent,
    InputRequest, InputRequests, JsonObject, ModelHint, ModelPreferences, Role, SamplingCapability,
    SamplingMessage, SamplingMessageContentBlock, Tool, ToolChoice as McpToolChoice,
    ToolResultContent,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::component::ComponentModel;
use crate::models::client::{ChatCompletionClient, ChatStream, StreamItem, UsageTracker};
use crate::models::error::ModelError;
use crate::models::model_info::{ModelInfo, family};
use crate::models::request::{CreateRequest, ToolChoice, ToolSchema, check_capabilities};
use crate::models::tokens::count_tokens;
use crate::models::types::{
    AssistantContent, CreateResult, FinishReason, FunctionCall, Image, LlmMessage, RequestUsage,
    UserContent, UserPart,
};
use crate::workbench::{CallContext, CallObserver, CallerInfo};

/// The provider name of a sampling model (`provider = "sampling"` in a `[models.NAME]` table).
pub const PROVIDER: &str = "sampling";

const NAME: &str = "sampling";
const KEY: &str = "completion";

/// Whether a provider name selects the sampling client.
pub fn is_sampling_provider(provider: &str) -> bool {
    let short = provider.rsplit('.').next().unwrap_or(provider);
    matches!(
        short.to_ascii_lowercase().as_str(),
        "sampling" | "mcp_sampling" | "samplingclient"
    )
}

fn default_max_tokens() -> u32 {
    1024
}

/// What a sampling model asks of the client (all optional but `max_tokens`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SamplingConfig {
    /// A model name hint for the client (`modelPreferences.hints`); the client chooses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Most tokens to sample per completion (an `extra_args.max_tokens` overrides it).
    #[serde(default = "default_max_tokens")]
    pub max_tokens: u32,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// Stop sequences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_sequences: Option<Vec<String>>,
    /// `modelPreferences.costPriority` (0..1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_priority: Option<f32>,
    /// `modelPreferences.speedPriority` (0..1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed_priority: Option<f32>,
    /// `modelPreferences.intelligencePriority` (0..1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intelligence_priority: Option<f32>,
}

impl Default for SamplingConfig {
    fn default() -> Self {
        Self {
            model: None,
            max_tokens: default_max_tokens(),
            temperature: None,
            stop_sequences: None,
            cost_priority: None,
            speed_priority: None,
            intelligence_priority: None,
        }
    }
}

impl SamplingConfig {
    /// The config of a sampling model component (its `config` object; unknown fields ignored).
    pub fn from_component(component: &ComponentModel) -> Result<Self, ModelError> {
        serde_json::from_value(component.config.clone()).map_err(|e| ModelError::Config {
            reason: format!("bad config for the sampling model: {e}"),
        })
    }

    fn preferences(&self) -> Option<ModelPreferences> {
        let mut p = ModelPreferences::new();
        if let Some(model) = &self.model {
            p = p.with_hints(vec![ModelHint::new(model.clone())]);
        }
        p.cost_priority = self.cost_priority;
        p.speed_priority = self.speed_priority;
        p.intelligence_priority = self.intelligence_priority;
        (p != ModelPreferences::new()).then_some(p)
    }
}

/// A model client that samples the calling MCP client's model. Bind one per call.
#[derive(Clone)]
pub struct SamplingClient {
    config: SamplingConfig,
    observer: Arc<dyn CallObserver>,
    sampling: Option<SamplingCapability>,
    usage: Arc<UsageTracker>,
}

impl std::fmt::Debug for SamplingClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SamplingClient")
            .field("config", &self.config)
            .field("sampling", &self.sampling)
            .finish()
    }
}

impl SamplingClient {
    /// A client asking the caller behind `observer`, whose capabilities are in `caller`.
    pub fn new(
        config: SamplingConfig,
        observer: Arc<dyn CallObserver>,
        caller: &CallerInfo,
    ) -> Self {
        Self {
            config,
            observer,
            sampling: caller
                .capabilities
                .as_ref()
                .and_then(|c| c.sampling.clone()),
            usage: Arc::new(UsageTracker::default()),
        }
    }

    /// A client asking the client that made this call.
    pub fn for_call(config: SamplingConfig, ctx: &CallContext) -> Self {
        Self::new(config, Arc::clone(&ctx.observer), &ctx.caller)
    }

    /// Whether the caller declared sampling at all.
    pub fn sampling_supported(&self) -> bool {
        self.sampling.is_some()
    }

    /// Whether the caller declared `sampling.tools` (tool calls through sampling).
    pub fn tools_supported(&self) -> bool {
        self.sampling.as_ref().is_some_and(|s| s.tools.is_some())
    }

    fn model_name(&self) -> &str {
        self.config.model.as_deref().unwrap_or(NAME)
    }

    fn params(&self, request: &CreateRequest) -> CreateMessageRequestParams {
        let tools = self.tools_supported();
        let (system, messages) = to_sampling_messages(&request.messages, tools);
        let max_tokens = request
            .extra_args
            .get("max_tokens")
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(self.config.max_tokens);
        let mut params = CreateMessageRequestParams::new(messages, max_tokens);
        params.system_prompt = system;
        params.model_preferences = self.config.preferences();
        params.temperature = request
            .extra_args
            .get("temperature")
            .and_then(Value::as_f64)
            .map(|t| t as f32)
            .or(self.config.temperature);
        params.stop_sequences = self.config.stop_sequences.clone();
        if tools && !request.tools.is_empty() {
            let (offered, choice) = to_tools(&request.tools, &request.tool_choice);
            params.tools = Some(offered);
            params.tool_choice = Some(choice);
        }
        params
    }

    async fn sample(
        &self,
        request: CreateRequest,
        cancel: CancellationToken,
    ) -> Result<CreateResult, ModelError> {
        if self.sampling.is_none() {
            return Err(ModelError::Config {
                reason: "a model of kind `sampling` uses the calling MCP client's model, and \
                         this client declared no `sampling` capability"
                    .into(),
            });
        }
        check_capabilities(NAME, self.model_name(), &self.model_info(), &request, false)?;
        let mut requests = InputRequests::new();
        requests.insert(
            KEY.into(),
            InputRequest::CreateMessage(CreateMessageRequest::new(self.params(&request))),
        );
        let withdraw = cancel.child_token();
        let _guard = withdraw.clone().drop_guard();
        let asked = self.observer.input(requests, withdraw);
        let mut answers = tokio::select! {
            answers = asked => answers.map_err(|e| invalid(format!(
                "the calling client failed sampling/createMessage: {}", e.message
            )))?,
            _ = cancel.cancelled() => return Err(ModelError::Cancelled { provider: NAME.into() }),
        };
        let answer = answers
            .remove(KEY)
            .ok_or_else(|| invalid("the calling client gave no sampling result".into()))?;
        let result: CreateMessageResult = serde_json::from_value(answer)
            .map_err(|e| invalid(format!("not a sampling result: {e}")))?;
        let result = from_sampling_result(result);
        self.usage.record(&result);
        Ok(result)
    }
}

fn invalid(reason: String) -> ModelError {
    ModelError::InvalidResponse {
        provider: NAME.into(),
        reason,
    }
}

/// System messages joined into the system prompt; the rest as sampling messages. Without tool
/// support, tool calls and results are rendered as text.
fn to_sampling_messages(
    messages: &[LlmMessage],
    tools: bool,
) -> (Option<String>, Vec<SamplingMessage>) {
    let mut system = Vec::new();
    let mut out = Vec::new();
    for message in messages {
        match message {
            LlmMessage::SystemMessage(s) => system.push(s.content.clone()),
            LlmMessage::UserMessage(u) => out.push(SamplingMessage::new_multiple(
                Role::User,
                user_blocks(&u.content),
            )),
            LlmMessage::AssistantMessage(a) => {
                let mut blocks = Vec::new();
                match &a.content {
                    AssistantContent::Text(t) => blocks.push(SamplingMessageContentBlock::text(t)),
                    AssistantContent::FunctionCalls(calls) => {
                        if let Some(thought) = a.thought.as_deref().filter(|t| !t.is_empty()) {
                            blocks.push(SamplingMessageContentBlock::text(thought));
                        }
                        blocks.extend(calls.iter().map(|c| call_block(c, tools)));
                    }
                }
                out.push(SamplingMessage::new_multiple(Role::Assistant, blocks));
            }
            LlmMessage::FunctionExecutionResultMessage(r) => {
                let blocks = r
                    .content
                    .iter()
                    .map(|result| {
                        if tools {
                            let mut block = ToolResultContent::new(
                                result.call_id.clone(),
                                vec![rmcp::model::ContentBlock::text(result.content.clone())],
                            );
                            block.is_error = result.is_error;
                            SamplingMessageContentBlock::ToolResult(block)
                        } else {
                            SamplingMessageContentBlock::text(format!(
                                "Result of tool `{}`: {}",
                                result.name, result.content
                            ))
                        }
                    })
                    .collect();
                out.push(SamplingMessage::new_multiple(Role::User, blocks));
            }
        }
    }
    let system = (!system.is_empty()).then(|| system.join("\n\n"));
    (system, out)
}

fn user_blocks(content: &UserContent) -> Vec<SamplingMessageContentBlock> {
    match content {
        UserContent::Text(t) => vec![SamplingMessageContentBlock::text(t)],
        UserContent::Parts(parts) => parts
            .iter()
            .map(|p| match p {
                UserPart::Text(t) => SamplingMessageContentBlock::text(t),
                UserPart::Image(Image::Base64 { data }) => SamplingMessageContentBlock::Image(
                    ImageContent::new(data.clone(), Image::mime_of(data)),
                ),
                UserPart::Image(Image::Url { url }) => {
                    SamplingMessageContentBlock::text(format!("[image: {url}]"))
                }
            })
            .collect(),
    }
}

fn call_block(call: &FunctionCall, tools: bool) -> SamplingMessageContentBlock {
    if !tools {
        return SamplingMessageContentBlock::text(format!(
            "Called tool `{}` with arguments {}",
            call.name, call.arguments
        ));
    }
    let input = match serde_json::from_str::<Value>(&call.arguments) {
        Ok(Value::Object(o)) => o,
        _ => JsonObject::new(),
    };
    SamplingMessageContentBlock::tool_use(call.id.clone(), call.name.clone(), input)
}

/// The tools offered and the tool choice; a named choice offers only that tool, required.
fn to_tools(tools: &[ToolSchema], choice: &ToolChoice) -> (Vec<Tool>, McpToolChoice) {
    let schema = |t: &ToolSchema| match t.parameters_or_empty() {
        Value::Object(o) => o,
        _ => JsonObject::new(),
    };
    let tool = |t: &ToolSchema| {
        Tool::new(
            t.name.clone(),
            t.description.clone().unwrap_or_default(),
            schema(t),
        )
    };
    match choice {
        ToolChoice::Auto => (tools.iter().map(tool).collect(), McpToolChoice::auto()),
        ToolChoice::None => (tools.iter().map(tool).collect(), McpToolChoice::none()),
        ToolChoice::Required => (tools.iter().map(tool).collect(), McpToolChoice::required()),
        ToolChoice::Named(name) => (
            tools.iter().filter(|t| &t.name == name).map(tool).collect(),
            McpToolChoice::required(),
        ),
    }
}

/// The client's answer as a completion result (zero usage: sampling reports none).
fn from_sampling_result(result: CreateMessageResult) -> CreateResult {
    let mut text = Vec::new();
    let mut calls = Vec::new();
    for block in result.message.content.into_vec() {
        match block {
            SamplingMessageContentBlock::Text(t) => text.push(t.text),
            SamplingMessageContentBlock::ToolUse(u) => calls.push(FunctionCall {
                id: u.id,
                arguments: Value::Object(u.input).to_string(),
                name: u.name,
            }),
            _ => {}
        }
    }
    let text = text.join("");
    let finish_reason = match result.stop_reason.as_deref() {
        _ if !calls.is_empty() => FinishReason::FunctionCalls,
        None | Some("endTurn") | Some("stopSequence") => FinishReason::Stop,
        Some("maxTokens") => FinishReason::Length,
        Some(_) => FinishReason::Unknown,
    };
    let (content, thought) = if calls.is_empty() {
        (AssistantContent::Text(text), None)
    } else {
        (
            AssistantContent::FunctionCalls(calls),
            (!text.is_empty()).then_some(text),
        )
    };
    CreateResult {
        finish_reason,
        content,
        usage: RequestUsage::default(),
        cached: false,
        logprobs: None,
        thought,
    }
}

#[async_trait]
impl ChatCompletionClient for SamplingClient {
    async fn create(
        &self,
        request: CreateRequest,
        cancel: CancellationToken,
    ) -> Result<CreateResult, ModelError> {
        self.sample(request, cancel).await
    }

    fn create_stream(&self, request: CreateRequest, cancel: CancellationToken) -> ChatStream {
        let this = self.clone();
        futures::stream::once(async move { this.sample(request, cancel).await })
            .flat_map(|result| {
                let items: Vec<Result<StreamItem, ModelError>> = match result {
                    Ok(r) => {
                        let mut items = Vec::new();
                        if let AssistantContent::Text(t) = &r.content {
                            items.push(Ok(StreamItem::Chunk(t.clone())));
                        }
                        items.push(Ok(StreamItem::Done(r)));
                        items
                    }
                    Err(e) => vec![Err(e)],
                };
                futures::stream::iter(items)
            })
            .boxed()
    }

    fn actual_usage(&self) -> RequestUsage {
        self.usage.actual()
    }

    fn total_usage(&self) -> RequestUsage {
        self.usage.total()
    }

    fn count_tokens(&self, messages: &[LlmMessage], tools: &[ToolSchema]) -> u64 {
        count_tokens(self.model_name(), messages, tools)
    }

    fn model_info(&self) -> ModelInfo {
        ModelInfo {
            vision: true,
            function_calling: self.tools_supported(),
            json_output: false,
            family: family::UNKNOWN.into(),
            structured_output: false,
            multiple_system_messages: Some(true),
            context_window: None,
        }
    }

    fn dump_component(&self) -> Option<ComponentModel> {
        ComponentModel::model(PROVIDER, "SamplingClient", &self.config).ok()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::models::types::FunctionExecutionResult;
    use serde_json::json;

    #[test]
    fn messages_with_tools_become_tool_use_and_results() {
        let call = FunctionCall {
            id: "c1".into(),
            arguments: r#"{"a":1}"#.into(),
            name: "add".into(),
        };
        let messages = vec![
            LlmMessage::system("be brief"),
            LlmMessage::user("add 1", "user"),
            LlmMessage::tool_calls(vec![call], "bot"),
            LlmMessage::tool_results(vec![FunctionExecutionResult {
                content: "1".into(),
                name: "add".into(),
                call_id: "c1".into(),
                is_error: Some(false),
            }]),
        ];
        let (system, out) = to_sampling_messages(&messages, true);
        assert_eq!(system.as_deref(), Some("be brief"));
        let wire = serde_json::to_value(&out).unwrap();
        assert_eq!(wire[1]["content"][0]["type"], "tool_use");
        assert_eq!(wire[1]["content"][0]["input"], json!({"a": 1}));
        assert_eq!(wire[2]["role"], "user");
        assert_eq!(wire[2]["content"][0]["type"], "tool_result");
        assert_eq!(wire[2]["content"][0]["toolUseId"], "c1");
        let (_, text_only) = to_sampling_messages(&messages, false);
        let wire = serde_json::to_value(&text_only).unwrap();
        assert_eq!(wire[1]["content"][0]["type"], "text");
        assert_eq!(wire[2]["content"][0]["text"], "Result of tool `add`: 1");
    }

    #[test]
    fn results_map_back() {
        let r: CreateMessageResult = serde_json::from_value(json!({
            "role": "assistant", "model": "m", "stopReason": "toolUse",
            "content": [{"type": "text", "text": "let me add"},
                        {"type": "tool_use", "id": "t1", "name": "add", "input": {"a": 2}}]
        }))
        .unwrap();
        let result = from_sampling_result(r);
        assert_eq!(result.finish_reason, FinishReason::FunctionCalls);
        assert_eq!(result.thought.as_deref(), Some("let me add"));
        let calls = result.content.as_calls().unwrap();
        assert_eq!(calls[0].name, "add");
        assert_eq!(calls[0].arguments, r#"{"a":2}"#);
        let r: CreateMessageResult = serde_json::from_value(json!({
            "role": "assistant", "model": "m", "stopReason": "maxTokens",
            "content": {"type": "text", "text": "cut"}
        }))
        .unwrap();
        let result = from_sampling_result(r);
        assert_eq!(result.finish_reason, FinishReason::Length);
        assert_eq!(result.content.as_text(), Some("cut"));
        assert_eq!(result.usage, RequestUsage::default());
    }

    #[tokio::test]
    async fn a_caller_without_sampling_gets_a_clear_error() {
        let client = SamplingClient::new(
            SamplingConfig::default(),
            Arc::new(crate::workbench::NoObserver),
            &CallerInfo::default(),
        );
        assert!(!client.model_info().function_calling);
        let err = client
            .create(
                CreateRequest::new(vec![LlmMessage::user("hi", "user")]),
                CancellationToken::new(),
            )
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("declared no `sampling` capability"),
            "{err}"
        );
    }

    #[test]
    fn provider_names_and_preferences() {
        assert!(is_sampling_provider("sampling"));
        assert!(is_sampling_provider("toolyard.models.SamplingClient"));
        assert!(!is_sampling_provider("openai"));
        let config = SamplingConfig {
            model: Some("claude-sonnet".into()),
            ..SamplingConfig::default()
        };
        let p = serde_json::to_value(config.preferences()).unwrap();
        assert_eq!(p["hints"], json!([{"name": "claude-sonnet"}]));
        assert!(SamplingConfig::default().preferences().is_none());
    }
}
