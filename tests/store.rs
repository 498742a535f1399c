//! The store against both real engines, the same checks on each: SQLite in a temp dir (and
//! `memory://`), PostgreSQL started by tests/peers/postgres.sh (a test that needs it fails when
//! it is missing). Conversations: create with a lease, a second lease refused as busy, save and
//! continue, another owner's or tool's id unknown, release without saving, a lost lease, expiry,
//! listing; reopening migrates nothing twice; a newer schema is refused.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::peers::Peer;
use serde_json::json;
use toolyard::config::StoreUrl;
use toolyard::store::{SCHEMA_VERSION, Saved, Store, StoreError};

const LEASE: Duration = Duration::from_secs(60);
const TTL: Duration = Duration::from_secs(3600);

fn sqlite(dir: &tempfile::TempDir) -> StoreUrl {
    StoreUrl::parse("sqlite://nested/state.db", dir.path()).unwrap()
}

fn postgres(peer: &Peer) -> StoreUrl {
    StoreUrl::parse(peer.get("url"), std::path::Path::new("/")).unwrap()
}

/// Every conversation rule, on one engine.
async fn conversations_behave(url: &StoreUrl) {
    let store = Store::open(url).await.unwrap();
    // Create: the creator holds it; nobody else can take it meanwhile.
    let lease = store
        .create_conversation("c1", "pair", "alice", TTL, LEASE)
        .await
        .unwrap();
    let busy = store.lease_conversation("c1", "pair", "alice", LEASE).await;
    assert!(matches!(busy, Err(StoreError::Busy { .. })), "{busy:?}");
    let state = json!({"type": "TeamState", "turns": ["one"]});
    store
        .save_conversation(
            lease,
            Saved {
                state: &state,
                messages: 3,
                ttl: TTL,
            },
        )
        .await
        .unwrap();

    // Continue: the saved document comes back, counts add up.
    let (conversation, lease) = store
        .lease_conversation("c1", "pair", "alice", LEASE)
        .await
        .unwrap();
    assert_eq!(conversation.state, state);
    assert_eq!((conversation.turns, conversation.messages), (1, 3));
    // Another owner, another tool, or an id that never existed: unknown, whether busy or not.
    for (id, tool, owner) in [
        ("c1", "pair", "bob"),
        ("c1", "other", "alice"),
        ("nope", "pair", "alice"),
    ] {
        let refused = store.lease_conversation(id, tool, owner, LEASE).await;
        assert!(
            matches!(&refused, Err(StoreError::UnknownConversation { id: got }) if got == id),
            "{id} {tool} {owner}: {refused:?}"
        );
    }
    let second = json!({"turns": ["one", "two"]});
    store
        .save_conversation(
            lease,
            Saved {
                state: &second,
                messages: 2,
                ttl: TTL,
            },
        )
        .await
        .unwrap();

    // Release without saving keeps the last save.
    let (_, lease) = store
        .lease_conversation("c1", "pair", "alice", LEASE)
        .await
        .unwrap();
    store.release_conversation(lease).await.unwrap();
    let (conversation, lease) = store
        .lease_conversation("c1", "pair", "alice", LEASE)
        .await
        .unwrap();
    assert_eq!(conversation.state, second);
    assert_eq!((conversation.turns, conversation.messages), (2, 5));
    store.release_conversation(lease).await.unwrap();

    // A conversation whose first call saved nothing is gone once released.
    let unsaved = store
        .create_conversation("c0", "pair", "alice", TTL, LEASE)
        .await
        .unwrap();
    store.release_conversation(unsaved).await.unwrap();
    let gone = store.lease_conversation("c0", "pair", "alice", LEASE).await;
    assert!(
        matches!(gone, Err(StoreError::UnknownConversation { .. })),
        "{gone:?}"
    );

    // A lease that ran out may be taken over; the old holder's save is refused, not written.
    let old = store
        .create_conversation("c2", "pair", "", TTL, Duration::from_millis(1))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let (_, new) = store
        .lease_conversation("c2", "pair", "", LEASE)
        .await
        .unwrap();
    let lost = store
        .save_conversation(
            old,
            Saved {
                state: &json!("stale"),
                messages: 1,
                ttl: TTL,
            },
        )
        .await;
    assert!(
        matches!(lost, Err(StoreError::LeaseLost { .. })),
        "{lost:?}"
    );
    store
        .save_conversation(
            new,
            Saved {
                state: &json!("fresh"),
                messages: 1,
                ttl: TTL,
            },
        )
        .await
        .unwrap();

    // Expiry: unknown once its time is up, and gone from the list.
    let short = store
        .create_conversation("c3", "pair", "bob", Duration::from_millis(50), LEASE)
        .await
        .unwrap();
    store
        .save_conversation(
            short,
            Saved {
                state: &json!(1),
                messages: 1,
                ttl: Duration::from_millis(50),
            },
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let expired = store.lease_conversation("c3", "pair", "bob", LEASE).await;
    assert!(
        matches!(expired, Err(StoreError::UnknownConversation { .. })),
        "{expired:?}"
    );

    // Listing: everyone's, or one owner's.
    let all = store.list_conversations(None).await.unwrap();
    let ids: Vec<&str> = all.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids.len(), 2, "{all:?}");
    assert!(ids.contains(&"c1") && ids.contains(&"c2"), "{all:?}");
    let alice = store.list_conversations(Some("alice")).await.unwrap();
    assert_eq!(alice.len(), 1);
    assert_eq!(
        (alice[0].turns, alice[0].messages, alice[0].busy),
        (2, 5, false)
    );
    assert!(
        store
            .list_conversations(Some("bob"))
            .await
            .unwrap()
            .is_empty()
    );
    store.close().await;

    // Reopening keeps everything and migrates nothing twice.
    let again = Store::open(url).await.unwrap();
    assert_eq!(again.list_conversations(None).await.unwrap().len(), 2);
    again.close().await;
}

