//! The answers to a caller that is not let in (RFC 6750 section 3, MCP authorization): `401`
//! with `WWW-Authenticate: Bearer resource_metadata="…", scope="…"` (plus
//! `error="invalid_token"` when a token was presented), or `403` with
//! `error="insufficient_scope"` and the scopes needed. The body repeats the error as JSON; neither
//! ever carries the token.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::json;

/// Why a request was not let in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No credentials at all.
    Missing,
    /// Credentials that are not valid (expired, wrong audience, bad signature, ...).
    InvalidToken,
    /// Valid credentials without every required scope.
    InsufficientScope,
}

/// What every challenge says: where the protected resource metadata is, which scopes to ask for.
#[derive(Debug, Clone, Default)]
pub struct Challenge {
    /// The RFC 9728 metadata URL (`None` with API keys only: no authorization server to find).
    pub resource_metadata: Option<String>,
    /// The scopes every caller needs, space-separated.
    pub scope: String,
}

impl Challenge {
    /// The `WWW-Authenticate` value for `refusal`.
    pub fn header(&self, refusal: &Refusal) -> String {
        let mut params = Vec::new();
        if let Some(url) = &self.resource_metadata {
            params.push(format!("resource_metadata=\"{}\"", quoted(url)));
        }
        if !self.scope.is_empty() {
            params.push(format!("scope=\"{}\"", quoted(&self.scope)));
        }
        match refusal {
            Refusal::Missing => {}
            Refusal::InvalidToken => params.push("error=\"invalid_token\"".into()),
            Refusal::InsufficientScope => params.push("error=\"insufficient_scope\"".into()),
        }
        match params.is_empty() {
            true => "Bearer realm=\"toolyard\"".into(),
            false => format!("Bearer {}", params.join(", ")),
        }
    }

    /// The response for `refusal`.
    pub fn respond(&self, refusal: &Refusal) -> Response {
        let (status, error, description) = match refusal {
            Refusal::Missing => (
                StatusCode::UNAUTHORIZED,
                "invalid_request",
                "authentication required: send an OAuth access token or an API key as \
                 `Authorization: Bearer <token>`",
            ),
            Refusal::InvalidToken => (
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "the access token is not valid for this server",
            ),
            Refusal::InsufficientScope => (
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                "the access token lacks a scope this server requires",
            ),
        };
        let body = json!({"error": error, "error_description": description, "scope": self.scope});
        let mut response = (status, Json(body)).into_response();
        if let Ok(value) = HeaderValue::from_str(&self.header(refusal)) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// `value` escaped for a quoted-string.
fn quoted(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_name_the_metadata_the_scope_and_the_error() {
        let challenge = Challenge {
            resource_metadata: Some(
                "https://mcp.example.com/.well-known/oauth-protected-resource/mcp".into(),
            ),
            scope: "mcp:tools".into(),
        };
        assert_eq!(
            challenge.header(&Refusal::Missing),
            "Bearer resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/mcp\", scope=\"mcp:tools\""
        );
        assert!(
            challenge
                .header(&Refusal::InvalidToken)
                .ends_with(", error=\"invalid_token\"")
        );
        let forbidden = challenge.respond(&Refusal::InsufficientScope);
        assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
        let value = forbidden.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .expect("ascii");
        assert!(value.contains("error=\"insufficient_scope\""), "{value}");
        assert_eq!(
            Challenge::default().header(&Refusal::Missing),
            "Bearer realm=\"toolyard\""
        );
    }
}
