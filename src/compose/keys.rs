//! Every component's config keys as AutoGen 0.7.5 defines them (its pydantic config models),
//! plus toolyard's own components and extensions. A workbench file is checked against them, so
//! a misspelt key (`sytem_message`) or provider (`AssistantAgnt`) is an error naming its field,
//! with a "did you mean" hint, instead of being silently ignored as AutoGen would.
//!
//! Model clients and code executors are known by name only: their options are open-ended.

use serde_json::{Map, Value};

use crate::component::short_provider;
use crate::component::suggest::{closest, hint};

/// One known component provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Provider {
    /// The full provider name.
    pub name: &'static str,
    /// What it is (`agent`, `team`, `termination`, ...), for messages.
    pub kind: &'static str,
    /// Its config keys; `None` when they are not checked.
    pub keys: Option<&'static [&'static str]>,
}

const fn p(name: &'static str, kind: &'static str, keys: &'static [&'static str]) -> Provider {
    Provider {
        name,
        kind,
        keys: Some(keys),
    }
}

const fn open(name: &'static str, kind: &'static str) -> Provider {
    Provider {
        name,
        kind,
        keys: None,
    }
}

const TEAM: &[&str] = &[
    "description",
    "emit_team_events",
    "max_turns",
    "name",
    "participants",
    "termination_condition",
];
const WORKBENCH: &[&str] = &["tool_overrides", "tools"];

