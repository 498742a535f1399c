//! Inbound authentication of the HTTP faces (`[auth]`): toolyard as an OAuth 2.1 resource
//! server (MCP authorization). A request's credentials (`Authorization: Bearer`, or
//! `X-API-Key`) become a [`Principal`] in the request's extensions, or the request is answered
//! with a challenge and goes no further.
//!
//! - [`Authenticator`]: the config turned into checks, built once at start;
//! - [`api_keys`]: hashed API keys, compared in constant time;
//! - [`jwks`] and [`jwt`]: JWT access tokens against the issuer's cached keys;
//! - [`introspect`]: opaque tokens through RFC 7662;
//! - [`cache`]: tokens already accepted, reused for up to a minute (a client sends the same
//!   token on every request);
//! - [`challenge`]: the `401` / `403` answers and their `WWW-Authenticate`;
//! - [`metadata`]: RFC 9728 protected resource metadata;
//! - [`middleware`]: the axum layer in front of `/mcp`, `/sse` and `/messages`.
//!
//! Tokens are never logged and never part of an error: [`TokenError`] says what was wrong
//! with one without quoting it.

pub mod api_keys;
pub mod cache;
pub mod challenge;
pub mod introspect;
pub mod jwks;
pub mod jwt;
pub mod metadata;
pub mod middleware;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::config::{HttpAuth, granted_scopes};
use crate::workbench::{AuthMethod, Principal};
use api_keys::ApiKeys;
use cache::Accepted;
use challenge::{Challenge, Refusal};
use introspect::Introspector;
use jwks::JwksCache;
use jwt::JwtValidator;

pub use middleware::require_auth;

/// How long a request to the authorization server (metadata, keys, introspection) may take.
pub const AUTH_SERVER_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the authenticator could not be built.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The HTTP client for the authorization server could not be built.
    #[error("cannot build the HTTP client for the authorization server")]
    Client(#[source] reqwest::Error),
}

/// What was wrong with a presented token (never the token itself).
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Not a JWT we can read, and no introspection to ask.
    #[error("not a valid token")]
    Malformed,
    /// A signature algorithm outside the allow-list (`none`, HMAC, ...).
    #[error("signature algorithm not allowed")]
    Algorithm,
    /// No key of the issuer has the token's `kid`.
    #[error("signed by an unknown key")]
    UnknownKey,
    /// The signature does not verify.
    #[error("bad signature")]
    Signature,
    /// `exp` has passed.
    #[error("expired")]
    Expired,
    /// `nbf` is still ahead.
    #[error("not yet valid")]
    NotYetValid,
    /// `iss` is another issuer.
    #[error("wrong issuer")]
    Issuer,
    /// `aud` does not name this server.
    #[error("wrong audience")]
    Audience,
    /// A claim every token needs is missing.
    #[error("missing claim `{0}`")]
    MissingClaim(String),
    /// Introspection says the token is not active.
    #[error("inactive (introspection)")]
    Inactive,
    /// The introspection endpoint could not be asked.
    #[error("introspection failed")]
    Introspection(#[source] reqwest::Error),
}

/// An authenticated HTTP caller, as the faces find it in a request's extensions.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// Who is calling.
    pub principal: Arc<Principal>,
    /// Identifies the caller for session binding: issuer and subject for a token, the key's
    /// name for an API key. A session opened by one owner is refused to every other.
    pub owner: Arc<str>,
}

