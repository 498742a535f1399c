//! Who may call what: the `[policy]` rules (CEL, compiled once at load, deny-overrides), the
//! `[policy.rate_limit]` limits and the `[audit]` log, put together as one [`Guard`] that the
//! gateway asks before every call and tells after it. Sits on the workbench and config types
//! only; the gateway uses it.

mod audit;
mod evaluate;
mod rate;
mod rules;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;

pub use audit::{Audit, Entry, Outcome};
pub use evaluate::{Claims, DecidedBy, Decision, Request, Target};
pub use rate::{RateLimits, caller_key, retry_after_secs};
pub use rules::{Rule, RuleSet, VARIABLES};

use crate::config::{AuditConfig, Config, Effect, Location, PolicyConfig};
use crate::workbench::{CallerInfo, WorkbenchError};

/// Why a policy could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// A rule does not compile (or names a variable rules do not see).
    #[error("{}:{}:{}: [policy.rules[{index}]] key `{}`: {message}", .path.display(), .at.line, .at.column, .effect.name())]
    Rule {
        path: PathBuf,
        index: usize,
        effect: Effect,
        at: Location,
        message: String,
    },
    /// The CEL environment could not be built.
    #[error("cannot set up the policy language: {message}")]
    Environment { message: String },
    /// The thread that compiles the rules could not start.
    #[error("cannot start the thread that compiles the policy rules")]
    CompileThread {
        #[source]
        source: std::io::Error,
    },
    /// Compiling the rules panicked.
    #[error("compiling the policy rules panicked")]
    CompilePanicked,
    /// The audit writer thread could not start.
    #[error("cannot start the audit writer thread")]
    AuditWriter {
        #[source]
        source: std::io::Error,
    },
    /// The audit file could not be opened.
    #[error("cannot open the audit log {}", .path.display())]
    AuditOpen {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The policy, rate limits and audit log of one gateway.
#[derive(Debug)]
pub struct Guard {
    rules: Option<RuleSet>,
    limits: Option<RateLimits>,
    audit: Option<Audit>,
}

/// A call the guard let through, to be told how it ended ([`Guard::finish`]).
#[derive(Debug)]
pub struct Pass {
    decision: Decision,
    started: Instant,
    arguments: Option<Value>,
}

impl Guard {
    /// The guard `config` asks for: `None` without `[policy]` and `[audit]`. Rules are
    /// compiled (a bad one is an error with its place in the file) and the audit file opened.
    pub fn from_config(config: &Config) -> Result<Option<Arc<Self>>, PolicyError> {
        if config.policy.is_none() && config.audit.is_none() {
            return Ok(None);
        }
        let guard = Self::new(config.policy.as_ref(), config.audit.as_ref(), &config.path)?;
        Ok(Some(Arc::new(guard)))
    }

    /// A guard from its parts (`path`: the config file, for error positions).
    pub fn new(
        policy: Option<&PolicyConfig>,
        audit: Option<&AuditConfig>,
        path: &std::path::Path,
    ) -> Result<Self, PolicyError> {
        let rules = policy.map(|p| RuleSet::compile(p, path)).transpose()?;
        let limits = policy.and_then(|p| RateLimits::new(&p.rate_limit));
        let audit = audit.map(Audit::open).transpose()?;
        Ok(Self {
            rules,
            limits,
            audit,
        })
    }

    /// Whether audit lines carry call arguments (`include_arguments`).
    pub fn audits_arguments(&self) -> bool {
        self.audit.as_ref().is_some_and(Audit::include_arguments)
    }

    /// The caller's claims as rules see them; convert once and reuse for a whole list.
    pub fn claims(caller: &CallerInfo) -> Claims {
        Claims::new(caller.principal.as_deref().map(|p| &p.claims))
    }

    /// The decision on `request` for a caller with `claims` (allowed when there are no rules).
    pub fn decide(&self, claims: &Claims, request: Request<'_>) -> Decision {
        match &self.rules {
            Some(rules) => rules.decide(claims, request),
            None => Decision::unguarded(),
        }
    }

    /// Whether a caller with `claims` may make `request` (lists are filtered with it).
    pub fn permits(&self, claims: &Claims, request: Request<'_>) -> bool {
        self.rules.is_none() || self.decide(claims, request).allowed
    }

    /// Decides a call and counts it against the rate limits; a refusal is audited and comes
    /// back as the error the caller gets (it names what was asked for, nothing more).
    pub async fn admit(
        &self,
        caller: &CallerInfo,
        request: Request<'_>,
        arguments: Option<&rmcp::model::JsonObject>,
    ) -> Result<Pass, WorkbenchError> {
        let started = Instant::now();
        let decision = self.decide(&Self::claims(caller), request);
        let arguments = self
            .audit
            .as_ref()
            .filter(|a| a.include_arguments())
            .and_then(|_| arguments.map(|a| Value::Object(a.clone())));
        let pass = Pass {
            decision,
            started,
            arguments,
        };
        if !pass.decision.allowed {
            self.finish(caller, request, &pass, Outcome::Refused).await;
            return Err(WorkbenchError::NotPermitted {
                kind: request.kind(),
                name: request.name().to_string(),
            });
        }
        let tool = matches!(request.target, Target::Tool { .. }).then(|| request.name());
        if let Some(limits) = &self.limits
            && let Err(wait) = limits.check(caller, tool)
        {
            self.finish(caller, request, &pass, Outcome::RateLimited)
                .await;
            return Err(WorkbenchError::RateLimited {
                retry_after_secs: retry_after_secs(wait),
            });
        }
        Ok(pass)
    }

    /// Audits how a call the guard let through ended.
    pub async fn finish(
        &self,
        caller: &CallerInfo,
        request: Request<'_>,
        pass: &Pass,
        outcome: Outcome,
    ) {
        if let Some(audit) = &self.audit {
            audit
                .record(Entry {
                    caller,
                    request,
                    decision: &pass.decision,
                    outcome,
                    duration: pass.started.elapsed(),
                    arguments: pass.arguments.as_ref(),
                })
                .await;
        }
    }

    /// Writes out the audit lines still queued and stops the audit writer.
    pub async fn close(&self) {
        if let Some(audit) = &self.audit {
            audit.close().await;
        }
    }
}
