//! Deciding one request with the compiled rules: deny-overrides (any `deny` that holds
//! refuses, else any `allow` that holds allows, else the default). A rule whose evaluation
//! fails (a claim that is missing, a value of the wrong type) does not match when it is an
//! `allow` rule, and refuses when it is a `deny` rule: a broken deny rule fails closed.

use std::collections::HashMap;
use std::sync::Arc;

use cel::{Context, Value};
use rmcp::model::JsonObject;

use super::rules::RuleSet;
use crate::config::Effect;

/// What a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// A tool, by served name, and the member (server) serving it.
    Tool { name: &'a str, server: &'a str },
    /// A prompt, by served name.
    Prompt { name: &'a str },
    /// A resource, by URI.
    Resource { uri: &'a str },
}

/// One request as rules see it (`mcp.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    /// The MCP method (`tools/call`, `prompts/get`, `resources/read`, `resources/subscribe`).
    pub method: &'a str,
    /// What it is for.
    pub target: Target<'a>,
}

impl<'a> Request<'a> {
    /// A `tools/call` of served tool `name` of `server`.
    pub fn tool(name: &'a str, server: &'a str) -> Self {
        Self {
            method: "tools/call",
            target: Target::Tool { name, server },
        }
    }

    /// A `prompts/get` of prompt `name`.
    pub fn prompt(name: &'a str) -> Self {
        Self {
            method: "prompts/get",
            target: Target::Prompt { name },
        }
    }

    /// A `resources/read` of `uri`.
    pub fn resource(uri: &'a str) -> Self {
        Self {
            method: "resources/read",
            target: Target::Resource { uri },
        }
    }

    /// The kind of thing asked for (`tool`, `prompt`, `resource`), for messages.
    pub fn kind(&self) -> &'static str {
        match self.target {
            Target::Tool { .. } => "tool",
            Target::Prompt { .. } => "prompt",
            Target::Resource { .. } => "resource",
        }
    }

    /// The served name (or URI) asked for.
    pub fn name(&self) -> &'a str {
        match self.target {
            Target::Tool { name, .. } | Target::Prompt { name } => name,
            Target::Resource { uri } => uri,
        }
    }

    /// The member serving it, when known (tools).
    pub fn server(&self) -> Option<&'a str> {
        match self.target {
            Target::Tool { server, .. } => Some(server),
            _ => None,
        }
    }

    /// `mcp` as rules see it: every field is there (empty when it does not apply), so a rule
    /// about tools simply does not hold for a prompt instead of failing.
    fn to_value(self) -> Value {
        let (tool, server, prompt, uri) = match self.target {
            Target::Tool { name, server } => (name, server, "", ""),
            Target::Prompt { name } => ("", "", name, ""),
            Target::Resource { uri } => ("", "", "", uri),
        };
        let map = |pairs: &[(&str, Value)]| {
            Value::from(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect::<HashMap<String, Value>>(),
            )
        };
        map(&[
            ("method", self.method.into()),
            (
                "tool",
                map(&[("name", tool.into()), ("server", server.into())]),
            ),
            ("prompt", map(&[("name", prompt.into())])),
            ("resource", map(&[("uri", uri.into())])),
        ])
    }
}

/// The caller's claims as rules see them (`jwt`): converted once per decision or list.
#[derive(Debug, Clone)]
pub struct Claims(Value);

impl Claims {
    /// The claims of a principal (`{}` for a caller without one).
    pub fn new(claims: Option<&JsonObject>) -> Self {
        let value = claims
            .and_then(|c| cel::to_value(c).ok())
            .unwrap_or_else(|| Value::from(HashMap::<String, Value>::new()));
        Self(value)
    }
}

/// Which rule made a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecidedBy {
    /// Rule `index` (from 0) with this effect; `error` when it failed to evaluate (only a
    /// failing `deny` rule decides: it refuses).
    Rule {
        index: usize,
        effect: Effect,
        error: Option<String>,
    },
    /// No rule matched: the default.
    Default,
}

/// A policy decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may go ahead.
    pub allowed: bool,
    /// Why.
    pub by: DecidedBy,
}

impl Decision {
    /// Allowed, with no policy at all.
    pub fn unguarded() -> Self {
        Self {
            allowed: true,
            by: DecidedBy::Default,
        }
    }
}

