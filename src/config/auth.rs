//! `[auth]`: who may call the HTTP faces (an OAuth issuer and this server's audience, API keys
//! read from the environment and kept only as hashes) and the claims of the stdio caller; the
//! raw table serde reads and the checks that turn it into [`AuthSettings`].

use std::fmt;
use std::ops::Range;

use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use toml::Spanned;
use url::Url;

use super::raw::Array;
use super::validate::Checker;
use super::{ConfigError, interpolate};

/// The `sub` of the stdio caller when `[auth.stdio]` names none.
pub const DEFAULT_STDIO_SUBJECT: &str = "local";

/// The `[auth]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthSettings {
    /// How HTTP callers authenticate; `None`: they do not (`serve` then listens on loopback
    /// only, unless `--no-auth`).
    pub http: Option<HttpAuth>,
    /// The claims of the stdio caller (`[auth.stdio]`; `sub` defaults to `"local"`).
    pub stdio: Map<String, Value>,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            http: None,
            stdio: stdio_claims(Map::new()),
        }
    }
}

/// How HTTP callers authenticate: OAuth access tokens, API keys, or both.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpAuth {
    /// Access tokens (JWTs, or opaque ones by introspection) from this issuer.
    pub oauth: Option<OAuthSettings>,
    /// Scopes every caller needs (`scopes`; advertised as `scopes_supported`).
    pub scopes: Vec<String>,
    /// `[[auth.api_keys]]`.
    pub api_keys: Vec<ApiKey>,
}

/// The OAuth 2.1 authorization server whose tokens are accepted, and this resource server.
#[derive(Debug, Clone, PartialEq)]
pub struct OAuthSettings {
    /// `issuer`: the `iss` every token must carry, exactly as written.
    pub issuer: String,
    /// `audience`: this server's resource identifier (RFC 8707), as written (a URL); tokens
    /// must name it in `aud`.
    pub audience: String,
    /// `jwks_uri`: where the signing keys are; `None`: from the issuer's metadata.
    pub jwks_uri: Option<Url>,
    /// `introspection_endpoint` and its client: opaque tokens are checked there (RFC 7662).
    pub introspection: Option<Introspection>,
}

/// RFC 7662 token introspection.
#[derive(Debug, Clone, PartialEq)]
pub struct Introspection {
    /// `introspection_endpoint`.
    pub endpoint: Url,
    /// `introspection_client_id` and the secret named by `introspection_client_secret_env`:
    /// sent as HTTP Basic (`client_secret_basic`); `None`: no client authentication.
    pub client: Option<(String, SecretString)>,
}

/// One `[[auth.api_keys]]` entry. The key itself is kept only as its SHA-256.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiKey {
    /// `name`: how logs and sessions name the caller.
    pub name: String,
    /// SHA-256 of the key read from the environment variable `key_env`.
    pub key_sha256: [u8; 32],
    /// `claims` (with `sub` defaulting to the name).
    pub claims: Map<String, Value>,
}

/// A secret read from the environment; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    /// The secret itself (to send it where it belongs, never to log it).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// `[auth]` as serde reads it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(super) struct RawAuth {
    pub issuer: Option<Spanned<String>>,
    pub audience: Option<Spanned<String>>,
    pub jwks_uri: Option<Spanned<String>>,
    pub scopes: Option<Array<String>>,
    pub introspection_endpoint: Option<Spanned<String>>,
    pub introspection_client_id: Option<Spanned<String>>,
    pub introspection_client_secret_env: Option<Spanned<String>>,
    pub api_keys: Option<Spanned<Array<Spanned<RawApiKey>>>>,
    pub stdio: Option<toml::Table>,
}

/// One `[[auth.api_keys]]` as serde reads it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(super) struct RawApiKey {
    pub name: Spanned<String>,
    pub key_env: Spanned<String>,
    pub claims: Option<toml::Table>,
}

/// The stdio caller's claims, with `sub` defaulting to [`DEFAULT_STDIO_SUBJECT`].
fn stdio_claims(mut claims: Map<String, Value>) -> Map<String, Value> {
    claims
        .entry("sub")
        .or_insert_with(|| DEFAULT_STDIO_SUBJECT.into());
    claims
}

