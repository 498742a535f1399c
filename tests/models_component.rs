//! Component configs: AutoGen-dumped configs load, our dumps round-trip and never hold secrets,
//! and LLM messages / results keep AutoGen's JSON shape.
#![allow(clippy::unwrap_used)]

mod common_models;

use common_models::*;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use toolyard::models::component::{ProviderKind, provider_kind};
use toolyard::models::scripted::Step;
use toolyard::models::{
    AssistantContent, ComponentModel, CreateRequest, CreateResult, LlmMessage, ModelError,
    UserContent, load_chat_completion_client,
};

#[tokio::test]
async fn autogen_openai_component_loads_and_talks_to_its_endpoint() {
    let server = server(vec![Step::text("loaded ok")]).await;
    let mut component = ComponentModel::from_json(&fixture("autogen/openai_client.json")).unwrap();
    component.config["base_url"] = json!(server.openai_base_url());
    component.config["api_key"] = json!(KEY);
    let client = load_chat_completion_client(&component).expect("load");
    assert_eq!(client.model_info().family, "unknown");
    assert!(client.model_info().structured_output);
    let result = client
        .create(
            CreateRequest::new(vec![LlmMessage::user("hi", "user")]),
            CancellationToken::new(),
        )
        .await
        .expect("create");
    assert_eq!(result.content.as_text(), Some("loaded ok"));
    let body = &server.requests()[0].body;
    assert_eq!(
        (
            body["temperature"].clone(),
            body["max_tokens"].clone(),
            body["seed"].clone()
        ),
        (json!(0.3), json!(256), json!(42))
    );
    assert_eq!(body["model"], "llama3.2:latest");
}

#[test]
fn masked_key_with_a_compatible_base_url_needs_no_key() {
    let component = ComponentModel::from_json(&fixture("autogen/openai_client.json")).unwrap();
    assert!(load_chat_completion_client(&component).is_ok());
}

#[tokio::test]
async fn autogen_azure_and_anthropic_components_load() {
    let server = server(vec![Step::text("az"), Step::text("an")]).await;
    let mut azure = ComponentModel::from_json(&fixture("autogen/azure_client.json")).unwrap();
    azure.config["azure_endpoint"] = json!(server.base_url());
    azure.config["api_key"] = json!(KEY);
    let client = load_chat_completion_client(&azure).expect("azure");
    client
        .create(
            CreateRequest::new(vec![LlmMessage::user("a", "u")]),
            CancellationToken::new(),
        )
        .await
        .expect("azure create");
    assert_eq!(
        server.requests()[0].path,
        "/openai/deployments/gpt-4o-deploy/chat/completions"
    );
    let mut anthropic =
        ComponentModel::from_json(&fixture("autogen/anthropic_client.json")).unwrap();
    anthropic.config["base_url"] = json!(server.base_url());
    anthropic.config["api_key"] = json!(KEY);
    let client = load_chat_completion_client(&anthropic).expect("anthropic");
    assert_eq!(client.model_info().family, "claude-3-7-sonnet");
    let r = client
        .create(
            CreateRequest::new(vec![LlmMessage::user("b", "u")]),
            CancellationToken::new(),
        )
        .await
        .expect("anthropic create");
    assert_eq!(r.content.as_text(), Some("an"));
    assert_eq!(server.requests()[1].body["max_tokens"], 4096);
}

#[test]
fn masked_anthropic_key_without_env_is_a_missing_key_error() {
    if std::env::var("ANTHROPIC_API_KEY").is_ok() {
        return;
    }
    let component = ComponentModel::from_json(&fixture("autogen/anthropic_client.json")).unwrap();
    let err = load_chat_completion_client(&component)
        .err()
        .expect("must fail");
    assert!(
        matches!(err, ModelError::MissingApiKey { ref env_var, .. } if env_var == "ANTHROPIC_API_KEY"),
        "{err:?}"
    );
}

