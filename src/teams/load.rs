//! Loads teams from component configs (AutoGen provider names: `RoundRobinGroupChat`,
//! `SelectorGroupChat`, `Swarm`). Selector and candidate functions are not part of a config, as
//! in AutoGen.

use serde::Deserialize;

use super::{GroupChat, GroupChatBuilder, Selector};
use crate::agents::{LoadOptions, load_agent};
use crate::component::{ComponentError, ComponentModel, parse_config, short_provider};
use crate::termination::load_termination;

/// The fields every team config has.
#[derive(Deserialize)]
struct Common {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    participants: Vec<ComponentModel>,
    #[serde(default)]
    termination_condition: Option<ComponentModel>,
    #[serde(default)]
    max_turns: Option<usize>,
    #[serde(default)]
    emit_team_events: bool,
}

/// The selector's own fields.
#[derive(Deserialize)]
struct SelectorFields {
    model_client: ComponentModel,
    #[serde(default)]
    selector_prompt: Option<String>,
    #[serde(default)]
    allow_repeated_speaker: bool,
    #[serde(default)]
    max_selector_attempts: Option<usize>,
    #[serde(default)]
    model_client_streaming: bool,
}

/// Builds a team from its component config.
pub fn load_team(
    model: &ComponentModel,
    options: &LoadOptions,
) -> Result<GroupChat, ComponentError> {
    let common: Common = parse_config(model)?;
    let participants = common
        .participants
        .iter()
        .map(|p| load_agent(p, options))
        .collect::<Result<Vec<_>, _>>()?;
    let builder = match short_provider(&model.provider) {
        "RoundRobinGroupChat" => GroupChat::round_robin(participants),
        "Swarm" => GroupChat::swarm(participants),
        "SelectorGroupChat" => {
            let c: SelectorFields = parse_config(model)?;
            let client =
                options
                    .model_client(&c.model_client)
                    .map_err(|source| ComponentError::Model {
                        provider: model.provider.clone(),
                        source,
                    })?;
            let mut selector = Selector::new(client)
                .allow_repeated_speaker(c.allow_repeated_speaker)
                .model_client_streaming(c.model_client_streaming);
            if let Some(p) = c.selector_prompt {
                selector = selector.selector_prompt(p);
            }
            if let Some(n) = c.max_selector_attempts {
                selector = selector.max_selector_attempts(n);
            }
            GroupChat::selector(participants, selector)
        }
        _ => {
            return Err(ComponentError::UnknownProvider {
                kind: "team",
                provider: model.provider.clone(),
            });
        }
    };
    finish(builder, common, model)
}

fn finish(
    mut builder: GroupChatBuilder,
    common: Common,
    model: &ComponentModel,
) -> Result<GroupChat, ComponentError> {
    if let Some(name) = common.name {
        builder = builder.name(name);
    }
    if let Some(d) = common.description {
        builder = builder.description(d);
    }
    if let Some(t) = &common.termination_condition {
        builder = builder.termination(load_termination(t)?);
    }
    if let Some(n) = common.max_turns {
        builder = builder.max_turns(n);
    }
    builder
        .emit_team_events(common.emit_team_events)
        .build()
        .map_err(|e| ComponentError::BadConfig {
            provider: model.provider.clone(),
            reason: e.to_string(),
        })
}
