//! AutoGen's `McpWorkbench` component config made a servers.toml-style [`ServerConfig`]:
//! `server_params` (`StdioServerParams`, `SseServerParams` or `StreamableHttpServerParams`, as
//! `McpWorkbench(...).dump_component()` writes them) and `tool_overrides`.
//!
//! Timeouts: stdio `read_timeout_seconds` (AutoGen's default 5) is the per-call timeout and the
//! start-up gets toolyard's default; for SSE and streamable HTTP, `sse_read_timeout` (AutoGen's
//! session read timeout) is the per-call timeout and `timeout` the start-up timeout.
//! `${VAR}` in `env` and `headers` values is replaced from the environment.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use url::Url;

use crate::config::{
    CallerSessions, DEFAULT_STARTUP_TIMEOUT, MissingVar, ProtocolPreference, ServerConfig,
    SessionMode, ToolFilter, ToolOverride, TransportConfig, from_env, interpolate,
};

/// AutoGen's provider name of the MCP workbench.
pub const PROVIDER: &str = "autogen_ext.tools.mcp.McpWorkbench";

/// The server params types AutoGen knows (the `type` discriminator).
pub const PARAMS_TYPES: [&str; 3] = [
    "StdioServerParams",
    "SseServerParams",
    "StreamableHttpServerParams",
];

/// One `McpWorkbench` component: how to start or reach its server, and its tool overrides.
#[derive(Debug, Clone, PartialEq)]
pub struct McpSpec {
    /// The server, as a servers.toml upstream would be configured.
    pub server: ServerConfig,
    /// AutoGen's `tool_overrides`: new name and/or description per upstream tool name.
    pub overrides: BTreeMap<String, ToolOverride>,
}

/// Why an `McpWorkbench` config cannot be used; `field` is relative to the component.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ParamsError {
    /// The field, e.g. `config.server_params.url`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

fn bad(field: &str, message: impl Into<String>) -> ParamsError {
    ParamsError {
        field: field.to_string(),
        message: message.into(),
    }
}

#[derive(Deserialize)]
struct WorkbenchConfig {
    server_params: Option<Value>,
    #[serde(default)]
    tool_overrides: Option<BTreeMap<String, ToolOverride>>,
    #[serde(default)]
    model_client: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StdioParams {
    #[serde(rename = "type")]
    _kind: String,
    command: String,
    #[serde(default)]
    args: Option<Vec<String>>,
    #[serde(default)]
    env: Option<BTreeMap<String, String>>,
    #[serde(default)]
    cwd: Option<PathBuf>,
    #[serde(default)]
    encoding: Option<String>,
    #[serde(default)]
    encoding_error_handler: Option<String>,
    #[serde(default)]
    read_timeout_seconds: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpParams {
    #[serde(rename = "type")]
    kind: String,
    url: String,
    #[serde(default)]
    headers: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    timeout: Option<f64>,
    #[serde(default)]
    sse_read_timeout: Option<f64>,
    #[serde(default)]
    terminate_on_close: Option<bool>,
}

/// AutoGen's defaults (autogen_ext.tools.mcp._config).
const STDIO_READ_TIMEOUT: f64 = 5.0;
const SSE_TIMEOUT: f64 = 5.0;
const HTTP_TIMEOUT: f64 = 30.0;
const SSE_READ_TIMEOUT: f64 = 300.0;

/// Parses an `McpWorkbench` component (`{"provider": ..., "config": {...}}`); `name` names the
/// server in logs and errors.
pub fn parse(component: &Value, name: &str) -> Result<McpSpec, ParamsError> {
    let config = component.get("config").cloned().unwrap_or(Value::Null);
    let config: WorkbenchConfig = serde_json::from_value(config)
        .map_err(|e| bad("config", format!("not an McpWorkbench config: {e}")))?;
    if config.model_client.as_ref().is_some_and(|m| !m.is_null()) {
        return Err(bad(
            "config.model_client",
            "an McpWorkbench model client (answering the server's sampling requests) is not \
             supported; remove it: toolyard relays the server's sampling requests to the caller",
        ));
    }
    let params = config
        .server_params
        .ok_or_else(|| bad("config.server_params", "missing"))?;
    let kind = params
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            bad(
                "config.server_params.type",
                format!("missing (one of {})", PARAMS_TYPES.join(", ")),
            )
        })?
        .to_string();
    let (transport, timeout, startup) = match kind.as_str() {
        "StdioServerParams" => stdio(params)?,
        "SseServerParams" | "StreamableHttpServerParams" => http(params)?,
        other => {
            return Err(bad(
                "config.server_params.type",
                format!(
                    "unknown server params type `{other}`{} (one of {})",
                    crate::component::suggest::hint(other, PARAMS_TYPES),
                    PARAMS_TYPES.join(", ")
                ),
            ));
        }
    };
    let overrides = config.tool_overrides.unwrap_or_default();
    check_override_names(&overrides)?;
    Ok(McpSpec {
        server: ServerConfig {
            name: name.to_string(),
            transport,
            timeout,
            startup_timeout: startup,
            tools: ToolFilter::default(),
            protocol: ProtocolPreference::Auto,
            session: SessionMode::Shared,
            caller_sessions: CallerSessions::default(),
            auth: None,
        },
        overrides,
    })
}

