//! `StoreError`: everything the store can answer instead of a document, sources kept.

use std::path::PathBuf;

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened or reached (`url` without its password).
    #[error("cannot open the store {url}: {source}")]
    Open {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    /// The folder of a SQLite file could not be created.
    #[error("cannot create the store's folder {path}: {source}")]
    Folder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The database's schema was written by a newer toolyard.
    #[error(
        "the store {url} has schema version {found}, newer than this toolyard knows ({known}): \
         upgrade toolyard, or point --store / [store] url at another database"
    )]
    SchemaTooNew { url: String, found: i64, known: i64 },
    /// Applying the embedded migrations failed.
    #[error("cannot migrate the store {url}: {source}")]
    Migrate {
        url: String,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    /// A query failed.
    #[error("store query failed: {0}")]
    Query(#[from] sqlx::Error),
    /// A stored document is not the JSON it should be.
    #[error("stored document `{id}` is not valid JSON: {source}")]
    Document {
        id: String,
        #[source]
        source: serde_json::Error,
    },
    /// No such conversation for this caller and tool (never existed, expired, or someone
    /// else's).
    #[error("unknown conversation `{id}`")]
    UnknownConversation { id: String },
    /// Another call is running on the conversation.
    #[error(
        "conversation `{id}` is busy: another call on it is still running; call again when it \
         has answered"
    )]
    Busy { id: String },
    /// The lease was lost (it expired and another call took the conversation): nothing saved.
    #[error("conversation `{id}` was taken over by another call; this call's state was not saved")]
    LeaseLost { id: String },
}
