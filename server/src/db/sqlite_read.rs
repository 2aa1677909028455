//! SQLite reads run on the calling thread.
//!
//! sqlx's SQLite driver gives every connection a worker thread and sends
//! each statement and row across channels. For the primary-key lookups
//! behind every request (the session, a share link, a file) that hop —
//! futex wake-ups and context switches on both sides — cost about 75 µs of
//! CPU per request, while SQLite itself took under 1 %. Those lookups run
//! here instead, synchronously on the tokio worker: a read of a few pages
//! that are in SQLite's cache takes microseconds, far less than the
//! switches it replaces, and in WAL mode a reader never waits for a writer.
//! Everything else (writes, listings, transactions) stays on the pool.

use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, ToSql};

use super::columns::LocalRow;

/// Connections kept between reads; more are opened while more threads
/// read at once, and closed when they come back to a full shelf.
const IDLE_MAX: usize = 8;

/// A statement read here: its SQL, and the names of its result columns,
/// learnt the first time it runs. Rows are then read by name against
/// these instead of asking SQLite for each column's name (a call, a
/// `strlen` and a UTF-8 check per column, per row), which cost more than
/// reading the values.
#[derive(Debug)]
pub(crate) struct Query {
    sql: String,
    columns: OnceLock<Box<[Box<str>]>>,
}

impl Query {
    /// A statement with this SQL.
    pub(crate) fn new(sql: impl Into<String>) -> Query {
        Query { sql: sql.into(), columns: OnceLock::new() }
    }

    /// Its SQL, for the pool.
    pub(crate) fn sql(&self) -> &str {
        &self.sql
    }
}

/// Read-only connections to the server's SQLite file.
pub(super) struct LocalReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for LocalReads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalReads").field("path", &self.path).finish()
    }
}

/// The file an `sqlite:` URL names, or None for an in-memory database
/// (each connection to `:memory:` would see a database of its own).
pub(super) fn file_of_url(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() || path == ":memory:" || url.contains("mode=memory") {
        return None;
    }
    Some(PathBuf::from(path))
}

impl LocalReads {
    /// Reads of the file at `path`, which the pool has already created and
    /// migrated. Opens one connection now, so a bad path fails at start.
    pub(super) fn open(path: PathBuf) -> Result<LocalReads, sqlx::Error> {
        let reads = LocalReads { path, idle: Mutex::new(Vec::new()) };
        let conn = reads.connect().map_err(into_sqlx)?;
        reads.idle.lock().unwrap_or_else(|e| e.into_inner()).push(conn);
        Ok(reads)
    }

    fn connect(&self) -> rusqlite::Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags)?;
        conn.busy_timeout(Duration::from_secs(30))?;
        // Opened read-write so it can attach to the WAL like the pool's
        // connections do, but it never writes.
        conn.pragma_update(None, "query_only", true)?;
        Ok(conn)
    }

    /// The first row of `sql` with `params` bound by name (`("$1", &v)`),
    /// mapped by `map`; None when there is none.
    pub(super) fn row<T>(
        &self,
        query: &Query,
        params: &[(&str, &dyn ToSql)],
        map: impl FnOnce(&LocalRow<'_, '_>) -> T,
    ) -> Result<Option<T>, sqlx::Error> {
        let taken = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match taken {
            Some(conn) => conn,
            None => self.connect().map_err(into_sqlx)?,
        };
        let found = query_row(&conn, query, params, map);
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < IDLE_MAX {
            idle.push(conn);
        }
        found.map_err(into_sqlx)
    }
}

fn query_row<T>(
    conn: &Connection,
    query: &Query,
    params: &[(&str, &dyn ToSql)],
    map: impl FnOnce(&LocalRow<'_, '_>) -> T,
) -> rusqlite::Result<Option<T>> {
    // Cached per connection: the same few statements run on every request.
    let mut statement = conn.prepare_cached(&query.sql)?;
    let columns = query.columns.get_or_init(|| statement.column_names().into_iter().map(Box::from).collect());
    statement.query_row(params, |row| Ok(map(&LocalRow::new(row, columns)))).optional()
}

/// Carried as a driver error, so the HTTP mapping and
/// [`is_unavailable`] see it like any other database failure.
fn into_sqlx(e: rusqlite::Error) -> sqlx::Error {
    sqlx::Error::AnyDriverError(Box::new(e))
}

/// SQLITE_BUSY or SQLITE_LOCKED from a read here: the file was locked
/// longer than the busy timeout.
pub(super) fn is_unavailable(e: &(dyn std::error::Error + Send + Sync + 'static)) -> bool {
    matches!(
        e.downcast_ref::<rusqlite::Error>(),
        Some(rusqlite::Error::SqliteFailure(failure, _))
            if matches!(failure.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_files() {
        assert_eq!(
            file_of_url("sqlite:///var/lib/cb/db.sqlite?mode=rwc"),
            Some("/var/lib/cb/db.sqlite".into())
        );
        assert_eq!(file_of_url("sqlite://data/cb.db"), Some("data/cb.db".into()));
        assert_eq!(file_of_url("sqlite:cb.db"), Some("cb.db".into()));
        assert_eq!(file_of_url("sqlite::memory:"), None);
        assert_eq!(file_of_url("sqlite://x.db?mode=memory"), None);
        assert_eq!(file_of_url("postgres://h/db"), None);
    }
}
