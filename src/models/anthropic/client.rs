//! The Anthropic Messages API client.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::streaming::AnthropicAssembler;
use super::wire::{build_body, parse_response};
use crate::models::component::{ANTHROPIC_PROVIDER, ComponentModel};
use crate::models::error::ModelError;
use crate::models::http::{HttpCore, api_key_from};
use crate::models::model_info::{ModelInfo, resolve_model_info};
use crate::models::output::output_from_response_format;
use crate::models::request::{CreateRequest, OutputFormat};
use crate::models::retry::RetryPolicy;
use crate::models::sse::SseAssembler;
use crate::models::types::CreateResult;
use crate::models::wire_client::{HttpChatClient, Parts, WireFormat, chat_client_via};

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

/// The Anthropic Messages wire format.
pub(crate) struct AnthropicWire {
    url: String,
    key: String,
    config: AnthropicConfig,
    create_args: Map<String, Value>,
}

impl WireFormat for AnthropicWire {
    const CLIENT: &'static str = "AnthropicClient";
    const JSON_EMULATED: bool = true;

    fn provider(&self) -> &'static str {
        "anthropic"
    }

    fn url(&self) -> &str {
        &self.url
    }

    fn body(
        &self,
        model: &str,
        request: &CreateRequest,
        output: &OutputFormat,
        stream: bool,
    ) -> Value {
        build_body(model, request, output, &self.create_args, stream)
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

    fn parse(&self, body: &[u8]) -> Result<CreateResult, ModelError> {
        parse_response("anthropic", body)
    }

    fn assembler(&self) -> Box<dyn SseAssembler> {
        Box::new(AnthropicAssembler::new("anthropic"))
    }
}

/// An Anthropic Messages API client.
#[derive(Clone)]
pub struct AnthropicClient(HttpChatClient<AnthropicWire>);

chat_client_via!(AnthropicClient);

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
        let component =
            ComponentModel::model(ANTHROPIC_PROVIDER, "AnthropicChatCompletionClient", &config)?;
        Ok(Self(HttpChatClient::from_parts(Parts {
            core: HttpCore::new("anthropic", retry, Some(timeout))?,
            model: config.model.clone(),
            model_info,
            default_output,
            component,
            wire: AnthropicWire {
                url: format!("{}/v1/messages", base.trim_end_matches('/')),
                key,
                create_args: config.create_args(),
                config,
            },
        })))
    }
}
