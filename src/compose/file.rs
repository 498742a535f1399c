//! One workbench file: an AutoGen `TeamTool` / `AgentTool` component, or a plain team or agent
//! component, in JSON (as AutoGen dumps it) or the same structure in TOML, plus an optional
//! `toolyard` table (tool name, description, extra input fields, who owns the MCP servers of
//! `McpWorkbench` entries). Unknown keys anywhere (the component's configs, the `toolyard`
//! table) are errors with a "did you mean" hint ([`super::keys`]).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::WorkbenchesError;
use super::mcp_servers::Scope;
use crate::component::short_provider;
use crate::component::suggest::hint;

/// The keys of the `toolyard` table.
const TOOLYARD_KEYS: &[&str] = &[
    "name",
    "description",
    "return_value_as_last_message",
    "inputs",
    Scope::KEY,
];

/// Whether the file's component is a team or a single agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A team (`load_team`).
    Team,
    /// One agent (`load_agent`).
    Agent,
}

/// An input field a workbench takes besides `task` (from the file's `toolyard.inputs`).
#[derive(Debug, Clone, PartialEq)]
pub struct ExtraInput {
    /// The argument name.
    pub name: String,
    /// Its JSON schema (default `{"type": "string"}`).
    pub schema: Value,
    /// Whether callers must give it.
    pub required: bool,
}

/// A parsed workbench file: what to serve, and the component to build per call.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkbenchFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// The served tool name.
    pub name: String,
    /// The served tool description.
    pub description: String,
    /// Team or agent.
    pub kind: Kind,
    /// The team or agent component, model references and views not yet resolved.
    pub component: Value,
    /// Where the component sits in the file (`""`, `"config.team"`, `"config.agent"`).
    pub component_field: String,
    /// Answer with the last message's text only (AutoGen's `return_value_as_last_message`).
    pub return_value_as_last_message: bool,
    /// Extra input fields, in file order.
    pub inputs: Vec<ExtraInput>,
    /// Who owns the servers of the component's `McpWorkbench` entries (`toolyard.mcp_servers`).
    pub mcp_servers: Scope,
}

const TEAM_PROVIDERS: &[&str] = &[
    "RoundRobinGroupChat",
    "SelectorGroupChat",
    "Swarm",
    "GraphFlow",
    "MagenticOneGroupChat",
];
const AGENT_PROVIDERS: &[&str] = &[
    "AssistantAgent",
    "UserProxyAgent",
    "CodeExecutorAgent",
    "SocietyOfMindAgent",
];

/// Whether `path` names a workbench file (`*.json` or `*.toml`).
pub fn is_workbench_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("json" | "toml")
    )
}

/// The workbench files of `dir`, sorted by path (a missing folder has none).
pub fn folder_files(dir: &Path) -> Result<Vec<PathBuf>, WorkbenchesError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(WorkbenchesError::Io {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && is_workbench_file(p))
        .collect();
    files.sort();
    Ok(files)
}

/// Parses every workbench file of `dir`: the good ones, and an error for each bad one.
pub fn load_folder(dir: &Path) -> (Vec<WorkbenchFile>, Vec<WorkbenchesError>) {
    let paths = match folder_files(dir) {
        Ok(p) => p,
        Err(e) => return (Vec::new(), vec![e]),
    };
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        match WorkbenchFile::load_all(&path) {
            Ok(f) => files.push(f),
            Err(e) => errors.extend(e),
        }
    }
    (files, errors)
}

impl WorkbenchFile {
    /// Reads and parses one file (the first problem when there are several).
    pub fn load(path: &Path) -> Result<Self, WorkbenchesError> {
        Self::load_all(path).map_err(first)
    }

