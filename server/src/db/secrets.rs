//! Secrets shared by every instance on one database.

use super::{now_ms, Database};

impl Database {
    /// The secret called `name`: `candidate` if this call is the first to
    /// ask (racing instances agree on whichever insert won), else the one
    /// stored.
    pub async fn shared_secret(&self, name: &str, candidate: &str) -> Result<String, sqlx::Error> {
        sqlx::query(
            "INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(candidate)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await
    }

    /// The secret called `name`, if one was stored.
    pub async fn stored_secret(&self, name: &str) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
    }
}