/// A short server name for logs and errors: the command's file name, or the URL's host.
pub fn server_name(component: &Value) -> String {
    let params = component.get("config").and_then(|c| c.get("server_params"));
    let command = params
        .and_then(|p| p.get("command"))
        .and_then(Value::as_str)
        .map(|c| {
            std::path::Path::new(c)
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or(c)
                .to_string()
        });
    let host = || {
        params
            .and_then(|p| p.get("url"))
            .and_then(Value::as_str)
            .and_then(|u| Url::parse(u).ok())
            .and_then(|u| u.host_str().map(|h| format!("{h}{}", port(&u))))
    };
    command
        .or_else(host)
        .unwrap_or_else(|| "McpWorkbench".into())
}

fn port(url: &Url) -> String {
    url.port().map(|p| format!(":{p}")).unwrap_or_default()
}

type Parsed = (TransportConfig, Duration, Duration);

fn stdio(params: Value) -> Result<Parsed, ParamsError> {
    let p: StdioParams =
        serde_json::from_value(params).map_err(|e| bad("config.server_params", e.to_string()))?;
    if let Some(encoding) = p.encoding.as_deref()
        && !matches!(encoding.to_ascii_lowercase().as_str(), "utf-8" | "utf8")
    {
        return Err(bad(
            "config.server_params.encoding",
            format!("`{encoding}` is not supported (MCP over stdio is UTF-8)"),
        ));
    }
    if let Some(handler) = p.encoding_error_handler.as_deref()
        && !matches!(handler, "strict" | "ignore" | "replace")
    {
        return Err(bad(
            "config.server_params.encoding_error_handler",
            format!("`{handler}` is not one of strict, ignore, replace"),
        ));
    }
    if p.command.trim().is_empty() {
        return Err(bad("config.server_params.command", "is empty"));
    }
    let env = interpolate_values(
        "config.server_params.env",
        p.env.unwrap_or_default().into_iter(),
    )?;
    let timeout = seconds(
        "config.server_params.read_timeout_seconds",
        p.read_timeout_seconds,
        STDIO_READ_TIMEOUT,
    )?;
    let transport = TransportConfig::Stdio {
        command: p.command,
        args: p.args.unwrap_or_default(),
        env,
        cwd: p.cwd,
        // As AutoGen's McpWorkbench (the MCP SDK's stdio client): a minimal environment plus
        // `env`.
        inherit_env: false,
    };
    Ok((transport, timeout, DEFAULT_STARTUP_TIMEOUT))
}

