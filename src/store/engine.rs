//! The two engines behind the store: connecting (SQLite file in WAL mode, SQLite in memory,
//! PostgreSQL), the embedded migrations, and the schema version check.

use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::{MigrateError, Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Row, SqlSafeStr};

use super::StoreError;
use crate::config::StoreUrl;

/// The embedded migrations, oldest first: (version, description, SQL for both engines).
const MIGRATIONS: &[(i64, &str, &str)] = &[(
    1,
    "conversations",
    include_str!("migrations/0001_conversations.sql"),
)];

/// The newest schema version this binary knows.
pub const SCHEMA_VERSION: i64 = 1;

/// How long a query waits for a connection, and SQLite for a lock another writer holds.
const WAIT: Duration = Duration::from_secs(10);

/// One pool on one engine.
#[derive(Debug, Clone)]
pub(super) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Pool {
    pub(super) fn engine(&self) -> &'static str {
        match self {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    pub(super) async fn close(&self) {
        match self {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }
}

/// Runs `$body` with `$pool` bound to the engine's own pool (the same SQL text serves both).
macro_rules! on_pool {
    ($pool_enum:expr, $pool:ident => $body:expr) => {
        match $pool_enum {
            $crate::store::engine::Pool::Sqlite($pool) => $body,
            $crate::store::engine::Pool::Postgres($pool) => $body,
        }
    };
}
pub(super) use on_pool;

/// Connects to the engine `url` names (`shown`: the URL for messages).
pub(super) async fn connect(url: &StoreUrl, shown: &str) -> Result<Pool, StoreError> {
    let open = |source| StoreError::Open {
        url: shown.to_string(),
        source,
    };
    match url {
        StoreUrl::Memory => {
            // One connection that never closes: an in-memory database lives as long as it.
            let options = SqliteConnectOptions::from_str("sqlite::memory:").map_err(open)?;
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .acquire_timeout(WAIT)
                .connect_with(options)
                .await
                .map_err(open)?;
            Ok(Pool::Sqlite(pool))
        }
        StoreUrl::Sqlite(path) => {
            if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(folder).map_err(|source| StoreError::Folder {
                    path: folder.to_path_buf(),
                    source,
                })?;
            }
            let options = SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(WAIT);
            // Switching a new file to WAL takes a lock SQLite does not wait for (no busy
            // handler there): another process opening the same new file at that moment makes
            // the connect fail with SQLITE_BUSY, so try again a few times.
            let mut attempt = 0u64;
            loop {
                attempt += 1;
                let connected = SqlitePoolOptions::new()
                    .max_connections(4)
                    .acquire_timeout(WAIT)
                    .connect_with(options.clone())
                    .await;
                match connected {
                    Ok(pool) => return Ok(Pool::Sqlite(pool)),
                    Err(e) if attempt < 20 && is_busy(&e) => {
                        tokio::time::sleep(Duration::from_millis(20 * attempt)).await;
                    }
                    Err(e) => return Err(open(e)),
                }
            }
        }
        StoreUrl::Postgres(text) => {
            let options = PgConnectOptions::from_str(text).map_err(open)?;
            let pool = PgPoolOptions::new()
                .max_connections(8)
                .acquire_timeout(WAIT)
                .connect_with(options)
                .await
                .map_err(open)?;
            Ok(Pool::Postgres(pool))
        }
    }
}

/// Whether SQLite said the database is busy or locked (`SQLITE_BUSY`, `SQLITE_LOCKED`).
fn is_busy(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(e) => matches!(e.code().as_deref(), Some("5" | "6")),
        _ => false,
    }
}

fn migrator() -> Migrator {
    Migrator::with_migrations(
        MIGRATIONS
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(*description),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

/// Refuses a schema newer than [`SCHEMA_VERSION`], then applies the migrations not applied
/// yet. Two processes opening one new SQLite file at once may race on the first migration
/// (SQLite has no migration lock): the loser tries again and finds it applied.
pub(super) async fn migrate(pool: &Pool, url: &str) -> Result<(), StoreError> {
    let found = applied_version(pool).await?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            url: url.to_string(),
            found,
            known: SCHEMA_VERSION,
        });
    }
    let migrator = migrator();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let outcome = on_pool!(pool, p => migrator.run(p).await);
        match outcome {
            Ok(()) => return Ok(()),
            Err(MigrateError::Execute(_) | MigrateError::ExecuteMigration(..)) if attempt < 3 => {
                tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
            }
            Err(source) => {
                return Err(StoreError::Migrate {
                    url: url.to_string(),
                    source,
                });
            }
        }
    }
}

/// The newest migration applied to the database (0 for a new one).
async fn applied_version(pool: &Pool) -> Result<i64, StoreError> {
    let exists = match pool {
        Pool::Sqlite(p) => sqlx::query(
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
        )
        .fetch_one(p)
        .await?
        .try_get::<i64, _>("n")?
            > 0,
        Pool::Postgres(p) => sqlx::query(
            "SELECT to_regclass('_sqlx_migrations') IS NOT NULL AS present",
        )
        .fetch_one(p)
        .await?
        .try_get::<bool, _>("present")?,
    };
    if !exists {
        return Ok(0);
    }
    let sql = "SELECT COALESCE(MAX(version), 0) AS v FROM _sqlx_migrations WHERE success";
    let version = on_pool!(pool, p => sqlx::query(sql).fetch_one(p).await?.try_get::<i64, _>("v")?);
    Ok(version)
}
