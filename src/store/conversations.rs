//! Conversation documents: created with a lease held, leased by one call at a time (a second
//! call is refused, never interleaved), saved and released by the lease holder, listed, expired.

use std::time::Duration;

use serde_json::Value;
use sqlx::Row;

use super::engine::on_pool;
use super::{Store, StoreError, ms, now_ms};

/// A conversation as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversation {
    /// Its id.
    pub id: String,
    /// The tool it belongs to.
    pub tool: String,
    /// Its owner (the caller's subject; empty: nobody in particular).
    pub owner: String,
    /// The saved document (`null` before the first save).
    pub state: Value,
    /// Calls saved so far.
    pub turns: i64,
    /// Messages saved so far (over all turns).
    pub messages: i64,
    /// Milliseconds since 1970.
    pub created_at: i64,
    /// Milliseconds since 1970 of the last save.
    pub updated_at: i64,
}

/// What `list_conversations` shows of a conversation (no document).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConversationSummary {
    /// Its id.
    pub id: String,
    /// The tool it belongs to.
    pub tool: String,
    /// Its owner (empty: nobody in particular).
    pub owner: String,
    /// Calls saved so far.
    pub turns: i64,
    /// Messages saved so far.
    pub messages: i64,
    /// Milliseconds since 1970.
    pub created_at: i64,
    /// Milliseconds since 1970.
    pub updated_at: i64,
    /// Milliseconds since 1970.
    pub expires_at: i64,
    /// Whether a call holds it now.
    pub busy: bool,
}

/// Proof that a call holds a conversation: only its holder saves or releases it.
#[derive(Debug)]
pub struct Lease {
    id: String,
    token: String,
}

impl Lease {
    /// The conversation's id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// What one call adds to a conversation.
#[derive(Debug)]
pub struct Saved<'a> {
    /// The new document.
    pub state: &'a Value,
    /// Messages this call added.
    pub messages: i64,
    /// The conversation is kept this long after this save.
    pub ttl: Duration,
}

