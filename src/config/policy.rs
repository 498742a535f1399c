//! `[policy]` and `[audit]`: the raw tables serde reads and the typed settings they become. The
//! rules stay text here (with where they are written): `crate::policy` compiles them.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

use super::locate::Location;
use super::raw::AtLeastOne;

/// What a rule does when it matches, or what happens when no rule does (`default`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    /// The call may go ahead.
    Allow,
    /// The call is refused.
    #[default]
    Deny,
}

impl Effect {
    /// `"allow"` or `"deny"`.
    pub fn name(self) -> &'static str {
        match self {
            Effect::Allow => "allow",
            Effect::Deny => "deny",
        }
    }
}

/// One `[[policy.rules]]` entry, not yet compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSource {
    /// `allow` or `deny`.
    pub effect: Effect,
    /// The CEL expression.
    pub expression: String,
    /// Where the expression's first character is in the config file (for error positions).
    pub at: Location,
}

/// `[policy.rate_limit]`: calls per minute per caller, and per caller and tool.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RateLimitConfig {
    /// Calls (tools, prompts, resource reads) per minute per caller (`per_minute`).
    pub per_minute: Option<NonZeroU32>,
    /// Calls per minute per caller of one served tool (`[policy.rate_limit.tools]`).
    pub tools: BTreeMap<String, NonZeroU32>,
}

/// The `[policy]` table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PolicyConfig {
    /// What happens when no rule matches (`default`, "deny" when absent).
    pub default: Effect,
    /// The rules, in file order.
    pub rules: Vec<RuleSource>,
    /// Rate limits, if any.
    pub rate_limit: RateLimitConfig,
}

/// The `[audit]` table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditConfig {
    /// The JSON-lines file (resolved against the config's folder); `None`: stderr.
    pub path: Option<PathBuf>,
    /// Whether call arguments are written too (`include_arguments`, off by default).
    pub include_arguments: bool,
}

/// `[policy]` as serde reads it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(super) struct RawPolicy {
    pub default: Option<Effect>,
    #[serde(default)]
    pub rules: Vec<Spanned<RawRule>>,
    pub rate_limit: Option<RawRateLimit>,
}

/// One `[[policy.rules]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table with `allow` or `deny`")]
pub(super) struct RawRule {
    pub allow: Option<Spanned<String>>,
    pub deny: Option<Spanned<String>>,
}

/// `[policy.rate_limit]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(super) struct RawRateLimit {
    pub per_minute: Option<AtLeastOne>,
    #[serde(default)]
    pub tools: BTreeMap<String, AtLeastOne>,
}

/// `[audit]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(super) struct RawAudit {
    pub path: Option<Spanned<String>>,
    #[serde(default)]
    pub include_arguments: bool,
}

/// Calls per minute as governor wants them (a `usize` of at least 1, capped at `u32::MAX`).
pub(super) fn per_minute(n: AtLeastOne) -> NonZeroU32 {
    NonZeroU32::new(u32::try_from(n.0).unwrap_or(u32::MAX)).unwrap_or(NonZeroU32::MIN)
}

/// How many bytes open a TOML string value (`'`, `"`, `'''` or `"""`, plus the newline that a
/// multi-line string may start with), so positions point into the expression itself.
pub(super) fn opener_len(text: &str, start: usize) -> usize {
    let rest = text.get(start..).unwrap_or_default();
    let triple = rest.starts_with("'''") || rest.starts_with("\"\"\"");
    if !triple {
        return 1;
    }
    let after = &rest[3..];
    3 + if after.starts_with("\r\n") {
        2
    } else if after.starts_with('\n') {
        1
    } else {
        0
    }
}
