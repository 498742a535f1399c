//! The issuer's signing keys: found through its metadata (RFC 8414, else OpenID discovery)
//! unless `jwks_uri` is given, fetched once and cached; fetched again when a token names an
//! unknown `kid` (at most once per [`MIN_REFRESH`]) or the keys are older than [`MAX_AGE`]. Only
//! asymmetric keys are kept: a JWKS `oct` key would let HMAC tokens in, so it is skipped.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;
use tokio::sync::Mutex;
use url::Url;

/// An unknown `kid` fetches the keys again at most this often.
pub const MIN_REFRESH: Duration = Duration::from_secs(10);
/// Keys older than this are fetched again on their next use (the old ones serve meanwhile if
/// the issuer cannot be reached).
pub const MAX_AGE: Duration = Duration::from_secs(3600);

/// Why the keys could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    /// The issuer's metadata could not be read from any well-known address.
    #[error("cannot read the authorization server metadata of {issuer}")]
    Metadata {
        issuer: String,
        #[source]
        source: Option<Box<JwksError>>,
    },
    /// The metadata names another issuer (RFC 8414 section 3.3).
    #[error("the metadata at {url} is for issuer {found:?}, not {expected:?}")]
    IssuerMismatch {
        url: Url,
        found: String,
        expected: String,
    },
    /// The metadata has no usable `jwks_uri`.
    #[error("the metadata at {url} has no valid jwks_uri")]
    NoJwksUri { url: Url },
    /// An HTTP request failed (refused, timed out, not 2xx, not JSON).
    #[error("GET {url} failed")]
    Http {
        url: Url,
        #[source]
        source: reqwest::Error,
    },
    /// The document is not a JWK set.
    #[error("{url} is not a JWK set")]
    NotAKeySet { url: Url },
}

/// One verification key of the issuer.
pub struct Key {
    /// The key itself.
    pub decoding: DecodingKey,
    /// The algorithm the JWK is restricted to (`alg`), if it names one.
    pub alg: Option<Algorithm>,
}

/// Where the keys come from.
enum Source {
    /// `jwks_uri` from the config.
    Fixed(Url),
    /// The issuer's metadata names it.
    Discover { issuer: String },
}

#[derive(Default)]
struct Keys {
    by_kid: HashMap<String, Arc<Key>>,
    /// Keys without a `kid` (tried when a token names none).
    unnamed: Vec<Arc<Key>>,
    fetched: Option<Instant>,
}

struct Refresh {
    /// When keys were last fetched (or tried).
    last_attempt: Option<Instant>,
    /// The `jwks_uri` discovery found.
    jwks_uri: Option<Url>,
}

/// The cached signing keys of one issuer.
pub struct JwksCache {
    http: reqwest::Client,
    source: Source,
    keys: RwLock<Keys>,
    refresh: Mutex<Refresh>,
}

/// What a lookup found.
pub enum Lookup {
    /// Keys that may have signed the token (one for a known `kid`; for none, every unnamed key).
    Found(Vec<Arc<Key>>),
    /// No key has this `kid`, even after fetching the keys again (or too soon to fetch).
    Unknown,
}

impl JwksCache {
    /// Keys from `jwks_uri`, or from the metadata of `issuer` when `None`.
    pub fn new(http: reqwest::Client, issuer: &str, jwks_uri: Option<Url>) -> Self {
        let source = match jwks_uri {
            Some(url) => Source::Fixed(url),
            None => Source::Discover {
                issuer: issuer.to_string(),
            },
        };
        Self {
            http,
            source,
            keys: RwLock::default(),
            refresh: Mutex::new(Refresh {
                last_attempt: None,
                jwks_uri: None,
            }),
        }
    }

    fn cached(&self, kid: Option<&str>) -> (Vec<Arc<Key>>, bool) {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        let found = match kid {
            Some(kid) => keys.by_kid.get(kid).cloned().into_iter().collect(),
            None => keys.unnamed.clone(),
        };
        let fresh = keys.fetched.is_some_and(|at| at.elapsed() < MAX_AGE);
        (found, fresh)
    }

    /// The keys that may have signed a token naming `kid`.
    pub async fn lookup(&self, kid: Option<&str>) -> Lookup {
        let (found, fresh) = self.cached(kid);
        if !found.is_empty() && fresh {
            return Lookup::Found(found);
        }
        if !found.is_empty() {
            // Old keys: fetch them again unless another request is at it; serve these meanwhile.
            if let Ok(mut refresh) = self.refresh.try_lock() {
                self.fetch_if_due(&mut refresh).await;
            }
            let (again, _) = self.cached(kid);
            return Lookup::Found(if again.is_empty() { found } else { again });
        }
        let mut refresh = self.refresh.lock().await;
        // Another request may have fetched them while this one waited.
        let (found, _) = self.cached(kid);
        if !found.is_empty() {
            return Lookup::Found(found);
        }
        self.fetch_if_due(&mut refresh).await;
        drop(refresh);
        let (found, _) = self.cached(kid);
        match found.is_empty() {
            true => Lookup::Unknown,
            false => Lookup::Found(found),
        }
    }

    /// Fetch the keys unless the last attempt was less than [`MIN_REFRESH`] ago.
    async fn fetch_if_due(&self, refresh: &mut Refresh) {
        if refresh
            .last_attempt
            .is_some_and(|at| at.elapsed() < MIN_REFRESH)
        {
            return;
        }
        refresh.last_attempt = Some(Instant::now());
        match self.fetch(refresh).await {
            Ok(keys) => {
                tracing::debug!(
                    keys = keys.by_kid.len() + keys.unnamed.len(),
                    "signing keys fetched"
                );
                *self.keys.write().unwrap_or_else(|e| e.into_inner()) = keys;
            }
            Err(error) => {
                tracing::warn!(error = %crate::server::auth::chain(&error), "cannot fetch the issuer's signing keys")
            }
        }
    }

