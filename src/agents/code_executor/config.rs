//! CodeExecutorAgent component config in AutoGen's `CodeExecutorAgentConfig` shape: dump and
//! load (the executor is a nested component loaded through `load_code_executor`).

use serde::{Deserialize, Serialize};

use super::CodeExecutorAgent;
use crate::agents::LoadOptions;
use crate::code_executors::component::load_code_executor;
use crate::component::{ComponentError, ComponentModel, component, parse_config};
use crate::model_context::load_model_context;
use crate::models::model_client_config;

/// AutoGen's provider name.
pub const PROVIDER: &str = "autogen_agentchat.agents.CodeExecutorAgent";

#[derive(Debug, Serialize, Deserialize)]
struct Config {
    name: String,
    code_executor: ComponentModel,
    #[serde(default)]
    model_client: Option<ComponentModel>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    sources: Option<Vec<String>>,
    #[serde(default)]
    system_message: Option<String>,
    #[serde(default)]
    model_client_stream: bool,
    #[serde(default)]
    model_context: Option<ComponentModel>,
    #[serde(default)]
    supported_languages: Option<Vec<String>>,
}

pub(super) fn dump(agent: &CodeExecutorAgent) -> Result<ComponentModel, ComponentError> {
    if agent.approval.is_some() {
        return Err(ComponentError::NotSerialisable {
            what: agent.name.clone(),
            reason: "the approval function is code and cannot be serialised".into(),
        });
    }
    let code_executor =
        agent
            .executor
            .dump_component()
            .map_err(|e| ComponentError::NotSerialisable {
                what: format!("code executor of `{}`", agent.name),
                reason: e.to_string(),
            })?;
    let model_client = match &agent.client {
        Some(c) => Some(model_client_config(c.as_ref(), &agent.name)?),
        None => None,
    };
    let config = Config {
        name: agent.name.clone(),
        code_executor,
        model_client,
        description: Some(agent.description.clone()),
        sources: agent.sources.clone(),
        system_message: agent.system_message.clone(),
        model_client_stream: agent.stream,
        model_context: Some(agent.context.dump_component()?),
        supported_languages: Some(agent.supported_languages.clone()),
    };
    component(PROVIDER, "agent", 1, &config)
}

/// Builds the agent from its config (no approval hook: configs cannot carry code).
pub(crate) fn load(
    model: &ComponentModel,
    options: &LoadOptions,
) -> Result<CodeExecutorAgent, ComponentError> {
    let c: Config = parse_config(model)?;
    let bad = |reason: String| ComponentError::BadConfig {
        provider: model.provider.clone(),
        reason,
    };
    let executor =
        load_code_executor(&c.code_executor).map_err(|e| bad(format!("code_executor: {e}")))?;
    let mut builder = CodeExecutorAgent::builder(c.name, executor)
        .sources(c.sources)
        .system_message(c.system_message)
        .model_client_stream(c.model_client_stream);
    if let Some(d) = c.description {
        builder = builder.description(d);
    }
    if let Some(langs) = c.supported_languages {
        builder = builder.supported_languages(langs);
    }
    if let Some(mc) = &c.model_client {
        let client = options
            .model_client(mc)
            .map_err(|source| ComponentError::Model {
                provider: model.provider.clone(),
                source: Box::new(source),
            })?;
        builder = builder.model_client(client);
    }
    if let Some(ctx) = &c.model_context {
        builder = builder.model_context(load_model_context(ctx)?);
    }
    builder.build().map_err(|e| bad(e.to_string()))
}
