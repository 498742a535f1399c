//! `servers.toml`: parsing, validation and `${VAR}` interpolation into typed settings.

mod interpolate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;
use toml::{Table, Value};
use url::Url;

pub use interpolate::{MissingVar, from_env, interpolate};

/// Default per-call timeout for upstream tool calls.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Default time an upstream gets to start and finish its handshake.
pub const DEFAULT_STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Everything that can be wrong with a config file; each variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: cannot read config: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("{path}: invalid TOML: {message}")]
    Syntax { path: PathBuf, message: String },
    /// A key in `[gateway]` or at the top level is wrong.
    #[error("{path}: [{section}] key `{key}`: {message}")]
    Section {
        path: PathBuf,
        section: String,
        key: String,
        message: String,
    },
    /// A key of one `[servers.NAME]` table is wrong.
    #[error("{path}: [servers.{server}] key `{key}`: {message}")]
    Server {
        path: PathBuf,
        server: String,
        key: String,
        message: String,
    },
}

/// How tool names are prefixed with their server's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PrefixMode {
    /// Every tool is `server<sep>tool`.
    #[default]
    Always,
    /// Only names that collide across servers are prefixed.
    OnConflict,
    /// Names are served as they are; a collision is an error.
    Never,
}

/// The `[gateway]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewaySettings {
    /// Separator between server name and tool name.
    pub separator: String,
    /// When names get the server prefix.
    pub prefix: PrefixMode,
    /// Name the gateway reports as its server name.
    pub name: String,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        Self {
            separator: "__".into(),
            prefix: PrefixMode::Always,
            name: "toolyard".into(),
        }
    }
}

/// Which MCP protocol era to use with an upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProtocolPreference {
    /// Try `server/discover` (2026-07-28), fall back to `initialize` (2025-11-25).
    #[default]
    Auto,
    /// Only `initialize` (2025-11-25 and earlier, with sessions).
    Initialize,
    /// Only `server/discover` (2026-07-28, sessionless).
    Discover,
}

/// Whether downstream callers share one upstream session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SessionMode {
    /// One upstream session for every caller (requests it sends outside of a request stream
    /// cannot be attributed and are refused).
    #[default]
    Shared,
    /// One upstream session (for stdio: one child process) per downstream caller.
    PerCaller,
}

/// Limits of `session = "per_caller"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallerSessions {
    /// At most this many caller sessions at once; a caller beyond it gets a clear error.
    pub max: usize,
    /// A caller session with no call for this long is closed (and its child stopped).
    pub idle: Duration,
}

impl Default for CallerSessions {
    fn default() -> Self {
        Self {
            max: 32,
            idle: Duration::from_secs(300),
        }
    }
}

/// How to reach one upstream server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportConfig {
    /// A child process speaking MCP on stdin/stdout.
    Stdio {
        command: String,
        args: Vec<String>,
        env: BTreeMap<String, String>,
        cwd: Option<PathBuf>,
    },
    /// Streamable HTTP.
    StreamableHttp {
        url: Url,
        headers: BTreeMap<String, String>,
    },
    /// Legacy HTTP+SSE (`GET /sse` + POST endpoint).
    Sse {
        url: Url,
        headers: BTreeMap<String, String>,
    },
}

impl TransportConfig {
    /// Short name of the transport kind, for status reports.
    pub fn kind(&self) -> &'static str {
        match self {
            TransportConfig::Stdio { .. } => "stdio",
            TransportConfig::StreamableHttp { .. } => "streamable-http",
            TransportConfig::Sse { .. } => "sse",
        }
    }
}

/// A rename or new description for one upstream tool.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolOverride {
    /// The name the tool is served under (before any server prefix).
    pub name: Option<String>,
    /// The description the tool is served with.
    pub description: Option<String>,
}

/// Which of a server's tools are served, and how.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ToolFilter {
    /// If set, only these upstream tool names are served.
    pub allow: Option<Vec<String>>,
    /// Upstream tool names never served.
    pub deny: Vec<String>,
    /// Renames and descriptions, keyed by upstream tool name.
    pub overrides: BTreeMap<String, ToolOverride>,
}

