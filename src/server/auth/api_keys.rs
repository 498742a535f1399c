//! `[[auth.api_keys]]` at run time: the keys' SHA-256 hashes, and a lookup that hashes the
//! presented key and compares it with every configured hash in constant time.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::ApiKey;

/// The configured API keys (hashes only).
#[derive(Debug, Default)]
pub struct ApiKeys {
    keys: Vec<ApiKey>,
}

impl ApiKeys {
    /// The keys of `[[auth.api_keys]]`.
    pub fn new(keys: Vec<ApiKey>) -> Self {
        Self { keys }
    }

    /// Whether no key is configured.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key `presented` is, if any.
    pub fn find(&self, presented: &str) -> Option<&ApiKey> {
        self.find_hash(&Sha256::digest(presented.as_bytes()).into())
    }

    /// The key whose SHA-256 is `hash`, if any. Every configured hash is compared (in constant
    /// time), whichever matches, so the time taken does not say which key was close.
    pub fn find_hash(&self, hash: &[u8; 32]) -> Option<&ApiKey> {
        let mut found = None;
        for key in &self.keys {
            if bool::from(key.key_sha256.ct_eq(hash)) {
                found = Some(key);
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str, secret: &str) -> ApiKey {
        ApiKey {
            name: name.into(),
            key_sha256: Sha256::digest(secret.as_bytes()).into(),
            claims: serde_json::Map::new(),
        }
    }

    #[test]
    fn only_the_exact_key_is_found() {
        let keys = ApiKeys::new(vec![key("a", "alpha-key"), key("b", "beta-key")]);
        assert_eq!(keys.find("beta-key").map(|k| k.name.as_str()), Some("b"));
        assert!(keys.find("beta-ke").is_none());
        assert!(keys.find("").is_none());
        assert!(ApiKeys::default().find("alpha-key").is_none());
    }
}
