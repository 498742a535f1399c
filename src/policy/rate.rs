//! `[policy.rate_limit]`: calls per minute per caller, and per caller and tool, with governor's
//! keyed GCRA limiters. A caller is its principal's subject, else its caller session, else
//! "anonymous" (a call on nobody's behalf: the CLI).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::RateLimitConfig;
use crate::workbench::CallerInfo;

/// Forget idle callers' state every this many checks (it is refilled on their next call).
const RETAIN_EVERY: u64 = 4096;

/// The configured limits.
pub struct RateLimits {
    per_caller: Option<DefaultKeyedRateLimiter<String>>,
    per_tool: HashMap<String, DefaultKeyedRateLimiter<String>>,
    clock: DefaultClock,
    checks: AtomicU64,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits")
            .field("per_caller", &self.per_caller.is_some())
            .field("tools", &self.per_tool.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl RateLimits {
    /// The limits of `config`; `None` when it sets none.
    pub fn new(config: &RateLimitConfig) -> Option<Self> {
        if config.per_minute.is_none() && config.tools.is_empty() {
            return None;
        }
        Some(Self {
            per_caller: config
                .per_minute
                .map(|n| RateLimiter::keyed(Quota::per_minute(n))),
            per_tool: config
                .tools
                .iter()
                .map(|(tool, n)| (tool.clone(), RateLimiter::keyed(Quota::per_minute(*n))))
                .collect(),
            clock: DefaultClock::default(),
            checks: AtomicU64::new(0),
        })
    }

    /// Counts one call of `caller` (to served tool `tool`, if it is a tool call); `Err` with
    /// the time to wait when a limit is reached.
    pub fn check(&self, caller: &CallerInfo, tool: Option<&str>) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % RETAIN_EVERY == RETAIN_EVERY - 1 {
            self.forget_idle();
        }
        let key = caller_key(caller);
        if let Some(limiter) = tool.and_then(|t| self.per_tool.get(t)) {
            limiter
                .check_key(&key)
                .map_err(|n| n.wait_time_from(self.clock.now()))?;
        }
        if let Some(limiter) = &self.per_caller {
            limiter
                .check_key(&key)
                .map_err(|n| n.wait_time_from(self.clock.now()))?;
        }
        Ok(())
    }

    fn forget_idle(&self) {
        for limiter in self.per_caller.iter().chain(self.per_tool.values()) {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// The key a caller is limited by: `sub:<subject>`, `session:<key>`, or `anonymous`.
pub fn caller_key(caller: &CallerInfo) -> String {
    if let Some(p) = caller.principal.as_ref().filter(|p| !p.subject.is_empty()) {
        return format!("sub:{}", p.subject);
    }
    match &caller.session {
        Some(session) => format!("session:{}", session.key()),
        None => "anonymous".to_string(),
    }
}

/// Whole seconds to tell a caller to wait (at least 1).
pub fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;
    use std::sync::Arc;

    use super::*;
    use crate::workbench::{AuthMethod, Principal};

    fn caller(sub: &str) -> CallerInfo {
        let mut claims = rmcp::model::JsonObject::new();
        claims.insert("sub".into(), sub.into());
        CallerInfo {
            principal: Some(Arc::new(Principal::new(AuthMethod::Bearer, claims))),
            ..CallerInfo::default()
        }
    }

    #[test]
    fn one_caller_is_limited_and_another_is_not() {
        let limits = RateLimits::new(&RateLimitConfig {
            per_minute: NonZeroU32::new(2),
            tools: Default::default(),
        })
        .expect("limits");
        let (alice, bob) = (caller("alice"), caller("bob"));
        assert!(limits.check(&alice, None).is_ok());
        assert!(limits.check(&alice, None).is_ok());
        let wait = limits.check(&alice, None).expect_err("limited");
        assert!(
            retry_after_secs(wait) >= 1 && retry_after_secs(wait) <= 30,
            "{wait:?}"
        );
        assert!(limits.check(&bob, None).is_ok());
    }

    #[test]
    fn a_tool_limit_counts_only_that_tool() {
        let limits = RateLimits::new(&RateLimitConfig {
            per_minute: None,
            tools: [("demo__add".to_string(), NonZeroU32::MIN)].into(),
        })
        .expect("limits");
        let alice = caller("alice");
        assert!(limits.check(&alice, Some("demo__add")).is_ok());
        assert!(limits.check(&alice, Some("demo__add")).is_err());
        assert!(limits.check(&alice, Some("demo__echo")).is_ok());
    }

    #[test]
    fn retry_hints_round_up() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(30)), 30);
        assert_eq!(retry_after_secs(Duration::from_millis(29_500)), 30);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }
}
