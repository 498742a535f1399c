//! Component configs for model clients (the envelope, `ComponentModel`, lives in
//! `crate::component`): provider names, loading a client, dumping one.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::anthropic::{AnthropicClient, AnthropicConfig};
use super::azure::{AzureOpenAiClient, AzureOpenAiConfig};
use super::cache::{CacheStore, ChatCompletionCache};
use super::client::ChatCompletionClient;
use super::error::ModelError;
use super::openai::{OpenAiClient, OpenAiConfig};
use super::replay::{ReplayClient, ReplayConfig};
use crate::component::ComponentError;
pub use crate::component::ComponentModel;

/// AutoGen provider name of the OpenAI client.
pub const OPENAI_PROVIDER: &str = "autogen_ext.models.openai.OpenAIChatCompletionClient";
/// AutoGen provider name of the Azure OpenAI client.
pub const AZURE_PROVIDER: &str = "autogen_ext.models.openai.AzureOpenAIChatCompletionClient";
/// AutoGen provider name of the Anthropic client.
pub const ANTHROPIC_PROVIDER: &str = "autogen_ext.models.anthropic.AnthropicChatCompletionClient";
/// AutoGen provider name of the replay client.
pub const REPLAY_PROVIDER: &str = "autogen_ext.models.replay.ReplayChatCompletionClient";
/// AutoGen provider name of the cache wrapper.
pub const CACHE_PROVIDER: &str = "autogen_ext.models.cache.ChatCompletionCache";
/// The component type we write for model clients.
pub const COMPONENT_TYPE: &str = "chat_completion_client";

/// Model-client constructors of the component envelope (defined in `crate::component`).
impl ComponentModel {
    /// A model-client component for `provider` with `config` serialised (secrets are skipped).
    pub fn model(provider: &str, label: &str, config: &impl Serialize) -> Result<Self, ModelError> {
        let config = serde_json::to_value(config).map_err(|e| ModelError::Config {
            reason: format!("config of {label} does not serialise: {e}"),
        })?;
        Ok(Self {
            provider: provider.to_string(),
            component_type: Some(COMPONENT_TYPE.to_string()),
            version: Some(1),
            component_version: Some(1),
            description: Some(format!("Chat completion client ({label})")),
            label: Some(label.to_string()),
            config,
        })
    }

    /// Parses a component from JSON text.
    pub fn from_json(text: &str) -> Result<Self, ModelError> {
        serde_json::from_str(text).map_err(|e| ModelError::Config {
            reason: format!("bad component JSON: {e}"),
        })
    }
}

/// Which client a provider name selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    /// OpenAI or a compatible endpoint.
    OpenAi,
    /// Azure OpenAI.
    Azure,
    /// Anthropic.
    Anthropic,
    /// Replay of scripted results.
    Replay,
    /// Cache wrapper.
    Cache,
}

/// Maps AutoGen provider names and short aliases to a client kind.
pub fn provider_kind(provider: &str) -> Option<ProviderKind> {
    let short = provider.rsplit('.').next().unwrap_or(provider);
    match short.to_ascii_lowercase().as_str() {
        "openaichatcompletionclient" | "openai" | "openai_compatible" => Some(ProviderKind::OpenAi),
        "azureopenaichatcompletionclient" | "azure" | "azure_openai" => Some(ProviderKind::Azure),
        "anthropicchatcompletionclient" | "anthropic" => Some(ProviderKind::Anthropic),
        "replaychatcompletionclient" | "replay" => Some(ProviderKind::Replay),
        "chatcompletioncache" | "cache" => Some(ProviderKind::Cache),
        _ => None,
    }
}

fn parse<T: serde::de::DeserializeOwned>(component: &ComponentModel) -> Result<T, ModelError> {
    serde_json::from_value(component.config.clone()).map_err(|e| ModelError::Config {
        reason: format!("bad config for {}: {e}", component.provider),
    })
}

/// Builds a model client from its component config.
pub fn load_chat_completion_client(
    component: &ComponentModel,
) -> Result<Arc<dyn ChatCompletionClient>, ModelError> {
    if let Some(kind) = component.component_type.as_deref()
        && kind != "model"
        && !kind.contains("chat_completion")
    {
        return Err(ModelError::Config {
            reason: format!("component type `{kind}` is not a model client"),
        });
    }
    let kind = provider_kind(&component.provider).ok_or_else(|| ModelError::Config {
        reason: format!("unknown model provider `{}`", component.provider),
    })?;
    Ok(match kind {
        ProviderKind::OpenAi => Arc::new(OpenAiClient::new(parse::<OpenAiConfig>(component)?)?),
        ProviderKind::Azure => Arc::new(AzureOpenAiClient::azure(parse::<AzureOpenAiConfig>(
            component,
        )?)?),
        ProviderKind::Anthropic => {
            Arc::new(AnthropicClient::new(parse::<AnthropicConfig>(component)?)?)
        }
        ProviderKind::Replay => Arc::new(ReplayClient::from_config(parse::<ReplayConfig>(
            component,
        )?)?),
        ProviderKind::Cache => load_cache(component)?,
    })
}

/// Cache config: `{"client": <component>, "store": <component>}` (AutoGen) or `{"client", "path"}`.
fn load_cache(component: &ComponentModel) -> Result<Arc<dyn ChatCompletionClient>, ModelError> {
    #[derive(Deserialize)]
    struct CacheConfig {
        client: ComponentModel,
        #[serde(default)]
        path: Option<std::path::PathBuf>,
    }
    let config: CacheConfig = parse(component)?;
    let inner = load_chat_completion_client(&config.client)?;
    let store = match config.path {
        Some(path) => CacheStore::open(&path)?,
        None => CacheStore::in_memory()?,
    };
    Ok(Arc::new(ChatCompletionCache::new(inner, store)))
}

/// The component config of `client`, the model client of `owner`; an error naming `owner` when
/// the client has none.
pub fn model_client_config(
    client: &dyn ChatCompletionClient,
    owner: &str,
) -> Result<ComponentModel, ComponentError> {
    client
        .dump_component()
        .ok_or_else(|| ComponentError::NotSerialisable {
            what: owner.to_string(),
            reason: "its model client has no component config".into(),
        })
}