/// The providers whose keys are known.
pub const PROVIDERS: &[Provider] = &[
    p(
        "autogen_agentchat.agents.AssistantAgent",
        "agent",
        &[
            "description",
            "handoffs",
            "max_tool_iterations",
            "memory",
            "metadata",
            "model_client",
            "model_client_stream",
            "model_context",
            "name",
            "reflect_on_tool_use",
            "structured_message_factory",
            "system_message",
            "tool_call_summary_format",
            "tools",
            "workbench",
        ],
    ),
    p(
        "autogen_agentchat.agents.UserProxyAgent",
        "agent",
        &["description", "input_func", "name"],
    ),
    p(
        "autogen_agentchat.agents.CodeExecutorAgent",
        "agent",
        &[
            "code_executor",
            "description",
            "model_client",
            "model_client_stream",
            "model_context",
            "name",
            "sources",
            "supported_languages",
            "system_message",
        ],
    ),
    p(
        "autogen_agentchat.agents.SocietyOfMindAgent",
        "agent",
        &[
            "description",
            "instruction",
            "model_client",
            "model_context",
            "name",
            "response_prompt",
            "team",
        ],
    ),
    p(
        "autogen_agentchat.agents.MessageFilterAgent",
        "agent",
        &["filter", "name", "wrapped_agent"],
    ),
    p("autogen_agentchat.teams.RoundRobinGroupChat", "team", TEAM),
    p("autogen_agentchat.teams.Swarm", "team", TEAM),
    p(
        "autogen_agentchat.teams.SelectorGroupChat",
        "team",
        &[
            "allow_repeated_speaker",
            "description",
            "emit_team_events",
            "max_selector_attempts",
            "max_turns",
            "model_client",
            "model_client_streaming",
            "model_context",
            "name",
            "participants",
            "selector_prompt",
            "termination_condition",
        ],
    ),
    p(
        "autogen_agentchat.teams.GraphFlow",
        "team",
        &[
            "description",
            "graph",
            "max_turns",
            "name",
            "participants",
            "termination_condition",
        ],
    ),
    p(
        "autogen_agentchat.teams.MagenticOneGroupChat",
        "team",
        &[
            "description",
            "emit_team_events",
            "final_answer_prompt",
            "max_stalls",
            "max_turns",
            "model_client",
            "name",
            "participants",
            "termination_condition",
        ],
    ),
    p(
        "autogen_agentchat.tools.AgentTool",
        "tool",
        &["agent", "return_value_as_last_message"],
    ),
    p(
        "autogen_agentchat.tools.TeamTool",
        "tool",
        &[
            "description",
            "name",
            "return_value_as_last_message",
            "team",
        ],
    ),
    open("autogen_core.tools.FunctionTool", "tool"),
    open("toolyard.tools.FunctionTool", "tool"),
    p(
        "autogen_agentchat.conditions.MaxMessageTermination",
        "termination",
        &["include_agent_event", "max_messages"],
    ),
    // `sources` is toolyard's: only mentions by these sources count.
    p(
        "autogen_agentchat.conditions.TextMentionTermination",
        "termination",
        &["sources", "text"],
    ),
    p(
        "autogen_agentchat.conditions.TokenUsageTermination",
        "termination",
        &[
            "max_completion_token",
            "max_prompt_token",
            "max_total_token",
        ],
    ),
    p(
        "autogen_agentchat.conditions.TimeoutTermination",
        "termination",
        &["timeout_seconds"],
    ),
    p(
        "autogen_agentchat.conditions.HandoffTermination",
        "termination",
        &["target"],
    ),
    p(
        "autogen_agentchat.conditions.SourceMatchTermination",
        "termination",
        &["sources"],
    ),
    p(
        "autogen_agentchat.conditions.ExternalTermination",
        "termination",
        &[],
    ),
    p(
        "autogen_agentchat.conditions.StopMessageTermination",
        "termination",
        &[],
    ),
    p(
        "autogen_agentchat.conditions.TextMessageTermination",
        "termination",
        &["source"],
    ),
    p(
        "autogen_agentchat.conditions.FunctionCallTermination",
        "termination",
        &["function_name"],
    ),
    p(
        "autogen_agentchat.base.OrTerminationCondition",
        "termination",
        &["conditions"],
    ),
    p(
        "autogen_agentchat.base.AndTerminationCondition",
        "termination",
        &["conditions"],
    ),
    p(
        "autogen_core.model_context.UnboundedChatCompletionContext",
        "model context",
        &["initial_messages"],
    ),
    p(
        "autogen_core.model_context.BufferedChatCompletionContext",
        "model context",
        &["buffer_size", "initial_messages"],
    ),
    p(
        "autogen_core.model_context.TokenLimitedChatCompletionContext",
        "model context",
        &[
            "initial_messages",
            "model_client",
            "token_limit",
            "tool_schema",
        ],
    ),
    p(
        "autogen_core.model_context.HeadAndTailChatCompletionContext",
        "model context",
        &["head_size", "initial_messages", "tail_size"],
    ),
    p(
        "autogen_core.memory.ListMemory",
        "memory",
        &["memory_contents", "name"],
    ),
    p("autogen_core.tools.StaticWorkbench", "workbench", WORKBENCH),
    p(
        "autogen_core.tools.StaticStreamWorkbench",
        "workbench",
        WORKBENCH,
    ),
    p(
        "autogen_ext.tools.mcp.McpWorkbench",
        "workbench",
        &["model_client", "server_params", "tool_overrides"],
    ),
    p("toolyard.workbenches.GatewayView", "workbench", &["tools"]),
    p(
        "autogen_agentchat.messages.StructuredMessageFactory",
        "structured message factory",
        &["content_model_name", "format_string", "json_schema"],
    ),
    p("toolyard.models.Ref", "model", &["name"]),
    open(
        "autogen_ext.models.openai.OpenAIChatCompletionClient",
        "model",
    ),
    open(
        "autogen_ext.models.openai.AzureOpenAIChatCompletionClient",
        "model",
    ),
    open(
        "autogen_ext.models.anthropic.AnthropicChatCompletionClient",
        "model",
    ),
    open(
        "autogen_ext.models.replay.ReplayChatCompletionClient",
        "model",
    ),
    open("autogen_ext.models.cache.ChatCompletionCache", "model"),
    open(
        "autogen_ext.code_executors.docker.DockerCommandLineCodeExecutor",
        "code executor",
    ),
    open(
        "autogen_ext.code_executors.local.LocalCommandLineCodeExecutor",
        "code executor",
    ),
];

