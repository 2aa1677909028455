//! Reading a row's columns by name, whichever driver produced the row, so
//! each row mapper is written once for the pooled (sqlx) queries and the
//! SQLite reads made on the calling thread ([`super::sqlite_read`]).

/// A result row whose columns can be read by name.
///
/// Like `sqlx::Row::get`, a column that is missing or of another type is a
/// bug in this crate's SQL (the schema is ours), so it panics rather than
/// inventing a value.
pub(crate) trait Columns {
    /// A TEXT column.
    fn text(&self, name: &str) -> String;
    /// A nullable TEXT column.
    fn opt_text(&self, name: &str) -> Option<String>;
    /// A BIGINT column.
    fn int(&self, name: &str) -> i64;
    /// A nullable BIGINT column.
    fn opt_int(&self, name: &str) -> Option<i64>;
}

impl Columns for super::Row {
    fn text(&self, name: &str) -> String {
        sqlx::Row::get(self, name)
    }
    fn opt_text(&self, name: &str) -> Option<String> {
        sqlx::Row::get(self, name)
    }
    fn int(&self, name: &str) -> i64 {
        sqlx::Row::get(self, name)
    }
    fn opt_int(&self, name: &str) -> Option<i64> {
        sqlx::Row::get(self, name)
    }
}

impl Columns for rusqlite::Row<'_> {
    fn text(&self, name: &str) -> String {
        column(self, name)
    }
    fn opt_text(&self, name: &str) -> Option<String> {
        column(self, name)
    }
    fn int(&self, name: &str) -> i64 {
        column(self, name)
    }
    fn opt_int(&self, name: &str) -> Option<i64> {
        column(self, name)
    }
}

fn column<T: rusqlite::types::FromSql>(row: &rusqlite::Row<'_>, name: &str) -> T {
    match row.get(name) {
        Ok(value) => value,
        Err(e) => panic!("column {name:?}: {e}"),
    }
}
