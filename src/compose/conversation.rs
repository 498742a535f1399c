//! Conversations with served teams and agents: a call with a `conversation_id` loads the team's
//! (or agent's) saved state from the store and runs the new task on it, as AutoGen does when a
//! team is run again; one call at a time per conversation; a conversation belongs to its
//! caller's subject and expires `conversation_ttl_secs` after its last call.

use std::time::Duration;

use serde_json::Value;

use super::prepare::Built;
use crate::store::{Lease, Saved, Store, StoreError};
use crate::workbench::CallContext;

/// The argument (and structured-result field) naming a conversation.
pub const CONVERSATION_ID: &str = "conversation_id";

/// How long one call may hold its conversation: a conversation whose call died without
/// answering (the process was killed) is free again after this long.
pub const LEASE: Duration = Duration::from_secs(3600);

/// Why a conversation could not be continued or saved.
#[derive(Debug, thiserror::Error)]
pub enum ConversationError {
    /// The store refused (unknown, busy, taken over) or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The saved state does not load into the team or agent (its file changed shape).
    #[error("cannot load the state of conversation `{id}`: {source}")]
    Load {
        id: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The team's or agent's state could not be taken after the run.
    #[error("cannot save the state of conversation `{id}`: {source}")]
    Save {
        id: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A conversation was named but no store keeps conversations.
    #[error("conversations are not kept here (no store): leave `conversation_id` out")]
    NoStore,
}

/// The store of a `WorkbenchSet`'s conversations and how long they are kept.
#[derive(Debug, Clone)]
pub struct Conversations {
    store: Store,
    ttl: Duration,
}

/// Who owns a call's conversations: the caller's subject, or nobody in particular (`""`).
pub fn owner_of(ctx: &CallContext) -> String {
    ctx.caller
        .principal
        .as_ref()
        .map(|p| p.subject.clone())
        .unwrap_or_default()
}

impl Conversations {
    /// Conversations in `store`, each kept `ttl` after its last call.
    pub fn new(store: Store, ttl: Duration) -> Self {
        Self { store, ttl }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Starts a new conversation of `tool` (no `id`) or continues `id`, loading its saved state
    /// into `built`; the lease is this call's hold on it.
    pub(crate) async fn begin(
        &self,
        tool: &str,
        owner: &str,
        id: Option<&str>,
        built: &Built,
    ) -> Result<Lease, ConversationError> {
        let Some(id) = id else {
            let id = uuid::Uuid::new_v4().to_string();
            let lease = self
                .store
                .create_conversation(&id, tool, owner, self.ttl, LEASE)
                .await?;
            return Ok(lease);
        };
        let (conversation, lease) = self
            .store
            .lease_conversation(id, tool, owner, LEASE)
            .await?;
        if conversation.state.is_null() {
            return Ok(lease);
        }
        if let Err(source) = load_state(built, &conversation.state).await {
            self.abandon(lease).await;
            return Err(ConversationError::Load {
                id: id.to_string(),
                source,
            });
        }
        Ok(lease)
    }

    /// Saves `built`'s state after a run that added `messages` messages, and lets the
    /// conversation go.
    pub(crate) async fn finish(
        &self,
        lease: Lease,
        built: &Built,
        messages: usize,
    ) -> Result<(), ConversationError> {
        let state = match save_state(built).await {
            Ok(state) => state,
            Err(source) => {
                let id = lease.id().to_string();
                self.abandon(lease).await;
                return Err(ConversationError::Save { id, source });
            }
        };
        let saved = Saved {
            state: &state,
            messages: i64::try_from(messages).unwrap_or(i64::MAX),
            ttl: self.ttl,
        };
        self.store.save_conversation(lease, saved).await?;
        Ok(())
    }

    /// Lets the conversation go unchanged (the call failed or was cancelled).
    pub(crate) async fn abandon(&self, lease: Lease) {
        let id = lease.id().to_string();
        if let Err(error) = self.store.release_conversation(lease).await {
            tracing::warn!(conversation = %id, %error, "cannot release the conversation");
        }
    }
}

async fn save_state(built: &Built) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
    Ok(match built {
        Built::Team(team) => team.save_state().await?,
        Built::Agent(agent) => agent.save_state().await?,
    })
}

async fn load_state(
    built: &Built,
    state: &Value,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    match built {
        Built::Team(team) => team.load_state(state).await?,
        Built::Agent(agent) => agent.load_state(state).await?,
    }
    Ok(())
}
