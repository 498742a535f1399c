//! The `[models.NAME]` table of `servers.toml` and how a run's model clients are built from it:
//! per call, from the name a workbench file references plus the call's [`RunEnv`].
//!
//! Kinds: every provider `load_chat_completion_client` knows (AutoGen class names or short
//! names: `openai`, `azure`, `anthropic`, `replay`, `cache`), and `scripted` (demo/test kind:
//! an in-process scripted model server started on `127.0.0.1:0`, see
//! [`crate::models::scripted`]), and `sampling` (the calling MCP client's own model through MCP
//! sampling; built per call as a [`BuiltModel::Client`] from `RunEnv::ctx`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::WorkbenchesError;
use crate::component::ComponentModel;
use crate::compose::sampling::{SamplingClient, SamplingConfig, is_sampling_provider};
use crate::models::ChatCompletionClient;
use crate::models::component::{
    ANTHROPIC_PROVIDER, AZURE_PROVIDER, CACHE_PROVIDER, OPENAI_PROVIDER, ProviderKind,
    REPLAY_PROVIDER, provider_kind,
};
use crate::models::scripted::{Script, ScriptedServer};
use crate::telemetry::cost::{self, Prices};
use crate::workbench::CallContext;

/// What a run's models may depend on: the call they serve.
#[derive(Clone, Default)]
pub struct RunEnv {
    /// The MCP call that started the run (observer, cancellation, caller capabilities).
    pub ctx: CallContext,
}

/// A model built for one run.
pub enum BuiltModel {
    /// A component config, substituted into the workbench component.
    Component(ComponentModel),
    /// A live client, handed to the loaders through `LoadOptions::models`.
    Client(Arc<dyn ChatCompletionClient>),
}

/// Builds a model client for one run from the call it serves (the seam for kinds that need
/// the caller, e.g. a client answering through the caller's MCP sampling).
pub trait ClientFactory: Send + Sync {
    /// A client for the run described by `env`; the error is shown to the caller.
    fn build(&self, env: &RunEnv) -> Result<Arc<dyn ChatCompletionClient>, String>;
}

/// How one `[models.NAME]` entry makes clients.
#[derive(Clone)]
enum ModelKind {
    /// A provider of `load_chat_completion_client`, by its AutoGen name.
    Component { provider: &'static str },
    /// The scripted model server (demo/test kind) with this script file.
    Scripted { script: PathBuf },
    /// A client built per run by code ([`ModelTable::insert_factory`]).
    Factory(Arc<dyn ClientFactory>),
}

impl std::fmt::Debug for ModelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Component { provider } => write!(f, "Component({provider})"),
            Self::Scripted { script } => write!(f, "Scripted({})", script.display()),
            Self::Factory(_) => write!(f, "Factory"),
        }
    }
}

/// One `[models.NAME]` entry.
#[derive(Debug, Clone)]
pub struct ModelSpec {
    /// The table key.
    pub name: String,
    kind: ModelKind,
    /// Client config keys (everything but `provider`, `api_key_env`, `script`).
    config: Map<String, Value>,
    /// Environment variable holding the API key.
    api_key_env: Option<String>,
}

/// Every `[models.NAME]` entry, plus the scripted servers once started.
#[derive(Default)]
pub struct ModelTable {
    specs: BTreeMap<String, ModelSpec>,
    scripted: BTreeMap<String, Arc<ScriptedServer>>,
}

impl std::fmt::Debug for ModelTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelTable")
            .field("models", &self.specs.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn autogen_provider(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::OpenAi => OPENAI_PROVIDER,
        ProviderKind::Azure => AZURE_PROVIDER,
        ProviderKind::Anthropic => ANTHROPIC_PROVIDER,
        ProviderKind::Replay => REPLAY_PROVIDER,
        ProviderKind::Cache => CACHE_PROVIDER,
    }
}

impl ModelTable {
    /// Parses the raw `[models]` table; relative `script` paths are resolved against `base`
    /// (the folder of `servers.toml`).
    pub fn parse(models: &toml::Table, base: &Path) -> Result<Self, WorkbenchesError> {
        let mut specs = BTreeMap::new();
        for (name, value) in models {
            let spec = parse_spec(name, value, base)?;
            specs.insert(name.clone(), spec);
        }
        Ok(Self {
            specs,
            scripted: BTreeMap::new(),
        })
    }

