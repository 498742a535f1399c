//! Recently accepted tokens, by SHA-256: a client sends the same token on every request, so
//! its signature (or its introspection) is checked once and the caller is reused until the
//! token expires or [`MAX_REUSE`] has passed, whichever is first. Bounded: at
//! [`MAX_ENTRIES`], expired entries go, and if none had, all do.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::Authenticated;
use super::jwt::LEEWAY_SECS;

/// How long an accepted token is reused before it is checked again (so a key removed from
/// the JWKS, or a token revoked at the introspection endpoint, stops working within this).
pub const MAX_REUSE: Duration = Duration::from_secs(60);
/// Most tokens remembered at once.
pub const MAX_ENTRIES: usize = 10_000;

/// Accepted tokens by the SHA-256 of the token.
#[derive(Default)]
pub struct Accepted {
    entries: Mutex<HashMap<[u8; 32], (Authenticated, Instant)>>,
}

impl Accepted {
    /// The caller of the token with hash `hash`, if it was accepted and may be reused still.
    pub fn get(&self, hash: &[u8; 32]) -> Option<Authenticated> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let (caller, until) = entries.get(hash)?;
        (Instant::now() < *until).then(|| caller.clone())
    }

    /// Remember `caller` for the token with hash `hash`, until its `exp` (with the leeway the
    /// check allowed) or [`MAX_REUSE`].
    pub fn insert(&self, hash: [u8; 32], caller: Authenticated) {
        let now = Instant::now();
        let mut reuse = MAX_REUSE;
        if let Some(exp) = caller.principal.claims.get("exp").and_then(|v| v.as_u64()) {
            let unix = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let left = (exp + LEEWAY_SECS).saturating_sub(unix);
            reuse = reuse.min(Duration::from_secs(left));
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (_, until)| *until > now);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(hash, (caller, now + reuse));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::workbench::{AuthMethod, Principal};

    fn caller(exp: u64) -> Authenticated {
        let claims = json!({"sub": "alice", "exp": exp})
            .as_object()
            .cloned()
            .expect("object");
        Authenticated {
            principal: Arc::new(Principal::new(AuthMethod::Bearer, claims)),
            owner: Arc::from("alice"),
        }
    }

    #[test]
    fn a_token_is_reused_only_while_it_is_valid() {
        let cache = Accepted::default();
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("time")
            .as_secs();
        cache.insert([1; 32], caller(unix + 600));
        assert!(cache.get(&[1; 32]).is_some());
        assert!(cache.get(&[2; 32]).is_none());
        // Expired beyond the leeway: never reused.
        cache.insert([3; 32], caller(unix - LEEWAY_SECS - 10));
        assert!(cache.get(&[3; 32]).is_none());
    }
}