/// The `[auth]` checks of the HTTP faces, built once.
pub struct Authenticator {
    api_keys: ApiKeys,
    jwt: Option<JwtValidator>,
    introspector: Option<Introspector>,
    issuer: Option<String>,
    scopes: Vec<String>,
    challenge: Challenge,
    metadata: Option<(String, Value)>,
    accepted: Accepted,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("issuer", &self.issuer)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// The checks `settings` describe; `name` is the server's name (in the metadata).
    pub fn new(settings: &HttpAuth, name: &str) -> Result<Arc<Self>, AuthError> {
        let http = reqwest::Client::builder()
            .timeout(AUTH_SERVER_TIMEOUT)
            .connect_timeout(AUTH_SERVER_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(AuthError::Client)?;
        let oauth = settings.oauth.as_ref();
        let jwt = oauth.map(|o| {
            let keys = JwksCache::new(http.clone(), &o.issuer, o.jwks_uri.clone());
            JwtValidator::new(keys, &o.issuer, &o.audience)
        });
        let introspector = oauth.and_then(|o| {
            let settings = o.introspection.clone()?;
            Some(Introspector::new(
                http.clone(),
                settings,
                &o.issuer,
                &o.audience,
            ))
        });
        let challenge = Challenge {
            resource_metadata: oauth.and_then(|o| metadata::metadata_url(&o.audience)),
            scope: settings.scopes.join(" "),
        };
        let metadata = oauth.map(|o| {
            let document = metadata::document(&o.audience, &o.issuer, &settings.scopes, name);
            (o.audience.clone(), document)
        });
        Ok(Arc::new(Self {
            api_keys: ApiKeys::new(settings.api_keys.clone()),
            jwt,
            introspector,
            issuer: oauth.map(|o| o.issuer.clone()),
            scopes: settings.scopes.clone(),
            challenge,
            metadata,
            accepted: Accepted::default(),
        }))
    }

    /// The challenge every refusal carries.
    pub fn challenge(&self) -> &Challenge {
        &self.challenge
    }

    /// The protected resource metadata routes (none with API keys only).
    pub fn metadata_routes(&self) -> Option<axum::Router> {
        let (audience, document) = self.metadata.as_ref()?;
        Some(metadata::routes(audience, document.clone()))
    }

    /// Who presents `bearer` (an `Authorization: Bearer` token, or an `X-API-Key`; `api_key_only`
    /// for the latter).
    pub async fn authenticate(
        &self,
        bearer: &str,
        api_key_only: bool,
    ) -> Result<Authenticated, (Refusal, Option<TokenError>)> {
        let invalid = |error| (Refusal::InvalidToken, Some(error));
        let hash: [u8; 32] = Sha256::digest(bearer.as_bytes()).into();
        if let Some(key) = self.api_keys.find_hash(&hash) {
            let principal =
                Principal::new(AuthMethod::ApiKey(key.name.clone()), key.claims.clone());
            return self.admit(principal, format!("api-key\n{}", key.name));
        }
        if api_key_only {
            return Err(invalid(TokenError::Malformed));
        }
        if let Some(caller) = self.accepted.get(&hash) {
            return Ok(caller);
        }
        let claims = match (&self.jwt, &self.introspector) {
            (Some(jwt), _) if JwtValidator::looks_like_jwt(bearer) => jwt.validate(bearer).await,
            (_, Some(introspector)) => introspector.validate(bearer).await,
            _ => Err(TokenError::Malformed),
        }
        .map_err(invalid)?;
        let principal = Principal::new(AuthMethod::Bearer, claims).with_token(bearer);
        let who = match principal.subject.as_str() {
            "" => principal.client_id.clone().map(|c| format!("client {c}")),
            subject => Some(subject.to_string()),
        };
        let Some(who) = who else {
            return Err(invalid(TokenError::MissingClaim("sub".into())));
        };
        let issuer = self.issuer.as_deref().unwrap_or_default();
        let caller = self.admit(principal, format!("bearer\n{issuer}\n{who}"))?;
        self.accepted.insert(hash, caller.clone());
        Ok(caller)
    }

    /// `principal` if it has every required scope.
    fn admit(
        &self,
        principal: Principal,
        owner: String,
    ) -> Result<Authenticated, (Refusal, Option<TokenError>)> {
        if !has_scopes(&principal.claims, &self.scopes) {
            return Err((Refusal::InsufficientScope, None));
        }
        Ok(Authenticated {
            principal: Arc::new(principal),
            owner: Arc::from(owner),
        })
    }
}

/// Whether `claims` grant every scope of `required`.
fn has_scopes(claims: &Map<String, Value>, required: &[String]) -> bool {
    if required.is_empty() {
        return true;
    }
    let granted = granted_scopes(claims);
    required.iter().all(|s| granted.contains(&s.as_str()))
}

/// An error and its sources on one line ("a: b: c"), for logs.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}