    /// Starts the scripted model servers (call once before serving).
    pub async fn start(&mut self) -> Result<(), WorkbenchesError> {
        for spec in self.specs.values() {
            if let ModelKind::Scripted { script } = &spec.kind {
                let script = load_script(&spec.name, script)?;
                let server = ScriptedServer::start(script).await.map_err(|e| {
                    WorkbenchesError::model(&spec.name, "script", format!("cannot start: {e}"))
                })?;
                tracing::info!(model = %spec.name, url = %server.openai_base_url(),
                    "scripted model server started (demo/test model kind)");
                self.scripted.insert(spec.name.clone(), Arc::new(server));
            }
        }
        Ok(())
    }

    /// Adds (or replaces) a model `name` whose client code builds per run.
    pub fn insert_factory(&mut self, name: impl Into<String>, factory: Arc<dyn ClientFactory>) {
        let name = name.into();
        self.specs.insert(
            name.clone(),
            ModelSpec {
                name,
                kind: ModelKind::Factory(factory),
                config: Map::new(),
                api_key_env: None,
            },
        );
    }

    /// Whether a model is called `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.specs.contains_key(name)
    }

    /// The model names.
    pub fn names(&self) -> Vec<String> {
        self.specs.keys().cloned().collect()
    }

    /// The started scripted server of a `scripted` model.
    pub fn scripted_server(&self, name: &str) -> Option<&Arc<ScriptedServer>> {
        self.scripted.get(name)
    }

    /// Builds the model `name` for one run.
    pub fn build(&self, name: &str, env: &RunEnv) -> Result<BuiltModel, WorkbenchesError> {
        let spec = self.specs.get(name).ok_or_else(|| {
            WorkbenchesError::model(name, "(name)", "no such model in servers.toml")
        })?;
        let mut config = spec.config.clone();
        let provider = match &spec.kind {
            ModelKind::Factory(factory) => {
                return factory
                    .build(env)
                    .map(BuiltModel::Client)
                    .map_err(|m| WorkbenchesError::model(name, "(client)", m));
            }
            ModelKind::Component { provider } => {
                if let Some(var) = &spec.api_key_env {
                    match std::env::var(var) {
                        Ok(key) => {
                            config.insert("api_key".into(), Value::from(key));
                        }
                        Err(_) => tracing::warn!(model = %name, variable = %var,
                            "api_key_env is not set; the client falls back to its default"),
                    }
                }
                *provider
            }
            ModelKind::Scripted { .. } => {
                let server = self.scripted.get(name).ok_or_else(|| {
                    WorkbenchesError::model(name, "script", "the scripted server is not running")
                })?;
                config.insert("base_url".into(), Value::from(server.openai_base_url()));
                config.insert("api_key".into(), Value::from("scripted"));
                config
                    .entry("model")
                    .or_insert_with(|| Value::from("scripted"));
                config.entry("model_info").or_insert_with(|| {
                    json!({"vision": false, "function_calling": true, "json_output": true,
                           "family": "unknown", "structured_output": true})
                });
                OPENAI_PROVIDER
            }
        };
        Ok(BuiltModel::Component(ComponentModel {
            provider: provider.to_string(),
            component_type: Some("model".into()),
            version: Some(1),
            component_version: Some(1),
            description: None,
            label: Some(name.to_string()),
            config: Value::Object(config),
        }))
    }
}

/// The `sampling` kind: the calling MCP client's own model, through `sampling/createMessage`
/// (the client must declare the sampling capability; a clear error at the first model call
/// otherwise).
struct SamplingFactory {
    config: SamplingConfig,
}

impl ClientFactory for SamplingFactory {
    fn build(&self, env: &RunEnv) -> Result<Arc<dyn ChatCompletionClient>, String> {
        Ok(Arc::new(SamplingClient::for_call(
            self.config.clone(),
            &env.ctx,
        )))
    }
}

fn load_script(name: &str, path: &Path) -> Result<Script, WorkbenchesError> {
    Script::load(path).map_err(|e| WorkbenchesError::model(name, "script", e.to_string()))
}

