//! The OpenAI-compatible chat-completions client (also the engine behind the Azure client).

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::completion::{MessageOptions, build_body, parse_response};
use super::streaming::OpenAiAssembler;
use crate::models::component::{ComponentModel, OPENAI_PROVIDER};
use crate::models::error::ModelError;
use crate::models::http::{HttpCore, api_key_from};
use crate::models::model_info::{ModelInfo, resolve_model_info};
use crate::models::output::output_from_response_format;
use crate::models::request::{CreateRequest, OutputFormat};
use crate::models::retry::RetryPolicy;
use crate::models::sse::SseAssembler;
use crate::models::types::CreateResult;
use crate::models::wire_client::{HttpChatClient, Parts, WireFormat, chat_client_via};

/// Default OpenAI API base URL.
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";

/// Default request timeout (the OpenAI SDK's).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// Per-request arguments set in the config (AutoGen `CreateArguments`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateArgs {
    /// Frequency penalty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    /// Token biases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logit_bias: Option<Map<String, Value>>,
    /// Completion token cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    /// Number of choices (only the first is used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    /// Presence penalty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    /// Default `response_format` (json_object / json_schema).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<Value>,
    /// Sampling seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// Stop sequence(s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Value>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// End-user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Stream options (`include_usage` defaults to true when streaming).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<Value>,
    /// Allow several tool calls in one turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    /// Reasoning effort for reasoning models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<String>,
}

/// Configuration of an OpenAI-compatible client (AutoGen `OpenAIClientConfigurationConfigModel`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OpenAiConfig {
    /// Model name.
    pub model: String,
    /// API key; when absent `OPENAI_API_KEY` is used. Never serialised.
    #[serde(default, skip_serializing)]
    pub api_key: Option<String>,
    /// Base URL of any OpenAI-compatible endpoint (default `https://api.openai.com/v1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// OpenAI organization id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// Request timeout in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<f64>,
    /// Retries on 429/5xx/connection errors (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<u32>,
    /// Capabilities (required for models we do not know).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_info: Option<ModelInfo>,
    /// Prefix message text with the sender's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_name_prefixes: Option<bool>,
    /// Send the sender's name in the `name` field (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_name_in_message: Option<bool>,
    /// Extra HTTP headers on every request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_headers: Option<BTreeMap<String, String>>,
    /// Per-request arguments.
    #[serde(flatten)]
    pub create_args: CreateArgs,
}

impl OpenAiConfig {
    /// A config for `model` with everything else defaulted.
    pub fn new(model: impl Into<String>) -> Self {
        Self {
            model: model.into(),
            ..Self::default()
        }
    }

    pub(crate) fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy::with_max_retries(self.max_retries.unwrap_or(2))
    }

    pub(crate) fn timeout_duration(&self) -> Result<Duration, ModelError> {
        let secs = self.timeout.unwrap_or(DEFAULT_TIMEOUT.as_secs_f64());
        Duration::try_from_secs_f64(secs).map_err(|_| ModelError::Config {
            reason: format!("timeout must be a positive number of seconds, got {secs}"),
        })
    }
}

/// How requests authenticate.
#[derive(Debug, Clone)]
pub(crate) enum Auth {
    /// No credentials (local compatible servers).
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// A named header carrying the key (Azure `api-key`).
    Header(&'static str, String),
}

/// Where and how an OpenAI-style client sends requests.
pub(crate) struct Endpoint {
    pub provider: &'static str,
    pub url: String,
    pub auth: Auth,
    pub component: ComponentModel,
}

/// The OpenAI chat-completions wire format (also Azure's).
pub(crate) struct OpenAiWire {
    endpoint: Endpoint,
    config: OpenAiConfig,
    create_args: Map<String, Value>,
}

impl WireFormat for OpenAiWire {
    const CLIENT: &'static str = "OpenAiClient";
    const JSON_EMULATED: bool = false;

    fn provider(&self) -> &'static str {
        self.endpoint.provider
    }

    fn url(&self) -> &str {
        &self.endpoint.url
    }

    fn body(
        &self,
        model: &str,
        request: &CreateRequest,
        _output: &OutputFormat,
        stream: bool,
    ) -> Value {
        let options = MessageOptions {
            include_name: self.config.include_name_in_message.unwrap_or(true),
            add_name_prefixes: self.config.add_name_prefixes.unwrap_or(false),
        };
        build_body(model, request, &self.create_args, options, stream)
    }

    fn request(&self, client: &reqwest::Client, body: Bytes) -> reqwest::RequestBuilder {
        let mut rb = client
            .post(&self.endpoint.url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body);
        rb = match &self.endpoint.auth {
            Auth::None => rb,
            Auth::Bearer(token) => rb.bearer_auth(token),
            Auth::Header(name, key) => rb.header(*name, key),
        };
        if let Some(org) = &self.config.organization {
            rb = rb.header("OpenAI-Organization", org);
        }
        for (k, v) in self.config.default_headers.iter().flatten() {
            rb = rb.header(k, v);
        }
        rb
    }

    fn parse(&self, body: &[u8]) -> Result<CreateResult, ModelError> {
        parse_response(self.endpoint.provider, body)
    }

    fn assembler(&self) -> Box<dyn SseAssembler> {
        Box::new(OpenAiAssembler::new(self.endpoint.provider))
    }
}

/// An OpenAI chat-completions client; works with any compatible `base_url`.
#[derive(Clone)]
pub struct OpenAiClient(HttpChatClient<OpenAiWire>);

chat_client_via!(OpenAiClient);

impl OpenAiClient {
    /// Builds a client; the key comes from the config or `OPENAI_API_KEY`.
    pub fn new(config: OpenAiConfig) -> Result<Self, ModelError> {
        let base = config.base_url.as_deref().unwrap_or(OPENAI_BASE_URL);
        let key = api_key_from(config.api_key.as_deref(), "OPENAI_API_KEY", "openai");
        let auth = match (key, config.base_url.is_some()) {
            (Ok(k), _) => Auth::Bearer(k),
            (Err(_), true) => Auth::None,
            (Err(e), false) => return Err(e),
        };
        let endpoint = Endpoint {
            provider: "openai",
            url: format!("{}/chat/completions", base.trim_end_matches('/')),
            auth,
            component: ComponentModel::model(
                OPENAI_PROVIDER,
                "OpenAIChatCompletionClient",
                &config,
            )?,
        };
        Self::with_endpoint(config, endpoint)
    }

    pub(crate) fn with_endpoint(
        config: OpenAiConfig,
        endpoint: Endpoint,
    ) -> Result<Self, ModelError> {
        let model_info = resolve_model_info(&config.model, config.model_info.clone())?;
        let core = HttpCore::new(
            endpoint.provider,
            config.retry_policy(),
            Some(config.timeout_duration()?),
        )?;
        let create_args = match serde_json::to_value(&config.create_args) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        };
        let default_output = config
            .create_args
            .response_format
            .as_ref()
            .map(output_from_response_format)
            .unwrap_or_default();
        Ok(Self(HttpChatClient::from_parts(Parts {
            core,
            model: config.model.clone(),
            model_info,
            default_output,
            component: endpoint.component.clone(),
            wire: OpenAiWire {
                endpoint,
                config,
                create_args,
            },
        })))
    }

    /// The chat-completions URL requests go to.
    pub fn url(&self) -> &str {
        self.0.wire().url()
    }
}
