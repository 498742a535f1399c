//! `servers.toml`: parsing, validation and `${VAR}` interpolation into typed settings.
//!
//! serde reads the file into the raw tables of `raw.rs` (unknown keys denied; `diagnose.rs`
//! turns its errors into ours); `validate.rs` checks what serde cannot and builds the typed
//! [`Config`]. Every error names the file, the
//! line and column, and the section or server and key.

mod auth;
mod diagnose;
mod interpolate;
mod locate;
mod policy;
mod raw;
mod store;
mod telemetry;
mod upstream_auth;
mod validate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Table;
use url::Url;

pub use auth::{
    ApiKey, AuthSettings, DEFAULT_STDIO_SUBJECT, HttpAuth, Introspection, OAuthSettings,
    SecretString, granted_scopes,
};
pub use interpolate::{MissingVar, from_env, interpolate};
pub use locate::{At, Location};
pub use policy::{AuditConfig, Effect, PolicyConfig, RateLimitConfig, RuleSource};
pub use store::{DEFAULT_CONVERSATION_TTL, DEFAULT_STORE_URL, StoreConfig, StoreUrl};
pub use telemetry::{OtlpProtocol, TelemetryConfig};
pub use upstream_auth::{ClientSecret, UpstreamAuth, UpstreamGrant};

/// Default per-call timeout for upstream tool calls.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Default time an upstream gets to start and finish its handshake.
pub const DEFAULT_STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// Default `max_callers` of a `session = "per_caller"` server.
pub const DEFAULT_MAX_CALLERS: usize = 32;
/// Default `caller_idle_secs` of a `session = "per_caller"` server.
pub const DEFAULT_CALLER_IDLE: Duration = Duration::from_secs(300);
/// The interpolation variable that stands for the running toolyard executable ([`from_env`]).
pub const TOOLYARD_EXE: &str = "TOOLYARD_EXE";

/// Everything that can be wrong with a config file; each variant names the file, and the line
/// and column (`at`) where the file says something wrong.
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
    #[error("{path}{at}: invalid TOML: {message}")]
    Syntax {
        path: PathBuf,
        at: At,
        message: String,
    },
    /// A key in `[gateway]`, `[auth]` or at the top level is wrong.
    #[error("{path}{at}: [{section}]{}: {message}", key_part(.key))]
    Section {
        path: PathBuf,
        at: At,
        section: String,
        key: String,
        message: String,
    },
    /// A key of one `[servers.NAME]` table is wrong.
    #[error("{path}{at}: [servers.{server}]{}: {message}", key_part(.key))]
    Server {
        path: PathBuf,
        at: At,
        server: String,
        key: String,
        message: String,
    },
}

fn key_part(key: &str) -> String {
    if key.is_empty() {
        String::new()
    } else {
        format!(" key `{key}`")
    }
}

/// How tool names are prefixed with their server's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
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
    /// A 2025-era HTTP session with nothing in progress for this long ends (`session_idle_secs`).
    pub session_idle: std::time::Duration,
    /// How many 2025-era HTTP sessions may be open at once (`max_sessions`).
    pub max_sessions: usize,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        Self {
            separator: "__".into(),
            prefix: PrefixMode::Always,
            name: "toolyard".into(),
            session_idle: std::time::Duration::from_secs(30 * 60),
            max_sessions: 10_000,
        }
    }
}

/// Which MCP protocol era to use with an upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum ProtocolPreference {
    /// Try `server/discover` (2026-07-28), fall back to `initialize` (2025-11-25).
    #[default]
    #[serde(rename = "auto")]
    Auto,
    /// Only `initialize` (2025-11-25 and earlier, with sessions).
    #[serde(rename = "2025-11-25", alias = "initialize")]
    Initialize,
    /// Only `server/discover` (2026-07-28, sessionless).
    #[serde(rename = "2026-07-28", alias = "discover")]
    Discover,
}

/// How downstream callers share an upstream server (`session`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionMode {
    /// One upstream session serves every caller.
    #[default]
    Shared,
    /// One upstream session (for stdio: one child process) per downstream caller.
    PerCaller,
}

/// Limits of `session = "per_caller"`: `max_callers` and `caller_idle_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallerSessions {
    /// At most this many caller sessions at once.
    pub max: usize,
    /// A caller session idle this long is closed.
    pub idle: Duration,
}

