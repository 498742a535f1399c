//! `HttpChatClient`: the one `ChatCompletionClient` over an HTTP chat API (retries, timeouts,
//! cancellation, streaming, output validation, usage). A provider is a `WireFormat`: how its
//! request body and headers are written and its responses read (OpenAI chat completions,
//! Anthropic messages).

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::client::{ChatCompletionClient, ChatStream, UsageTracker};
use super::component::ComponentModel;
use super::error::ModelError;
use super::http::{Exchange, HttpCore};
use super::model_info::ModelInfo;
use super::output::validate_output;
use super::request::{CreateRequest, OutputFormat, ToolSchema, check_capabilities};
use super::sse::{SseAssembler, spawn_stream};
use super::tokens::count_tokens;
use super::types::{CreateResult, FinishReason, LlmMessage, RequestUsage};
use crate::telemetry;
use crate::telemetry::events::ModelCall;
use crate::telemetry::metrics::ModelLabels;

/// What differs between HTTP chat providers.
pub(crate) trait WireFormat: Send + Sync + 'static {
    /// The client's type name, for `Debug`.
    const CLIENT: &'static str;
    /// Whether JSON output is asked for in the prompt (no native JSON mode).
    const JSON_EMULATED: bool;

    /// The provider's name in errors.
    fn provider(&self) -> &'static str;
    /// The URL requests go to.
    fn url(&self) -> &str;
    /// The request body.
    fn body(
        &self,
        model: &str,
        request: &CreateRequest,
        output: &OutputFormat,
        stream: bool,
    ) -> Value;
    /// The HTTP request (URL, headers) carrying `body`.
    fn request(&self, client: &reqwest::Client, body: Bytes) -> reqwest::RequestBuilder;
    /// Reads a whole (non-streamed) response.
    fn parse(&self, body: &[u8]) -> Result<CreateResult, ModelError>;
    /// Assembles a streamed response.
    fn assembler(&self) -> Box<dyn SseAssembler>;
}

/// The provider-independent state of a client.
pub(crate) struct Parts<W> {
    pub core: HttpCore,
    pub wire: W,
    pub model: String,
    pub model_info: ModelInfo,
    /// The output format when a request asks for plain text (the config's `response_format`).
    pub default_output: OutputFormat,
    pub component: ComponentModel,
}

struct Inner<W> {
    parts: Parts<W>,
    usage: UsageTracker,
    /// This client's labels on the model-request metrics.
    labels: Arc<ModelLabels>,
}

/// A chat client speaking the wire format `W` (the public clients wrap one; see
/// [`chat_client_via`]).
pub(crate) struct HttpChatClient<W> {
    inner: Arc<Inner<W>>,
}

impl<W> Clone for HttpChatClient<W> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<W: WireFormat> std::fmt::Debug for HttpChatClient<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct(W::CLIENT)
            .field("url", &self.inner.parts.wire.url())
            .field("model", &self.inner.parts.model)
            .finish()
    }
}

impl<W: WireFormat> HttpChatClient<W> {
    pub(crate) fn from_parts(parts: Parts<W>) -> Self {
        let labels = Arc::new(ModelLabels::new(&parts.model, parts.wire.provider()));
        Self {
            inner: Arc::new(Inner {
                parts,
                usage: UsageTracker::default(),
                labels,
            }),
        }
    }

    pub(crate) fn wire(&self) -> &W {
        &self.inner.parts.wire
    }
}

impl<W: WireFormat> Inner<W> {
    /// Checks the request against the model and prepares its output format and body.
    fn prepare(
        &self,
        request: &CreateRequest,
        stream: bool,
    ) -> Result<(OutputFormat, Bytes), ModelError> {
        let p = &self.parts;
        check_capabilities(
            p.wire.provider(),
            &p.model,
            &p.model_info,
            request,
            W::JSON_EMULATED,
        )?;
        let output = match request.output {
            OutputFormat::Text => p.default_output.clone(),
            ref other => other.clone(),
        };
        let body = p.wire.body(&p.model, request, &output, stream);
        let body = serde_json::to_vec(&body)
            .map(Bytes::from)
            .map_err(|e| ModelError::Config {
                reason: format!("request body does not serialise: {e}"),
            })?;
        Ok((output, body))
    }

    /// The `chat {model}` span of one request (with the input messages when content capture
    /// is on).
    fn chat_span(&self, request: &CreateRequest) -> tracing::Span {
        let span = telemetry::chat_request(self.parts.wire.provider(), &self.parts.model);
        telemetry::record_content(&span, "gen_ai.input.messages", || {
            serde_json::to_string(&request.messages).unwrap_or_default()
        });
        span
    }

    fn finish(
        &self,
        call: &ModelCall,
        raw: Option<&[u8]>,
        output: &OutputFormat,
        result: CreateResult,
    ) -> Result<CreateResult, ModelError> {
        self.usage.record(&result);
        let usage = result.usage;
        call.answered(usage.prompt_tokens, usage.completion_tokens, || {
            raw.and_then(|raw| serde_json::from_slice(raw).ok())
                .or_else(|| serde_json::to_value(&result).ok())
                .unwrap_or(Value::Null)
        });
        validate_output(self.parts.wire.provider(), output, &result)?;
        Ok(result)
    }
}

