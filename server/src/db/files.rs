//! Files, blobs and their reference counts, eviction, expiry and usage.

use std::sync::LazyLock;

use super::sqlite_read::Query;

use sqlx::Row;

use super::removal::{remove_files, to_remove, PurgedFile, RemoveReason};
use super::{Columns, Database, Tx};

/// A file as stored.
#[derive(Debug, Clone)]
pub struct FileRow {
    /// Public id.
    pub id: String,
    /// Owner.
    pub user_id: String,
    /// Sanitized name.
    pub name: String,
    /// Bytes.
    pub size: i64,
    /// BLAKE3, hex.
    pub hash: String,
    /// Media type.
    pub content_type: String,
    /// Upload time, ms.
    pub created_at: i64,
    /// Expiry time, ms.
    pub expires_at: i64,
    /// Completed downloads.
    pub downloads: i64,
    /// End-to-end encrypted: `name` and `content_type` are the client's
    /// field ciphertexts, stored as sent.
    pub encrypted: bool,
}

/// A file about to be recorded (its blob is already durable in the store).
pub type NewFile = FileRow;

/// Download counts to add: per file id, per user id (downloads, bytes),
/// per share token.
#[derive(Debug, Default)]
pub struct DownloadCounts {
    /// Completed downloads per file.
    pub files: std::collections::HashMap<String, i64>,
    /// Completed downloads and bytes per user.
    pub users: std::collections::HashMap<String, (i64, i64)>,
    /// Completed downloads per share link.
    pub shares: std::collections::HashMap<String, i64>,
}

/// The result of recording an uploaded file.
#[derive(Debug)]
pub enum StoreOutcome {
    /// Recorded in a transaction still open: the caller puts the blob in
    /// place, then commits. These files made room or had expired, and these
    /// blobs lost their last reference (the caller unlinks them after).
    Stored {
        /// The open transaction, holding the write lock.
        tx: Tx,
        /// Files removed in the same transaction.
        removed: Vec<PurgedFile>,
        /// Blobs no longer referenced.
        dead_blobs: Vec<String>,
    },
    /// Nothing recorded: the user would exceed the quota.
    OverQuota {
        /// Bytes the user would hold.
        would_use: i64,
    },
}

const FILE_COLUMNS: &str =
    "id, user_id, name, size, hash, content_type, created_at, expires_at, downloads, encrypted";

/// The file columns of `files f` prefixed `f_`, for joins.
pub(super) const FILE_COLUMNS_AS_F: &str = "f.id AS f_id, f.user_id AS f_user_id, f.name AS f_name, \
     f.size AS f_size, f.hash AS f_hash, f.content_type AS f_content_type, f.created_at AS f_created_at, \
     f.expires_at AS f_expires_at, f.downloads AS f_downloads, f.encrypted AS f_encrypted";

/// A file from `f_`-prefixed columns (see [`FILE_COLUMNS_AS_F`]).
pub(super) fn file_from_prefixed_row(row: &impl Columns) -> FileRow {
    FileRow {
        id: row.text("f_id"),
        user_id: row.text("f_user_id"),
        name: row.text("f_name"),
        size: row.int("f_size"),
        hash: row.text("f_hash"),
        content_type: row.text("f_content_type"),
        created_at: row.int("f_created_at"),
        expires_at: row.int("f_expires_at"),
        downloads: row.int("f_downloads"),
        encrypted: row.int("f_encrypted") != 0,
    }
}

fn file_from_row(row: &impl Columns) -> FileRow {
    FileRow {
        id: row.text("id"),
        user_id: row.text("user_id"),
        name: row.text("name"),
        size: row.int("size"),
        hash: row.text("hash"),
        content_type: row.text("content_type"),
        created_at: row.int("created_at"),
        expires_at: row.int("expires_at"),
        downloads: row.int("downloads"),
        encrypted: row.int("encrypted") != 0,
    }
}