    /// Reads and parses one file; every problem found when it cannot be used.
    pub fn load_all(path: &Path) -> Result<Self, Vec<WorkbenchesError>> {
        let text = std::fs::read_to_string(path).map_err(|source| {
            vec![WorkbenchesError::Io {
                path: path.to_path_buf(),
                source,
            }]
        })?;
        let value = match path.extension().and_then(|e| e.to_str()) {
            Some("toml") => toml::from_str::<Value>(&text).map_err(|e| {
                vec![WorkbenchesError::file(
                    path,
                    "(file)",
                    format!("bad TOML: {e}"),
                )]
            })?,
            _ => serde_json::from_str::<Value>(&text).map_err(|e| {
                vec![WorkbenchesError::file(
                    path,
                    "(file)",
                    format!("bad JSON: {e}"),
                )]
            })?,
        };
        Self::parse_all(path, value)
    }

    /// Parses a file's content (`path` names it in errors; its stem is the fallback name); the
    /// first problem when there are several.
    pub fn parse(path: &Path, value: Value) -> Result<Self, WorkbenchesError> {
        Self::parse_all(path, value).map_err(first)
    }

    /// Parses a file's content; every unknown key (each with its field) when there are any.
    pub fn parse_all(path: &Path, value: Value) -> Result<Self, Vec<WorkbenchesError>> {
        let file = Self::parse_structure(path, value.clone()).map_err(|e| vec![e])?;
        let mut component = value;
        if let Value::Object(top) = &mut component {
            top.remove("toolyard");
        }
        let problems: Vec<WorkbenchesError> = super::keys::check(&component, "")
            .into_iter()
            .map(|(field, message)| WorkbenchesError::file(path, field, message))
            .collect();
        if problems.is_empty() {
            Ok(file)
        } else {
            Err(problems)
        }
    }

    fn parse_structure(path: &Path, value: Value) -> Result<Self, WorkbenchesError> {
        let err = |field: &str, message: String| WorkbenchesError::file(path, field, message);
        let Value::Object(mut top) = value else {
            return Err(err("(file)", "must be a component object".into()));
        };
        let extras = match top.remove("toolyard") {
            None => Map::new(),
            Some(Value::Object(m)) => m,
            Some(_) => return Err(err("toolyard", "must be a table/object".into())),
        };
        let provider = str_field(&top, "provider")
            .ok_or_else(|| err("provider", "missing (a component needs a provider)".into()))?
            .to_string();
        let config = top.get("config").cloned().unwrap_or_else(|| json!({}));
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("workbench")
            .to_string();
        let mut file = match short_provider(&provider) {
            "TeamTool" => {
                let team = config
                    .get("team")
                    .cloned()
                    .ok_or_else(|| err("config.team", "missing".into()))?;
                let (kind, _, _) = classify(&team).map_err(|m| err("config.team.provider", m))?;
                if kind != Kind::Team {
                    return Err(err("config.team.provider", "is not a team".into()));
                }
                Self::new(path, required_str(&config, "name", &err)?, kind, team)
                    .at("config.team")
                    .described(required_str(&config, "description", &err)?)
                    .last_only(&config)
            }
            "AgentTool" => {
                let agent = config
                    .get("agent")
                    .cloned()
                    .ok_or_else(|| err("config.agent", "missing".into()))?;
                let (kind, name, description) =
                    classify(&agent).map_err(|m| err("config.agent.provider", m))?;
                if kind != Kind::Agent {
                    return Err(err("config.agent.provider", "is not an agent".into()));
                }
                let name = name.ok_or_else(|| err("config.agent.config.name", "missing".into()))?;
                Self::new(path, name, kind, agent)
                    .at("config.agent")
                    .described(description.unwrap_or_default())
                    .last_only(&config)
            }
            _ => {
                let component = Value::Object(top);
                let (kind, name, description) =
                    classify(&component).map_err(|m| err("provider", m))?;
                let name = match (kind, name) {
                    (Kind::Team, Some(n)) if !is_default_team_name(&n) => n,
                    (Kind::Team, _) => stem,
                    (Kind::Agent, Some(n)) => n,
                    (Kind::Agent, None) => return Err(err("config.name", "missing".into())),
                };
                Self::new(path, name, kind, component).described(description.unwrap_or_default())
            }
        };
        file.apply_extras(&extras, &err)?;
        check_tool_name(&file.name).map_err(|m| err("name", m))?;
        Ok(file)
    }

