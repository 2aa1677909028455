//! Share links: creation, listing, revocation, and download reservations
//! that keep `max_downloads` exact under concurrency.

use std::sync::LazyLock;

use super::sqlite_read::Query;

use super::clips::{clip_from_row, ClipRow, CLIP_COLUMNS_AS_C};
use super::files::{file_from_prefixed_row, FileRow, FILE_COLUMNS_AS_F};
use super::{Columns, Database};

/// A share as stored.
#[derive(Debug, Clone)]
pub struct ShareRow {
    /// Random URL-safe token.
    pub token: String,
    /// Owner.
    pub user_id: String,
    /// Shared file (None once it is gone, or for clip shares).
    pub file_id: Option<String>,
    /// Shared clip (None once it is gone, or for file shares).
    pub clip_id: Option<String>,
    /// argon2id hash of the password, if any.
    pub password_hash: Option<String>,
    /// Download limit.
    pub max_downloads: Option<i64>,
    /// Completed downloads.
    pub downloads: i64,
    /// Creation, ms.
    pub created_at: i64,
    /// Expiry, ms.
    pub expires_at: i64,
    /// Revocation time, ms.
    pub revoked_at: Option<i64>,
}

const SHARE_COLUMNS: &str = "token, user_id, file_id, clip_id, password_hash, max_downloads, downloads, \
     created_at, expires_at, revoked_at";

/// [`SHARE_COLUMNS`] from `shares s`.
const SHARE_COLUMNS_AS_S: &str =
    "s.token, s.user_id, s.file_id, s.clip_id, s.password_hash, s.max_downloads, \
     s.downloads, s.created_at, s.expires_at, s.revoked_at";

/// A share and its item as they are stored.
#[derive(Debug, Clone)]
pub struct ShareWithItem {
    /// The share.
    pub share: ShareRow,
    /// The shared clip, if it is a clip share and the clip exists.
    pub clip: Option<ClipRow>,
    /// The shared file, or the clip's file.
    pub file: Option<FileRow>,
}

fn share_from_row(row: &impl Columns) -> ShareRow {
    ShareRow {
        token: row.text("token"),
        user_id: row.text("user_id"),
        file_id: row.opt_text("file_id"),
        clip_id: row.opt_text("clip_id"),
        password_hash: row.opt_text("password_hash"),
        max_downloads: row.opt_int("max_downloads"),
        downloads: row.int("downloads"),
        created_at: row.int("created_at"),
        expires_at: row.int("expires_at"),
        revoked_at: row.opt_int("revoked_at"),
    }
}

fn share_with_item_from_row(row: &impl Columns) -> ShareWithItem {
    let share = share_from_row(row);
    let clip = row.opt_text("c_id").map(|_| clip_from_row(row));
    let file = match &clip {
        Some(clip) => clip.file.clone(),
        None => row.opt_text("f_id").map(|_| file_from_prefixed_row(row)),
    };
    ShareWithItem { share, clip, file }
}

/// Rows past expiry are kept this long so their links say "expired".
const KEEP_EXPIRED_MS: i64 = 24 * 3600 * 1000;

