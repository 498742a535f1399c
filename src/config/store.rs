//! `[store]`: where durable state lives (`url`: SQLite file, PostgreSQL, or memory) and how long
//! a conversation with a served team is kept (`conversation_ttl_secs`). `crate::store` opens it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::raw::Seconds;

/// Default `conversation_ttl_secs`: a conversation untouched for 7 days is forgotten.
pub const DEFAULT_CONVERSATION_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// The store `serve` uses when neither `[store] url`, `--store` nor `TOOLYARD_STORE` names one
/// (relative to the config file's folder).
pub const DEFAULT_STORE_URL: &str = "sqlite://.toolyard/state.db";

/// Where the store is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// `memory://`: nothing is kept once the process ends.
    Memory,
    /// `sqlite://PATH`: an embedded SQLite file (absolute path).
    Sqlite(PathBuf),
    /// `postgres://...` (or `postgresql://`): a PostgreSQL database, the URL as given.
    Postgres(String),
}

impl StoreUrl {
    /// Parses a store URL; a relative SQLite path resolves against `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Self, String> {
        let text = text.trim();
        if text == "memory://" || text == "memory:" {
            return Ok(Self::Memory);
        }
        if let Some(path) = text.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(
                    "a sqlite URL needs a file path, e.g. sqlite://.toolyard/state.db".into(),
                );
            }
            return Ok(Self::Sqlite(base.join(path)));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(Self::Postgres(text.to_string()));
        }
        Err(format!(
            "`{text}` is not a store URL: use sqlite://PATH, postgres://user@host/db or memory://"
        ))
    }

    /// The engine's name (`memory`, `sqlite`, `postgres`).
    pub fn engine(&self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }
}

impl fmt::Display for StoreUrl {
    /// The URL without its password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Memory => f.write_str("memory://"),
            Self::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            Self::Postgres(url) => match url::Url::parse(url) {
                Ok(mut u) if u.password().is_some() => {
                    let _ = u.set_password(Some("***"));
                    f.write_str(u.as_str())
                }
                _ => f.write_str(url),
            },
        }
    }
}

/// The `[store]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// `url`, when the file names one; `None`: the command's default (`serve`:
    /// [`DEFAULT_STORE_URL`] next to the config file; `call`: memory).
    pub url: Option<StoreUrl>,
    /// How long a conversation with a served team is kept after its last call.
    pub conversation_ttl: Duration,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            url: None,
            conversation_ttl: DEFAULT_CONVERSATION_TTL,
        }
    }
}

/// `[store]` as serde reads it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(super) struct RawStore {
    pub url: Option<Spanned<String>>,
    pub conversation_ttl_secs: Option<Seconds>,
}
