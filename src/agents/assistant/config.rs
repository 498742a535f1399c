//! AssistantAgent component config in AutoGen's `AssistantAgentConfig` shape: dump and load.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{AssistantAgent, Handoff, StructuredOutput};
use crate::agents::LoadOptions;
use crate::component::{ComponentError, ComponentModel, component, parse_config, short_provider};
use crate::memory::load_memory;
use crate::model_context::load_model_context;
use crate::models::model_client_config;
use crate::tools::Tool;

/// AutoGen's provider name.
pub const PROVIDER: &str = "autogen_agentchat.agents.AssistantAgent";
const WORKBENCH_PROVIDER: &str = "autogen_core.tools.StaticStreamWorkbench";
const FACTORY_PROVIDER: &str = "autogen_agentchat.messages.StructuredMessageFactory";

#[derive(Debug, Serialize, Deserialize)]
struct Config {
    name: String,
    model_client: ComponentModel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tools: Option<Vec<ComponentModel>>,
    #[serde(default)]
    workbench: Option<Workbenches>,
    #[serde(default)]
    handoffs: Option<Vec<HandoffSpec>>,
    #[serde(default)]
    model_context: Option<ComponentModel>,
    #[serde(default)]
    memory: Option<Vec<ComponentModel>>,
    description: String,
    #[serde(default)]
    system_message: Option<String>,
    #[serde(default)]
    model_client_stream: bool,
    reflect_on_tool_use: bool,
    tool_call_summary_format: String,
    #[serde(default = "one")]
    max_tool_iterations: usize,
    #[serde(default)]
    metadata: Option<BTreeMap<String, String>>,
    #[serde(default)]
    structured_message_factory: Option<ComponentModel>,
}

fn one() -> usize {
    1
}

/// An agent's workbenches: a list, as AutoGen writes it, or one object, as AutoGen Studio may.
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum Workbenches {
    List(Vec<ComponentModel>),
    One(Box<ComponentModel>),
}

impl Workbenches {
    fn into_vec(self) -> Vec<ComponentModel> {
        match self {
            Self::List(list) => list,
            Self::One(one) => vec![*one],
        }
    }
}

/// A handoff as AutoGen writes it: a target name or a full object.
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum HandoffSpec {
    Name(String),
    Full(Handoff),
}

#[derive(Debug, Serialize, Deserialize)]
struct FactoryConfig {
    json_schema: Value,
    #[serde(default)]
    format_string: Option<String>,
    content_model_name: String,
}

#[derive(Debug, Deserialize)]
struct WorkbenchConfig {
    #[serde(default)]
    tools: Vec<ComponentModel>,
}

fn tool_component(tool: &dyn Tool) -> Result<ComponentModel, ComponentError> {
    if let Some(own) = tool.to_component() {
        return own;
    }
    component(
        "toolyard.tools.FunctionTool",
        "tool",
        1,
        &json!({
            "name": tool.name(),
            "description": tool.description(),
            "parameters": tool.parameters(),
        }),
    )
}

pub(super) fn dump(agent: &AssistantAgent) -> Result<ComponentModel, ComponentError> {
    let model_client = model_client_config(agent.client.as_ref(), &agent.name)?;
    let tools = agent
        .tools
        .iter()
        .map(|t| tool_component(t.as_ref()))
        .collect::<Result<Vec<_>, _>>()?;
    let workbench = component(
        WORKBENCH_PROVIDER,
        "workbench",
        1,
        &json!({ "tools": tools, "tool_overrides": {} }),
    )?;
    let memory = agent
        .memory
        .iter()
        .map(|m| m.dump_component())
        .collect::<Result<Vec<_>, _>>()?;
    let factory = match &agent.output {
        Some(o) => Some(component(
            FACTORY_PROVIDER,
            "structured_message",
            1,
            &FactoryConfig {
                json_schema: o.schema.clone(),
                format_string: o.format_string.clone(),
                content_model_name: o.name.clone(),
            },
        )?),
        None => None,
    };
    let config = Config {
        name: agent.name.clone(),
        model_client,
        tools: None,
        workbench: Some(Workbenches::List(vec![workbench])),
        handoffs: (!agent.handoffs.is_empty()).then(|| {
            agent
                .handoffs
                .iter()
                .cloned()
                .map(HandoffSpec::Full)
                .collect()
        }),
        model_context: Some(agent.context.dump_component()?),
        memory: (!memory.is_empty()).then_some(memory),
        description: agent.description.clone(),
        system_message: agent.system_message.clone(),
        model_client_stream: agent.stream,
        reflect_on_tool_use: agent.reflect,
        tool_call_summary_format: agent.summary_format.clone(),
        max_tool_iterations: agent.max_tool_iterations,
        metadata: Some(agent.metadata.clone()),
        structured_message_factory: factory,
    };
    component(PROVIDER, "agent", 2, &config)
}