/// Short provider aliases the loaders accept, and the provider each stands for.
const ALIASES: &[(&str, &str)] = &[
    ("unbounded", "UnboundedChatCompletionContext"),
    ("buffered", "BufferedChatCompletionContext"),
    ("head_and_tail", "HeadAndTailChatCompletionContext"),
    ("token_limited", "TokenLimitedChatCompletionContext"),
    ("openai", "OpenAIChatCompletionClient"),
    ("openai_compatible", "OpenAIChatCompletionClient"),
    ("azure", "AzureOpenAIChatCompletionClient"),
    ("azure_openai", "AzureOpenAIChatCompletionClient"),
    ("anthropic", "AnthropicChatCompletionClient"),
    ("replay", "ReplayChatCompletionClient"),
    ("cache", "ChatCompletionCache"),
];

/// The keys of a component object itself (`config` holds the provider's own keys).
pub const COMPONENT_KEYS: &[&str] = &[
    "component_type",
    "component_version",
    "config",
    "description",
    "label",
    "provider",
    "version",
];

/// Keys of each AutoGen MCP server params type (`server_params.type`).
const SERVER_PARAMS: &[(&str, &[&str])] = &[
    (
        "StdioServerParams",
        &[
            "args",
            "command",
            "cwd",
            "encoding",
            "encoding_error_handler",
            "env",
            "read_timeout_seconds",
            "type",
        ],
    ),
    (
        "SseServerParams",
        &["headers", "sse_read_timeout", "timeout", "type", "url"],
    ),
    (
        "StreamableHttpServerParams",
        &[
            "headers",
            "sse_read_timeout",
            "terminate_on_close",
            "timeout",
            "type",
            "url",
        ],
    ),
];

/// The keys of AutoGen's `ToolOverride` (a `tool_overrides` entry).
pub const TOOL_OVERRIDE: &[&str] = &["description", "name"];

/// The keys of an MCP server params type (`StdioServerParams`, ...).
pub fn server_params_keys(kind: &str) -> Option<&'static [&'static str]> {
    SERVER_PARAMS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, keys)| *keys)
}

/// Config values that are data, never components: not searched for nested components.
const DATA_KEYS: &[&str] = &[
    "args",
    "env",
    "filter",
    "graph",
    "handoffs",
    "headers",
    "initial_messages",
    "json_schema",
    "memory_contents",
    "metadata",
    "model_info",
];

/// The known provider `provider` names: by full name, class name or alias.
pub fn known(provider: &str) -> Option<&'static Provider> {
    let short = short_provider(provider);
    let short = ALIASES
        .iter()
        .find(|(alias, _)| *alias == provider)
        .map_or(short, |(_, class)| class);
    PROVIDERS.iter().find(|p| short_provider(p.name) == short)
}

/// The known provider closest to the unknown class name `short`, among `names` (class names).
pub fn suggest_provider<'a>(
    short: &str,
    names: impl IntoIterator<Item = &'a str>,
) -> Option<&'static Provider> {
    closest(short, names).and_then(known)
}

/// One unknown key or provider: the field (dotted path) and what is wrong.
pub type KeyProblem = (String, String);

/// Every unknown key and misspelt provider in `value` (a component, or anything holding
/// components), with fields relative to `field`.
pub fn check(value: &Value, field: &str) -> Vec<KeyProblem> {
    let mut out = Vec::new();
    walk(value, field, &mut out);
    out
}