    fn new(path: &Path, name: String, kind: Kind, component: Value) -> Self {
        Self {
            path: path.to_path_buf(),
            name,
            description: String::new(),
            kind,
            component,
            component_field: String::new(),
            return_value_as_last_message: false,
            inputs: Vec::new(),
            mcp_servers: Scope::default(),
        }
    }

    fn at(mut self, field: &str) -> Self {
        self.component_field = field.to_string();
        self
    }

    fn described(mut self, description: String) -> Self {
        self.description = description;
        self
    }

    fn last_only(mut self, config: &Value) -> Self {
        self.return_value_as_last_message = config
            .get("return_value_as_last_message")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        self
    }

    fn apply_extras(
        &mut self,
        extras: &Map<String, Value>,
        err: &dyn Fn(&str, String) -> WorkbenchesError,
    ) -> Result<(), WorkbenchesError> {
        for (key, value) in extras {
            match key.as_str() {
                "name" => {
                    self.name = value
                        .as_str()
                        .ok_or_else(|| err("toolyard.name", "must be a string".into()))?
                        .to_string()
                }
                "description" => {
                    self.description = value
                        .as_str()
                        .ok_or_else(|| err("toolyard.description", "must be a string".into()))?
                        .to_string()
                }
                "return_value_as_last_message" => {
                    self.return_value_as_last_message = value.as_bool().ok_or_else(|| {
                        err(
                            "toolyard.return_value_as_last_message",
                            "must be a boolean".into(),
                        )
                    })?
                }
                "inputs" => self.inputs = parse_inputs(value, err)?,
                Scope::KEY => {
                    let field = format!("toolyard.{}", Scope::KEY);
                    let text = value.as_str().ok_or_else(|| {
                        err(
                            &field,
                            format!("must be a string: {}", Scope::VALUES.join(" or ")),
                        )
                    })?;
                    self.mcp_servers = Scope::parse(text).map_err(|m| err(&field, m))?;
                }
                other => {
                    return Err(err(
                        &format!("toolyard.{other}"),
                        format!(
                            "unknown key{}",
                            match hint(other, TOOLYARD_KEYS.iter().copied()) {
                                h if !h.is_empty() => h,
                                _ => format!(" (known: {})", TOOLYARD_KEYS.join(", ")),
                            }
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The tool's input schema: `task` plus the extra inputs.
    pub fn input_schema(&self) -> Map<String, Value> {
        let mut properties = Map::new();
        properties.insert(
            "task".into(),
            json!({"type": "string", "title": "Task", "description": "The task to be executed."}),
        );
        let mut required = vec![Value::from("task")];
        for input in &self.inputs {
            properties.insert(input.name.clone(), input.schema.clone());
            if input.required {
                required.push(Value::from(input.name.clone()));
            }
        }
        let schema = json!({
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": false
        });
        match schema {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    /// The task text of a call: `task`, then one `name: value` line per extra input given.
    pub fn task_text(&self, arguments: &Map<String, Value>) -> Result<String, String> {
        let mut task = arguments
            .get("task")
            .and_then(Value::as_str)
            .ok_or("`task` must be a string")?
            .to_string();
        let given: Vec<String> = self
            .inputs
            .iter()
            .filter_map(|i| {
                arguments.get(&i.name).map(|v| match v {
                    Value::String(s) => format!("{}: {s}", i.name),
                    other => format!("{}: {other}", i.name),
                })
            })
            .collect();
        if !given.is_empty() {
            task.push_str("\n\n");
            task.push_str(&given.join("\n"));
        }
        Ok(task)
    }
}

fn parse_inputs(
    value: &Value,
    err: &dyn Fn(&str, String) -> WorkbenchesError,
) -> Result<Vec<ExtraInput>, WorkbenchesError> {
    let Value::Object(map) = value else {
        return Err(err(
            "toolyard.inputs",
            "must be a table of name = {type, description, required}".into(),
        ));
    };
    let mut inputs = Vec::new();
    for (name, spec) in map {
        let field = format!("toolyard.inputs.{name}");
        if name == "task" {
            return Err(err(
                &field,
                "`task` is always an input; do not redeclare it".into(),
            ));
        }
        let mut schema = match spec {
            Value::Object(m) => m.clone(),
            Value::String(description) => {
                let mut m = Map::new();
                m.insert("description".into(), Value::from(description.clone()));
                m
            }
            _ => {
                return Err(err(
                    &field,
                    "must be a table or a description string".into(),
                ));
            }
        };
        let required = match schema.remove("required") {
            None => false,
            Some(Value::Bool(b)) => b,
            Some(_) => {
                return Err(err(
                    &format!("{field}.required"),
                    "must be a boolean".into(),
                ));
            }
        };
        schema
            .entry("type")
            .or_insert_with(|| Value::from("string"));
        if jsonschema::validator_for(&Value::Object(schema.clone())).is_err() {
            return Err(err(&field, "is not a valid JSON schema".into()));
        }
        inputs.push(ExtraInput {
            name: name.clone(),
            schema: Value::Object(schema),
            required,
        });
    }
    Ok(inputs)
}

fn first(mut errors: Vec<WorkbenchesError>) -> WorkbenchesError {
    if errors.is_empty() {
        WorkbenchesError::file("", "(file)", "cannot be used")
    } else {
        errors.swap_remove(0)
    }
}

/// Team or agent, with the component's `config.name` and description when present.
fn classify(component: &Value) -> Result<(Kind, Option<String>, Option<String>), String> {
    let provider = component
        .get("provider")
        .and_then(Value::as_str)
        .ok_or("missing")?;
    let declared = component.get("component_type").and_then(Value::as_str);
    let short = short_provider(provider);
    let kind = match declared {
        Some("team") => Kind::Team,
        Some("agent") => Kind::Agent,
        _ if TEAM_PROVIDERS.contains(&short) => Kind::Team,
        _ if AGENT_PROVIDERS.contains(&short) => Kind::Agent,
        _ => {
            let known = TEAM_PROVIDERS
                .iter()
                .chain(AGENT_PROVIDERS)
                .chain(&["TeamTool", "AgentTool"])
                .copied();
            return Err(match super::keys::suggest_provider(short, known) {
                Some(near) => format!(
                    "unknown {} provider `{provider}` (did you mean `{}`?)",
                    near.kind, near.name
                ),
                None => format!("`{provider}` is not a team, an agent, a TeamTool or an AgentTool"),
            });
        }
    };
    let config = component.get("config");
    let name = config
        .and_then(|c| c.get("name"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let description = config
        .and_then(|c| c.get("description"))
        .and_then(Value::as_str)
        .or_else(|| component.get("description").and_then(Value::as_str))
        .map(str::to_string);
    Ok((kind, name, description))
}

/// AutoGen names a team after its class when no name is given; such a name is a poor tool name.
fn is_default_team_name(name: &str) -> bool {
    TEAM_PROVIDERS.contains(&name)
}

fn str_field<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    map.get(key).and_then(Value::as_str)
}

fn required_str(
    config: &Value,
    key: &str,
    err: &dyn Fn(&str, String) -> WorkbenchesError,
) -> Result<String, WorkbenchesError> {
    config
        .get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| {
            err(
                &format!("config.{key}"),
                "missing (a string is needed)".into(),
            )
        })
}

/// MCP tool names: 1 to 128 characters of `A-Z a-z 0-9 _ - .`.
fn check_tool_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a valid tool name (1-128 of A-Z a-z 0-9 _ - .)"
        ))
    }
}
