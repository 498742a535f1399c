//! `[servers.NAME.auth]`: how toolyard gets a token for an HTTP upstream — OAuth client
//! credentials (toolyard's own identity) or RFC 8693 token exchange (the caller's identity,
//! never the caller's own token).

use std::fmt;

use serde::Deserialize;
use url::Url;

/// Which token an upstream request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpstreamGrant {
    /// One token for toolyard itself (`grant_type=client_credentials`), used for every request.
    #[default]
    ClientCredentials,
    /// Requests made for a caller carry a token exchanged for the caller's (its `sub`, audience
    /// = the upstream); requests toolyard makes for itself (start-up, lists) carry a client
    /// credentials token.
    TokenExchange,
}

/// The client secret, read from the environment variable `client_secret_env` names; never shown.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSecret(String);

impl ClientSecret {
    /// Wrap a secret.
    pub fn new(secret: String) -> Self {
        Self(secret)
    }

    /// The secret itself, for the token request.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A validated `[servers.NAME.auth]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamAuth {
    /// Which token requests carry.
    pub grant: UpstreamGrant,
    /// The OAuth client toolyard authenticates as at the token endpoint.
    pub client_id: String,
    /// Its secret (HTTP Basic at the token endpoint); `None`: a public client.
    pub client_secret: Option<ClientSecret>,
    /// The authorization server's token endpoint.
    pub token_url: Url,
    /// Scopes asked for (space-joined `scope`); empty: none asked.
    pub scopes: Vec<String>,
    /// The RFC 8707 resource indicator (the token's audience): `resource`, default the server's
    /// `url`.
    pub resource: String,
}

/// The raw table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(super) struct RawUpstreamAuth {
    pub grant: Option<UpstreamGrant>,
    pub client_id: toml::Spanned<String>,
    pub client_secret_env: Option<toml::Spanned<String>>,
    pub token_url: toml::Spanned<String>,
    pub scopes: Option<Vec<String>>,
    pub resource: Option<toml::Spanned<String>>,
}