impl Default for CallerSessions {
    fn default() -> Self {
        Self {
            max: DEFAULT_MAX_CALLERS,
            idle: DEFAULT_CALLER_IDLE,
        }
    }
}

/// The variables a stdio upstream inherits from toolyard's environment unless its config says
/// `inherit_env = true` (what the official MCP SDKs pass): anything else, such as model API keys
/// and tokens, must be named in the server's `env`.
pub const MINIMAL_ENV: &[&str] = &["PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "LANG"];

/// How to reach one upstream server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportConfig {
    /// A child process speaking MCP on stdin/stdout.
    Stdio {
        command: String,
        args: Vec<String>,
        env: BTreeMap<String, String>,
        cwd: Option<PathBuf>,
        /// Whether the child gets toolyard's whole environment (`inherit_env = true`), or only
        /// the minimal one ([`crate::config::MINIMAL_ENV`]) plus `env`.
        inherit_env: bool,
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
    /// Whether callers share one upstream session (`session`).
    pub session: SessionMode,
    /// Limits of per-caller sessions (`max_callers`, `caller_idle_secs`).
    pub caller_sessions: CallerSessions,
    /// How requests get a token (`[servers.NAME.auth]`, streamable HTTP only).
    pub auth: Option<UpstreamAuth>,
}

impl ServerConfig {
    /// A streamable HTTP server at `url` with every other setting at its default.
    pub fn streamable_http(name: impl Into<String>, url: Url) -> Self {
        Self {
            name: name.into(),
            transport: TransportConfig::StreamableHttp {
                url,
                headers: BTreeMap::new(),
            },
            timeout: DEFAULT_TIMEOUT,
            startup_timeout: DEFAULT_STARTUP_TIMEOUT,
            tools: ToolFilter::default(),
            protocol: ProtocolPreference::default(),
            session: SessionMode::default(),
            caller_sessions: CallerSessions::default(),
            auth: None,
        }
    }
}

/// A parsed and validated `servers.toml`.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where it was read from.
    pub path: PathBuf,
    /// The folder of `path`, absolute: relative paths in the file resolve against it.
    pub dir: PathBuf,
    /// The `[gateway]` table.
    pub gateway: GatewaySettings,
    /// The `[auth]` table: who may call the server faces.
    pub auth: AuthSettings,
    /// The upstream servers, in file order.
    pub servers: Vec<ServerConfig>,
    /// The raw `[models.NAME]` tables (used by workbenches).
    pub models: Table,
    /// The `[policy]` table, if any (its rules are compiled by `crate::policy`).
    pub policy: Option<PolicyConfig>,
    /// The `[audit]` table, if any.
    pub audit: Option<AuditConfig>,
    /// The `[store]` table (defaults when absent).
    pub store: StoreConfig,
    /// The `[telemetry]` table (all defaults when absent; `OTEL_*` variables win over it).
    pub telemetry: TelemetryConfig,
}

impl Config {
    /// Read and validate a config file, interpolating `${VAR}` from the environment.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        Self::load_with(path, &from_env)
    }

    /// Read and validate a config file, interpolating `${VAR}` through `env`.
    pub fn load_with(
        path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path, env)
    }

    /// Parse config text; `path` is used in errors and to resolve relative paths.
    pub fn parse(
        text: &str,
        path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let root = toml::de::DeTable::parse(text).map_err(|e| ConfigError::Syntax {
            path: path.to_path_buf(),
            at: At(e.span().map(|s| Location::of(text, s.start))),
            message: diagnose::one_line(e.message()),
        })?;
        let raw = raw::RawFile::deserialize(toml::de::Deserializer::from(root.clone()))
            .map_err(|e| diagnose::serde_error(&e, root.get_ref(), path, text))?;
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let base = absolute.parent().map(Path::to_path_buf).unwrap_or_default();
        validate::Checker {
            path,
            text,
            base: &base,
            env,
        }
        .config(raw)
    }

    /// The server called `name`.
    pub fn server(&self, name: &str) -> Option<&ServerConfig> {
        self.servers.iter().find(|s| s.name == name)
    }
}

#[cfg(test)]
mod tests;