/// A TOML table as JSON claims.
fn claims_of(table: toml::Table) -> Map<String, Value> {
    match serde_json::to_value(table) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// The scopes a claims object grants (`scope`, space-separated, or an `scp` array).
pub fn granted_scopes(claims: &Map<String, Value>) -> Vec<&str> {
    let mut scopes: Vec<&str> = claims
        .get("scope")
        .and_then(Value::as_str)
        .map(|s| s.split_whitespace().collect())
        .unwrap_or_default();
    if let Some(Value::Array(scp)) = claims.get("scp") {
        scopes.extend(scp.iter().filter_map(Value::as_str));
    }
    scopes
}

impl Checker<'_> {
    fn auth_err(&self, key: &str, span: Range<usize>, message: impl Into<String>) -> ConfigError {
        ConfigError::Section {
            path: self.path.to_path_buf(),
            at: self.at(span),
            section: "auth".into(),
            key: key.into(),
            message: message.into(),
        }
    }

    /// The value of a string key of `[auth]` after `${VAR}` interpolation.
    fn auth_text(&self, key: &str, value: &Spanned<String>) -> Result<String, ConfigError> {
        interpolate(value.get_ref(), self.env).map_err(|missing| {
            let message = format!("environment variable `{}` is not set", missing.0);
            self.auth_err(key, value.span(), message)
        })
    }

    fn auth_url(&self, key: &str, value: &Spanned<String>) -> Result<Url, ConfigError> {
        let text = self.auth_text(key, value)?;
        let url = Url::parse(&text).map_err(|e| {
            self.auth_err(
                key,
                value.span(),
                format!("`{text}` is not a valid URL: {e}"),
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            let message = format!("`{text}` must be http or https");
            return Err(self.auth_err(key, value.span(), message));
        }
        Ok(url)
    }

    /// A secret from the environment variable named at `name`.
    fn secret_env(&self, key: &str, name: &Spanned<String>) -> Result<String, ConfigError> {
        let var = name.get_ref();
        match (self.env)(var) {
            Some(value) if !value.is_empty() => Ok(value),
            Some(_) => Err(self.auth_err(key, name.span(), format!("`{var}` is set but empty"))),
            None => Err(self.auth_err(
                key,
                name.span(),
                format!("environment variable `{var}` is not set (it holds the secret)"),
            )),
        }
    }

    /// The typed `[auth]` table (defaults when the file has none).
    pub(super) fn auth(&self, raw: Option<Spanned<RawAuth>>) -> Result<AuthSettings, ConfigError> {
        let Some(raw) = raw else {
            return Ok(AuthSettings::default());
        };
        let span = raw.span();
        let mut raw = raw.into_inner();
        let stdio = stdio_claims(raw.stdio.take().map(claims_of).unwrap_or_default());
        let scopes = raw.scopes.take().map(|s| s.0).unwrap_or_default();
        let oauth = self.oauth(&mut raw)?;
        let api_keys = self.api_keys(raw.api_keys.take(), &scopes)?;
        let http = match (oauth, api_keys.is_empty()) {
            (None, true) => {
                if let Some(audience) = &raw.audience {
                    let message = "`audience` needs `issuer` (the authorization server)";
                    return Err(self.auth_err("audience", audience.span(), message));
                }
                if !scopes.is_empty() {
                    let message = "`scopes` needs `issuer` or `[[auth.api_keys]]`";
                    return Err(self.auth_err("scopes", span, message));
                }
                None
            }
            (oauth, _) => Some(HttpAuth {
                oauth,
                scopes,
                api_keys,
            }),
        };
        Ok(AuthSettings { http, stdio })
    }

    fn oauth(&self, raw: &mut RawAuth) -> Result<Option<OAuthSettings>, ConfigError> {
        let Some(issuer) = raw.issuer.take() else {
            let needs_issuer = [
                ("jwks_uri", raw.jwks_uri.as_ref()),
                (
                    "introspection_endpoint",
                    raw.introspection_endpoint.as_ref(),
                ),
            ];
            if let Some((key, Some(value))) = needs_issuer.into_iter().find(|(_, v)| v.is_some()) {
                let message = "needs `issuer` (the authorization server)";
                return Err(self.auth_err(key, value.span(), message));
            }
            return Ok(None);
        };
        // Checked as a URL, compared as written (a trailing slash matters for `iss`).
        self.auth_url("issuer", &issuer)?;
        let Some(audience) = raw.audience.take() else {
            let message = "`issuer` needs `audience`: this server's resource identifier, \
                           e.g. \"https://mcp.example.com/mcp\"";
            return Err(self.auth_err("issuer", issuer.span(), message));
        };
        self.auth_url("audience", &audience)?;
        let audience = self.auth_text("audience", &audience)?;
        let jwks_uri = match &raw.jwks_uri {
            Some(uri) => Some(self.auth_url("jwks_uri", uri)?),
            None => None,
        };
        Ok(Some(OAuthSettings {
            issuer: self.auth_text("issuer", &issuer)?,
            audience,
            jwks_uri,
            introspection: self.introspection(raw)?,
        }))
    }

    fn introspection(&self, raw: &mut RawAuth) -> Result<Option<Introspection>, ConfigError> {
        let client_keys = (
            raw.introspection_client_id.take(),
            raw.introspection_client_secret_env.take(),
        );
        let Some(endpoint) = &raw.introspection_endpoint else {
            if let Some(key) = client_keys.0.as_ref().or(client_keys.1.as_ref()) {
                let message = "needs `introspection_endpoint`";
                return Err(self.auth_err("introspection_client_id", key.span(), message));
            }
            return Ok(None);
        };
        let endpoint = self.auth_url("introspection_endpoint", endpoint)?;
        let client = match client_keys {
            (None, None) => None,
            (Some(id), Some(secret_env)) => Some((
                self.auth_text("introspection_client_id", &id)?,
                SecretString(self.secret_env("introspection_client_secret_env", &secret_env)?),
            )),
            (Some(id), None) => {
                let message = "needs `introspection_client_secret_env` too";
                return Err(self.auth_err("introspection_client_id", id.span(), message));
            }
            (None, Some(secret_env)) => {
                let message = "needs `introspection_client_id` too";
                let span = secret_env.span();
                return Err(self.auth_err("introspection_client_secret_env", span, message));
            }
        };
        Ok(Some(Introspection { endpoint, client }))
    }

    fn api_keys(
        &self,
        raw: Option<Spanned<Array<Spanned<RawApiKey>>>>,
        scopes: &[String],
    ) -> Result<Vec<ApiKey>, ConfigError> {
        let mut keys: Vec<ApiKey> = Vec::new();
        for (i, entry) in raw
            .map(|r| r.into_inner().0)
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            let span = entry.span();
            let entry = entry.into_inner();
            let at = |key: &str| format!("api_keys[{i}].{key}");
            let name = entry.name.get_ref().trim().to_string();
            if name.is_empty() {
                return Err(self.auth_err(&at("name"), entry.name.span(), "must not be empty"));
            }
            if keys.iter().any(|k| k.name == name) {
                let message = format!("another API key is called `{name}`");
                return Err(self.auth_err(&at("name"), entry.name.span(), message));
            }
            let key = self.secret_env(&at("key_env"), &entry.key_env)?;
            let key_sha256: [u8; 32] = Sha256::digest(key.as_bytes()).into();
            if let Some(same) = keys.iter().find(|k| k.key_sha256 == key_sha256) {
                let message = format!("holds the same key as `{}`", same.name);
                return Err(self.auth_err(&at("key_env"), entry.key_env.span(), message));
            }
            let mut claims = entry.claims.map(claims_of).unwrap_or_default();
            claims.entry("sub").or_insert_with(|| name.clone().into());
            let granted = granted_scopes(&claims);
            let missing: Vec<&str> = scopes
                .iter()
                .map(String::as_str)
                .filter(|s| !granted.contains(s))
                .collect();
            if !missing.is_empty() {
                let message = format!(
                    "its claims lack the scope(s) `{}` that [auth] scopes requires, so every \
                     request with it would be refused: add claims = {{ scope = \"{}\" }}",
                    missing.join(" "),
                    scopes.join(" "),
                );
                return Err(self.auth_err(&format!("api_keys[{i}]"), span, message));
            }
            keys.push(ApiKey {
                name,
                key_sha256,
                claims,
            });
        }
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::Config;

    fn env(name: &str) -> Option<String> {
        match name {
            "CI_BOT_KEY" => Some("ci-bot-secret-key".into()),
            "OTHER_KEY" => Some("ci-bot-secret-key".into()),
            "EMPTY" => Some(String::new()),
            "INTROSPECT_SECRET" => Some("s3cret".into()),
            _ => None,
        }
    }

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/etc/toolyard/servers.toml"), &env)
    }

    const FULL: &str = r#"
[auth]
issuer = "https://idp.example.com"
audience = "https://mcp.example.com/mcp"
jwks_uri = "https://idp.example.com/jwks"
scopes = ["mcp:tools"]
introspection_endpoint = "https://idp.example.com/introspect"
introspection_client_id = "toolyard"
introspection_client_secret_env = "INTROSPECT_SECRET"

[[auth.api_keys]]
name = "ci-bot"
key_env = "CI_BOT_KEY"
claims = { sub = "ci-bot", scope = "mcp:tools" }

[auth.stdio]
sub = "dev"
"#;

    #[test]
    fn the_documented_table_parses_and_keeps_only_hashes() {
        let config = parse(FULL).expect("config");
        let http = config.auth.http.as_ref().expect("http auth");
        let oauth = http.oauth.as_ref().expect("oauth");
        assert_eq!(oauth.issuer, "https://idp.example.com");
        assert_eq!(oauth.audience, "https://mcp.example.com/mcp");
        assert_eq!(http.scopes, ["mcp:tools"]);
        let introspection = oauth.introspection.as_ref().expect("introspection");
        let (id, secret) = introspection.client.as_ref().expect("client");
        assert_eq!((id.as_str(), secret.expose()), ("toolyard", "s3cret"));
        assert_eq!(http.api_keys[0].name, "ci-bot");
        assert_eq!(
            http.api_keys[0].key_sha256,
            <[u8; 32]>::from(Sha256::digest(b"ci-bot-secret-key"))
        );
        assert_eq!(config.auth.stdio["sub"], "dev");
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret") && !shown.contains("ci-bot-secret-key"));
    }

    #[test]
    fn no_table_means_no_http_auth_and_a_local_stdio_caller() {
        let config = parse("").expect("config");
        assert!(config.auth.http.is_none());
        assert_eq!(config.auth.stdio["sub"], DEFAULT_STDIO_SUBJECT);
        let config = parse("[auth.stdio]\nrole = \"admin\"\n").expect("config");
        assert!(config.auth.http.is_none());
        assert_eq!(config.auth.stdio["sub"], "local");
        assert_eq!(config.auth.stdio["role"], "admin");
    }

    fn error(text: &str) -> String {
        parse(text).expect_err("should fail").to_string()
    }

    #[test]
    fn mistakes_are_named_with_their_place() {
        let e = error("[auth]\nissuer = \"https://idp.example.com\"\n");
        assert!(
            e.contains(":2:10: [auth] key `issuer`") && e.contains("audience"),
            "{e}"
        );
        let e = error("[[auth.api_keys]]\nname = \"ci\"\nkey_env = \"MISSING_KEY\"\n");
        assert!(
            e.contains(":3:11: [auth] key `api_keys[0].key_env`") && e.contains("MISSING_KEY"),
            "{e}"
        );
        let e = error("[[auth.api_keys]]\nname = \"ci\"\nkey_env = \"EMPTY\"\n");
        assert!(e.contains("empty"), "{e}");
        let e = error(
            "[[auth.api_keys]]\nname = \"a\"\nkey_env = \"CI_BOT_KEY\"\n\
             [[auth.api_keys]]\nname = \"b\"\nkey_env = \"OTHER_KEY\"\n",
        );
        assert!(e.contains("same key as `a`"), "{e}");
        let e = error(
            "[auth]\nscopes = [\"mcp:tools\"]\n\
             [[auth.api_keys]]\nname = \"a\"\nkey_env = \"CI_BOT_KEY\"\n",
        );
        assert!(e.contains("lack the scope(s) `mcp:tools`"), "{e}");
        let e = error("[auth]\nissuer = \"https://i\"\naudience = \"x\"\n");
        assert!(
            e.contains("key `audience`") && e.contains("not a valid URL"),
            "{e}"
        );
        let e = error("[auth]\njwks_uri = \"https://i/jwks\"\n");
        assert!(
            e.contains("key `jwks_uri`") && e.contains("needs `issuer`"),
            "{e}"
        );
        let e = error("[auth]\nisuer = \"https://i\"\n");
        assert!(e.contains("[auth] key `isuer`: unknown key"), "{e}");
        assert!(e.contains("did you mean `issuer`"), "{e}");
        let e = error("[[auth.api_keys]]\nname = \"a\"\nkey = \"literal\"\n");
        assert!(e.contains("unknown key"), "{e}");
    }

    #[test]
    fn scopes_come_from_scope_or_scp() {
        let mut claims = Map::new();
        claims.insert("scope".into(), "a b".into());
        claims.insert("scp".into(), serde_json::json!(["c"]));
        assert_eq!(granted_scopes(&claims), ["a", "b", "c"]);
    }
}
