//! RFC 9728 protected resource metadata: what a client reads after a `401` to find the
//! authorization server. Served unauthenticated at `/.well-known/oauth-protected-resource/mcp`
//! (the audience's path after the well-known part, as RFC 9728 section 3.1 builds it) and at
//! `/.well-known/oauth-protected-resource`.

use std::sync::Arc;

use axum::Router;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Value, json};
use url::Url;

/// The well-known path of protected resource metadata.
pub const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// The metadata URL of the resource `audience`: its origin, the well-known path, its own path.
pub fn metadata_url(audience: &str) -> Option<String> {
    let mut url = Url::parse(audience).ok()?;
    let path = url.path().trim_end_matches('/').to_string();
    url.set_path(&format!("{WELL_KNOWN}{path}"));
    url.set_query(None);
    url.set_fragment(None);
    Some(url.to_string())
}

/// The metadata document of `audience` protected by `issuer`, needing `scopes`.
pub fn document(audience: &str, issuer: &str, scopes: &[String], name: &str) -> Value {
    json!({
        "resource": audience,
        "authorization_servers": [issuer],
        "scopes_supported": scopes,
        "bearer_methods_supported": ["header"],
        "resource_name": name,
    })
}

/// The metadata routes: the root well-known path, `/mcp` after it, and the audience's own path
/// after it when that is another one.
pub fn routes(audience: &str, document: Value) -> Router {
    let document = Arc::new(document);
    let serve = move || {
        let document = Arc::clone(&document);
        async move { axum::Json((*document).clone()).into_response() }
    };
    let mut paths = vec![WELL_KNOWN.to_string(), format!("{WELL_KNOWN}/mcp")];
    if let Ok(url) = Url::parse(audience) {
        let own = format!("{WELL_KNOWN}{}", url.path().trim_end_matches('/'));
        if !paths.contains(&own) {
            paths.push(own);
        }
    }
    paths.into_iter().fold(Router::new(), |router, path| {
        let serve = serve.clone();
        router.route(&path, get(serve))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metadata_url_puts_the_well_known_part_before_the_path() {
        assert_eq!(
            metadata_url("https://mcp.example.com/mcp").as_deref(),
            Some("https://mcp.example.com/.well-known/oauth-protected-resource/mcp")
        );
        assert_eq!(
            metadata_url("http://127.0.0.1:8080").as_deref(),
            Some("http://127.0.0.1:8080/.well-known/oauth-protected-resource")
        );
    }
}