/// Finds the in-process tools a workbench or tool list names (they must be supplied in `options`).
fn resolve_tools(
    models: &[ComponentModel],
    options: &LoadOptions,
    agent: &str,
) -> Result<Vec<Arc<dyn Tool>>, ComponentError> {
    models
        .iter()
        .map(|m| {
            match &options.loader {
                Some(loader) => {
                    if let Some(built) = loader.tool(m, options) {
                        return built;
                    }
                }
                None => {
                    if let Some(e) = crate::agents::load::needs_loader(m) {
                        return Err(e);
                    }
                }
            }
            let name = m.config.get("name").and_then(Value::as_str).unwrap_or("");
            options
                .tools
                .iter()
                .find(|t| t.name() == name)
                .cloned()
                .ok_or_else(|| ComponentError::NotSerialisable {
                    what: format!("tool `{name}` of agent `{agent}`"),
                    reason: "tools are code; pass it in LoadOptions::tools".into(),
                })
        })
        .collect()
}

pub(crate) fn load(
    model: &ComponentModel,
    options: &LoadOptions,
) -> Result<AssistantAgent, ComponentError> {
    let c: Config = parse_config(model)?;
    let client = options
        .model_client(&c.model_client)
        .map_err(|source| ComponentError::Model {
            provider: model.provider.clone(),
            source: Box::new(source),
        })?;
    let mut builder = AssistantAgent::builder(c.name.clone(), client)
        .description(c.description)
        .system_message(c.system_message)
        .model_client_stream(c.model_client_stream)
        .reflect_on_tool_use(c.reflect_on_tool_use)
        .max_tool_iterations(c.max_tool_iterations)
        .tool_call_summary_format(c.tool_call_summary_format)
        .metadata(c.metadata.unwrap_or_default());
    let mut tools = resolve_tools(&c.tools.unwrap_or_default(), options, &c.name)?;
    for wb in c.workbench.map(Workbenches::into_vec).unwrap_or_default() {
        match short_provider(&wb.provider) {
            "StaticWorkbench" | "StaticStreamWorkbench" => {
                let w: WorkbenchConfig = parse_config(&wb)?;
                tools.extend(resolve_tools(&w.tools, options, &c.name)?);
            }
            _ => match options.workbenches.get(&wb.provider) {
                Some(w) => builder = builder.workbench(w.clone()),
                None => {
                    return Err(ComponentError::UnknownProvider {
                        kind: "workbench",
                        provider: wb.provider.clone(),
                    });
                }
            },
        }
    }
    for t in tools {
        builder = builder.tool(t);
    }
    for h in c.handoffs.unwrap_or_default() {
        builder = builder.handoff(match h {
            HandoffSpec::Name(target) => Handoff::new(target),
            HandoffSpec::Full(h) => h,
        });
    }
    if let Some(ctx) = &c.model_context {
        builder = builder.model_context(load_model_context(ctx)?);
    }
    for m in c.memory.unwrap_or_default() {
        builder = builder.memory(load_memory(&m)?);
    }
    if let Some(f) = &c.structured_message_factory {
        let f: FactoryConfig = parse_config(f)?;
        builder = builder.output_content_type(StructuredOutput {
            name: f.content_model_name,
            schema: f.json_schema,
            format_string: f.format_string,
        });
    }
    builder.build().map_err(|e| ComponentError::BadConfig {
        provider: model.provider.clone(),
        reason: e.to_string(),
    })
}
