//! Per call: a workbench file's component made concrete. Model references become the models
//! built for this run, `workbench = [..]` lists become filtered gateway views, hand-written
//! AssistantAgent configs get AutoGen's defaults; the result is loaded into a FRESH team or agent.
//!
//! Model reference forms (anywhere in the component): `"model_client": "NAME"`, or a component
//! `{"provider": "toolyard.models.Ref", "config": {"name": "NAME"}}`.
//! Tool access forms (an AssistantAgent's `workbench` list): strings naming servers or served
//! tools, or a component `{"provider": "toolyard.workbenches.GatewayView", "config":
//! {"tools": [..]}}`; AutoGen `McpWorkbench` components get their server from the run's
//! [`McpServers`] (started on first use), with their `tool_overrides` applied.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::mcp_servers::{self, McpServers, OverriddenMcp};
use super::models::{BuiltModel, ModelTable, RunEnv};
use super::view::{GatewayHandle, GatewayView};
use super::{Kind, WorkbenchFile, WorkbenchesError};
use crate::agents::{ChatAgent, LoadOptions, MODEL_REF_PROVIDER, UserInputFn, load_agent};
use crate::component::{ComponentModel, short_provider};
use crate::teams::{GroupChat, load_team};
use crate::workbench::Workbench;

/// Provider of an explicit gateway-view workbench entry.
pub const GATEWAY_VIEW_PROVIDER: &str = "toolyard.workbenches.GatewayView";
/// Prefix of the provider keys views are registered under in `LoadOptions::workbenches`.
const VIEW_KEY: &str = "toolyard.workbenches.view#";
/// Prefix of the provider keys McpWorkbench entries are registered under.
const MCP_KEY: &str = "toolyard.workbenches.mcp#";
const DEFAULT_ASSISTANT_DESCRIPTION: &str =
    "An agent that provides assistance with ability to use tools.";

/// A model reference or a view list found in a component, with where it is.
#[derive(Debug, Clone, PartialEq)]
pub enum Reference {
    /// A model name at this field.
    Model { field: String, name: String },
    /// A tool-access list at this field.
    View { field: String, entries: Vec<String> },
    /// An AutoGen `McpWorkbench` component at this field.
    Mcp { field: String, component: Value },
}

/// The built team or agent of one run.
pub enum Built {
    /// A team.
    Team(Box<GroupChat>),
    /// One agent.
    Agent(Arc<dyn ChatAgent>),
}

/// How references are resolved: for a run (real models, live views) or for a check.
pub enum Mode<'a> {
    /// Build the run's models and views.
    Run {
        /// The models table.
        models: &'a ModelTable,
        /// The gateway the views call through.
        gateway: &'a GatewayHandle,
        /// The call.
        env: &'a RunEnv,
        /// Where the file's McpWorkbench servers come from (shared by the file's runs, or
        /// this run's own).
        servers: &'a McpServers,
    },
    /// Replace models by inert placeholders and views by empty ones (structure check only).
    Check,
}

/// The input function for runs with no input channel: fails at once with a clear message.
pub fn no_input_channel() -> UserInputFn {
    Arc::new(|_request, _cancel| {
        Box::pin(async {
            Err("this team needs human input but no input channel is available".to_string())
        })
    })
}

/// Every model reference and view list in a component, in document order.
pub fn references(file: &WorkbenchFile) -> Vec<Reference> {
    let mut found = Vec::new();
    let mut copy = file.component.clone();
    walk(&mut copy, &file.component_field, &mut |r| {
        found.push(r.clone());
        Ok(None)
    })
    .ok();
    found
}

