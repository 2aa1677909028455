//! The database: every query the server runs lives under this module.
//!
//! SQL here is kept portable (`$n` placeholders, BIGINT times in Unix
//! milliseconds, 0/1 flags, `ON CONFLICT`, `RETURNING`) so a PostgreSQL
//! backend can share it; only the migrations are per backend.

mod clips;
mod files;
mod removal;
mod shares;
mod stats;
mod users;

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use time::OffsetDateTime;

pub use clips::{ClipRow, NewClip};
pub use files::{FileRow, NewFile, PurgedFile, RemoveReason, StoreOutcome};
pub use shares::ShareRow;
pub use stats::UsageRow;
pub use users::{DeviceRow, RefreshOutcome, SessionRow, UserRow};

/// The connection pool and the queries.
#[derive(Clone, Debug)]
pub struct Database {
    pool: SqlitePool,
}

/// Embedded SQLite migrations.
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

impl Database {
    /// Opens (creating if needed) the database at `url` and migrates it.
    pub async fn connect(url: &str) -> Result<Database, sqlx::Error> {
        if !url.starts_with("sqlite:") {
            return Err(sqlx::Error::Configuration(
                "only sqlite:// database URLs are supported by this build (PostgreSQL is planned)".into(),
            ));
        }
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL + NORMAL is durable across application crashes; fsync of
            // blobs happens separately, before their rows are written.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30));
        let pool =
            SqlitePoolOptions::new().max_connections(8).min_connections(1).connect_with(options).await?;
        SQLITE_MIGRATIONS.run(&pool).await?;
        Ok(Database { pool })
    }

    /// Starts a transaction that takes the write lock at once. A deferred
    /// transaction that reads and then writes can fail with SQLITE_BUSY
    /// when another writer commits in between; an immediate one waits.
    pub(crate) async fn write_tx(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.pool.begin_with("BEGIN IMMEDIATE").await
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map(|_| ())
    }

    /// Closes the pool, flushing the WAL.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Ids per `IN (…)` list: far below SQLite's 32,766 bound parameters (and
/// PostgreSQL's 65,535) whatever else a statement binds.
pub(crate) const IN_LIST_MAX: usize = 500;

/// `$from, $from+1, …` for `n` values of an `IN (…)` list.
pub(crate) fn placeholders(from: usize, n: usize) -> String {
    (from..from + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Unix milliseconds to a UTC time.
pub fn to_time(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}
