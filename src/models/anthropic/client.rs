//! The Anthropic Messages API client.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use super::streaming::AnthropicAssembler;
use super::wire::{build_body, parse_response};
use crate::models::client::{ChatCompletionClient, ChatStream, UsageTracker};
use crate::models::component::{ANTHROPIC_PROVIDER, ComponentModel};
use crate::models::error::ModelError;
use crate::models::http::{Exchange, HttpCore, api_key_from};
use crate::models::model_info::{ModelInfo, resolve_model_info};
use crate::models::output::{output_from_response_format, validate_output};
use crate::models::request::{CreateRequest, OutputFormat, ToolSchema, check_capabilities};
use crate::models::retry::RetryPolicy;
use crate::models::sse::spawn_stream;
use crate::models::tokens::count_tokens;
use crate::models::types::{CreateResult, LlmMessage, RequestUsage};

/// Default Anthropic API base URL.
pub const ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com";
/// The `anthropic-version` header we send.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// Configuration of an Anthropic client (AutoGen `AnthropicClientConfigurationConfigModel`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AnthropicConfig {
    /// Model name.
    pub model: String,
    /// API key; when absent `ANTHROPIC_API_KEY` is used. Never serialised.
    #[serde(default, skip_serializing)]
    pub api_key: Option<String>,
    /// Base URL (default `https://api.anthropic.com`; `/v1/messages` is appended).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// Completion token cap (default 4096).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Top-k sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u64>,
    /// Stop sequences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_sequences: Option<Vec<String>>,
    /// Default output format (OpenAI-style `response_format`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<Value>,
    /// Request metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Extended thinking config, passed through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking: Option<Value>,
    /// Capabilities (required for models we do not know).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_info: Option<ModelInfo>,
    /// Request timeout in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<f64>,
    /// Retries on 429/5xx/connection errors (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<u32>,
    /// Extra HTTP headers on every request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_headers: Option<BTreeMap<String, String>>,
}

impl AnthropicConfig {
    /// A config for `model` with everything else defaulted.
    pub fn new(model: impl Into<String>) -> Self {
        Self {
            model: model.into(),
            ..Self::default()
        }
    }

    fn create_args(&self) -> Map<String, Value> {
        let mut m = Map::new();
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                m.insert(k.to_string(), v);
            }
        };
        put("max_tokens", self.max_tokens.map(Value::from));
        put("temperature", self.temperature.map(Value::from));
        put("top_p", self.top_p.map(Value::from));
        put("top_k", self.top_k.map(Value::from));
        put(
            "stop_sequences",
            self.stop_sequences.clone().map(Value::from),
        );
        put(
            "metadata",
            self.metadata
                .as_ref()
                .and_then(|v| serde_json::to_value(v).ok()),
        );
        put("thinking", self.thinking.clone());
        m
    }
}

struct Inner {
    core: HttpCore,
    url: String,
    key: String,
    config: AnthropicConfig,
    model_info: ModelInfo,
    create_args: Map<String, Value>,
    default_output: OutputFormat,
    usage: UsageTracker,
    component: ComponentModel,
}

/// An Anthropic Messages API client.
#[derive(Clone)]
pub struct AnthropicClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AnthropicClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnthropicClient")
            .field("url", &self.inner.url)
            .field("model", &self.inner.config.model)
            .finish()
    }
}