/// Implements `ChatCompletionClient` for a public client type whose field `.0` is an
/// `HttpChatClient`.
macro_rules! chat_client_via {
    ($client:ty) => {
        impl std::fmt::Debug for $client {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        #[async_trait::async_trait]
        impl $crate::models::client::ChatCompletionClient for $client {
            async fn create(
                &self,
                request: $crate::models::request::CreateRequest,
                cancel: tokio_util::sync::CancellationToken,
            ) -> Result<$crate::models::types::CreateResult, $crate::models::error::ModelError>
            {
                self.0.create(request, cancel).await
            }

            fn create_stream(
                &self,
                request: $crate::models::request::CreateRequest,
                cancel: tokio_util::sync::CancellationToken,
            ) -> $crate::models::client::ChatStream {
                self.0.create_stream(request, cancel)
            }

            fn actual_usage(&self) -> $crate::models::types::RequestUsage {
                self.0.actual_usage()
            }

            fn total_usage(&self) -> $crate::models::types::RequestUsage {
                self.0.total_usage()
            }

            fn count_tokens(
                &self,
                messages: &[$crate::models::types::LlmMessage],
                tools: &[$crate::models::request::ToolSchema],
            ) -> u64 {
                self.0.count_tokens(messages, tools)
            }

            fn model_info(&self) -> $crate::models::model_info::ModelInfo {
                self.0.model_info()
            }

            fn dump_component(&self) -> Option<$crate::models::component::ComponentModel> {
                self.0.dump_component()
            }
        }
    };
}
pub(crate) use chat_client_via;

#[async_trait]
impl<W: WireFormat> ChatCompletionClient for HttpChatClient<W> {
    async fn create(
        &self,
        request: CreateRequest,
        cancel: CancellationToken,
    ) -> Result<CreateResult, ModelError> {
        let inner = &self.inner;
        let (output, body) = inner.prepare(&request, false)?;
        let call = ModelCall::start(&inner.labels, &body);
        let p = &inner.parts;
        let span = inner.chat_span(&request);
        let exchange = p
            .core
            .send(
                |c| telemetry::inject_headers(&span, p.wire.request(c, body.clone())),
                false,
                &cancel,
            )
            .instrument(span.clone())
            .await
            .inspect_err(|e| record_failure(&span, e))?;
        let Exchange::Body(bytes) = exchange else {
            return Err(p.core.invalid("unexpected streamed response"));
        };
        let result = p.wire.parse(&bytes)?;
        record_answer(&span, &result, || response_model(&bytes));
        inner.finish(&call, Some(&bytes), &output, result)
    }

    fn create_stream(&self, request: CreateRequest, cancel: CancellationToken) -> ChatStream {
        let inner = Arc::clone(&self.inner);
        let (output, body) = match inner.prepare(&request, true) {
            Ok(prepared) => prepared,
            Err(e) => return Box::pin(futures::stream::once(async move { Err(e) })),
        };
        let call = ModelCall::start(&inner.labels, &body);
        let for_request = Arc::clone(&inner);
        let for_finish = Arc::clone(&inner);
        let span = inner.chat_span(&request);
        let on_finish = span.clone();
        spawn_stream(
            inner.parts.core.clone(),
            move |c| {
                telemetry::inject_headers(&span, for_request.parts.wire.request(c, body.clone()))
            },
            inner.parts.wire.assembler(),
            Box::new(move |result| {
                record_answer(&on_finish, &result, || None);
                for_finish.finish(&call, None, &output, result)
            }),
            cancel,
        )
    }

    fn actual_usage(&self) -> RequestUsage {
        self.inner.usage.actual()
    }

    fn total_usage(&self) -> RequestUsage {
        self.inner.usage.total()
    }

    fn count_tokens(&self, messages: &[LlmMessage], tools: &[ToolSchema]) -> u64 {
        count_tokens(&self.inner.parts.model, messages, tools)
    }

    fn model_info(&self) -> ModelInfo {
        self.inner.parts.model_info.clone()
    }

    fn dump_component(&self) -> Option<ComponentModel> {
        Some(self.inner.parts.component.clone())
    }
}

/// A model's answer on its `chat` span: usage, finish reason, the response's model (read from
/// the body only while traces are on), the output when content capture is on.
fn record_answer(
    span: &tracing::Span,
    result: &CreateResult,
    model: impl FnOnce() -> Option<String>,
) {
    if span.is_disabled() {
        return;
    }
    let model = model();
    telemetry::record_chat(
        span,
        &telemetry::ChatSpan {
            response_model: model.as_deref(),
            input_tokens: result.usage.prompt_tokens,
            output_tokens: result.usage.completion_tokens,
            finish_reason: finish_reason(&result.finish_reason),
        },
    );
    telemetry::record_content(span, "gen_ai.output.messages", || {
        serde_json::to_string(&result.content).unwrap_or_default()
    });
}

/// The convention's name of a finish reason.
fn finish_reason(reason: &FinishReason) -> &'static str {
    match reason {
        FinishReason::Stop => "stop",
        FinishReason::Length => "length",
        FinishReason::FunctionCalls => "tool_calls",
        FinishReason::ContentFilter => "content_filter",
        FinishReason::Unknown => "unknown",
    }
}

/// The `model` a response body names.
fn response_model(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Named {
        model: Option<String>,
    }
    serde_json::from_slice::<Named>(body).ok()?.model
}

/// `error.type` of a failed model request: the HTTP status, else what went wrong.
fn record_failure(span: &tracing::Span, error: &ModelError) {
    if span.is_disabled() {
        return;
    }
    let kind = match error {
        ModelError::Status { status, .. } | ModelError::Auth { status, .. } => status.to_string(),
        ModelError::Timeout { .. } => "timeout".into(),
        ModelError::Cancelled { .. } => "cancelled".into(),
        ModelError::Connection { .. } => "connection".into(),
        _ => "_OTHER".into(),
    };
    telemetry::record_error(span, &kind, error);
}
