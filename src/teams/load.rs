//! Loads teams from component configs (AutoGen provider names: `RoundRobinGroupChat`,
//! `SelectorGroupChat`, `Swarm`, `GraphFlow`, `MagenticOneGroupChat`). Selector and candidate functions and graph edge
//! predicates are not part of a config, as in AutoGen.

use std::sync::Arc;

use serde::Deserialize;

use super::{DiGraph, GroupChat, GroupChatBuilder, Selector};
use crate::agents::{ChatAgent, LoadOptions, load_agent};
use crate::component::{ComponentError, ComponentModel, parse_config, short_provider};
use crate::model_context::load_model_context;
use crate::models::ChatCompletionClient;
use crate::termination::load_termination;

use super::{MagenticOne, SocietyOfMindAgent};

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

/// The Magentic-One orchestrator's own fields.
#[derive(Deserialize)]
struct MagenticFields {
    model_client: ComponentModel,
    #[serde(default)]
    max_stalls: Option<usize>,
    #[serde(default)]
    final_answer_prompt: Option<String>,
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
    #[serde(default)]
    model_context: Option<ComponentModel>,
}

/// GraphFlow's own field: AutoGen's `DiGraph` JSON.
#[derive(Deserialize)]
struct GraphFields {
    graph: serde_json::Value,
}

/// Builds a participant: a `SocietyOfMindAgent` here (it is made of a team), any other agent
/// through [`load_agent`].
fn load_participant(
    model: &ComponentModel,
    options: &LoadOptions,
) -> Result<Arc<dyn ChatAgent>, ComponentError> {
    if short_provider(&model.provider) == "SocietyOfMindAgent" {
        return Ok(Arc::new(SocietyOfMindAgent::from_component(
            model, options,
        )?));
    }
    load_agent(model, options)
}

/// Builds a team from its component config.
pub fn load_team(
    model: &ComponentModel,
    options: &LoadOptions,
) -> Result<GroupChat, ComponentError> {
    let mut common: Common = parse_config(model)?;
    let participants = common
        .participants
        .iter()
        .map(|p| load_participant(p, options))
        .collect::<Result<Vec<_>, _>>()?;
    let builder = match short_provider(&model.provider) {
        "RoundRobinGroupChat" => GroupChat::round_robin(participants),
        "Swarm" => GroupChat::swarm(participants),
        "GraphFlow" => {
            let c: GraphFields = parse_config(model)?;
            let graph = DiGraph::from_json(&c.graph).map_err(|e| ComponentError::BadConfig {
                provider: model.provider.clone(),
                reason: e.to_string(),
            })?;
            GroupChat::graph(participants, graph)
        }
        "SelectorGroupChat" => {
            let c: SelectorFields = parse_config(model)?;
            let client = team_model_client(options, &c.model_client, model)?;
            let mut selector = Selector::new(client)
                .allow_repeated_speaker(c.allow_repeated_speaker)
                .model_client_streaming(c.model_client_streaming);
            if let Some(p) = c.selector_prompt {
                selector = selector.selector_prompt(p);
            }
            if let Some(n) = c.max_selector_attempts {
                selector = selector.max_selector_attempts(n);
            }
            if let Some(ctx) = &c.model_context {
                selector = selector.model_context(load_model_context(ctx)?);
            }
            GroupChat::selector(participants, selector)
        }
        "MagenticOneGroupChat" => {
            let c: MagenticFields = parse_config(model)?;
            let client = team_model_client(options, &c.model_client, model)?;
            // The orchestrator counts its own rounds; the loop gets no turn limit.
            let mut orchestrator = MagenticOne::new(client).max_turns(common.max_turns.take());
            if let Some(n) = c.max_stalls {
                orchestrator = orchestrator.max_stalls(n);
            }
            if let Some(p) = c.final_answer_prompt {
                orchestrator = orchestrator.final_answer_prompt(p);
            }
            GroupChat::magentic_one(participants, orchestrator)
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

/// Builds the model client a team config names, the error naming the team's provider.
fn team_model_client(
    options: &LoadOptions,
    client: &ComponentModel,
    team: &ComponentModel,
) -> Result<Arc<dyn ChatCompletionClient>, ComponentError> {
    options
        .model_client(client)
        .map_err(|source| ComponentError::Model {
            provider: team.provider.clone(),
            source: Box::new(source),
        })
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
