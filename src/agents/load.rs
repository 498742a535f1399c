//! Loads agents from component configs (AutoGen provider names accepted).

use std::collections::HashMap;
use std::sync::Arc;

use super::{ChatAgent, SocietyOfMindAgent, UserProxyAgent, assistant, code_executor};
use crate::component::{ComponentError, ComponentModel, short_provider};
use crate::tools::Tool;
use crate::workbench::Workbench;

/// What a config cannot carry: code. Tools are matched by name, workbenches by provider.
#[derive(Default, Clone)]
pub struct LoadOptions {
    /// In-process tools that configs may name.
    pub tools: Vec<Arc<dyn Tool>>,
    /// Workbenches by provider name (e.g. an `McpWorkbench` for `autogen_ext.tools.mcp.McpWorkbench`).
    pub workbenches: HashMap<String, Arc<dyn Workbench>>,
}

/// Builds an agent from its component config.
pub fn load_agent(
    model: &ComponentModel,
    options: &LoadOptions,
) -> Result<Arc<dyn ChatAgent>, ComponentError> {
    match short_provider(&model.provider) {
        "AssistantAgent" => Ok(Arc::new(assistant::config_load(model, options)?)),
        "UserProxyAgent" => Ok(Arc::new(UserProxyAgent::from_component(model)?)),
        "CodeExecutorAgent" => Ok(Arc::new(code_executor::config_load(model)?)),
        "SocietyOfMindAgent" => Ok(Arc::new(SocietyOfMindAgent::from_component(
            model, options,
        )?)),
        "MessageFilterAgent" => Ok(Arc::new(
            super::message_filter::MessageFilterAgent::from_component(model, options)?,
        )),
        _ => Err(ComponentError::UnknownProvider {
            kind: "agent",
            provider: model.provider.clone(),
        }),
    }
}