#[tokio::test]
async fn autogen_replay_component_replays_in_order() {
    let component = ComponentModel::from_json(&fixture("autogen/replay_client.json")).unwrap();
    let client = load_chat_completion_client(&component).expect("replay");
    let req = CreateRequest::new(vec![LlmMessage::user("x", "u")]);
    let first = client
        .create(req.clone(), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(
        first.content.as_text(),
        Some("Hello from the replay client")
    );
    let second = client
        .create(req.clone(), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(second.content.as_calls().unwrap()[0].name, "search");
    assert_eq!(second.thought.as_deref(), Some("I should search."));
    let third = client.create(req, CancellationToken::new()).await;
    assert!(matches!(
        third,
        Err(ModelError::ReplayExhausted { used: 2 })
    ));
}

#[tokio::test]
async fn dumped_components_round_trip_without_secrets() {
    let server = server(vec![Step::text("again")]).await;
    let client = openai_with(&server, |c| c.create_args.temperature = Some(0.1));
    let dumped = toolyard::models::ChatCompletionClient::dump_component(&client).expect("dump");
    assert_eq!(
        dumped.provider,
        "autogen_ext.models.openai.OpenAIChatCompletionClient"
    );
    assert_eq!(
        dumped.component_type.as_deref(),
        Some("chat_completion_client")
    );
    assert_eq!(dumped.version, Some(1));
    let text = serde_json::to_string(&dumped).unwrap();
    assert!(
        !text.contains(KEY),
        "the API key must never be dumped: {text}"
    );
    assert!(dumped.config.get("api_key").is_none());
    let mut reloaded = ComponentModel::from_json(&text).unwrap();
    assert_eq!(reloaded, dumped);
    reloaded.config["api_key"] = json!(KEY);
    let again = load_chat_completion_client(&reloaded).expect("reload");
    again
        .create(
            CreateRequest::new(vec![LlmMessage::user("x", "u")]),
            CancellationToken::new(),
        )
        .await
        .expect("create");
    assert_eq!(server.requests()[0].body["temperature"], json!(0.1));
}

#[test]
fn provider_aliases_resolve() {
    for (name, kind) in [
        (
            "autogen_ext.models.openai.OpenAIChatCompletionClient",
            ProviderKind::OpenAi,
        ),
        ("openai", ProviderKind::OpenAi),
        (
            "autogen_ext.models.openai.AzureOpenAIChatCompletionClient",
            ProviderKind::Azure,
        ),
        ("azure_openai", ProviderKind::Azure),
        (
            "autogen_ext.models.anthropic.AnthropicChatCompletionClient",
            ProviderKind::Anthropic,
        ),
        ("anthropic", ProviderKind::Anthropic),
        (
            "autogen_ext.models.replay.ReplayChatCompletionClient",
            ProviderKind::Replay,
        ),
        ("replay", ProviderKind::Replay),
        ("cache", ProviderKind::Cache),
    ] {
        assert_eq!(provider_kind(name), Some(kind), "{name}");
    }
    assert_eq!(
        provider_kind("autogen_ext.models.ollama.OllamaChatCompletionClient"),
        None
    );
    let bad = ComponentModel {
        provider: "nope".into(),
        component_type: None,
        version: None,
        component_version: None,
        description: None,
        label: None,
        config: json!({}),
    };
    assert!(matches!(
        load_chat_completion_client(&bad),
        Err(ModelError::Config { .. })
    ));
}

#[test]
fn llm_messages_keep_autogen_shape() {
    let golden: Value = serde_json::from_str(&fixture("autogen/llm_messages.json")).unwrap();
    let messages: Vec<LlmMessage> =
        serde_json::from_value(golden.clone()).expect("load AutoGen messages");
    assert!(
        matches!(&messages[2], LlmMessage::UserMessage(m) if matches!(m.content, UserContent::Parts(ref p) if p.len() == 2))
    );
    assert!(
        matches!(&messages[3], LlmMessage::AssistantMessage(m) if matches!(m.content, AssistantContent::FunctionCalls(_)))
    );
    assert_eq!(serde_json::to_value(&messages).unwrap(), golden);
    let result: CreateResult =
        serde_json::from_str(&fixture("autogen/create_result.json")).unwrap();
    assert_eq!(result.content.as_text(), Some("The answer is 42."));
    assert_eq!(
        serde_json::to_value(&result).unwrap(),
        serde_json::from_str::<Value>(&fixture("autogen/create_result.json")).unwrap()
    );
}

#[tokio::test]
async fn every_client_dump_reloads_without_secrets() {
    use std::sync::Arc;
    use toolyard::models::{
        AnthropicClient, AnthropicConfig, AzureOpenAiClient, AzureOpenAiConfig, CacheStore,
        ChatCompletionCache, ChatCompletionClient, OpenAiConfig, ReplayClient, ReplayEntry,
    };
    let server = server(vec![Step::text("x")]).await;
    let anthropic = AnthropicClient::new(AnthropicConfig {
        api_key: Some(KEY.into()),
        base_url: Some(server.base_url()),
        ..AnthropicConfig::new("claude-3-5-haiku-latest")
    })
    .unwrap();
    let mut openai = OpenAiConfig::new("gpt-4o");
    openai.api_key = Some(KEY.into());
    let azure = AzureOpenAiClient::azure(AzureOpenAiConfig {
        azure_endpoint: server.base_url(),
        azure_deployment: Some("d".into()),
        api_version: "2024-06-01".into(),
        azure_ad_token: Some("secret-token".into()),
        openai,
    })
    .unwrap();
    let replay = ReplayClient::new(vec![ReplayEntry::Text("r".into())]);
    let cache = ChatCompletionCache::new(
        Arc::new(openai_with(&server, |_| {})),
        CacheStore::in_memory().unwrap(),
    );
    let clients: Vec<(&str, Box<dyn ChatCompletionClient>)> = vec![
        ("anthropic", Box::new(anthropic)),
        ("azure", Box::new(azure)),
        ("replay", Box::new(replay)),
        ("cache", Box::new(cache)),
    ];
    for (name, client) in clients {
        let dumped = client
            .dump_component()
            .unwrap_or_else(|| panic!("{name} dumps"));
        let text = serde_json::to_string(&dumped).unwrap();
        assert!(
            !text.contains(KEY) && !text.contains("secret-token"),
            "{name} leaked a secret: {text}"
        );
        let mut again = ComponentModel::from_json(&text).unwrap();
        assert_eq!(again, dumped);
        match name {
            "anthropic" | "azure" => again.config["api_key"] = json!(KEY),
            "cache" => again.config["client"]["config"]["api_key"] = json!(KEY),
            _ => {}
        }
        let loaded = load_chat_completion_client(&again).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(loaded.model_info(), client.model_info(), "{name}");
    }
}
