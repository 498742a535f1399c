//! The fixture's prompts, resources and completion values.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::*;
use rmcp::{prompt, prompt_router, schemars};
use serde::Deserialize;
use serde_json::json;

use super::{Fixture, PNG_1X1};

/// Template of the one dynamic resource.
pub(super) const TEMPLATE_URI: &str = "test://template/{id}/data";

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct PromptArgs {
    /// First test argument.
    arg1: String,
    /// Second test argument.
    arg2: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
struct EmbeddedResourcePromptArgs {
    /// URI of the resource to embed.
    resource_uri: String,
}

#[prompt_router(vis = "pub(super)")]
impl Fixture {
    #[prompt(
        name = "test_simple_prompt",
        description = "A simple prompt without arguments"
    )]
    async fn test_simple_prompt(&self) -> Vec<PromptMessage> {
        vec![PromptMessage::new_text(
            Role::User,
            "This is a simple prompt for testing.",
        )]
    }

    #[prompt(
        name = "test_prompt_with_arguments",
        description = "A prompt with two required arguments"
    )]
    async fn test_prompt_with_arguments(
        &self,
        Parameters(PromptArgs { arg1, arg2 }): Parameters<PromptArgs>,
    ) -> Vec<PromptMessage> {
        vec![PromptMessage::new_text(
            Role::User,
            format!("Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"),
        )]
    }

    #[prompt(
        name = "test_prompt_with_embedded_resource",
        description = "A prompt that embeds a resource"
    )]
    async fn test_prompt_with_embedded_resource(
        &self,
        Parameters(EmbeddedResourcePromptArgs { resource_uri }): Parameters<
            EmbeddedResourcePromptArgs,
        >,
    ) -> Vec<PromptMessage> {
        let resource =
            ResourceContents::text("Embedded resource content for testing.", resource_uri)
                .with_mime_type("text/plain");
        vec![
            PromptMessage::new(Role::User, ContentBlock::resource(resource)),
            PromptMessage::new_text(Role::User, "Please process the embedded resource above."),
        ]
    }

    #[prompt(
        name = "test_prompt_with_image",
        description = "A prompt with an image"
    )]
    async fn test_prompt_with_image(&self) -> Vec<PromptMessage> {
        vec![
            PromptMessage::new(Role::User, ContentBlock::image(PNG_1X1, "image/png")),
            PromptMessage::new_text(Role::User, "Please analyze the image above."),
        ]
    }
}

/// The contents of a fixture resource, or None when `uri` names none.
pub(super) fn resource_contents(uri: &str) -> Option<ResourceContents> {
    match uri {
        "test://static-text" => Some(
            ResourceContents::text("This is the content of the static text resource.", uri)
                .with_mime_type("text/plain"),
        ),
        "test://static-binary" => {
            Some(ResourceContents::blob(PNG_1X1, uri).with_mime_type("image/png"))
        }
        "test://watched-resource" => Some(
            ResourceContents::text("A resource clients can subscribe to.", uri)
                .with_mime_type("text/plain"),
        ),
        _ => {
            let id = uri
                .strip_prefix("test://template/")
                .and_then(|rest| rest.strip_suffix("/data"))
                .filter(|id| !id.is_empty() && !id.contains('/'))?;
            let body =
                json!({"id": id, "templateTest": true, "data": format!("Data for ID: {id}")});
            Some(ResourceContents::text(body.to_string(), uri).with_mime_type("application/json"))
        }
    }
}

/// Completion values for `test_prompt_with_arguments`'s arguments, filtered by prefix.
pub(super) fn completions(argument: &str, prefix: &str) -> Vec<String> {
    let candidates: &[&str] = match argument {
        "arg1" => &["paris", "park", "party", "test", "testing"],
        "arg2" => &["world", "word", "work"],
        _ => &[],
    };
    candidates
        .iter()
        .filter(|c| c.starts_with(prefix))
        .map(|c| (*c).to_string())
        .collect()
}
