//! Tokens for an HTTP upstream's requests (`[servers.NAME.auth]`): OAuth client credentials
//! for toolyard itself, and RFC 8693 token exchange for a caller — fetched from the token
//! endpoint, cached until shortly before they expire, never logged.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::config::{UpstreamAuth, UpstreamGrant};
use crate::workbench::Principal;

/// A token is renewed this long before it expires.
const RENEW_BEFORE: Duration = Duration::from_secs(30);
/// Lifetime assumed when the token endpoint does not say (`expires_in` absent).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);
/// A token request that takes longer fails.
const TOKEN_TIMEOUT: Duration = Duration::from_secs(15);
/// Exchanged tokens kept at most (one per caller token); expired ones are dropped first.
const MAX_EXCHANGED: usize = 1024;

const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// Why no token could be had for an upstream request.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// The token endpoint could not be reached or did not answer in time.
    #[error("token request to {url} failed: {source}")]
    Request {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// The token endpoint refused (its `error` and `error_description`, no token material).
    #[error("token endpoint refused ({status}): {error}")]
    Refused { status: u16, error: String },
    /// The server acts for its caller (token exchange) and the caller presented no token.
    #[error(
        "this server acts for its caller (token exchange), and the caller did not sign in with a token"
    )]
    NoCallerToken,
}

#[derive(Clone)]
struct Cached {
    token: Arc<str>,
    renew_at: Instant,
}