fn walk(value: &Value, field: &str, out: &mut Vec<KeyProblem>) {
    match value {
        Value::Object(map) => match map.get("provider").and_then(Value::as_str) {
            Some(provider) => component(map, provider, field, out),
            None => {
                for (key, child) in map {
                    if !DATA_KEYS.contains(&key.as_str()) {
                        walk(child, &join(field, key), out);
                    }
                }
            }
        },
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, &format!("{field}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn component(map: &Map<String, Value>, provider: &str, field: &str, out: &mut Vec<KeyProblem>) {
    unknown_keys(map, COMPONENT_KEYS, "a component", field, out);
    let config = map.get("config").and_then(Value::as_object);
    let config_field = join(field, "config");
    match known(provider) {
        Some(known) => {
            if let (Some(keys), Some(config)) = (known.keys, config) {
                let what = short_provider(known.name);
                unknown_keys(config, keys, what, &config_field, out);
                nested_keys(config, &config_field, out);
            }
        }
        None => {
            let names = PROVIDERS.iter().map(|p| short_provider(p.name));
            if let Some(near) = suggest_provider(short_provider(provider), names) {
                out.push((
                    join(field, "provider"),
                    format!(
                        "unknown {} provider `{provider}` (did you mean `{}`?)",
                        near.kind, near.name
                    ),
                ));
            }
        }
    }
    if let Some(config) = config {
        for (key, child) in config {
            if !DATA_KEYS.contains(&key.as_str()) && key != "server_params" {
                walk(child, &join(&config_field, key), out);
            }
        }
    }
}

/// The keys inside `server_params` and `tool_overrides` entries.
fn nested_keys(config: &Map<String, Value>, field: &str, out: &mut Vec<KeyProblem>) {
    if let Some(params) = config.get("server_params").and_then(Value::as_object) {
        let kind = params.get("type").and_then(Value::as_str).unwrap_or("");
        // An unknown or missing `type` is reported when the params are parsed.
        if let Some((kind, keys)) = SERVER_PARAMS.iter().find(|(k, _)| *k == kind) {
            unknown_keys(params, keys, kind, &join(field, "server_params"), out);
        }
    }
    if let Some(overrides) = config.get("tool_overrides").and_then(Value::as_object) {
        for (tool, o) in overrides {
            if let Some(o) = o.as_object() {
                let at = format!("{}.{tool}", join(field, "tool_overrides"));
                unknown_keys(o, TOOL_OVERRIDE, "a tool override", &at, out);
            }
        }
    }
}

fn unknown_keys(
    map: &Map<String, Value>,
    keys: &[&str],
    what: &str,
    field: &str,
    out: &mut Vec<KeyProblem>,
) {
    for key in map.keys().filter(|k| !keys.contains(&k.as_str())) {
        let help = match hint(key, keys.iter().copied()) {
            h if !h.is_empty() => h,
            _ if keys.is_empty() => " (it takes no keys)".to_string(),
            _ => format!(" (known: {})", keys.join(", ")),
        };
        out.push((join(field, key), format!("unknown key for {what}{help}")));
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_misspelt_key_is_named_with_a_hint() {
        let team = json!({"provider": "RoundRobinGroupChat", "config": {"participants": [
            {"provider": "AssistantAgent", "config": {"name": "a", "model_client": "m",
             "sytem_message": "hi"}}]}});
        let problems = check(&team, "");
        assert_eq!(
            problems,
            [(
                "config.participants[0].config.sytem_message".to_string(),
                "unknown key for AssistantAgent (did you mean `system_message`?)".to_string()
            )]
        );
    }

    #[test]
    fn a_misspelt_provider_gets_the_known_one() {
        let agent = json!({"provider": "autogen_agentchat.agents.AssistantAgnt", "config": {}});
        let problems = check(&agent, "config.agent");
        assert_eq!(problems[0].0, "config.agent.provider");
        assert!(
            problems[0].1.contains("unknown agent provider")
                && problems[0]
                    .1
                    .contains("`autogen_agentchat.agents.AssistantAgent`"),
            "{problems:?}"
        );
    }

    #[test]
    fn mcp_params_and_overrides_are_checked() {
        let wb = json!({"provider": "autogen_ext.tools.mcp.McpWorkbench", "config": {
            "server_params": {"type": "StdioServerParams", "command": "x", "read_timout_seconds": 3},
            "tool_overrides": {"echo": {"nmae": "say"}}}});
        let problems = check(&wb, "w");
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!(problems[0].0, "w.config.server_params.read_timout_seconds");
        assert!(problems[0].1.contains("`read_timeout_seconds`"));
        assert_eq!(problems[1].0, "w.config.tool_overrides.echo.nmae");
    }

    #[test]
    fn open_providers_and_unknown_ones_far_from_any_are_left_to_the_loaders() {
        let model = json!({"provider": "openai", "config": {"model": "x", "anything": 1}});
        assert!(check(&model, "").is_empty());
        let custom = json!({"provider": "my.pkg.WeirdThing", "config": {"x": 1}});
        assert!(check(&custom, "").is_empty());
    }
}
