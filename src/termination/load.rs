//! Loads a termination condition (and nested AND / OR) from its component config.

use serde::Deserialize;

use super::{
    AndTermination, ExternalTermination, FunctionCallTermination, HandoffTermination,
    MaxMessageTermination, OrTermination, SourceMatchTermination, StopMessageTermination,
    Termination, TerminationError, TextMentionTermination, TextMessageTermination,
    TimeoutTermination, TokenUsageTermination,
};
use crate::component::{ComponentError, ComponentModel, parse_config, short_provider};

#[derive(Deserialize)]
struct Nested {
    conditions: Vec<ComponentModel>,
}

#[derive(Deserialize)]
struct Text {
    text: String,
    #[serde(default)]
    sources: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct Target {
    target: String,
}

#[derive(Deserialize)]
struct Sources {
    sources: Vec<String>,
}

#[derive(Deserialize)]
struct Source {
    #[serde(default)]
    source: Option<String>,
}

#[derive(Deserialize)]
struct Function {
    function_name: String,
}

#[derive(Deserialize)]
struct Tokens {
    #[serde(default)]
    max_total_token: Option<u64>,
    #[serde(default)]
    max_prompt_token: Option<u64>,
    #[serde(default)]
    max_completion_token: Option<u64>,
}

#[derive(Deserialize)]
struct Timeout {
    timeout_seconds: f64,
}

/// Builds a termination condition from a component config (AutoGen provider names accepted).
pub fn load_termination(model: &ComponentModel) -> Result<Termination, ComponentError> {
    let bad = |e: TerminationError| ComponentError::BadConfig {
        provider: model.provider.clone(),
        reason: e.to_string(),
    };
    let nested = |model: &ComponentModel| -> Result<Vec<Termination>, ComponentError> {
        parse_config::<Nested>(model)?
            .conditions
            .iter()
            .map(load_termination)
            .collect()
    };
    Ok(match short_provider(&model.provider) {
        "OrTerminationCondition" => Termination::new(OrTermination::new(nested(model)?)),
        "AndTerminationCondition" => Termination::new(AndTermination::new(nested(model)?)),
        "MaxMessageTermination" => Termination::new(parse_config::<MaxMessageTermination>(model)?),
        "TextMentionTermination" => {
            let c: Text = parse_config(model)?;
            let t = TextMentionTermination::new(c.text);
            Termination::new(match c.sources {
                Some(s) => t.with_sources(s),
                None => t,
            })
        }
        "TokenUsageTermination" => {
            let c: Tokens = parse_config(model)?;
            let t = TokenUsageTermination::new(
                c.max_total_token,
                c.max_prompt_token,
                c.max_completion_token,
            )
            .map_err(bad)?;
            Termination::new(t)
        }
        "TimeoutTermination" => Termination::new(TimeoutTermination::new(
            parse_config::<Timeout>(model)?.timeout_seconds,
        )),
        "HandoffTermination" => Termination::new(HandoffTermination::new(
            parse_config::<Target>(model)?.target,
        )),
        "SourceMatchTermination" => Termination::new(SourceMatchTermination::new(
            parse_config::<Sources>(model)?.sources,
        )),
        "ExternalTermination" => Termination::new(ExternalTermination::new()),
        "StopMessageTermination" => Termination::new(StopMessageTermination::new()),
        "TextMessageTermination" => Termination::new(TextMessageTermination::new(
            parse_config::<Source>(model)?.source,
        )),
        "FunctionCallTermination" => Termination::new(FunctionCallTermination::new(
            parse_config::<Function>(model)?.function_name,
        )),
        _ => {
            return Err(ComponentError::UnknownProvider {
                kind: "termination",
                provider: model.provider.clone(),
            });
        }
    })
}
