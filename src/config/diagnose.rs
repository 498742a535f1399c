//! serde's errors on the raw tables as [`ConfigError`]s: the span becomes a line and column and
//! the key path it belongs to (section or server, key), and an unknown key gets a "did you
//! mean" hint from the keys its table accepts.

use std::path::Path;

use toml::de::DeTable;

use super::ConfigError;
use super::ToolOverride;
use super::auth::{RawApiKey, RawAuth};
use super::locate::{At, Location, fields_of, find, suggestion};
use super::policy::{RawAudit, RawPolicy, RawRateLimit, RawRule};
use super::raw::{RawFile, RawGateway, RawServer, RawTools};
use super::store::RawStore;
use super::upstream_auth::RawUpstreamAuth;

/// A serde error of the raw tables as a config error naming the section or server, the key
/// and the place; unknown keys get a hint when a known key is close.
pub(super) fn serde_error(
    error: &toml::de::Error,
    root: &DeTable<'_>,
    path: &Path,
    text: &str,
) -> ConfigError {
    let span = error.span();
    let found = span.as_ref().map(|s| find(root, s));
    let at = At(span.map(|s| Location::of(text, s.start)));
    let (keys, at_key) = found.map_or((Vec::new(), false), |f| (f.path, f.at_key));
    let path = path.to_path_buf();
    let (parent, last) = match keys.split_last() {
        Some((last, parent)) => (parent, last.as_str()),
        None => (&[][..], ""),
    };
    let problem = if at_key {
        Problem::UnknownKey(suggestion(last, known_keys(parent)))
    } else {
        Problem::Value(one_line(error.message()))
    };
    let message = problem.to_string();
    match keys.as_slice() {
        [servers, server, rest @ ..] if servers == "servers" => {
            let (key, message) = server_key(rest, &problem);
            ConfigError::Server {
                path,
                at,
                server: server.clone(),
                key,
                message,
            }
        }
        [section, rest @ ..]
            if matches!(
                section.as_str(),
                "gateway" | "auth" | "policy" | "audit" | "store" | "telemetry"
            ) && !rest.is_empty() =>
        {
            ConfigError::Section {
                path,
                at,
                section: section.clone(),
                key: rest.join("."),
                message,
            }
        }
        [first, ..] => ConfigError::Section {
            path,
            at,
            section: "top level".into(),
            key: first.clone(),
            message,
        },
        [] => ConfigError::Syntax { path, at, message },
    }
}

/// What serde found wrong at a span.
enum Problem {
    /// The span is a key the table does not accept; the "did you mean" hint (or nothing).
    UnknownKey(String),
    /// The span is a value; serde's (or our visitor's) message.
    Value(String),
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::UnknownKey(hint) => write!(f, "unknown key{hint}"),
            Problem::Value(message) => f.write_str(message),
        }
    }
}

/// The key (relative to its server) and message of an error at `rest` inside a server table.
/// Errors inside `tools.overrides.TOOL` name the key `tools.overrides` and the tool in the
/// message, since tool names may contain dots.
fn server_key(rest: &[String], problem: &Problem) -> (String, String) {
    match (rest, problem) {
        ([tools, overrides, tool, inner @ ..], _)
            if tools == "tools" && overrides == "overrides" =>
        {
            let message = match (inner, problem) {
                ([], _) => problem.to_string(),
                ([key], Problem::UnknownKey(hint)) => format!("unknown key `{key}`{hint}"),
                (keys, _) => format!("key `{}`: {problem}", keys.join(".")),
            };
            (
                "tools.overrides".into(),
                format!("tool `{tool}`: {message}"),
            )
        }
        _ => (rest.join("."), problem.to_string()),
    }
}

/// The keys the table at `parent` (a key path from the root) accepts.
fn known_keys(parent: &[String]) -> &'static [&'static str] {
    let parent: Vec<&str> = parent.iter().map(String::as_str).collect();
    match parent.as_slice() {
        [] => fields_of::<RawFile>(),
        ["gateway"] => fields_of::<RawGateway>(),
        ["auth"] => fields_of::<RawAuth>(),
        ["auth", keys] if keys.starts_with("api_keys[") => fields_of::<RawApiKey>(),
        ["servers", _] => fields_of::<RawServer>(),
        ["servers", _, "tools"] => fields_of::<RawTools>(),
        ["servers", _, "tools", "overrides", _] => fields_of::<ToolOverride>(),
        ["servers", _, "auth"] => fields_of::<RawUpstreamAuth>(),
        ["policy"] => fields_of::<RawPolicy>(),
        ["policy", rule] if rule.starts_with("rules[") => fields_of::<RawRule>(),
        ["policy", "rate_limit"] => fields_of::<RawRateLimit>(),
        ["audit"] => fields_of::<RawAudit>(),
        ["store"] => fields_of::<RawStore>(),
        ["telemetry"] => fields_of::<super::telemetry::RawTelemetry>(),
        _ => &[],
    }
}

/// A possibly multi-line serde/toml message on one line.
pub(super) fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}
