//! The store: durable JSON documents (conversations with served teams today) behind one
//! [`Store`] with two real engines, embedded SQLite (also `memory://`) and PostgreSQL; its
//! schema is migrated at open from migrations embedded in the binary, and a schema newer than
//! this binary is refused. It knows nothing about teams: callers store their state as JSON.

mod conversations;
mod engine;
mod error;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use conversations::{Conversation, ConversationSummary, Lease, Saved};
pub use engine::SCHEMA_VERSION;
pub use error::StoreError;

use crate::config::StoreUrl;
use engine::Pool;

/// The store: one pool on one engine (cheap to clone; clones share the pool).
#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
    url: String,
    /// When expired documents were last removed (milliseconds since 1970; shared by clones).
    purged: Arc<AtomicI64>,
}

/// Expired documents are removed at most this often (reads treat them as gone meanwhile).
const PURGE_EVERY_MS: i64 = 60_000;

impl Store {
    /// Opens (creating a SQLite file and its folder when missing), migrates and checks the
    /// schema version.
    pub async fn open(url: &StoreUrl) -> Result<Self, StoreError> {
        let shown = url.to_string();
        let pool = engine::connect(url, &shown).await?;
        let store = Self {
            pool,
            url: shown,
            purged: Arc::new(AtomicI64::new(0)),
        };
        engine::migrate(&store.pool, &store.url).await?;
        Ok(store)
    }

    /// The URL (password hidden).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The engine's name (`sqlite` or `postgres`; `memory://` is SQLite in memory).
    pub fn engine(&self) -> &'static str {
        self.pool.engine()
    }

    /// Whether expired documents are due for removal at `now` (then marks them removed).
    fn purge_due(&self, now: i64) -> bool {
        let last = self.purged.load(Ordering::Relaxed);
        now.saturating_sub(last) >= PURGE_EVERY_MS
            && self
                .purged
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }

    /// Closes the pool: waits for the connections in use to be returned, then closes them all.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Milliseconds since 1970 (what the store keeps as time).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// A duration in milliseconds, saturating.
fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