impl ToolFilter {
    /// Whether the upstream tool `name` is served.
    pub fn admits(&self, name: &str) -> bool {
        let allowed = self
            .allow
            .as_ref()
            .is_none_or(|allow| allow.iter().any(|a| a == name));
        allowed && !self.deny.iter().any(|d| d == name)
    }
}

/// One `[servers.NAME]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// The server's name (the table key), used as tool prefix.
    pub name: String,
    /// How to reach it.
    pub transport: TransportConfig,
    /// Per-call timeout.
    pub timeout: Duration,
    /// Time allowed for start-up and handshake.
    pub startup_timeout: Duration,
    /// Tool selection and overrides.
    pub tools: ToolFilter,
    /// Protocol era to speak.
    pub protocol: ProtocolPreference,
    /// Shared upstream session, or one per downstream caller.
    pub session: SessionMode,
    /// Limits of per-caller sessions.
    pub caller_sessions: CallerSessions,
}

/// A parsed and validated `servers.toml`.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where it was read from.
    pub path: PathBuf,
    /// The `[gateway]` table.
    pub gateway: GatewaySettings,
    /// The upstream servers, in file order.
    pub servers: Vec<ServerConfig>,
    /// The raw `[models.NAME]` tables (used by workbenches).
    pub models: Table,
}

impl Config {
    /// Read and validate a config file, interpolating `${VAR}` from the environment.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path, &from_env)
    }

    /// Parse config text; `path` is used in errors and to resolve relative paths.
    pub fn parse(
        text: &str,
        path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let table: Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::Syntax {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut parser = Parser {
            path,
            base: &base,
            env,
        };
        parser.parse(table)
    }

    /// The server called `name`.
    pub fn server(&self, name: &str) -> Option<&ServerConfig> {
        self.servers.iter().find(|s| s.name == name)
    }
}

struct Parser<'a> {
    path: &'a Path,
    base: &'a Path,
    env: &'a dyn Fn(&str) -> Option<String>,
}

const SERVER_KEYS: &[&str] = &[
    "command",
    "args",
    "env",
    "cwd",
    "url",
    "headers",
    "transport",
    "timeout_secs",
    "startup_timeout_secs",
    "tools",
    "protocol",
    "session",
    "max_callers",
    "caller_idle_secs",
];