/// Resolves a file's references and loads a fresh team or agent.
pub fn build(
    file: &WorkbenchFile,
    mode: &Mode<'_>,
    user_input: UserInputFn,
) -> Result<Built, WorkbenchesError> {
    let mut component = file.component.clone();
    let mut options = LoadOptions {
        user_input: Some(user_input),
        loader: Some(super::load::loader()),
        ..LoadOptions::default()
    };
    let mut views = 0usize;
    let mut clients = 0usize;
    let mut mcps = 0usize;
    walk(&mut component, &file.component_field, &mut |r| {
        let (field, replacement) = match r {
            Reference::Model { field, name } => {
                clients += 1;
                (
                    field.clone(),
                    resolve_model(name, clients, mode, &mut options),
                )
            }
            Reference::View { field, entries } => {
                views += 1;
                let key = format!("{VIEW_KEY}{views}");
                let workbench: Arc<dyn Workbench> = match mode {
                    Mode::Run { gateway, env, .. } => Arc::new(
                        GatewayView::new((*gateway).clone(), entries.clone())
                            .for_caller(&env.ctx.caller),
                    ),
                    Mode::Check => Arc::new(crate::tools::StaticWorkbench::default()),
                };
                options.workbenches.insert(key.clone(), workbench);
                (field.clone(), Ok(json!({"provider": key, "config": {}})))
            }
            Reference::Mcp { field, component } => {
                mcps += 1;
                let key = format!("{MCP_KEY}{mcps}");
                match mcp_workbench(component, mcps, mode) {
                    Ok(workbench) => {
                        options.workbenches.insert(key.clone(), workbench);
                        (field.clone(), Ok(json!({"provider": key, "config": {}})))
                    }
                    Err(e) => (format!("{field}.{}", e.field), Err(e.message)),
                }
            }
        };
        replacement
            .map(Some)
            .map_err(|m| WorkbenchesError::file(&file.path, field, m))
    })?;
    let model: ComponentModel = serde_json::from_value(component)
        .map_err(|e| WorkbenchesError::file(&file.path, "(component)", e.to_string()))?;
    let bad = |e: crate::component::ComponentError| {
        WorkbenchesError::file(&file.path, "(component)", e.to_string())
    };
    Ok(match file.kind {
        Kind::Team => Built::Team(Box::new(load_team(&model, &options).map_err(bad)?)),
        Kind::Agent => Built::Agent(load_agent(&model, &options).map_err(bad)?),
    })
}

/// One reference's model: a component in place, or a client registered under a key of its own
/// (`NAME#n`: every reference gets its own client, as with components).
fn resolve_model(
    name: &str,
    nth: usize,
    mode: &Mode<'_>,
    options: &mut LoadOptions,
) -> Result<Value, String> {
    match mode {
        Mode::Check => Ok(json!({
            "provider": "replay",
            "config": {"chat_completions": []}
        })),
        Mode::Run { models, env, .. } => {
            if !models.contains(name) {
                return Err(unknown_model(name, models));
            }
            match models.build(name, env).map_err(|e| e.to_string())? {
                BuiltModel::Component(c) => serde_json::to_value(c).map_err(|e| e.to_string()),
                BuiltModel::Client(client) => {
                    let key = format!("{name}#{nth}");
                    options.models.insert(key.clone(), client);
                    Ok(json!({"provider": MODEL_REF_PROVIDER, "config": {"name": key}}))
                }
            }
        }
    }
}

/// An McpWorkbench entry's workbench: its server (from the run's servers) with its overrides,
/// or an empty placeholder when only checking.
fn mcp_workbench(
    component: &Value,
    nth: usize,
    mode: &Mode<'_>,
) -> Result<Arc<dyn Workbench>, mcp_servers::ParamsError> {
    let spec = mcp_servers::parse(component, &mcp_servers::server_name(component))?;
    Ok(match mode {
        Mode::Check => Arc::new(crate::tools::StaticWorkbench::default()),
        Mode::Run { servers, .. } => Arc::new(OverriddenMcp::new(
            servers.server(nth, &spec),
            spec.overrides,
        )),
    })
}

/// The message for a model name the table does not have.
pub fn unknown_model(name: &str, models: &ModelTable) -> String {
    let names = models.names();
    format!(
        "unknown model `{name}`{} (servers.toml has [models.*]: {})",
        crate::component::suggest::hint(name, names.iter().map(String::as_str)),
        names.join(", ")
    )
}

type Visit<'v> = dyn FnMut(&Reference) -> Result<Option<Value>, WorkbenchesError> + 'v;

