//! The database: every query the server runs lives under this module.
//!
//! SQL is written once, portable between SQLite and PostgreSQL (`$n`
//! placeholders, BIGINT times in Unix milliseconds, 0/1 BIGINT flags,
//! `ON CONFLICT`, `RETURNING`, sums cast to BIGINT) and runs through sqlx's
//! `Any` driver. What differs per backend — connecting, migrations, how a
//! write transaction takes its lock, which errors mean "unavailable" — lives
//! in [`sqlite`] and [`postgres`]; no other module names a backend type,
//! except that on SQLite the per-request lookups read on the calling
//! thread ([`sqlite_read`]) with the same SQL.

mod buckets;
mod clips;
mod columns;
mod e2e;
mod files;
mod pairings;
mod postgres;
mod removal;
mod secrets;
mod shares;
mod sqlite;
mod sqlite_read;
mod stats;
mod users;

use std::sync::Arc;

use sqlx::any::AnyRow;
use sqlx::AnyPool;
use time::OffsetDateTime;

pub use clips::{ClipRow, NewClip};
pub use e2e::E2eKeyRow;
pub use files::{DownloadCounts, FileRow, NewFile, StoreOutcome};
pub use pairings::PairOutcome;
pub use postgres::Listener;
pub use removal::{PurgedFile, RemoveReason};
pub use shares::{ShareRow, ShareWithItem};
pub use stats::UsageRow;
pub use users::{Along, DeviceRow, RefreshOutcome, SessionRow, UserRow};

pub(crate) use columns::Columns;

/// A row, whatever the backend.
pub(crate) type Row = AnyRow;
/// A transaction, whatever the backend.
pub(crate) type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// Which database a [`Database`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file (`sqlite://PATH`).
    Sqlite,
    /// A PostgreSQL server (`postgres://…`), possibly shared by several instances.
    Postgres,
}

impl Backend {
    /// The backend a database URL names, if this build knows it.
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }

    /// True when other instances may share the database (PostgreSQL).
    pub fn is_shared(self) -> bool {
        self == Backend::Postgres
    }

    /// `sqlite` or `postgres`, as shown in `/metrics`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// The connection pool and the queries.
#[derive(Clone)]
pub struct Database {
    pool: AnyPool,
    backend: Backend,
    /// For connections outside the pool (LISTEN).
    url: Arc<str>,
    /// SQLite only: connections for reads on the calling thread.
    local: Option<Arc<sqlite_read::LocalReads>>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.backend)
            .field("url", &redact_url(&self.url))
            .finish()
    }
}

impl Database {
    /// Opens the database at `url` (creating an SQLite file if needed) and
    /// runs its backend's migrations.
    pub async fn connect(url: &str) -> Result<Database, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url).ok_or_else(|| {
            sqlx::Error::Configuration(
                "unsupported database URL: use sqlite://PATH or postgres://USER:PASSWORD@HOST:PORT/DB".into(),
            )
        })?;
        let pool = match backend {
            Backend::Sqlite => sqlite::connect(url).await?,
            Backend::Postgres => postgres::connect(url).await?,
        };
        let local = match sqlite_read::file_of_url(url) {
            Some(path) if backend == Backend::Sqlite => Some(Arc::new(sqlite_read::LocalReads::open(path)?)),
            _ => None,
        };
        Ok(Database { pool, backend, url: url.into(), local })
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a transaction that holds the database's write lock until it
    /// ends, so read-then-write sequences (limits, quotas, one-time links)
    /// stay exact whichever instance runs them.
    pub(crate) async fn write_tx(&self) -> Result<Tx, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => sqlite::write_tx(&self.pool).await,
            Backend::Postgres => postgres::write_tx(&self.pool).await,
        }
    }

    /// A connection of its own LISTENing on `channel`; `None` on SQLite,
    /// which has one process and nothing to listen to.
    pub async fn listen(&self, channel: &str) -> Result<Option<Listener>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => Ok(None),
            Backend::Postgres => Listener::connect(&self.url, channel).await.map(Some),
        }
    }

    /// Sends `payload` (at most [`NOTIFY_MAX_BYTES`]) to every listener on
    /// `channel`, when the transaction it runs in commits. No-op on SQLite.
    pub async fn notify(&self, channel: &str, payload: &str) -> Result<(), sqlx::Error> {
        if self.backend == Backend::Sqlite {
            return Ok(());
        }
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(channel)
            .bind(payload)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map(|_| ())
    }

    /// Closes the pool (for SQLite, flushing the WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// True when `e` means the database cannot be reached or is shutting down
/// (try again later) rather than that the request or the server is wrong.
pub fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::AnyDriverError(e) => sqlite_read::is_unavailable(e.as_ref()),
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| sqlite::is_unavailable_code(&code) || postgres::is_unavailable_code(&code)),
        _ => false,
    }
}

/// `url` with any password replaced by `***`, for logs and error messages.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let (authority, path) = rest.split_once('/').map_or((rest, None), |(a, p)| (a, Some(p)));
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_string(),
    };
    match path {
        Some(path) => format!("{scheme}://{authority}/{path}"),
        None => format!("{scheme}://{authority}"),
    }
}

/// The longest NOTIFY payload PostgreSQL takes (8000 bytes), less a margin.
pub const NOTIFY_MAX_BYTES: usize = 7900;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact_url("postgres://cb:s3cr@t@db:5432/cb"), "postgres://cb:***@db:5432/cb");
        assert_eq!(redact_url("postgres://cb@db/cb"), "postgres://cb@db/cb");
        assert_eq!(redact_url("sqlite:///var/lib/cb/cloudbuffer.db"), "sqlite:///var/lib/cb/cloudbuffer.db");
        assert_eq!(redact_url("postgres://u:p@h"), "postgres://u:***@h");
    }

    #[test]
    fn backends_by_url() {
        assert_eq!(Backend::of_url("sqlite://x.db"), Some(Backend::Sqlite));
        assert_eq!(Backend::of_url("postgresql://h/db"), Some(Backend::Postgres));
        assert_eq!(Backend::of_url("mysql://h/db"), None);
    }
}

#[cfg(test)]
mod sqlite_read_tests;
