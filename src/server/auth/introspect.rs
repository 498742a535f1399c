//! Opaque access tokens through RFC 7662 introspection: `POST introspection_endpoint` with the
//! token (HTTP Basic with `introspection_client_id` and its secret when configured), then the
//! same checks a JWT gets: `active`, `iss` (when the answer has one), `aud` must name this
//! server, `exp` / `nbf` with the JWT leeway. An answer without `sub` (a client-credentials
//! token) gets its `client_id` as `sub`.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use super::TokenError;
use super::jwt::LEEWAY_SECS;
use crate::config::Introspection;

/// Asks the authorization server about opaque tokens.
pub struct Introspector {
    http: reqwest::Client,
    settings: Introspection,
    issuer: String,
    audience: String,
}

impl Introspector {
    /// Introspection as `settings` say, for tokens of `issuer` meant for `audience`.
    pub fn new(
        http: reqwest::Client,
        settings: Introspection,
        issuer: &str,
        audience: &str,
    ) -> Self {
        Self {
            http,
            settings,
            issuer: issuer.to_string(),
            audience: audience.to_string(),
        }
    }

    /// The claims of an active token meant for this server.
    pub async fn validate(&self, token: &str) -> Result<Map<String, Value>, TokenError> {
        let mut request = self
            .http
            .post(self.settings.endpoint.clone())
            .header("accept", "application/json")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("token", token)
                    .append_pair("token_type_hint", "access_token")
                    .finish(),
            );
        if let Some((id, secret)) = &self.settings.client {
            request = request.basic_auth(id, Some(secret.expose()));
        }
        let answer: Map<String, Value> = request
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(TokenError::Introspection)?
            .json()
            .await
            .map_err(TokenError::Introspection)?;
        self.check(answer, now())
    }

    fn check(
        &self,
        mut claims: Map<String, Value>,
        now: u64,
    ) -> Result<Map<String, Value>, TokenError> {
        if claims.get("active").and_then(Value::as_bool) != Some(true) {
            return Err(TokenError::Inactive);
        }
        claims.remove("active");
        if let Some(iss) = claims.get("iss")
            && iss.as_str() != Some(&self.issuer)
        {
            return Err(TokenError::Issuer);
        }
        let audience = Value::from(self.audience.as_str());
        let for_us = match claims.get("aud") {
            Some(Value::Array(auds)) => auds.contains(&audience),
            Some(aud) => *aud == audience,
            None => return Err(TokenError::MissingClaim("aud".into())),
        };
        if !for_us {
            return Err(TokenError::Audience);
        }
        let time = |key: &str| claims.get(key).and_then(Value::as_u64);
        if time("exp").is_some_and(|exp| exp + LEEWAY_SECS < now) {
            return Err(TokenError::Expired);
        }
        if time("nbf").is_some_and(|nbf| nbf > now + LEEWAY_SECS) {
            return Err(TokenError::NotYetValid);
        }
        // A client-credentials token may have no `sub`: the caller is the client (as in the
        // JWT access tokens of RFC 9068, whose `sub` is then the client id).
        if !claims.contains_key("sub")
            && let Some(client) = claims.get("client_id").cloned()
        {
            claims.insert("sub".into(), client);
        }
        Ok(claims)
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn introspector() -> Introspector {
        let settings = Introspection {
            endpoint: url::Url::parse("http://127.0.0.1:1/introspect").expect("url"),
            client: None,
        };
        Introspector::new(
            reqwest::Client::new(),
            settings,
            "https://idp",
            "https://mcp/mcp",
        )
    }

    fn answer(value: Value) -> Map<String, Value> {
        value.as_object().cloned().expect("object")
    }

    #[test]
    fn an_answer_must_be_active_ours_and_in_time() {
        let i = introspector();
        let ok = json!({"active": true, "iss": "https://idp", "aud": ["https://mcp/mcp"],
                        "sub": "alice", "exp": 2000});
        let claims = i.check(answer(ok), 1000).expect("valid");
        assert_eq!(claims["sub"], "alice");
        assert!(!claims.contains_key("active"));
        let client = json!({"active": true, "aud": "https://mcp/mcp", "client_id": "ci"});
        assert_eq!(i.check(answer(client), 1000).expect("valid")["sub"], "ci");
        let cases = [
            (json!({"active": false}), "inactive"),
            (
                json!({"active": true, "aud": "https://mcp/mcp", "iss": "https://other"}),
                "issuer",
            ),
            (
                json!({"active": true, "aud": "https://elsewhere"}),
                "audience",
            ),
            (json!({"active": true}), "aud"),
            (
                json!({"active": true, "aud": "https://mcp/mcp", "exp": 900}),
                "expired",
            ),
            (
                json!({"active": true, "aud": "https://mcp/mcp", "nbf": 1100}),
                "not yet valid",
            ),
        ];
        for (answer_json, expected) in cases {
            let error = i
                .check(answer(answer_json.clone()), 1000)
                .expect_err("refused");
            assert!(
                error.to_string().contains(expected),
                "{answer_json}: {error}"
            );
        }
    }
}
