//! The axum layer in front of `/mcp`, `/sse` and `/messages`: reads the credentials
//! (`Authorization: Bearer <token>`, or `X-API-Key: <key>` for API keys), lets an authenticated
//! request on with an [`Authenticated`] in its extensions and its credential headers removed (so
//! nothing further down can log or forward them), and answers any other with its challenge.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderMap, header};

use super::challenge::Refusal;
use super::{Authenticated, Authenticator};

/// The API key header.
pub const API_KEY_HEADER: &str = "x-api-key";

/// Middleware: authenticate the request or answer with the challenge.
pub async fn require_auth(
    State(auth): State<Arc<Authenticator>>,
    mut request: Request,
    next: Next,
) -> Response {
    let outcome = match credentials(request.headers()) {
        Some((presented, api_key_only)) => auth.authenticate(&presented, api_key_only).await,
        None => Err((Refusal::Missing, None)),
    };
    match outcome {
        Ok(caller) => {
            let headers = request.headers_mut();
            headers.remove(header::AUTHORIZATION);
            headers.remove(API_KEY_HEADER);
            request.extensions_mut().insert::<Authenticated>(caller);
            next.run(request).await
        }
        Err((refusal, reason)) => {
            let reason = reason.map(|r| super::chain(&r));
            tracing::info!(
                method = %request.method(),
                path = request.uri().path(),
                refusal = ?refusal,
                reason = reason.as_deref().unwrap_or("no credentials"),
                "request not authenticated"
            );
            auth.challenge().respond(&refusal)
        }
    }
}

/// The presented credential, and whether it can only be an API key (`X-API-Key`).
fn credentials(headers: &HeaderMap) -> Option<(String, bool)> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = value.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        let token = token.trim();
        return (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty())
            .then(|| (token.to_string(), false));
    }
    let key = headers.get(API_KEY_HEADER)?.to_str().ok()?.trim();
    (!key.is_empty()).then(|| (key.to_string(), true))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(
                http::HeaderName::from_bytes(k.as_bytes()).expect("name"),
                v.parse().expect("value"),
            );
        }
        map
    }

    #[test]
    fn bearer_tokens_and_api_keys_are_read() {
        let read = |pairs: &[(&str, &str)]| credentials(&headers(pairs));
        assert_eq!(
            read(&[("authorization", "Bearer abc")]),
            Some(("abc".into(), false))
        );
        assert_eq!(
            read(&[("authorization", "bearer  abc ")]),
            Some(("abc".into(), false))
        );
        assert_eq!(read(&[("authorization", "Basic abc")]), None);
        assert_eq!(read(&[("authorization", "Bearer ")]), None);
        assert_eq!(read(&[("x-api-key", "k")]), Some(("k".into(), true)));
        assert_eq!(read(&[]), None);
    }
}
