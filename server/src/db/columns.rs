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

/// A row read on the calling thread ([`super::sqlite_read`]), with its
/// statement's column names at hand.
///
/// The mappers read columns in the order the SELECT lists them, so the
/// search starts just after the last column found and almost always stops
/// at once.
pub(crate) struct LocalRow<'a, 'stmt> {
    row: &'a rusqlite::Row<'stmt>,
    names: &'a [Box<str>],
    next: std::cell::Cell<usize>,
}

impl<'a, 'stmt> LocalRow<'a, 'stmt> {
    /// Wraps a row of a statement whose columns are `names`.
    pub(crate) fn new(row: &'a rusqlite::Row<'stmt>, names: &'a [Box<str>]) -> Self {
        LocalRow { row, names, next: std::cell::Cell::new(0) }
    }

    fn column<T: rusqlite::types::FromSql>(&self, name: &str) -> T {
        let count = self.names.len();
        let start = self.next.get();
        let index = (0..count)
            .map(|k| (start + k) % count)
            .find(|&i| &*self.names[i] == name)
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
