//! Loads agents from component configs (AutoGen provider names accepted).

use std::collections::HashMap;
use std::sync::Arc;

use super::{ChatAgent, UserInputFn, UserProxyAgent, assistant, code_executor};
use crate::component::{ComponentError, ComponentModel, short_provider};
use crate::models::{ChatCompletionClient, ModelError, load_chat_completion_client};
use crate::tools::Tool;
use crate::workbench::Workbench;

/// Provider of a model client supplied by name in [`LoadOptions::models`]
/// (config: `{"name": "NAME"}`).
pub const MODEL_REF_PROVIDER: &str = "toolyard.models.Ref";

/// Loads the components the agents layer cannot name because they are built from layers above
/// it: agents made of a team (`SocietyOfMindAgent`) and agents or teams offered as tools
/// (`AgentTool`, `TeamTool`). The composition layer supplies one (`crate::compose::loader`);
/// without it such components are unknown providers.
pub trait ComponentLoader: Send + Sync {
    /// An agent whose provider [`load_agent`] does not know; `None` when this loader does not
    /// know it either.
    fn agent(
        &self,
        model: &ComponentModel,
        options: &LoadOptions,
    ) -> Option<Result<Arc<dyn ChatAgent>, ComponentError>>;

    /// A tool built from its own config; `None` when the tool is code, to be found by name in
    /// [`LoadOptions::tools`].
    fn tool(
        &self,
        model: &ComponentModel,
        options: &LoadOptions,
    ) -> Option<Result<Arc<dyn Tool>, ComponentError>>;
}

/// Providers that only a [`ComponentLoader`] builds (the composition layer's).
const LOADER_PROVIDERS: &[&str] = &["SocietyOfMindAgent", "AgentTool", "TeamTool"];

/// The error for a component only a loader builds, when `options` has none.
pub(crate) fn needs_loader(model: &ComponentModel) -> Option<ComponentError> {
    LOADER_PROVIDERS
        .contains(&short_provider(&model.provider))
        .then(|| ComponentError::BadConfig {
            provider: model.provider.clone(),
            reason: "it is built by the composition layer: load with compose::load_agent / \
                     compose::load_team, or set LoadOptions::loader"
                .into(),
        })
}

/// What a config cannot carry: code. Tools are matched by name, workbenches by provider.
#[derive(Default, Clone)]
pub struct LoadOptions {
    /// In-process tools that configs may name.
    pub tools: Vec<Arc<dyn Tool>>,
    /// Workbenches by provider name (e.g. an `McpWorkbench` for `autogen_ext.tools.mcp.McpWorkbench`).
    pub workbenches: HashMap<String, Arc<dyn Workbench>>,
    /// Model clients by name, for model components with provider [`MODEL_REF_PROVIDER`].
    pub models: HashMap<String, Arc<dyn ChatCompletionClient>>,
    /// Input function of every `UserProxyAgent` loaded (the console when `None`).
    pub user_input: Option<UserInputFn>,
    /// Loader of agents and tools built from upper layers (see [`ComponentLoader`]).
    pub loader: Option<Arc<dyn ComponentLoader>>,
}

impl LoadOptions {
    /// Builds a model client: a named one from [`LoadOptions::models`] for a
    /// [`MODEL_REF_PROVIDER`] component, else from the component config.
    pub fn model_client(
        &self,
        model: &ComponentModel,
    ) -> Result<Arc<dyn ChatCompletionClient>, ModelError> {
        if model.provider != MODEL_REF_PROVIDER {
            return load_chat_completion_client(model);
        }
        let name = model
            .config
            .get("name")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default();
        self.models
            .get(name)
            .cloned()
            .ok_or_else(|| ModelError::Config {
                reason: format!("no model client named `{name}` was supplied"),
            })
    }
}

/// Builds an agent from its component config.
pub fn load_agent(
    model: &ComponentModel,
    options: &LoadOptions,
) -> Result<Arc<dyn ChatAgent>, ComponentError> {
    match short_provider(&model.provider) {
        "AssistantAgent" => Ok(Arc::new(assistant::config_load(model, options)?)),
        "UserProxyAgent" => {
            let agent = UserProxyAgent::from_component(model)?;
            Ok(Arc::new(match &options.user_input {
                Some(input) => agent.with_request_input(input.clone()),
                None => agent,
            }))
        }
        "CodeExecutorAgent" => Ok(Arc::new(code_executor::config_load(model, options)?)),
        "MessageFilterAgent" => Ok(Arc::new(
            super::message_filter::MessageFilterAgent::from_component(model, options)?,
        )),
        _ => options
            .loader
            .as_ref()
            .and_then(|l| l.agent(model, options))
            .unwrap_or_else(|| {
                Err(
                    needs_loader(model).unwrap_or_else(|| ComponentError::UnknownProvider {
                        kind: "agent",
                        provider: model.provider.clone(),
                    }),
                )
            }),
    }
}
