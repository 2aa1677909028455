//! SQLite, the embedded default: one file, one writer at a time.

use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;
use sqlx::Executor;

use super::Tx;

static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

/// Per-connection settings. WAL + NORMAL is durable across application
/// crashes (blobs are fsynced separately, before their rows are written);
/// the busy timeout lets a writer wait for another instead of failing.
const PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                       PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 30000;";

/// Opens (creating if needed) the file `url` names and migrates it.
pub(super) async fn connect(url: &str) -> Result<AnyPool, sqlx::Error> {
    let url = if url.contains("mode=") {
        url.to_string()
    } else {
        format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
    };
    let pool = AnyPoolOptions::new()
        .max_connections(8)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        // A file on the local disk does not go stale the way a network
        // connection does; the default ping before every query doubled the
        // round trips to the connection's worker thread.
        .test_before_acquire(false)
        .after_connect(|conn, _| {
            Box::pin(async move { conn.execute(sqlx::raw_sql(PRAGMAS)).await.map(|_| ()) })
        })
        .connect(&url)
        .await?;
    MIGRATIONS.run(&pool).await?;
    Ok(pool)
}

/// A transaction that takes the write lock at once: a deferred one that
/// reads and then writes can fail with SQLITE_BUSY when another writer
/// commits in between; an immediate one waits its turn.
pub(super) async fn write_tx(pool: &AnyPool) -> Result<Tx, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

/// SQLITE_BUSY and SQLITE_LOCKED, with their extended codes: the lock was
/// not granted in time.
pub(super) fn is_unavailable_code(code: &str) -> bool {
    matches!(code, "5" | "6" | "261" | "262" | "517")
}
