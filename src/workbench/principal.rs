//! `Principal`: who a call is made for, once the server face has authenticated the caller — the
//! subject and claims that policy decides on, and the caller's own token, kept only so it can be
//! exchanged for an upstream's (it is never forwarded, logged or shown).

use std::fmt;
use std::sync::Arc;

use rmcp::model::JsonObject;

/// How the caller proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMethod {
    /// A JWT (or an introspected opaque token) from the configured issuer.
    Bearer,
    /// A configured API key (`[[auth.api_keys]]`), by its name.
    ApiKey(String),
    /// The stdio face: the user who launched toolyard (`[auth.stdio]` claims).
    Stdio,
}

/// An authenticated caller. Cheap to share (`Arc<Principal>` in [`super::CallerInfo`]).
#[derive(Clone, PartialEq)]
pub struct Principal {
    /// The `sub` claim: who the caller is.
    pub subject: String,
    /// The OAuth client the caller used (`client_id` / `azp`), when known.
    pub client_id: Option<String>,
    /// Every claim, as policy sees them (`jwt.*` in rules).
    pub claims: JsonObject,
    /// How the caller authenticated.
    pub method: AuthMethod,
    /// The caller's own bearer token, for RFC 8693 token exchange only.
    token: Option<Secret>,
}

impl Principal {
    /// A principal with these claims (`sub` and `client_id`/`azp` read from them).
    pub fn new(method: AuthMethod, claims: JsonObject) -> Self {
        let text = |key: &str| claims.get(key).and_then(|v| v.as_str()).map(str::to_string);
        Self {
            subject: text("sub").unwrap_or_default(),
            client_id: text("client_id").or_else(|| text("azp")),
            claims,
            method,
            token: None,
        }
    }

    /// The same principal, keeping the bearer token it presented (for token exchange).
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(Secret(Arc::from(token.into())));
        self
    }

    /// The caller's own token, if it presented one. Only token exchange may use it: the
    /// caller's token is never sent to an upstream.
    pub fn token(&self) -> Option<&str> {
        self.token.as_ref().map(|s| &*s.0)
    }
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Principal")
            .field("subject", &self.subject)
            .field("client_id", &self.client_id)
            .field("method", &self.method)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

/// A secret string whose `Debug` never shows it.
#[derive(Clone, PartialEq)]
struct Secret(Arc<str>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_token() {
        let mut claims = JsonObject::new();
        claims.insert("sub".into(), "alice".into());
        claims.insert("azp".into(), "toolyard-ide".into());
        let p = Principal::new(AuthMethod::Bearer, claims).with_token("eyJsecret");
        assert_eq!(p.subject, "alice");
        assert_eq!(p.client_id.as_deref(), Some("toolyard-ide"));
        assert_eq!(p.token(), Some("eyJsecret"));
        let shown = format!("{p:?}");
        assert!(!shown.contains("eyJsecret"), "{shown}");
        assert!(shown.contains("redacted"), "{shown}");
    }
}
