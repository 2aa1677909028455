//! Pairing codes: create one for an account, redeem it once for a new device.

use super::users::insert_device;
use super::{Database, DeviceRow};

/// What redeeming a pairing code found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PairOutcome {
    /// The code was good: the device now exists, signed in to this user.
    Paired {
        /// The account the code was made for.
        user_id: String,
    },
    /// No such code (or deleted long ago).
    Unknown,
    /// The code was redeemed before.
    Used,
    /// The code's five minutes are over.
    Expired,
}

impl Database {
    /// Stores a new code (by hash) for `user_id`, unless the user already
    /// has `max_active` unexpired unused ones: then `false`.
    pub async fn create_pairing(
        &self,
        user_id: &str,
        code_hash: &str,
        now: i64,
        expires_at: i64,
        max_active: i64,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.write_tx().await?;
        let active: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pairings WHERE user_id = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(user_id)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        if active >= max_active {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO pairings (code_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(code_hash)
        .bind(user_id)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Spends the code and signs `device` in to its account, in one
    /// transaction: two phones scanning the same code cannot both pair.
    pub async fn redeem_pairing(
        &self,
        code_hash: &str,
        now: i64,
        device: &DeviceRow,
        refresh_hash: &str,
    ) -> Result<PairOutcome, sqlx::Error> {
        let mut tx = self.write_tx().await?;
        let row: Option<(String, i64, Option<i64>)> =
            sqlx::query_as("SELECT user_id, expires_at, used_at FROM pairings WHERE code_hash = $1")
                .bind(code_hash)
                .fetch_optional(&mut *tx)
                .await?;
        let user_id = match row {
            None => return Ok(PairOutcome::Unknown),
            Some((_, _, Some(_))) => return Ok(PairOutcome::Used),
            Some((_, expires_at, None)) if expires_at <= now => return Ok(PairOutcome::Expired),
            Some((user_id, _, None)) => user_id,
        };
        sqlx::query("UPDATE pairings SET used_at = $1 WHERE code_hash = $2")
            .bind(now)
            .bind(code_hash)
            .execute(&mut *tx)
            .await?;
        insert_device(&mut tx, &user_id, device, refresh_hash).await?;
        tx.commit().await?;
        Ok(PairOutcome::Paired { user_id })
    }

    /// Deletes codes that expired before `before`.
    pub async fn purge_pairings(&self, before: i64) -> Result<u64, sqlx::Error> {
        let done = sqlx::query("DELETE FROM pairings WHERE expires_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
