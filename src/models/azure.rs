//! Azure OpenAI: deployment URLs, `api-version`, and `api-key` or bearer-token auth.

use serde::{Deserialize, Serialize};

use super::component::{AZURE_PROVIDER, ComponentModel};
use super::error::ModelError;
use super::http::is_real_secret;
use super::openai::OpenAiConfig;
use super::openai::client::{Auth, Endpoint, OpenAiClient};

/// Configuration of an Azure OpenAI client (AutoGen `AzureOpenAIClientConfigurationConfigModel`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AzureOpenAiConfig {
    /// Resource endpoint, e.g. `https://my-resource.openai.azure.com`.
    pub azure_endpoint: String,
    /// Deployment name (defaults to the model name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure_deployment: Option<String>,
    /// API version, e.g. `2024-06-01`.
    pub api_version: String,
    /// Entra ID bearer token (else `AZURE_OPENAI_AD_TOKEN`). Never serialised.
    #[serde(default, skip_serializing)]
    pub azure_ad_token: Option<String>,
    /// The OpenAI fields (model, api_key, create args, ...); the key falls back to `AZURE_OPENAI_API_KEY`.
    #[serde(flatten)]
    pub openai: OpenAiConfig,
}

/// An Azure OpenAI chat-completions client.
pub type AzureOpenAiClient = OpenAiClient;

/// Env var holding the Azure API key.
pub const AZURE_KEY_ENV: &str = "AZURE_OPENAI_API_KEY";
/// Env var holding an Entra ID token.
pub const AZURE_TOKEN_ENV: &str = "AZURE_OPENAI_AD_TOKEN";

impl OpenAiClient {
    /// Builds an Azure client: key from config or `AZURE_OPENAI_API_KEY`, else an AD token.
    pub fn azure(config: AzureOpenAiConfig) -> Result<Self, ModelError> {
        let deployment = config
            .azure_deployment
            .clone()
            .unwrap_or_else(|| config.openai.model.clone());
        let url = format!(
            "{}/openai/deployments/{}/chat/completions?api-version={}",
            config.azure_endpoint.trim_end_matches('/'),
            deployment,
            config.api_version
        );
        let auth = azure_auth(&config)?;
        let component =
            ComponentModel::model(AZURE_PROVIDER, "AzureOpenAIChatCompletionClient", &config)?;
        let endpoint = Endpoint {
            provider: "azure",
            url,
            auth,
            component,
        };
        Self::with_endpoint(config.openai, endpoint)
    }
}

fn azure_auth(config: &AzureOpenAiConfig) -> Result<Auth, ModelError> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if let Some(key) = config.openai.api_key.clone().filter(|k| is_real_secret(k)) {
        return Ok(Auth::Header("api-key", key));
    }
    if let Some(token) = config.azure_ad_token.clone().filter(|t| is_real_secret(t)) {
        return Ok(Auth::Bearer(token));
    }
    if let Some(key) = env(AZURE_KEY_ENV) {
        return Ok(Auth::Header("api-key", key));
    }
    if let Some(token) = env(AZURE_TOKEN_ENV) {
        return Ok(Auth::Bearer(token));
    }
    Err(ModelError::MissingApiKey {
        provider: "azure".into(),
        env_var: format!("{AZURE_KEY_ENV} (or {AZURE_TOKEN_ENV})"),
    })
}
