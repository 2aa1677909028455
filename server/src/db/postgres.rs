//! PostgreSQL: one database shared by any number of server instances.

use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::postgres::PgListener;
use sqlx::AnyPool;

use super::Tx;

static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// The advisory lock every write transaction holds: the same one-writer
/// rule SQLite has, but across instances. Writes are short (no I/O on
/// blobs happens inside them), so this costs little and keeps file limits,
/// quotas, history trimming and one-time links exact.
const WRITE_LOCK: i64 = 0x6362_5752_4954_4531; // "cbWRITE1"

/// Connects and migrates (sqlx's migrator holds its own advisory lock, so
/// instances starting together migrate once).
pub(super) async fn connect(url: &str) -> Result<AnyPool, sqlx::Error> {
    let pool = AnyPoolOptions::new()
        .max_connections(16)
        .min_connections(1)
        // A database that went away answers requests with 503 within seconds
        // instead of holding them.
        .acquire_timeout(Duration::from_secs(5))
        .connect(url)
        .await?;
    MIGRATIONS.run(&pool).await?;
    Ok(pool)
}

/// A transaction holding [`WRITE_LOCK`] until it commits or rolls back.
pub(super) async fn write_tx(pool: &AnyPool) -> Result<Tx, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(WRITE_LOCK).execute(&mut *tx).await?;
    Ok(tx)
}

/// Connection exceptions (class 08), shutdowns and "cannot connect now"
/// (57P01-57P03), too many connections (53300), and serialization or
/// deadlock failures (40001, 40P01): all mean "try again".
pub(super) fn is_unavailable_code(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300" | "40001" | "40P01")
}

/// A connection that LISTENs on one channel (see `Database::listen`).
pub struct Listener {
    inner: PgListener,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Listener(..)")
    }
}

impl Listener {
    /// Connects to `url` and listens on `channel`.
    pub(super) async fn connect(url: &str, channel: &str) -> Result<Listener, sqlx::Error> {
        let mut inner = PgListener::connect(url).await?;
        inner.listen(channel).await?;
        Ok(Listener { inner })
    }

    /// The next notification's payload; `None` when the connection was lost
    /// (notifications sent meanwhile are gone; the next call reconnects and
    /// listens again, or fails while the server is away).
    pub async fn next(&mut self) -> Result<Option<String>, sqlx::Error> {
        Ok(self.inner.try_recv().await?.map(|n| n.payload().to_string()))
    }
}