    async fn fetch(&self, refresh: &mut Refresh) -> Result<Keys, JwksError> {
        let url = match (&self.source, &refresh.jwks_uri) {
            (Source::Fixed(url), _) | (Source::Discover { .. }, Some(url)) => url.clone(),
            (Source::Discover { issuer }, None) => {
                let url = discover_jwks_uri(&self.http, issuer).await?;
                refresh.jwks_uri = Some(url.clone());
                url
            }
        };
        let document = get_json(&self.http, &url).await?;
        let keys = parse_key_set(&document).ok_or(JwksError::NotAKeySet { url })?;
        Ok(keys)
    }
}

/// GET `url` as JSON (2xx only).
async fn get_json(http: &reqwest::Client, url: &Url) -> Result<Value, JwksError> {
    let failed = |source| JwksError::Http {
        url: url.clone(),
        source,
    };
    let response = http
        .get(url.clone())
        .header("accept", "application/json")
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(failed)?;
    response.json().await.map_err(failed)
}

/// The metadata addresses of `issuer`: RFC 8414 (the well-known part before the issuer's
/// path), then OpenID Connect discovery (after it).
pub fn metadata_urls(issuer: &str) -> Vec<Url> {
    let Ok(url) = Url::parse(issuer) else {
        return Vec::new();
    };
    let path = url.path().trim_end_matches('/').to_string();
    let mut oauth = url.clone();
    oauth.set_path(&format!("/.well-known/oauth-authorization-server{path}"));
    let mut oidc = url;
    oidc.set_path(&format!("{path}/.well-known/openid-configuration"));
    vec![oauth, oidc]
}

async fn discover_jwks_uri(http: &reqwest::Client, issuer: &str) -> Result<Url, JwksError> {
    let mut last = None;
    for url in metadata_urls(issuer) {
        match get_json(http, &url).await {
            Ok(metadata) => {
                let found = metadata["issuer"].as_str().unwrap_or_default();
                if found != issuer {
                    return Err(JwksError::IssuerMismatch {
                        url,
                        found: found.to_string(),
                        expected: issuer.to_string(),
                    });
                }
                return metadata["jwks_uri"]
                    .as_str()
                    .and_then(|u| Url::parse(u).ok())
                    .ok_or(JwksError::NoJwksUri { url });
            }
            Err(error) => last = Some(error),
        }
    }
    Err(JwksError::Metadata {
        issuer: issuer.to_string(),
        source: last.map(Box::new),
    })
}

/// The asymmetric keys of a JWK set document; `None` when it is not one. Keys this crate cannot
/// use (unknown `kty`, symmetric `oct`, encryption-only) are skipped.
fn parse_key_set(document: &Value) -> Option<Keys> {
    let entries = document.get("keys")?.as_array()?;
    let mut keys = Keys {
        fetched: Some(Instant::now()),
        ..Keys::default()
    };
    for entry in entries {
        if entry.get("kty").and_then(Value::as_str) == Some("oct")
            || entry.get("use").and_then(Value::as_str) == Some("enc")
        {
            continue;
        }
        let Ok(jwk) = serde_json::from_value::<Jwk>(entry.clone()) else {
            continue;
        };
        let Ok(decoding) = DecodingKey::from_jwk(&jwk) else {
            continue;
        };
        let alg = jwk.common.key_algorithm.and_then(signing_algorithm);
        let key = Arc::new(Key { decoding, alg });
        match jwk.common.key_id {
            Some(kid) => {
                keys.by_kid.insert(kid, key);
            }
            None => keys.unnamed.push(key),
        }
    }
    Some(keys)
}

/// The signing algorithm a JWK's `alg` names (encryption algorithms name none).
fn signing_algorithm(alg: KeyAlgorithm) -> Option<Algorithm> {
    Some(match alg {
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        KeyAlgorithm::HS256 => Algorithm::HS256,
        KeyAlgorithm::HS384 => Algorithm::HS384,
        KeyAlgorithm::HS512 => Algorithm::HS512,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_addresses_follow_rfc_8414_then_openid() {
        let urls = metadata_urls("https://idp.example.com");
        assert_eq!(
            urls[0].as_str(),
            "https://idp.example.com/.well-known/oauth-authorization-server"
        );
        assert_eq!(
            urls[1].as_str(),
            "https://idp.example.com/.well-known/openid-configuration"
        );
        let urls = metadata_urls("https://idp.example.com/tenant/");
        assert_eq!(
            urls[0].as_str(),
            "https://idp.example.com/.well-known/oauth-authorization-server/tenant"
        );
        assert_eq!(
            urls[1].as_str(),
            "https://idp.example.com/tenant/.well-known/openid-configuration"
        );
    }

    #[test]
    fn symmetric_keys_are_never_kept() {
        let set = serde_json::json!({"keys": [
            {"kty": "oct", "kid": "h", "k": "c2VjcmV0"},
            {"kty": "EC", "kid": "e", "crv": "P-256", "alg": "ES256",
             "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
             "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
            {"kty": "weird", "kid": "w"}
        ]});
        let keys = parse_key_set(&set).expect("a key set");
        assert_eq!(keys.by_kid.len(), 1);
        assert!(keys.by_kid.contains_key("e"));
        assert_eq!(keys.by_kid["e"].alg, Some(Algorithm::ES256));
        assert!(parse_key_set(&serde_json::json!({"nope": 1})).is_none());
    }
}
