//! Loads a model context from its component config (AutoGen or short provider names).

use std::sync::Arc;

use serde::Deserialize;

use super::buffered::BufferedConfig;
use super::head_tail::HeadTailConfig;
use super::token_limited::TokenLimitedConfig;
use super::{
    BufferedContext, ChatCompletionContext, HeadAndTailContext, TokenLimitedContext,
    UnboundedContext,
};
use crate::component::{ComponentError, ComponentModel, parse_config, short_provider};
use crate::models::{LlmMessage, load_chat_completion_client};

#[derive(Deserialize)]
struct UnboundedConfig {
    #[serde(default)]
    initial_messages: Option<Vec<LlmMessage>>,
}

/// Builds a model context from a component config.
pub fn load_model_context(
    model: &ComponentModel,
) -> Result<Arc<dyn ChatCompletionContext>, ComponentError> {
    let bad = |e: super::ContextError| ComponentError::BadConfig {
        provider: model.provider.clone(),
        reason: e.to_string(),
    };
    Ok(match short_provider(&model.provider) {
        "UnboundedChatCompletionContext" | "unbounded" => {
            let c: UnboundedConfig = parse_config(model)?;
            Arc::new(UnboundedContext::with_initial(c.initial_messages))
        }
        "BufferedChatCompletionContext" | "buffered" => {
            let c: BufferedConfig = parse_config(model)?;
            Arc::new(BufferedContext::with_initial(c.buffer_size, c.initial_messages).map_err(bad)?)
        }
        "HeadAndTailChatCompletionContext" | "head_and_tail" => {
            let c: HeadTailConfig = parse_config(model)?;
            Arc::new(
                HeadAndTailContext::with_initial(c.head_size, c.tail_size, c.initial_messages)
                    .map_err(bad)?,
            )
        }
        "TokenLimitedChatCompletionContext" | "token_limited" => {
            let c: TokenLimitedConfig = parse_config(model)?;
            let client = load_chat_completion_client(&c.model_client).map_err(|source| {
                ComponentError::Model {
                    provider: model.provider.clone(),
                    source: Box::new(source),
                }
            })?;
            Arc::new(
                TokenLimitedContext::with_options(
                    client,
                    c.token_limit,
                    c.tool_schema.unwrap_or_default(),
                    c.initial_messages,
                )
                .map_err(bad)?,
            )
        }
        _ => {
            return Err(ComponentError::UnknownProvider {
                kind: "model context",
                provider: model.provider.clone(),
            });
        }
    })
}