/// A database whose schema a newer toolyard wrote is refused at open, saying so.
async fn newer_schema_is_refused(url: &StoreUrl) {
    let store = Store::open(url).await.unwrap();
    store.close().await;
    mark_newer(url).await;
    let refused = Store::open(url).await;
    let Err(error) = refused else {
        panic!("a newer schema was accepted");
    };
    assert!(
        matches!(error, StoreError::SchemaTooNew { found: 999, .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains(&format!(
            "schema version 999, newer than this toolyard knows ({SCHEMA_VERSION})"
        )),
        "{message}"
    );
}

/// Records a migration 999 as applied, as a newer toolyard would have.
pub async fn mark_newer(url: &StoreUrl) {
    let insert = "INSERT INTO _sqlx_migrations (version, description, success, checksum, \
                  execution_time) VALUES (999, 'from the future', TRUE, X'00', 0)";
    match url {
        StoreUrl::Sqlite(path) => {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
                .await
                .unwrap();
            sqlx::query(insert).execute(&pool).await.unwrap();
            pool.close().await;
        }
        StoreUrl::Postgres(text) => {
            let pool = sqlx::PgPool::connect(text).await.unwrap();
            let insert = insert.replace("X'00'", "'\\x00'::bytea");
            sqlx::query(sqlx::AssertSqlSafe(insert))
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        }
        StoreUrl::Memory => unreachable!("memory is not shared"),
    }
}

#[tokio::test]
async fn conversations_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    conversations_behave(&sqlite(&dir)).await;
    assert!(dir.path().join("nested/state.db").exists());
}

#[tokio::test]
async fn conversations_on_postgres() {
    let peer = Peer::start("postgres.sh", &[]);
    conversations_behave(&postgres(&peer)).await;
}

#[tokio::test]
async fn memory_keeps_nothing_after_close() {
    let store = Store::open(&StoreUrl::Memory).await.unwrap();
    let lease = store
        .create_conversation("m", "pair", "", TTL, LEASE)
        .await
        .unwrap();
    store
        .save_conversation(
            lease,
            Saved {
                state: &json!(1),
                messages: 1,
                ttl: TTL,
            },
        )
        .await
        .unwrap();
    assert_eq!(store.list_conversations(None).await.unwrap().len(), 1);
    store.close().await;
    let fresh = Store::open(&StoreUrl::Memory).await.unwrap();
    assert!(fresh.list_conversations(None).await.unwrap().is_empty());
}

#[tokio::test]
async fn newer_schema_refused_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    newer_schema_is_refused(&sqlite(&dir)).await;
}

#[tokio::test]
async fn newer_schema_refused_on_postgres() {
    let peer = Peer::start("postgres.sh", &[]);
    newer_schema_is_refused(&postgres(&peer)).await;
}

#[tokio::test]
async fn opening_one_new_sqlite_file_from_many_pools_at_once_migrates_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite(&dir);
    let opens = (0..6).map(|_| Store::open(&url));
    for store in futures::future::join_all(opens).await {
        store.unwrap().close().await;
    }
}