/// Visits every reference; where the visitor returns a value, it replaces the reference.
fn walk(value: &mut Value, path: &str, visit: &mut Visit<'_>) -> Result<(), WorkbenchesError> {
    match value {
        Value::Object(map) => {
            if let Some(name) = model_ref_name(map) {
                let r = Reference::Model {
                    field: path.to_string(),
                    name,
                };
                if let Some(v) = visit(&r)? {
                    *value = v;
                }
                return Ok(());
            }
            if is_assistant(map) {
                fill_assistant_defaults(map);
            }
            for (key, child) in map.iter_mut() {
                let field = join(path, key);
                if let Value::String(name) = child
                    && key == "model_client"
                {
                    let r = Reference::Model {
                        field,
                        name: name.clone(),
                    };
                    if let Some(v) = visit(&r)? {
                        *child = v;
                    }
                } else if key == "workbench" && (child.is_array() || child.is_object()) {
                    // AutoGen Studio may write one workbench object instead of a list.
                    if child.is_object() {
                        *child = Value::Array(vec![child.take()]);
                    }
                    if let Value::Array(items) = child {
                        view_list(items, &field, visit)?;
                    }
                } else {
                    walk(child, &field, visit)?;
                }
            }
            Ok(())
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                walk(item, &format!("{path}[{i}]"), visit)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// An AssistantAgent's `workbench` list: strings (and GatewayView components) become one view.
fn view_list(
    items: &mut Vec<Value>,
    field: &str,
    visit: &mut Visit<'_>,
) -> Result<(), WorkbenchesError> {
    let mut entries = Vec::new();
    let mut kept = Vec::new();
    for (i, item) in std::mem::take(items).into_iter().enumerate() {
        match &item {
            Value::String(s) => entries.push(s.clone()),
            Value::Object(m)
                if m.get("provider").and_then(Value::as_str) == Some(GATEWAY_VIEW_PROVIDER) =>
            {
                let tools = m
                    .get("config")
                    .and_then(|c| c.get("tools"))
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                entries.extend(tools.iter().filter_map(Value::as_str).map(str::to_string));
            }
            Value::Object(m) if is_mcp_workbench(m) => {
                let r = Reference::Mcp {
                    field: format!("{field}[{i}]"),
                    component: item.clone(),
                };
                kept.push(visit(&r)?.unwrap_or(item));
            }
            _ => {
                let mut item = item;
                walk(&mut item, &format!("{field}[{i}]"), visit)?;
                kept.push(item);
            }
        }
    }
    if !entries.is_empty() {
        let r = Reference::View {
            field: field.to_string(),
            entries,
        };
        match visit(&r)? {
            Some(v) => kept.push(v),
            None => kept.push(json!({"provider": GATEWAY_VIEW_PROVIDER, "config": {}})),
        }
    }
    *items = kept;
    Ok(())
}

fn model_ref_name(map: &Map<String, Value>) -> Option<String> {
    let provider = map.get("provider").and_then(Value::as_str)?;
    if provider != MODEL_REF_PROVIDER {
        return None;
    }
    Some(
        map.get("config")
            .and_then(|c| c.get("name"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
    )
}

fn is_mcp_workbench(map: &Map<String, Value>) -> bool {
    map.get("provider")
        .and_then(Value::as_str)
        .is_some_and(|p| p == mcp_servers::PROVIDER || short_provider(p) == "McpWorkbench")
}

fn is_assistant(map: &Map<String, Value>) -> bool {
    map.get("provider")
        .and_then(Value::as_str)
        .is_some_and(|p| short_provider(p) == "AssistantAgent")
}

/// Hand-written AssistantAgent configs may leave out what AutoGen always dumps.
fn fill_assistant_defaults(map: &mut Map<String, Value>) {
    if let Some(Value::Object(config)) = map.get_mut("config") {
        config
            .entry("description")
            .or_insert_with(|| Value::from(DEFAULT_ASSISTANT_DESCRIPTION));
        config
            .entry("reflect_on_tool_use")
            .or_insert(Value::Bool(false));
        config
            .entry("tool_call_summary_format")
            .or_insert_with(|| Value::from("{result}"));
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}