fn http(params: Value) -> Result<Parsed, ParamsError> {
    let p: HttpParams =
        serde_json::from_value(params).map_err(|e| bad("config.server_params", e.to_string()))?;
    let sse = p.kind == "SseServerParams";
    if sse && p.terminate_on_close.is_some() {
        return Err(bad(
            "config.server_params.terminate_on_close",
            "unknown key for SseServerParams (only StreamableHttpServerParams has it)",
        ));
    }
    let url = Url::parse(&p.url).map_err(|e| {
        bad(
            "config.server_params.url",
            format!("`{}` is not a valid URL: {e}", p.url),
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad(
            "config.server_params.url",
            format!("`{url}` must be http or https"),
        ));
    }
    let headers = p
        .headers
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k, s)),
            Value::Number(_) | Value::Bool(_) => Ok((k, v.to_string())),
            other => Err(bad(
                &format!("config.server_params.headers.{k}"),
                format!("must be a string, got {other}"),
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let headers = interpolate_values("config.server_params.headers", headers.into_iter())?;
    let connect_default = if sse { SSE_TIMEOUT } else { HTTP_TIMEOUT };
    let startup = seconds("config.server_params.timeout", p.timeout, connect_default)?;
    let timeout = seconds(
        "config.server_params.sse_read_timeout",
        p.sse_read_timeout,
        SSE_READ_TIMEOUT,
    )?;
    let transport = if sse {
        TransportConfig::Sse { url, headers }
    } else {
        TransportConfig::StreamableHttp { url, headers }
    };
    Ok((transport, timeout, startup))
}

fn seconds(field: &str, value: Option<f64>, default: f64) -> Result<Duration, ParamsError> {
    let s = value.unwrap_or(default);
    if s > 0.0 && s.is_finite() {
        Ok(Duration::from_secs_f64(s))
    } else {
        Err(bad(
            field,
            format!("must be a positive number of seconds, got {s}"),
        ))
    }
}

fn interpolate_values(
    field: &str,
    values: impl Iterator<Item = (String, String)>,
) -> Result<BTreeMap<String, String>, ParamsError> {
    values
        .map(|(k, v)| {
            interpolate(&v, &from_env)
                .map(|v| (k.clone(), v))
                .map_err(|MissingVar(var)| {
                    bad(
                        &format!("{field}.{k}"),
                        format!("environment variable `{var}` is not set"),
                    )
                })
        })
        .collect()
}

/// AutoGen refuses two tools overridden to the same name.
fn check_override_names(overrides: &BTreeMap<String, ToolOverride>) -> Result<(), ParamsError> {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for (original, o) in overrides {
        let Some(name) = o.name.as_deref().filter(|n| n != original) else {
            continue;
        };
        if let Some(first) = seen.insert(name, original) {
            return Err(bad(
                &format!("config.tool_overrides.{original}.name"),
                format!(
                    "tool override name `{name}` is used by multiple tools: `{first}` and \
                     `{original}`"
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn workbench(params: Value) -> Value {
        json!({"provider": PROVIDER, "config": {"server_params": params, "tool_overrides": {}}})
    }

    #[test]
    fn stdio_params_as_autogen_dumps_them() {
        let c = json!({
            "provider": PROVIDER, "component_type": "workbench", "version": 1,
            "config": {
                "server_params": {"command": "demo", "args": ["a"], "env": {"X": "1"},
                    "cwd": "/tmp", "encoding": "utf-8", "encoding_error_handler": "strict",
                    "type": "StdioServerParams", "read_timeout_seconds": 7.0},
                "tool_overrides": {"echo": {"name": "say", "description": "d"}}
            }
        });
        let spec = parse(&c, "demo").unwrap();
        assert_eq!(spec.server.timeout, Duration::from_secs(7));
        assert_eq!(spec.server.startup_timeout, DEFAULT_STARTUP_TIMEOUT);
        match &spec.server.transport {
            TransportConfig::Stdio {
                command,
                args,
                env,
                cwd,
                inherit_env,
            } => {
                assert!(
                    !inherit_env,
                    "AutoGen's stdio servers get a minimal environment"
                );
                assert_eq!(command, "demo");
                assert_eq!(args, &["a"]);
                assert_eq!(env.get("X").map(String::as_str), Some("1"));
                assert_eq!(cwd.as_deref(), Some(std::path::Path::new("/tmp")));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(spec.overrides["echo"].name.as_deref(), Some("say"));
        assert_eq!(server_name(&c), "demo");
    }

    #[test]
    fn http_params_map_their_timeouts() {
        let c = workbench(
            json!({"type": "StreamableHttpServerParams", "url": "http://h:9/mcp",
            "headers": {"a": "b", "n": 1}, "timeout": 30.0, "sse_read_timeout": 300.0,
            "terminate_on_close": true}),
        );
        let spec = parse(&c, "h").unwrap();
        assert_eq!(spec.server.startup_timeout, Duration::from_secs(30));
        assert_eq!(spec.server.timeout, Duration::from_secs(300));
        assert!(matches!(
            spec.server.transport,
            TransportConfig::StreamableHttp { .. }
        ));
        assert_eq!(server_name(&c), "h:9");
        let sse = workbench(json!({"type": "SseServerParams", "url": "http://h/sse"}));
        let spec = parse(&sse, "h").unwrap();
        assert_eq!(spec.server.startup_timeout, Duration::from_secs(5));
        assert!(matches!(spec.server.transport, TransportConfig::Sse { .. }));
    }

    #[test]
    fn bad_params_name_their_field() {
        let e = parse(
            &workbench(json!({"type": "StdioServerParam", "command": "x"})),
            "x",
        )
        .unwrap_err();
        assert_eq!(e.field, "config.server_params.type");
        assert!(
            e.message.contains("did you mean `StdioServerParams`"),
            "{e}"
        );
        let e = parse(
            &workbench(json!({"type": "SseServerParams", "url": "ftp://x"})),
            "x",
        )
        .unwrap_err();
        assert_eq!(e.field, "config.server_params.url");
        let e = parse(&workbench(json!({"type": "StdioServerParams"})), "x").unwrap_err();
        assert!(e.message.contains("command"), "{e}");
        let two = json!({"provider": PROVIDER, "config": {
            "server_params": {"type": "StdioServerParams", "command": "x"},
            "tool_overrides": {"a": {"name": "z"}, "b": {"name": "z"}}}});
        let e = parse(&two, "x").unwrap_err();
        assert!(e.message.contains("used by multiple tools"), "{e}");
    }
}
