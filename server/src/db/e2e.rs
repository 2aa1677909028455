//! Wrapped end-to-end encryption keys, one per account, replaced only by
//! a writer that saw the current version.

use super::Database;

/// An account's wrapped key as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct E2eKeyRow {
    /// The wrapped key, as the client sent it (JSON text).
    pub wrapped_key: String,
    /// 1 for the first key, one more for each replacement.
    pub version: i64,
    /// Unix milliseconds of the last write.
    pub updated_at: i64,
}

impl Database {
    /// The account's wrapped key, if E2E is on.
    pub async fn e2e_key(&self, user_id: &str) -> Result<Option<E2eKeyRow>, sqlx::Error> {
        let row: Option<(String, i64, i64)> =
            sqlx::query_as("SELECT wrapped_key, version, updated_at FROM e2e_keys WHERE user_id = $1")
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(wrapped_key, version, updated_at)| E2eKeyRow { wrapped_key, version, updated_at }))
    }

    /// Stores `wrapped_key` if the current version is `expected` (0: no key
    /// yet). Returns the new row, or `Err(current)` with the version found.
    pub async fn put_e2e_key(
        &self,
        user_id: &str,
        wrapped_key: &str,
        expected: i64,
        now: i64,
    ) -> Result<Result<E2eKeyRow, i64>, sqlx::Error> {
        let mut tx = self.write_tx().await?;
        let current: Option<i64> = sqlx::query_scalar("SELECT version FROM e2e_keys WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
        let current = current.unwrap_or(0);
        if current != expected {
            return Ok(Err(current));
        }
        let version = current + 1;
        sqlx::query(
            "INSERT INTO e2e_keys (user_id, wrapped_key, version, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id) DO UPDATE SET wrapped_key = $2, version = $3, updated_at = $4",
        )
        .bind(user_id)
        .bind(wrapped_key)
        .bind(version)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Ok(E2eKeyRow { wrapped_key: wrapped_key.to_string(), version, updated_at: now }))
    }
}
