//! Rate-limit buckets in the database, so instances sharing it share the
//! sign-in budgets.

use super::Database;

/// The bucket's tokens after refilling by the elapsed time, capped.
const REFILLED: &str = "(CASE WHEN rate_buckets.tokens + $3 * ($4 - rate_buckets.updated_at) > $2 THEN $2 \
                        ELSE rate_buckets.tokens + $3 * ($4 - rate_buckets.updated_at) END)";

impl Database {
    /// Takes one attempt from bucket `key` (capacity `capacity`, refilled by
    /// `per_ms` tokens per millisecond); a refused attempt counts too, so
    /// hammering does not refill the budget sooner. `Ok(None)` if allowed,
    /// else the seconds to wait.
    pub async fn take_attempt(
        &self,
        key: &str,
        capacity: f64,
        per_ms: f64,
        now: i64,
    ) -> Result<Option<u64>, sqlx::Error> {
        let sql = format!(
            "INSERT INTO rate_buckets (key, tokens, updated_at) VALUES ($1, $2 - 1, $4) \
             ON CONFLICT (key) DO UPDATE SET updated_at = $4, tokens = \
             CASE WHEN {REFILLED} - 1 < -1 THEN -1 ELSE {REFILLED} - 1 END \
             RETURNING tokens"
        );
        let left: f64 = sqlx::query_scalar(&sql)
            .bind(key)
            .bind(capacity)
            .bind(per_ms)
            .bind(now)
            .fetch_one(&self.pool)
            .await?;
        if left >= 0.0 {
            return Ok(None);
        }
        // Allowed again once the bucket is back at one token.
        let wait_ms = (1.0 - left) / per_ms;
        Ok(Some((wait_ms / 1000.0).ceil().max(1.0) as u64))
    }

    /// Drops buckets untouched since `before` (full again by then).
    pub async fn purge_rate_buckets(&self, before: i64) -> Result<u64, sqlx::Error> {
        let done = sqlx::query("DELETE FROM rate_buckets WHERE updated_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
