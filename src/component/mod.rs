//! Component configs (provider / component_type / version / config) shared by agents, contexts,
//! memories and termination conditions, accepting AutoGen's provider names.

pub mod suggest;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A serialised component (AutoGen `ComponentModel`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentModel {
    /// Which implementation (AutoGen class path or a short alias).
    pub provider: String,
    /// Kind of component (`chat_completion_client`; AutoGen writes `model`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component_type: Option<String>,
    /// Schema version of this envelope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    /// Version of the component's config schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component_version: Option<u32>,
    /// Human description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Human label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The provider-specific config.
    pub config: Value,
}

/// Why a component config could not be loaded or dumped.
#[derive(Debug, thiserror::Error)]
pub enum ComponentError {
    /// The provider name is not one this loader knows.
    #[error("unknown {kind} provider `{provider}`")]
    UnknownProvider {
        kind: &'static str,
        provider: String,
    },
    /// The config does not match the provider's schema.
    #[error("bad config for `{provider}`: {reason}")]
    BadConfig { provider: String, reason: String },
    /// The component cannot be expressed as a config (e.g. a Rust closure).
    #[error("`{what}` has no component config: {reason}")]
    NotSerialisable { what: String, reason: String },
    /// A nested model client failed to load (the source is the model layer's `ModelError`).
    #[error("model client of `{provider}`: {source}")]
    Model {
        provider: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// The class name of a provider: `autogen_agentchat.conditions.MaxMessageTermination` →
/// `MaxMessageTermination` (short names are accepted as they are).
pub fn short_provider(provider: &str) -> &str {
    provider.rsplit('.').next().unwrap_or(provider)
}

/// Builds a component model in AutoGen's shape.
pub fn component(
    provider: &str,
    component_type: &str,
    version: u32,
    config: &impl Serialize,
) -> Result<ComponentModel, ComponentError> {
    let mut config = serde_json::to_value(config).map_err(|e| ComponentError::BadConfig {
        provider: provider.to_string(),
        reason: e.to_string(),
    })?;
    strip_nulls(&mut config);
    Ok(ComponentModel {
        provider: provider.to_string(),
        component_type: Some(component_type.to_string()),
        version: Some(version),
        component_version: Some(version),
        description: None,
        label: Some(short_provider(provider).to_string()),
        config,
    })
}

/// Removes `null` object fields recursively (AutoGen dumps configs with `exclude_none`).
fn strip_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// Parses a component's config into `T`.
pub fn parse_config<T: DeserializeOwned>(model: &ComponentModel) -> Result<T, ComponentError> {
    let config = if model.config.is_null() {
        Value::Object(Default::default())
    } else {
        model.config.clone()
    };
    serde_json::from_value(config).map_err(|e| ComponentError::BadConfig {
        provider: model.provider.clone(),
        reason: e.to_string(),
    })
}

/// Parses component JSON text.
pub fn from_json(text: &str) -> Result<ComponentModel, ComponentError> {
    serde_json::from_str(text).map_err(|e| ComponentError::BadConfig {
        provider: "<json>".into(),
        reason: e.to_string(),
    })
}