impl RuleSet {
    /// Decides `request` for a caller with `claims`.
    pub fn decide(&self, claims: &Claims, request: Request<'_>) -> Decision {
        let mut ctx = Context::with_env(Arc::clone(&self.env));
        ctx.add_variable_from_value("jwt", claims.0.clone());
        ctx.add_variable_from_value("mcp", request.to_value());
        let holds = |rule: &super::rules::Rule| match rule.program.execute(&ctx) {
            Ok(Value::Bool(b)) => Ok(b),
            Ok(other) => Err(format!("the rule gave {other:?}, not a bool")),
            Err(e) => Err(e.to_string()),
        };
        for rule in self.rules.iter().filter(|r| r.effect == Effect::Deny) {
            let error = match holds(rule) {
                Ok(false) => continue,
                Ok(true) => None,
                Err(e) => Some(e),
            };
            return Decision {
                allowed: false,
                by: DecidedBy::Rule {
                    index: rule.index,
                    effect: Effect::Deny,
                    error,
                },
            };
        }
        for rule in self.rules.iter().filter(|r| r.effect == Effect::Allow) {
            if holds(rule) == Ok(true) {
                return Decision {
                    allowed: true,
                    by: DecidedBy::Rule {
                        index: rule.index,
                        effect: Effect::Allow,
                        error: None,
                    },
                };
            }
        }
        Decision {
            allowed: self.default == Effect::Allow,
            by: DecidedBy::Default,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Location, PolicyConfig, RuleSource};

    fn rules(default: Effect, rules: &[(Effect, &str)]) -> RuleSet {
        RuleSet::compile(
            &PolicyConfig {
                default,
                rules: rules
                    .iter()
                    .map(|(effect, expression)| RuleSource {
                        effect: *effect,
                        expression: expression.to_string(),
                        at: Location { line: 1, column: 1 },
                    })
                    .collect(),
                ..PolicyConfig::default()
            },
            std::path::Path::new("servers.toml"),
        )
        .expect("compiles")
    }

    fn claims(json: serde_json::Value) -> Claims {
        Claims::new(json.as_object())
    }

    fn issue_rules() -> RuleSet {
        rules(
            Effect::Deny,
            &[
                (
                    Effect::Allow,
                    r#"mcp.tool.server == "everything" && "mcp:tools" in jwt.scope.split(" ")"#,
                ),
                (
                    Effect::Deny,
                    r#"mcp.tool.name == "everything__get-env" && jwt.sub != "admin""#,
                ),
            ],
        )
    }

    #[test]
    fn the_issue_example_decides_as_written() {
        let set = issue_rules();
        let bob = claims(serde_json::json!({"sub": "bob", "scope": "openid mcp:tools"}));
        let admin = claims(serde_json::json!({"sub": "admin", "scope": "mcp:tools"}));
        let echo = Request::tool("everything__echo", "everything");
        let env = Request::tool("everything__get-env", "everything");
        assert!(set.decide(&bob, echo).allowed);
        let refused = set.decide(&bob, env);
        assert!(!refused.allowed);
        assert!(matches!(
            refused.by,
            DecidedBy::Rule {
                index: 1,
                effect: Effect::Deny,
                error: None
            }
        ));
        assert!(set.decide(&admin, env).allowed);
        let other = Request::tool("demo__add", "demo");
        assert_eq!(set.decide(&bob, other).by, DecidedBy::Default);
        assert!(!set.decide(&bob, other).allowed);
    }

    #[test]
    fn a_missing_claim_never_allows_and_a_failing_deny_refuses() {
        let set = issue_rules();
        let nobody = Claims::new(None);
        // allow rule: `jwt.scope` is missing → no match → default deny.
        let echo = set.decide(&nobody, Request::tool("everything__echo", "everything"));
        assert_eq!(echo.by, DecidedBy::Default);
        // deny rule: `jwt.sub` is missing → evaluation error → refused by that rule.
        let env = set.decide(&nobody, Request::tool("everything__get-env", "everything"));
        assert!(!env.allowed);
        assert!(
            matches!(
                env.by,
                DecidedBy::Rule {
                    index: 1,
                    error: Some(_),
                    ..
                }
            ),
            "{env:?}"
        );
    }

    #[test]
    fn has_tests_for_a_claim_and_false_absorbs_an_error() {
        let set = rules(
            Effect::Allow,
            &[
                (Effect::Deny, r#"has(jwt.sub) && jwt.sub == "mallory""#),
                (Effect::Deny, r#"mcp.tool.name == "x" && jwt.missing == 1"#),
            ],
        );
        let nobody = Claims::new(None);
        assert!(set.decide(&nobody, Request::tool("y", "s")).allowed);
        let mallory = claims(serde_json::json!({"sub": "mallory"}));
        assert!(!set.decide(&mallory, Request::tool("y", "s")).allowed);
    }

    #[test]
    fn a_rule_that_is_not_a_bool_fails() {
        let set = rules(Effect::Allow, &[(Effect::Deny, "mcp.tool.name")]);
        let d = set.decide(&Claims::new(None), Request::tool("y", "s"));
        assert!(
            matches!(d.by, DecidedBy::Rule { error: Some(_), .. }),
            "{d:?}"
        );
    }

    #[test]
    fn tool_rules_do_not_fail_on_prompts_and_resources() {
        let set = rules(
            Effect::Allow,
            &[(Effect::Deny, r#"mcp.tool.name.startsWith("fs__")"#)],
        );
        let nobody = Claims::new(None);
        assert!(set.decide(&nobody, Request::prompt("demo__greet")).allowed);
        assert!(set.decide(&nobody, Request::resource("demo://a")).allowed);
        assert!(!set.decide(&nobody, Request::tool("fs__read", "fs")).allowed);
    }

    #[test]
    fn prompt_and_resource_variables() {
        let set = rules(
            Effect::Deny,
            &[
                (
                    Effect::Allow,
                    r#"mcp.method == "prompts/get" && mcp.prompt.name == "p""#,
                ),
                (Effect::Allow, r#"mcp.resource.uri.startsWith("demo://")"#),
            ],
        );
        let nobody = Claims::new(None);
        assert!(set.decide(&nobody, Request::prompt("p")).allowed);
        assert!(!set.decide(&nobody, Request::prompt("q")).allowed);
        assert!(set.decide(&nobody, Request::resource("demo://x")).allowed);
        assert!(
            !set.decide(&nobody, Request::resource("file:///etc"))
                .allowed
        );
    }
}