impl Database {
    /// Records an uploaded file, atomically enforcing the user's file limit
    /// (oldest evicted) and quota (nothing recorded when exceeded). The
    /// user's expired files are purged in the same transaction, which is
    /// returned open: placing the blob inside it orders the placement
    /// against [`Database::drop_dead_blob`] on every instance.
    pub async fn insert_file(
        &self,
        file: &NewFile,
        max_files: u64,
        quota_bytes: u64,
        now: i64,
    ) -> Result<StoreOutcome, sqlx::Error> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO blobs (hash, size, refcount, created_at) VALUES ($1, $2, 1, $3) \
             ON CONFLICT (hash) DO UPDATE SET refcount = blobs.refcount + 1",
        )
        .bind(&file.hash)
        .bind(file.size)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(&format!(
            "INSERT INTO files ({FILE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(&file.id)
        .bind(&file.user_id)
        .bind(&file.name)
        .bind(file.size)
        .bind(&file.hash)
        .bind(&file.content_type)
        .bind(file.created_at)
        .bind(file.expires_at)
        .bind(file.downloads)
        .bind(file.encrypted as i64)
        .execute(&mut *tx)
        .await?;

        let rows =
            sqlx::query("SELECT id, hash, size, expires_at FROM files WHERE user_id = $1 ORDER BY seq DESC")
                .bind(&file.user_id)
                .fetch_all(&mut *tx)
                .await?;
        let mut removed = Vec::new();
        let mut kept = 0u64;
        let mut would_use = 0i64;
        for row in &rows {
            let (id, hash): (String, String) = (row.get("id"), row.get("hash"));
            let reason = if row.get::<i64, _>("expires_at") <= now {
                RemoveReason::Expired
            } else if kept >= max_files {
                RemoveReason::Evicted
            } else {
                kept += 1;
                would_use += row.get::<i64, _>("size");
                continue;
            };
            removed
                .push((PurgedFile { id, user_id: file.user_id.clone(), reason, clip_ids: Vec::new() }, hash));
        }
        if would_use as u64 > quota_bytes {
            tx.rollback().await?;
            return Ok(StoreOutcome::OverQuota { would_use });
        }
        let dead_blobs = remove_files(&mut tx, &mut removed).await?;
        Ok(StoreOutcome::Stored { tx, removed: removed.into_iter().map(|(f, _)| f).collect(), dead_blobs })
    }

    /// A file by id, if it belongs to this user (expired or not).
    pub async fn file_of(&self, user_id: &str, id: &str) -> Result<Option<FileRow>, sqlx::Error> {
        static SQL: LazyLock<Query> = LazyLock::new(|| {
            Query::new(format!("SELECT {FILE_COLUMNS} FROM files WHERE id = $1 AND user_id = $2"))
        });
        if let Some(local) = &self.local {
            return local.row(&SQL, &[("$1", &id), ("$2", &user_id)], |r| file_from_row(r));
        }
        let row = sqlx::query(SQL.sql()).bind(id).bind(user_id).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(file_from_row))
    }

    /// The user's live files, newest first.
    pub async fn list_files(&self, user_id: &str, now: i64) -> Result<Vec<FileRow>, sqlx::Error> {
        let sql = format!(
            "SELECT {FILE_COLUMNS} FROM files WHERE user_id = $1 AND expires_at > $2 ORDER BY seq DESC"
        );
        let rows = sqlx::query(&sql).bind(user_id).bind(now).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(file_from_row).collect())
    }

    /// Deletes one of the user's files. Returns it (with the clips that
    /// went with it) and the blobs that lost their last reference, or None
    /// if the user has no such file.
    pub async fn delete_file(
        &self,
        user_id: &str,
        id: &str,
    ) -> Result<Option<(PurgedFile, Vec<String>)>, sqlx::Error> {
        let mut tx = self.write_tx().await?;
        let hash: Option<String> =
            sqlx::query_scalar("SELECT hash FROM files WHERE id = $1 AND user_id = $2")
                .bind(id)
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(hash) = hash else {
            return Ok(None);
        };
        let file = PurgedFile {
            id: id.to_string(),
            user_id: user_id.to_string(),
            reason: RemoveReason::Deleted,
            clip_ids: Vec::new(),
        };
        let mut removed = vec![(file, hash)];
        let dead = remove_files(&mut tx, &mut removed).await?;
        tx.commit().await?;
        Ok(removed.pop().map(|(file, _)| (file, dead)))
    }

    /// Deletes every file of a user (before removing the account).
    pub async fn delete_all_files(&self, user_id: &str) -> Result<Vec<String>, sqlx::Error> {
        let mut tx = self.write_tx().await?;
        let rows = sqlx::query("SELECT id, user_id, hash FROM files WHERE user_id = $1")
            .bind(user_id)
            .fetch_all(&mut *tx)
            .await?;
        let mut removed = to_remove(&rows, RemoveReason::Deleted);
        let dead = remove_files(&mut tx, &mut removed).await?;
        tx.commit().await?;
        Ok(dead)
    }

    /// Purges up to `batch` expired files; returns them and the blobs that
    /// lost their last reference. Call until it returns fewer than `batch`.
    pub async fn purge_expired(
        &self,
        now: i64,
        batch: i64,
    ) -> Result<(Vec<PurgedFile>, Vec<String>), sqlx::Error> {
        let mut tx = self.write_tx().await?;
        let rows = sqlx::query(
            "SELECT id, user_id, hash FROM files WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2",
        )
        .bind(now)
        .bind(batch)
        .fetch_all(&mut *tx)
        .await?;
        let mut removed = to_remove(&rows, RemoveReason::Expired);
        let dead = remove_files(&mut tx, &mut removed).await?;
        tx.commit().await?;
        Ok((removed.into_iter().map(|(f, _)| f).collect(), dead))
    }

    /// Forgets a blob nobody references (its row at refcount 0, or no row
    /// at all: a placement whose transaction failed). `Some(open
    /// transaction)` if so: unlink the file, then commit, so no upload of
    /// the same content (which places its blob under the same write lock)
    /// slips in between.
    pub async fn drop_dead_blob(&self, hash: &str) -> Result<Option<Tx>, sqlx::Error> {
        let mut tx = self.write_tx().await?;
        let refcount: Option<i64> = sqlx::query_scalar("SELECT refcount FROM blobs WHERE hash = $1")
            .bind(hash)
            .fetch_optional(&mut *tx)
            .await?;
        if refcount.is_some_and(|n| n > 0) {
            tx.rollback().await?;
            return Ok(None);
        }
        sqlx::query("DELETE FROM blobs WHERE hash = $1").bind(hash).execute(&mut *tx).await?;
        Ok(Some(tx))
    }

    /// Blobs whose last reference went but whose file may still exist.
    pub async fn dead_blobs(&self) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT hash FROM blobs WHERE refcount <= 0").fetch_all(&self.pool).await
    }

    /// Adds batched download counts (see `tally`) in one transaction.
    /// Rows gone meanwhile simply match nothing.
    pub async fn add_download_counts(&self, counts: &DownloadCounts) -> Result<(), sqlx::Error> {
        let mut tx = self.write_tx().await?;
        for (id, n) in &counts.files {
            sqlx::query("UPDATE files SET downloads = downloads + $1 WHERE id = $2")
                .bind(n)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        for (id, (n, bytes)) in &counts.users {
            sqlx::query(
                "UPDATE users SET downloads = downloads + $1, bytes_downloaded = bytes_downloaded + $2 \
                 WHERE id = $3",
            )
            .bind(n)
            .bind(bytes)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        for (token, n) in &counts.shares {
            sqlx::query("UPDATE shares SET downloads = downloads + $1 WHERE token = $2")
                .bind(n)
                .bind(token)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    }

    /// Every blob hash the database knows (for the start-up store check).
    pub async fn all_blob_hashes(&self) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT hash FROM blobs").fetch_all(&self.pool).await
    }
}

impl Database {
    /// Files by id, whoever owns them (for share listings: one query per
    /// [`super::IN_LIST_MAX`] distinct ids).
    pub async fn files_by_ids(&self, ids: &[String]) -> Result<Vec<FileRow>, sqlx::Error> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut files = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(super::IN_LIST_MAX) {
            let sql = format!(
                "SELECT {FILE_COLUMNS} FROM files WHERE id IN ({})",
                super::placeholders(1, chunk.len())
            );
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(id);
            }
            files.extend(query.fetch_all(&self.pool).await?.iter().map(file_from_row));
        }
        Ok(files)
    }
}
