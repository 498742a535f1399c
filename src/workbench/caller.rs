//! `CallerSession`: which downstream caller a call belongs to — the identity that upstream
//! traffic is routed by and that per-caller upstream sessions are keyed on.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

/// One downstream caller: a 2025-era session, the stdio face, a legacy SSE session, or a single
/// sessionless (2026-07-28) call. Cheap to clone; it is alive as long as a clone is held (the
/// session's handler, or a call or task still running for it), and [`CallerSession::gone`]
/// fires when the last clone is dropped, so per-caller resources are released at once.
#[derive(Clone)]
pub struct CallerSession(Arc<Identity>);

struct Identity {
    key: String,
    gone: CancellationToken,
}

impl Drop for Identity {
    fn drop(&mut self) {
        self.gone.cancel();
    }
}

impl CallerSession {
    /// A caller with a fresh random key.
    pub fn new() -> Self {
        Self::with_key(&uuid::Uuid::new_v4().simple().to_string())
    }

    /// A caller with a given key (tests, or an identity established elsewhere).
    pub fn with_key(key: &str) -> Self {
        Self(Arc::new(Identity {
            key: key.to_string(),
            gone: CancellationToken::new(),
        }))
    }

    /// The caller's key: unique per caller, never shown to other callers.
    pub fn key(&self) -> &str {
        &self.0.key
    }

    /// A token cancelled when the caller is gone (its last handle dropped); holding the token
    /// does not keep the caller alive.
    pub fn gone(&self) -> CancellationToken {
        self.0.gone.clone()
    }
}

impl Default for CallerSession {
    fn default() -> Self {
        Self::new()
    }
}

impl PartialEq for CallerSession {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.key == other.0.key
    }
}

impl std::fmt::Debug for CallerSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key is short and random; only a prefix goes to logs.
        let prefix: String = self.0.key.chars().take(8).collect();
        write!(f, "CallerSession({prefix}…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gone_fires_when_the_last_handle_drops() {
        let caller = CallerSession::new();
        let gone = caller.gone();
        let copy = caller.clone();
        drop(caller);
        assert!(!gone.is_cancelled());
        drop(copy);
        assert!(gone.is_cancelled());
    }
}
