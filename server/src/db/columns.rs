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

/// A row read on the calling thread ([`super::sqlite_read`]), looking its
/// columns up by name the cheap way.
///
/// rusqlite's own lookup by name scans the columns from the first, reading
/// each name from SQLite and checking its UTF-8 as it goes: for a share
/// link's 28 columns that was several microseconds a request, a fifth of
/// the whole request. The mappers read columns in the order the SELECT
/// lists them, so the search starts just after the last column found and
/// almost always stops at once.
pub(crate) struct LocalRow<'a, 'stmt> {
    row: &'a rusqlite::Row<'stmt>,
    next: std::cell::Cell<usize>,
}

impl<'a, 'stmt> LocalRow<'a, 'stmt> {
    /// Wraps a row of a statement.
    pub(crate) fn new(row: &'a rusqlite::Row<'stmt>) -> Self {
        LocalRow { row, next: std::cell::Cell::new(0) }
    }

    fn column<T: rusqlite::types::FromSql>(&self, name: &str) -> T {
        let statement = self.row.as_ref();
        let count = statement.column_count();
        let start = self.next.get();
        let index = (0..count)
            .map(|k| (start + k) % count)
            .find(|&i| statement.column_name(i).is_ok_and(|column| column == name))
            .unwrap_or_else(|| panic!("no column {name:?} in the result"));
        self.next.set(index + 1);
        match self.row.get(index) {
            Ok(value) => value,
            Err(e) => panic!("column {name:?}: {e}"),
        }
    }
}

impl Columns for LocalRow<'_, '_> {
    fn text(&self, name: &str) -> String {
        self.column(name)
    }
    fn opt_text(&self, name: &str) -> Option<String> {
        self.column(name)
    }
    fn int(&self, name: &str) -> i64 {
        self.column(name)
    }
    fn opt_int(&self, name: &str) -> Option<i64> {
        self.column(name)
    }
}
