//! The composition layer's `ComponentLoader`: what `agents::load_agent` cannot build by itself
//! (a `SocietyOfMindAgent`, an `AgentTool`, a `TeamTool`), and load entry points that install it.

use std::sync::Arc;

use super::task_tools::{AgentTool, TeamTool};
use crate::agents::{ChatAgent, ComponentLoader, LoadOptions};
use crate::component::{ComponentError, ComponentModel, short_provider};
use crate::teams::{GroupChat, SocietyOfMindAgent};
use crate::tools::Tool;

/// Loads agents made of teams and agents or teams offered as tools (AutoGen provider names).
#[derive(Debug, Clone, Copy, Default)]
pub struct Loader;

impl ComponentLoader for Loader {
    fn agent(
        &self,
        model: &ComponentModel,
        options: &LoadOptions,
    ) -> Option<Result<Arc<dyn ChatAgent>, ComponentError>> {
        match short_provider(&model.provider) {
            "SocietyOfMindAgent" => Some(
                SocietyOfMindAgent::from_component(model, options)
                    .map(|a| Arc::new(a) as Arc<dyn ChatAgent>),
            ),
            _ => None,
        }
    }

    fn tool(
        &self,
        model: &ComponentModel,
        options: &LoadOptions,
    ) -> Option<Result<Arc<dyn Tool>, ComponentError>> {
        match short_provider(&model.provider) {
            "AgentTool" => Some(
                AgentTool::from_component(model, options).map(|t| Arc::new(t) as Arc<dyn Tool>),
            ),
            "TeamTool" => {
                Some(TeamTool::from_component(model, options).map(|t| Arc::new(t) as Arc<dyn Tool>))
            }
            _ => None,
        }
    }
}

/// The composition layer's loader, for [`LoadOptions::loader`].
pub fn loader() -> Arc<dyn ComponentLoader> {
    Arc::new(Loader)
}

/// `options` with [`loader`] installed when it has none.
pub fn with_loader(options: &LoadOptions) -> LoadOptions {
    let mut options = options.clone();
    options.loader.get_or_insert_with(loader);
    options
}

/// Builds any agent from its component config: `agents::load_agent` with [`loader`] installed.
pub fn load_agent(
    model: &ComponentModel,
    options: &LoadOptions,
) -> Result<Arc<dyn ChatAgent>, ComponentError> {
    crate::agents::load_agent(model, &with_loader(options))
}

/// Builds any team from its component config: `teams::load_team` with [`loader`] installed.
pub fn load_team(
    model: &ComponentModel,
    options: &LoadOptions,
) -> Result<GroupChat, ComponentError> {
    crate::teams::load_team(model, &with_loader(options))
}