fn parse_spec(name: &str, value: &toml::Value, base: &Path) -> Result<ModelSpec, WorkbenchesError> {
    let err = |field: &str, message: &str| WorkbenchesError::model(name, field, message);
    let Value::Object(mut config) = serde_json::to_value(value)
        .map_err(|e| WorkbenchesError::model(name, "(table)", e.to_string()))?
    else {
        return Err(err("(table)", "must be a table"));
    };
    let provider = match config.remove("provider") {
        Some(Value::String(p)) => p,
        Some(_) => return Err(err("provider", "must be a string")),
        None => {
            return Err(err(
                "provider",
                "missing (e.g. \"openai\", \"anthropic\", \"scripted\")",
            ));
        }
    };
    if config.contains_key("api_key") {
        return Err(err(
            "api_key",
            "a key does not belong in a file; name its environment variable in api_key_env",
        ));
    }
    let api_key_env = match config.remove("api_key_env") {
        None => None,
        Some(Value::String(v)) => Some(v),
        Some(_) => return Err(err("api_key_env", "must be a string")),
    };
    let prices = parse_prices(name, &mut config)?;
    let kind = if is_sampling_provider(&provider) {
        let config: SamplingConfig = serde_json::from_value(Value::Object(config.clone()))
            .map_err(|e| err("(table)", &format!("bad sampling model: {e}")))?;
        ModelKind::Factory(Arc::new(SamplingFactory { config }))
    } else if provider == "scripted" {
        let script = match config.remove("script") {
            Some(Value::String(s)) => base.join(s),
            _ => {
                return Err(err(
                    "script",
                    "missing (the script file of the scripted model)",
                ));
            }
        };
        load_script(name, &script)?;
        ModelKind::Scripted { script }
    } else {
        let kind = provider_kind(&provider).ok_or_else(|| {
            err(
                "provider",
                &format!(
                    "unknown provider `{provider}` (openai, azure, anthropic, replay, cache, scripted, sampling or an AutoGen class name)"
                ),
            )
        })?;
        if !config.contains_key("model")
            && matches!(
                kind,
                ProviderKind::OpenAi | ProviderKind::Anthropic | ProviderKind::Azure
            )
        {
            return Err(err("model", "missing"));
        }
        ModelKind::Component {
            provider: autogen_provider(kind),
        }
    };
    if let Some(prices) = prices {
        // Priced by the model the client asks for (the `gen_ai.request.model` label).
        let model = match (config.get("model").and_then(Value::as_str), &kind) {
            (Some(model), _) => Some(model.to_string()),
            (None, ModelKind::Scripted { .. }) => Some("scripted".to_string()),
            (None, _) => None,
        };
        match model {
            Some(model) => cost::set_prices(&model, prices),
            None => return Err(err("model", "needed to price the model's requests")),
        }
    }
    Ok(ModelSpec {
        name: name.to_string(),
        kind,
        config,
        api_key_env,
    })
}

/// `price_input_per_mtok` / `price_output_per_mtok` (US dollars per million tokens, both
/// optional, a missing one is 0), taken out of the client config.
fn parse_prices(
    name: &str,
    config: &mut Map<String, Value>,
) -> Result<Option<Prices>, WorkbenchesError> {
    let mut price = |key: &str| match config.remove(key) {
        None => Ok(None),
        Some(value) => match value.as_f64() {
            Some(p) if p.is_finite() && p >= 0.0 => Ok(Some(p)),
            _ => Err(WorkbenchesError::model(
                name,
                key,
                "must be a number of US dollars per million tokens, 0 or more",
            )),
        },
    };
    let input = price("price_input_per_mtok")?;
    let output = price("price_output_per_mtok")?;
    if input.is_none() && output.is_none() {
        return Ok(None);
    }
    Ok(Some(Prices {
        input_per_mtok: input.unwrap_or(0.0),
        output_per_mtok: output.unwrap_or(0.0),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> Result<ModelSpec, WorkbenchesError> {
        let value: toml::Value = toml::from_str(text).expect("toml");
        parse_spec("m", &value, Path::new("."))
    }

    #[test]
    fn prices_are_taken_out_of_the_client_config_and_checked() {
        let priced = spec(
            "provider = \"openai\"\nmodel = \"priced-model-test\"\nprice_input_per_mtok = 3\nprice_output_per_mtok = 15.5\n",
        )
        .expect("valid");
        assert!(!priced.config.contains_key("price_input_per_mtok"));
        assert!(!priced.config.contains_key("price_output_per_mtok"));
        let cost = cost::cost_of("priced-model-test", 1_000_000, 1_000_000).expect("priced");
        assert!((cost - 18.5).abs() < 1e-9, "{cost}");
        for bad in ["-1", "\"cheap\""] {
            let error = spec(&format!(
                "provider = \"openai\"\nmodel = \"x\"\nprice_input_per_mtok = {bad}\n"
            ))
            .expect_err("refused");
            assert!(
                error.to_string().contains("price_input_per_mtok"),
                "{error}"
            );
        }
    }
}
