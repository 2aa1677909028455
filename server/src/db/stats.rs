//! Usage figures: per user, per server, and the metrics gauges.

use sqlx::Row;

use super::Database;

/// One user's usage.
#[derive(Debug, Clone, Default)]
pub struct UsageRow {
    /// User name.
    pub username: String,
    /// Live files.
    pub files: i64,
    /// Bytes in live files.
    pub bytes_used: i64,
    /// Earliest expiry among them, ms.
    pub next_expiry_at: Option<i64>,
    /// Completed downloads (lifetime).
    pub downloads: i64,
    /// Bytes served in them.
    pub bytes_downloaded: i64,
}

impl Database {
    /// Users, files and store totals for the metrics gauges.
    pub async fn totals(&self) -> Result<(i64, i64, i64, i64), sqlx::Error> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM users) AS users, (SELECT COUNT(*) FROM files) AS files, \
             (SELECT COUNT(*) FROM blobs WHERE refcount > 0) AS blobs, \
             (SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM blobs WHERE refcount > 0) AS blob_bytes",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok((row.get("users"), row.get("files"), row.get("blobs"), row.get("blob_bytes")))
    }

    /// Usage of every user, or of one user when `user_id` is given (two
    /// queries: `$2 IS NULL OR u.id = $2` would scan every user each time).
    pub async fn usage(&self, user_id: Option<&str>, now: i64) -> Result<Vec<UsageRow>, sqlx::Error> {
        const SELECT: &str = "SELECT u.username, u.downloads, u.bytes_downloaded, COUNT(f.id) AS files, \
             CAST(COALESCE(SUM(f.size), 0) AS BIGINT) AS bytes_used, MIN(f.expires_at) AS next_expiry_at \
             FROM users u LEFT JOIN files f ON f.user_id = u.id AND f.expires_at > $1";
        const GROUP: &str = "GROUP BY u.id, u.username, u.downloads, u.bytes_downloaded ORDER BY u.username";
        let rows = match user_id {
            Some(id) => {
                sqlx::query(&format!("{SELECT} WHERE u.id = $2 {GROUP}"))
                    .bind(now)
                    .bind(id)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => sqlx::query(&format!("{SELECT} {GROUP}")).bind(now).fetch_all(&self.pool).await?,
        };
        Ok(rows
            .iter()
            .map(|r| UsageRow {
                username: r.get("username"),
                files: r.get("files"),
                bytes_used: r.get("bytes_used"),
                next_expiry_at: r.get("next_expiry_at"),
                downloads: r.get("downloads"),
                bytes_downloaded: r.get("bytes_downloaded"),
            })
            .collect())
    }

    /// Distinct blobs and their total size.
    pub async fn blob_totals(&self) -> Result<(i64, i64), sqlx::Error> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(size), 0) AS BIGINT) AS bytes FROM blobs WHERE refcount > 0",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok((row.get("n"), row.get("bytes")))
    }
}
