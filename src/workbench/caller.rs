//! `CallerSession`: which downstream caller a call belongs to — the identity that upstream
//! traffic is routed by and that per-caller upstream sessions are keyed on.

use std::sync::{Arc, Weak};

/// One downstream caller: a 2025-era session, the stdio face, a legacy SSE session, or a single
/// sessionless (2026-07-28) call. Cheap to clone; it is alive as long as a clone is held (the
/// session's handler, or a call or task still running for it), so per-caller resources can be
/// released when the last holder goes away.
#[derive(Clone)]
pub struct CallerSession(Arc<str>);

/// A handle that does not keep the caller alive (see [`CallerSession::downgrade`]).
#[derive(Clone, Debug)]
pub struct WeakCallerSession(Weak<str>);

impl CallerSession {
    /// A caller with a fresh random key.
    pub fn new() -> Self {
        Self(Arc::from(uuid::Uuid::new_v4().simple().to_string()))
    }

    /// A caller with a given key (tests, or an identity established elsewhere).
    pub fn with_key(key: &str) -> Self {
        Self(Arc::from(key))
    }

    /// The caller's key: unique per caller, never shown to other callers.
    pub fn key(&self) -> &str {
        &self.0
    }

    /// A weak handle, to notice when the caller is gone.
    pub fn downgrade(&self) -> WeakCallerSession {
        WeakCallerSession(Arc::downgrade(&self.0))
    }
}

impl Default for CallerSession {
    fn default() -> Self {
        Self::new()
    }
}

impl PartialEq for CallerSession {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0 == other.0
    }
}

impl std::fmt::Debug for CallerSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key is short and random; only a prefix goes to logs.
        let prefix: String = self.0.chars().take(8).collect();
        write!(f, "CallerSession({prefix}…)")
    }
}

impl WeakCallerSession {
    /// Whether some holder still keeps the caller alive.
    pub fn is_alive(&self) -> bool {
        self.0.strong_count() > 0
    }
}