impl AnthropicClient {
    /// Builds a client; the key comes from the config or `ANTHROPIC_API_KEY`.
    pub fn new(config: AnthropicConfig) -> Result<Self, ModelError> {
        let key = api_key_from(config.api_key.as_deref(), "ANTHROPIC_API_KEY", "anthropic")?;
        let model_info = resolve_model_info(&config.model, config.model_info.clone())?;
        let timeout =
            Duration::try_from_secs_f64(config.timeout.unwrap_or(600.0)).map_err(|_| {
                ModelError::Config {
                    reason: "timeout must be a positive number of seconds".into(),
                }
            })?;
        let retry = RetryPolicy::with_max_retries(config.max_retries.unwrap_or(2));
        let base = config.base_url.as_deref().unwrap_or(ANTHROPIC_BASE_URL);
        let default_output = config
            .response_format
            .as_ref()
            .map(output_from_response_format)
            .unwrap_or_default();
        Ok(Self {
            inner: Arc::new(Inner {
                core: HttpCore::new("anthropic", retry, Some(timeout))?,
                url: format!("{}/v1/messages", base.trim_end_matches('/')),
                key,
                model_info,
                create_args: config.create_args(),
                default_output,
                usage: UsageTracker::default(),
                component: ComponentModel::model(
                    ANTHROPIC_PROVIDER,
                    "AnthropicChatCompletionClient",
                    &config,
                )?,
                config,
            }),
        })
    }
}

impl Inner {
    fn output_of(&self, request: &CreateRequest) -> OutputFormat {
        match request.output {
            OutputFormat::Text => self.default_output.clone(),
            ref other => other.clone(),
        }
    }

    fn body(
        &self,
        request: &CreateRequest,
        output: &OutputFormat,
        stream: bool,
    ) -> Result<Bytes, ModelError> {
        let body = build_body(
            &self.config.model,
            request,
            output,
            &self.create_args,
            stream,
        );
        serde_json::to_vec(&body)
            .map(Bytes::from)
            .map_err(|e| ModelError::Config {
                reason: format!("request body does not serialise: {e}"),
            })
    }

    fn request(&self, client: &reqwest::Client, body: Bytes) -> reqwest::RequestBuilder {
        let mut rb = client
            .post(&self.url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header("x-api-key", &self.key)
            .header("anthropic-version", ANTHROPIC_VERSION)
            .body(body);
        for (k, v) in self.config.default_headers.iter().flatten() {
            rb = rb.header(k, v);
        }
        rb
    }

    fn finish(
        &self,
        output: &OutputFormat,
        result: CreateResult,
    ) -> Result<CreateResult, ModelError> {
        self.usage.record(&result);
        validate_output("anthropic", output, &result)?;
        Ok(result)
    }
}

#[async_trait]
impl ChatCompletionClient for AnthropicClient {
    async fn create(
        &self,
        request: CreateRequest,
        cancel: CancellationToken,
    ) -> Result<CreateResult, ModelError> {
        let inner = &self.inner;
        check_capabilities(
            "anthropic",
            &inner.config.model,
            &inner.model_info,
            &request,
            true,
        )?;
        let output = inner.output_of(&request);
        let body = inner.body(&request, &output, false)?;
        let exchange = inner
            .core
            .send(|c| inner.request(c, body.clone()), false, &cancel)
            .await?;
        let Exchange::Body(bytes) = exchange else {
            return Err(inner.core.invalid("unexpected streamed response"));
        };
        let result = parse_response("anthropic", &bytes)?;
        inner.finish(&output, result)
    }

    fn create_stream(&self, request: CreateRequest, cancel: CancellationToken) -> ChatStream {
        let inner = self.inner.clone();
        if let Err(e) = check_capabilities(
            "anthropic",
            &inner.config.model,
            &inner.model_info,
            &request,
            true,
        ) {
            return Box::pin(futures::stream::once(async move { Err(e) }));
        }
        let output = inner.output_of(&request);
        let body = match inner.body(&request, &output, true) {
            Ok(b) => b,
            Err(e) => return Box::pin(futures::stream::once(async move { Err(e) })),
        };
        let for_request = inner.clone();
        let for_finish = inner.clone();
        spawn_stream(
            inner.core.clone(),
            move |c| for_request.request(c, body.clone()),
            Box::new(AnthropicAssembler::new("anthropic")),
            Box::new(move |result| for_finish.finish(&output, result)),
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
        count_tokens(&self.inner.config.model, messages, tools)
    }

    fn model_info(&self) -> ModelInfo {
        self.inner.model_info.clone()
    }

    fn dump_component(&self) -> Option<ComponentModel> {
        Some(self.inner.component.clone())
    }
}