impl Cached {
    fn fresh(&self) -> Option<Arc<str>> {
        (Instant::now() < self.renew_at).then(|| Arc::clone(&self.token))
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct ErrorResponse {
    error: Option<String>,
    error_description: Option<String>,
}

/// One upstream session's token source.
pub struct Credentials {
    auth: UpstreamAuth,
    http: reqwest::Client,
    own: tokio::sync::Mutex<Option<Cached>>,
    /// Exchanged tokens by the hash of the caller's token; one exchange at a time per caller
    /// token (concurrent calls of one caller wait for the same exchange).
    exchanged: Mutex<HashMap<[u8; 32], Slot>>,
    /// With token exchange: the caller this (per-caller) session acts for; every request of the
    /// session, its `initialize` included, carries that caller's exchanged token.
    acting_for: std::sync::RwLock<Acting>,
}

/// Whom a session's requests are made for.
#[derive(Clone)]
enum Acting {
    /// Toolyard itself (a shared session: start-up, lists).
    Toolyard,
    /// One caller (a per-caller session), if it signed in.
    Caller(Option<Arc<Principal>>),
}

type Slot = Arc<tokio::sync::Mutex<Option<Cached>>>;

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("grant", &self.auth.grant)
            .field("client_id", &self.auth.client_id)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// A token source for `auth` (no request is made until a token is needed).
    pub fn new(auth: UpstreamAuth) -> Self {
        Self {
            auth,
            http: super::transport::tls_client(),
            own: tokio::sync::Mutex::new(None),
            exchanged: Mutex::new(HashMap::new()),
            acting_for: std::sync::RwLock::new(Acting::Toolyard),
        }
    }

    /// Make this the session of one caller: with token exchange, its requests carry that
    /// caller's exchanged token from now on (the newest token it presented: a client renews its
    /// token, the caller stays the same).
    pub fn act_for(&self, principal: Option<Arc<Principal>>) {
        if let Ok(mut slot) = self.acting_for.write() {
            *slot = Acting::Caller(principal);
        }
    }

    /// The token for any request of this session: the exchanged token of the caller it acts
    /// for (token exchange), else toolyard's own.
    pub async fn session_token(&self) -> Result<Arc<str>, CredentialError> {
        if !self.acts_for_caller() {
            return self.own_token().await;
        }
        let acting = match self.acting_for.read() {
            Ok(acting) => acting.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        match acting {
            Acting::Toolyard => self.own_token().await,
            Acting::Caller(principal) => self.token_for(principal.as_deref()).await,
        }
    }

    /// Whether requests made for a caller carry a token of their own (token exchange).
    pub fn acts_for_caller(&self) -> bool {
        self.auth.grant == UpstreamGrant::TokenExchange
    }

    /// The token for a request toolyard makes for itself (start-up, lists, notifications):
    /// client credentials, fetched once and renewed before it expires (one request at a time).
    pub async fn own_token(&self) -> Result<Arc<str>, CredentialError> {
        let mut slot = self.own.lock().await;
        if let Some(token) = slot.as_ref().and_then(Cached::fresh) {
            return Ok(token);
        }
        let mut form = vec![("grant_type", "client_credentials".to_string())];
        self.common_fields(&mut form);
        let cached = self.request(&form).await?;
        let token = Arc::clone(&cached.token);
        *slot = Some(cached);
        Ok(token)
    }

    /// The token for a request made for `principal`: with token exchange, one exchanged for
    /// the caller's own (cached per caller token); otherwise the client credentials token.
    /// The caller's own token is only ever sent to the token endpoint.
    pub async fn token_for(
        &self,
        principal: Option<&Principal>,
    ) -> Result<Arc<str>, CredentialError> {
        if self.auth.grant != UpstreamGrant::TokenExchange {
            return self.own_token().await;
        }
        let subject = principal
            .and_then(Principal::token)
            .ok_or(CredentialError::NoCallerToken)?;
        let key: [u8; 32] = Sha256::digest(subject.as_bytes()).into();
        let slot = self.slot(key);
        let mut cached = slot.lock().await;
        if let Some(token) = cached.as_ref().and_then(Cached::fresh) {
            return Ok(token);
        }
        let mut form = vec![
            ("grant_type", TOKEN_EXCHANGE.to_string()),
            ("subject_token", subject.to_string()),
            ("subject_token_type", ACCESS_TOKEN_TYPE.to_string()),
        ];
        self.common_fields(&mut form);
        let fetched = self.request(&form).await?;
        let token = Arc::clone(&fetched.token);
        *cached = Some(fetched);
        Ok(token)
    }

    /// The cache slot of one caller token; when the cache is full, slots not in use whose
    /// token expired (or never came) are dropped first.
    fn slot(&self, key: [u8; 32]) -> Slot {
        let mut map = match self.exchanged.lock() {
            Ok(map) => map,
            Err(poisoned) => poisoned.into_inner(),
        };
        if map.len() >= MAX_EXCHANGED && !map.contains_key(&key) {
            map.retain(|_, slot| {
                Arc::strong_count(slot) > 1
                    || slot
                        .try_lock()
                        .is_ok_and(|c| c.as_ref().and_then(Cached::fresh).is_some())
            });
            if map.len() >= MAX_EXCHANGED {
                map.retain(|_, slot| Arc::strong_count(slot) > 1);
            }
        }
        Arc::clone(map.entry(key).or_default())
    }

    fn common_fields(&self, form: &mut Vec<(&'static str, String)>) {
        form.push(("resource", self.auth.resource.clone()));
        if !self.auth.scopes.is_empty() {
            form.push(("scope", self.auth.scopes.join(" ")));
        }
        if self.auth.client_secret.is_none() {
            form.push(("client_id", self.auth.client_id.clone()));
        }
    }

    async fn request(&self, form: &[(&'static str, String)]) -> Result<Cached, CredentialError> {
        let url = self.auth.token_url.as_str();
        let failed = |source| CredentialError::Request {
            url: url.to_string(),
            source,
        };
        let mut request = self
            .http
            .post(url)
            .timeout(TOKEN_TIMEOUT)
            .header(http::header::ACCEPT, "application/json")
            .form(form);
        if let Some(secret) = &self.auth.client_secret {
            request = request.basic_auth(&self.auth.client_id, Some(secret.expose()));
        }
        let started = Instant::now();
        let response = request.send().await.map_err(failed)?;
        let status = response.status();
        let body = response.bytes().await.map_err(failed)?;
        if !status.is_success() {
            let refused: Option<ErrorResponse> = serde_json::from_slice(&body).ok();
            let error = match refused {
                Some(ErrorResponse {
                    error: Some(error),
                    error_description,
                }) => match error_description {
                    Some(d) => format!("{error}: {d}"),
                    None => error,
                },
                _ => "no OAuth error in the response".to_string(),
            };
            return Err(CredentialError::Refused {
                status: status.as_u16(),
                error,
            });
        }
        let answer: TokenResponse =
            serde_json::from_slice(&body).map_err(|_| CredentialError::Refused {
                status: status.as_u16(),
                error: "the response has no access_token".into(),
            })?;
        let lifetime = answer
            .expires_in
            .map_or(DEFAULT_LIFETIME, Duration::from_secs);
        Ok(Cached {
            token: Arc::from(answer.access_token),
            renew_at: started + lifetime.saturating_sub(RENEW_BEFORE.min(lifetime / 2)),
        })
    }
}