impl Database {
    /// Records a share.
    pub async fn insert_share(&self, share: &ShareRow) -> Result<(), sqlx::Error> {
        sqlx::query(&format!(
            "INSERT INTO shares ({SHARE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(&share.token)
        .bind(&share.user_id)
        .bind(&share.file_id)
        .bind(&share.clip_id)
        .bind(&share.password_hash)
        .bind(share.max_downloads)
        .bind(share.downloads)
        .bind(share.created_at)
        .bind(share.expires_at)
        .bind(share.revoked_at)
        .execute(&self.pool)
        .await
        .map(|_| ())
    }

    /// A share with its item in one query: the clip (with its file) of a
    /// clip share, the file of a file share; `None` for an item that is gone.
    /// The public share routes run this on every request.
    pub async fn share_with_item(&self, token: &str) -> Result<Option<ShareWithItem>, sqlx::Error> {
        // Built once, like the session's (see `Database::session`).
        static SQL: LazyLock<Query> = LazyLock::new(|| {
            Query::new(format!(
                "SELECT {SHARE_COLUMNS_AS_S}, {CLIP_COLUMNS_AS_C}, {FILE_COLUMNS_AS_F} FROM shares s \
                 LEFT JOIN clips c ON c.id = s.clip_id \
                 LEFT JOIN files f ON f.id = COALESCE(c.file_id, s.file_id) WHERE s.token = $1"
            ))
        });
        if let Some(local) = &self.local {
            return local.row(&SQL, &[("$1", &token)], |r| share_with_item_from_row(r));
        }
        let row = sqlx::query(SQL.sql()).bind(token).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(share_with_item_from_row))
    }

    /// The user's shares, newest first.
    pub async fn list_shares(&self, user_id: &str) -> Result<Vec<ShareRow>, sqlx::Error> {
        let sql =
            format!("SELECT {SHARE_COLUMNS} FROM shares WHERE user_id = $1 ORDER BY created_at DESC, token");
        let rows = sqlx::query(&sql).bind(user_id).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(share_from_row).collect())
    }

    /// Revokes one of the user's shares; false if it is not theirs.
    pub async fn revoke_share(&self, user_id: &str, token: &str, now: i64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE shares SET revoked_at = COALESCE(revoked_at, $1) WHERE token = $2 AND user_id = $3",
        )
        .bind(now)
        .bind(token)
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Takes a download slot if the share is usable, leased until
    /// `lease_until`: at most `max_downloads - downloads` downloads are ever
    /// in flight, so two simultaneous requests for a one-time link cannot
    /// both get the bytes, whichever instances serve them. Lapsed leases (of
    /// an instance that died mid-download) free their slots here. The
    /// reservation's id, or `None` when no slot is left.
    pub async fn reserve_download(
        &self,
        token: &str,
        now: i64,
        lease_until: i64,
    ) -> Result<Option<String>, sqlx::Error> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM share_reservations WHERE token = $1 AND expires_at <= $2")
            .bind(token)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let id = crate::ids::random_hex(16);
        let done = sqlx::query(
            "INSERT INTO share_reservations (id, token, expires_at) SELECT $1, s.token, $3 FROM shares s \
             WHERE s.token = $2 AND s.revoked_at IS NULL AND s.expires_at > $4 \
             AND (s.file_id IS NOT NULL OR s.clip_id IS NOT NULL) \
             AND (s.max_downloads IS NULL OR s.downloads + \
                  (SELECT COUNT(*) FROM share_reservations r WHERE r.token = s.token) < s.max_downloads)",
        )
        .bind(&id)
        .bind(token)
        .bind(lease_until)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((done.rows_affected() == 1).then_some(id))
    }

    /// Extends a reservation's lease (the download is still going).
    pub async fn renew_reservation(&self, id: &str, lease_until: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE share_reservations SET expires_at = $1 WHERE id = $2")
            .bind(lease_until)
            .bind(id)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// Ends a reservation; `completed` counts it as a download.
    pub async fn finish_download(&self, id: &str, token: &str, completed: bool) -> Result<(), sqlx::Error> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM share_reservations WHERE id = $1").bind(id).execute(&mut *tx).await?;
        if completed {
            sqlx::query("UPDATE shares SET downloads = downloads + 1 WHERE token = $1")
                .bind(token)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    }

    /// Shares of a user that can still be used.
    pub async fn count_active_shares(&self, user_id: &str, now: i64) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM shares WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 \
             AND (file_id IS NOT NULL OR clip_id IS NOT NULL) \
             AND (max_downloads IS NULL OR downloads < max_downloads)",
        )
        .bind(user_id)
        .bind(now)
        .fetch_one(&self.pool)
        .await
    }

    /// Deletes share rows a day past their expiry.
    pub async fn purge_old_shares(&self, now: i64) -> Result<u64, sqlx::Error> {
        sqlx::query("DELETE FROM share_reservations WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        let done = sqlx::query("DELETE FROM shares WHERE expires_at <= $1")
            .bind(now - KEEP_EXPIRED_MS)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