impl Parser<'_> {
    fn parse(&mut self, table: Table) -> Result<Config, ConfigError> {
        let mut gateway = GatewaySettings::default();
        let mut servers = Vec::new();
        let mut models = Table::new();
        for (key, value) in table {
            match key.as_str() {
                "gateway" => gateway = self.gateway(value)?,
                "servers" => {
                    let table = self.section_table("servers", value)?;
                    for (name, value) in table {
                        servers.push(self.server(name, value)?);
                    }
                }
                "models" => models = self.section_table("models", value)?,
                other => {
                    return Err(self.section_err("top level", other, "unknown key"));
                }
            }
        }
        Ok(Config {
            path: self.path.to_path_buf(),
            gateway,
            servers,
            models,
        })
    }

    fn section_err(&self, section: &str, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::Section {
            path: self.path.to_path_buf(),
            section: section.into(),
            key: key.into(),
            message: message.into(),
        }
    }

    fn section_table(&self, section: &str, value: Value) -> Result<Table, ConfigError> {
        match value {
            Value::Table(t) => Ok(t),
            other => Err(self.section_err(
                "top level",
                section,
                format!("expected a table, found {}", other.type_str()),
            )),
        }
    }

    fn gateway(&self, value: Value) -> Result<GatewaySettings, ConfigError> {
        let table = self.section_table("gateway", value)?;
        let mut settings = GatewaySettings::default();
        for (key, value) in table {
            let text = |v: Value| match v {
                Value::String(s) => Ok(s),
                other => Err(self.section_err(
                    "gateway",
                    &key,
                    format!("expected a string, found {}", other.type_str()),
                )),
            };
            match key.as_str() {
                "separator" => {
                    let sep = text(value)?;
                    if sep.is_empty() {
                        return Err(self.section_err("gateway", &key, "must not be empty"));
                    }
                    settings.separator = sep;
                }
                "prefix" => {
                    settings.prefix = match text(value)?.as_str() {
                        "always" => PrefixMode::Always,
                        "on-conflict" => PrefixMode::OnConflict,
                        "never" => PrefixMode::Never,
                        other => {
                            return Err(self.section_err(
                                "gateway",
                                &key,
                                format!("`{other}` is not one of always, on-conflict, never"),
                            ));
                        }
                    }
                }
                "name" => settings.name = text(value)?,
                _ => return Err(self.section_err("gateway", &key, "unknown key")),
            }
        }
        Ok(settings)
    }

    fn server(&self, name: String, value: Value) -> Result<ServerConfig, ConfigError> {
        let err = |key: &str, message: String| ConfigError::Server {
            path: self.path.to_path_buf(),
            server: name.clone(),
            key: key.into(),
            message,
        };
        let Value::Table(table) = value else {
            return Err(err(
                "",
                format!("expected a table, found {}", value.type_str()),
            ));
        };
        if let Some(bad) = table.keys().find(|k| !SERVER_KEYS.contains(&k.as_str())) {
            return Err(err(bad, "unknown key".into()));
        }
        let get = |key: &str| table.get(key).cloned();
        let command: Option<String> = field(get("command"), "command", &err)?;
        let url: Option<String> = field(get("url"), "url", &err)?;
        let kind: Option<String> = field(get("transport"), "transport", &err)?;
        let interp = |key: &str, s: &str| {
            interpolate(s, self.env)
                .map_err(|MissingVar(v)| err(key, format!("environment variable `{v}` is not set")))
        };
        let interp_map = |key: &str, map: BTreeMap<String, String>| {
            map.into_iter()
                .map(|(k, v)| Ok((k.clone(), interp(&format!("{key}.{k}"), &v)?)))
                .collect::<Result<BTreeMap<_, _>, ConfigError>>()
        };
        let transport = match (command, url) {
            (Some(_), Some(_)) => {
                return Err(err(
                    "url",
                    "a server has either `command` or `url`, not both".into(),
                ));
            }
            (None, None) => {
                return Err(err(
                    "command",
                    "a server needs `command` (stdio) or `url` (HTTP)".into(),
                ));
            }
            (Some(command), None) => {
                if let Some(kind) = kind.as_deref().filter(|k| *k != "stdio") {
                    return Err(err(
                        "transport",
                        format!("`{kind}` needs `url`, not `command`"),
                    ));
                }
                let args: Vec<String> = field(get("args"), "args", &err)?.unwrap_or_default();
                let args = args
                    .iter()
                    .enumerate()
                    .map(|(i, a)| interp(&format!("args[{i}]"), a))
                    .collect::<Result<_, _>>()?;
                let env = field(get("env"), "env", &err)?.unwrap_or_default();
                let cwd: Option<String> = field(get("cwd"), "cwd", &err)?;
                let cwd = cwd
                    .map(|c| interp("cwd", &c).map(|c| self.base.join(c)))
                    .transpose()?;
                let command = interp("command", &command)?;
                let command = if command.contains('/') && Path::new(&command).is_relative() {
                    self.base.join(&command).to_string_lossy().into_owned()
                } else {
                    command
                };
                TransportConfig::Stdio {
                    command,
                    args,
                    env: interp_map("env", env)?,
                    cwd,
                }
            }
            (None, Some(url)) => {
                for key in ["args", "env", "cwd"] {
                    if table.contains_key(key) {
                        return Err(err(
                            key,
                            "only stdio servers (with `command`) take this key".into(),
                        ));
                    }
                }
                let url = interp("url", &url)?;
                let url = Url::parse(&url)
                    .map_err(|e| err("url", format!("`{url}` is not a valid URL: {e}")))?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(err("url", format!("`{url}` must be http or https")));
                }
                let headers = interp_map(
                    "headers",
                    field(get("headers"), "headers", &err)?.unwrap_or_default(),
                )?;
                match kind.as_deref() {
                    None | Some("streamable-http") | Some("http") => {
                        TransportConfig::StreamableHttp { url, headers }
                    }
                    Some("sse") => TransportConfig::Sse { url, headers },
                    Some(other) => {
                        return Err(err(
                            "transport",
                            format!("`{other}` is not one of streamable-http, sse, stdio"),
                        ));
                    }
                }
            }
        };
        if matches!(transport, TransportConfig::Stdio { .. }) && table.contains_key("headers") {
            return Err(err(
                "headers",
                "only HTTP servers (with `url`) take this key".into(),
            ));
        }
        let secs = |key: &str, default: Duration| -> Result<Duration, ConfigError> {
            let v: Option<f64> = field(get(key).map(int_as_float), key, &err)?;
            match v {
                None => Ok(default),
                Some(s) if s > 0.0 && s.is_finite() => Ok(Duration::from_secs_f64(s)),
                Some(s) => Err(err(
                    key,
                    format!("must be a positive number of seconds, got {s}"),
                )),
            }
        };
        let protocol = match field::<String>(get("protocol"), "protocol", &err)?.as_deref() {
            None | Some("auto") => ProtocolPreference::Auto,
            Some("2025-11-25") | Some("initialize") => ProtocolPreference::Initialize,
            Some("2026-07-28") | Some("discover") => ProtocolPreference::Discover,
            Some(other) => {
                return Err(err(
                    "protocol",
                    format!("`{other}` is not one of auto, 2025-11-25, 2026-07-28"),
                ));
            }
        };
        let session = match field::<String>(get("session"), "session", &err)?.as_deref() {
            None | Some("shared") => SessionMode::Shared,
            Some("per_caller") => SessionMode::PerCaller,
            Some(other) => {
                return Err(err(
                    "session",
                    format!("`{other}` is not one of shared, per_caller"),
                ));
            }
        };
        let defaults = CallerSessions::default();
        let max: Option<i64> = field(get("max_callers"), "max_callers", &err)?;
        let caller_sessions = CallerSessions {
            max: match max {
                None => defaults.max,
                Some(n) if n > 0 => usize::try_from(n).unwrap_or(usize::MAX),
                Some(n) => {
                    return Err(err("max_callers", format!("must be at least 1, got {n}")));
                }
            },
            idle: secs("caller_idle_secs", defaults.idle)?,
        };
        if session == SessionMode::Shared {
            for key in ["max_callers", "caller_idle_secs"] {
                if table.contains_key(key) {
                    return Err(err(
                        key,
                        "only applies with session = \"per_caller\"".into(),
                    ));
                }
            }
        }
        Ok(ServerConfig {
            tools: self.tools(get("tools"), &err)?,
            timeout: secs("timeout_secs", DEFAULT_TIMEOUT)?,
            startup_timeout: secs("startup_timeout_secs", DEFAULT_STARTUP_TIMEOUT)?,
            protocol,
            session,
            caller_sessions,
            transport,
            name,
        })
    }

    fn tools(
        &self,
        value: Option<Value>,
        err: &dyn Fn(&str, String) -> ConfigError,
    ) -> Result<ToolFilter, ConfigError> {
        let Some(value) = value else {
            return Ok(ToolFilter::default());
        };
        let Value::Table(table) = value else {
            return Err(err("tools", "expected a table".into()));
        };
        let mut filter = ToolFilter::default();
        for (key, value) in table {
            match key.as_str() {
                "allow" => filter.allow = field(Some(value), "tools.allow", err)?,
                "deny" => filter.deny = field(Some(value), "tools.deny", err)?.unwrap_or_default(),
                "overrides" => {
                    filter.overrides =
                        field(Some(value), "tools.overrides", err)?.unwrap_or_default()
                }
                other => return Err(err(&format!("tools.{other}"), "unknown key".into())),
            }
        }
        if filter.allow.is_some() && !filter.deny.is_empty() {
            return Err(err(
                "tools.deny",
                "use either tools.allow or tools.deny, not both".into(),
            ));
        }
        Ok(filter)
    }
}

fn int_as_float(v: Value) -> Value {
    match v {
        Value::Integer(i) => Value::Float(i as f64),
        other => other,
    }
}

fn field<T: DeserializeOwned>(
    value: Option<Value>,
    key: &str,
    err: &dyn Fn(&str, String) -> ConfigError,
) -> Result<Option<T>, ConfigError> {
    value
        .map(|v| {
            v.try_into::<T>().map_err(|e| {
                let msg = e.to_string();
                err(key, msg.trim().replace('\n', " "))
            })
        })
        .transpose()
}

#[cfg(test)]
mod tests;