fn token() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Store {
    /// Creates conversation `id` of `tool` for `owner`, held by the returned lease for at most
    /// `lease_for` (the call's run), kept `ttl`. Expired conversations are removed first (at
    /// most once a minute).
    pub async fn create_conversation(
        &self,
        id: &str,
        tool: &str,
        owner: &str,
        ttl: Duration,
        lease_for: Duration,
    ) -> Result<Lease, StoreError> {
        let now = now_ms();
        if self.purge_due(now) {
            self.purge_expired(now).await?;
        }
        let lease = Lease {
            id: id.to_string(),
            token: token(),
        };
        let sql = "INSERT INTO conversations (id, tool, owner, state, turns, messages, created_at, \
                   updated_at, expires_at, lease, lease_until) \
                   VALUES ($1, $2, $3, 'null', 0, 0, $4, $4, $5, $6, $7)";
        on_pool!(&self.pool, p => sqlx::query(sql)
            .bind(id)
            .bind(tool)
            .bind(owner)
            .bind(now)
            .bind(now.saturating_add(ms(ttl)))
            .bind(&lease.token)
            .bind(now.saturating_add(ms(lease_for)))
            .execute(p)
            .await
            .map(drop)?);
        Ok(lease)
    }

    /// Takes conversation `id` of `tool` for `owner` for at most `lease_for`. Errors:
    /// [`StoreError::UnknownConversation`] when there is none for this owner and tool (or it
    /// expired), [`StoreError::Busy`] when another call holds it.
    pub async fn lease_conversation(
        &self,
        id: &str,
        tool: &str,
        owner: &str,
        lease_for: Duration,
    ) -> Result<(Conversation, Lease), StoreError> {
        let now = now_ms();
        let lease = Lease {
            id: id.to_string(),
            token: token(),
        };
        let sql = "UPDATE conversations SET lease = $1, lease_until = $2 \
                   WHERE id = $3 AND tool = $4 AND owner = $5 AND expires_at > $6 \
                   AND (lease IS NULL OR lease_until <= $6) \
                   RETURNING state, turns, messages, created_at, updated_at";
        let row = on_pool!(&self.pool, p => {
            let row = sqlx::query(sql)
                .bind(&lease.token)
                .bind(now.saturating_add(ms(lease_for)))
                .bind(id)
                .bind(tool)
                .bind(owner)
                .bind(now)
                .fetch_optional(p)
                .await?;
            match row {
                Some(r) => Some((
                    r.try_get::<String, _>("state")?,
                    r.try_get::<i64, _>("turns")?,
                    r.try_get::<i64, _>("messages")?,
                    r.try_get::<i64, _>("created_at")?,
                    r.try_get::<i64, _>("updated_at")?,
                )),
                None => None,
            }
        });
        let Some((state, turns, messages, created_at, updated_at)) = row else {
            return Err(self.why_not_leased(id, tool, owner, now).await?);
        };
        let state = serde_json::from_str(&state).map_err(|source| StoreError::Document {
            id: id.to_string(),
            source,
        })?;
        let conversation = Conversation {
            id: id.to_string(),
            tool: tool.to_string(),
            owner: owner.to_string(),
            state,
            turns,
            messages,
            created_at,
            updated_at,
        };
        Ok((conversation, lease))
    }

    /// Busy when the conversation exists for this owner and tool but is held; else unknown.
    async fn why_not_leased(
        &self,
        id: &str,
        tool: &str,
        owner: &str,
        now: i64,
    ) -> Result<StoreError, StoreError> {
        let sql = "SELECT id FROM conversations \
                   WHERE id = $1 AND tool = $2 AND owner = $3 AND expires_at > $4";
        let found = on_pool!(&self.pool, p => sqlx::query(sql)
            .bind(id)
            .bind(tool)
            .bind(owner)
            .bind(now)
            .fetch_optional(p)
            .await?
            .is_some());
        let id = id.to_string();
        Ok(if found {
            StoreError::Busy { id }
        } else {
            StoreError::UnknownConversation { id }
        })
    }

    /// Saves the call's document and releases the lease; [`StoreError::LeaseLost`] when the
    /// lease is no longer this call's (nothing is written then).
    pub async fn save_conversation(
        &self,
        lease: Lease,
        saved: Saved<'_>,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let state = serde_json::to_string(saved.state).map_err(|source| StoreError::Document {
            id: lease.id.clone(),
            source,
        })?;
        let sql = "UPDATE conversations SET state = $1, turns = turns + 1, \
                   messages = messages + $2, updated_at = $3, expires_at = $4, lease = NULL, \
                   lease_until = 0 WHERE id = $5 AND lease = $6";
        let updated = on_pool!(&self.pool, p => sqlx::query(sql)
            .bind(state)
            .bind(saved.messages)
            .bind(now)
            .bind(now.saturating_add(ms(saved.ttl)))
            .bind(&lease.id)
            .bind(&lease.token)
            .execute(p)
            .await?
            .rows_affected());
        if updated == 0 {
            return Err(StoreError::LeaseLost { id: lease.id });
        }
        Ok(())
    }

    /// Releases the lease without saving: the conversation stays as it was before the call,
    /// and one that was never saved (its first call failed) is removed.
    pub async fn release_conversation(&self, lease: Lease) -> Result<(), StoreError> {
        let sql = "DELETE FROM conversations WHERE id = $1 AND lease = $2 AND turns = 0";
        let gone = on_pool!(&self.pool, p => sqlx::query(sql)
            .bind(&lease.id)
            .bind(&lease.token)
            .execute(p)
            .await?
            .rows_affected());
        if gone > 0 {
            return Ok(());
        }
        let sql = "UPDATE conversations SET lease = NULL, lease_until = 0 \
                   WHERE id = $1 AND lease = $2";
        on_pool!(&self.pool, p => sqlx::query(sql)
            .bind(&lease.id)
            .bind(&lease.token)
            .execute(p)
            .await
            .map(drop)?);
        Ok(())
    }

    /// The conversations not expired, newest first; only `owner`'s when given.
    pub async fn list_conversations(
        &self,
        owner: Option<&str>,
    ) -> Result<Vec<ConversationSummary>, StoreError> {
        let now = now_ms();
        let sql = "SELECT id, tool, owner, turns, messages, created_at, updated_at, expires_at, \
                   lease, lease_until FROM conversations \
                   WHERE expires_at > $1 AND ($2 OR owner = $3) \
                   ORDER BY updated_at DESC, id";
        let list = on_pool!(&self.pool, p => {
            let rows = sqlx::query(sql)
                .bind(now)
                .bind(owner.is_none())
                .bind(owner.unwrap_or_default())
                .fetch_all(p)
                .await?;
            let mut list = Vec::with_capacity(rows.len());
            for r in rows {
                let lease: Option<String> = r.try_get("lease")?;
                let lease_until: i64 = r.try_get("lease_until")?;
                list.push(ConversationSummary {
                    id: r.try_get("id")?,
                    tool: r.try_get("tool")?,
                    owner: r.try_get("owner")?,
                    turns: r.try_get("turns")?,
                    messages: r.try_get("messages")?,
                    created_at: r.try_get("created_at")?,
                    updated_at: r.try_get("updated_at")?,
                    expires_at: r.try_get("expires_at")?,
                    busy: lease.is_some() && lease_until > now,
                });
            }
            list
        });
        Ok(list)
    }

    /// Removes the conversations that expired before `now`; how many.
    pub async fn purge_expired(&self, now: i64) -> Result<u64, StoreError> {
        let sql = "DELETE FROM conversations WHERE expires_at <= $1";
        let gone = on_pool!(&self.pool, p => sqlx::query(sql)
            .bind(now)
            .execute(p)
            .await?
            .rows_affected());
        Ok(gone)
    }
}
