//! The clipboard buffer: text and file clips, history cap, expiry.

use std::sync::LazyLock;

use super::sqlite_read::Query;

use sqlx::Row;

use super::files::{file_from_prefixed_row, FileRow, FILE_COLUMNS_AS_F};
use super::{Columns, Database};

/// A clip as stored, with its file for file clips.
#[derive(Debug, Clone)]
pub struct ClipRow {
    /// Public id.
    pub id: String,
    /// Owner.
    pub user_id: String,
    /// `text` or `file`.
    pub kind: String,
    /// Bytes of content.
    pub size: i64,
    /// First 200 characters of a text clip; for an encrypted one, the
    /// preview field its client sent.
    pub preview: Option<String>,
    /// The file of a file clip.
    pub file: Option<FileRow>,
    /// End-to-end encrypted (a file clip: its file is).
    pub encrypted: bool,
    /// The device that made it.
    pub origin_device_id: Option<String>,
    /// Creation, ms.
    pub created_at: i64,
    /// Expiry, ms.
    pub expires_at: i64,
}

/// A clip to record.
#[derive(Debug, Clone)]
pub struct NewClip<'a> {
    /// Public id.
    pub id: &'a str,
    /// Owner.
    pub user_id: &'a str,
    /// The text, for a text clip (an encrypted `text` field if encrypted).
    pub text: Option<&'a str>,
    /// An encrypted text clip's preview field, as its client sent it.
    pub preview_field: Option<&'a str>,
    /// End-to-end encrypted; for a file clip, whatever its file is.
    pub encrypted: bool,
    /// The stored file, for a file clip.
    pub file: Option<&'a FileRow>,
    /// The device that made it.
    pub origin_device_id: Option<&'a str>,
    /// Creation, ms.
    pub created_at: i64,
    /// Expiry, ms.
    pub expires_at: i64,
}

impl NewClip<'_> {
    /// The row this clip is recorded as (what reading it back would give).
    pub fn row(&self) -> ClipRow {
        let (kind, size) = match (self.text, self.file) {
            (Some(text), _) => ("text", text.len() as i64),
            (None, Some(file)) => ("file", file.size),
            (None, None) => ("text", 0),
        };
        ClipRow {
            id: self.id.to_string(),
            user_id: self.user_id.to_string(),
            kind: kind.to_string(),
            size,
            // As `substr(text_content, 1, 200)`: characters, not bytes. The
            // server never previews ciphertext: the client's field instead.
            preview: if self.encrypted {
                self.preview_field.map(str::to_string)
            } else {
                self.text.map(preview_of)
            },
            file: self.file.cloned(),
            encrypted: self.encrypted,
            origin_device_id: self.origin_device_id.map(str::to_string),
            created_at: self.created_at,
            expires_at: self.expires_at,
        }
    }
}

/// A clip's columns, `c_`-prefixed, from `clips c`, with `$preview` as
/// `c_preview` and `$extra` after the rest.
macro_rules! clip_columns {
    ($preview:literal, $extra:literal) => {
        concat!(
            "c.id AS c_id, c.user_id AS c_user_id, c.kind AS c_kind, c.size AS c_size, ",
            $preview,
            " AS c_preview, c.origin_device_id AS c_origin, c.created_at AS c_created_at, \
             c.expires_at AS c_expires_at, c.encrypted AS c_encrypted",
            $extra
        )
    };
}

/// A clip's columns, `c_`-prefixed, from `clips c`. A plain text clip's
/// preview is the first [`PREVIEW_CHARS`] characters of its text.
pub(super) const CLIP_COLUMNS_AS_C: &str = clip_columns!(
    "CASE WHEN c.encrypted <> 0 THEN c.preview_field ELSE substr(c.text_content, 1, 200) END",
    ""
);

/// The length of a text clip's preview, in characters (`substr` counts
/// characters too).
const PREVIEW_CHARS: usize = 200;

/// The clip columns of [`CLIP_COLUMNS_AS_C`], with the whole text as
/// `c_text` instead of a preview cut by SQLite (the text is read anyway;
/// `substr` counting characters cost more than the rest of the row), and
/// the clip's file as `f_` columns: what sending a clip's content needs.
/// Read back with [`clip_with_text_from_row`].
pub(super) fn clip_with_text_columns() -> String {
    const COLUMNS: &str =
        clip_columns!("CASE WHEN c.encrypted <> 0 THEN c.preview_field END", ", c.text_content AS c_text");
    format!("{COLUMNS}, {FILE_COLUMNS_AS_F}")
}

/// The preview of a plain text: its first [`PREVIEW_CHARS`] characters.
fn preview_of(text: &str) -> String {
    // Most clips begin in ASCII, where characters are bytes: no scan.
    let head = &text.as_bytes()[..text.len().min(PREVIEW_CHARS)];
    if head.is_ascii() {
        return text[..head.len()].to_string();
    }
    match text.char_indices().nth(PREVIEW_CHARS) {
        Some((end, _)) => text[..end].to_string(),
        None => text.to_string(),
    }
}

/// A clip and its text (None for a file clip) from [`clip_with_text_columns`].
pub(super) fn clip_with_text_from_row(row: &impl Columns) -> (ClipRow, Option<String>) {
    let mut clip = clip_from_row(row);
    let text = row.opt_text("c_text");
    if clip.kind == "text" && !clip.encrypted {
        clip.preview = text.as_deref().map(preview_of);
    }
    (clip, text)
}

fn clip_sql(filter: &str) -> String {
    format!("SELECT {CLIP_COLUMNS_AS_C}, {FILE_COLUMNS_AS_F} FROM clips c LEFT JOIN files f ON f.id = c.file_id WHERE {filter}")
}

/// A clip from `c_`-prefixed columns, with its file from `f_` ones.
pub(super) fn clip_from_row(row: &impl Columns) -> ClipRow {
    let kind = row.text("c_kind");
    ClipRow {
        id: row.text("c_id"),
        user_id: row.text("c_user_id"),
        size: row.int("c_size"),
        preview: if kind == "text" { row.opt_text("c_preview") } else { None },
        file: row.opt_text("f_id").map(|_| file_from_prefixed_row(row)),
        encrypted: row.int("c_encrypted") != 0,
        kind,
        origin_device_id: row.opt_text("c_origin"),
        created_at: row.int("c_created_at"),
        expires_at: row.int("c_expires_at"),
    }
}

impl Database {
    /// Records a clip and trims the user's history to `history` clips
    /// (expired ones go too). Returns the ids of the clips removed.
    pub async fn insert_clip(
        &self,
        clip: &NewClip<'_>,
        history: u64,
        now: i64,
    ) -> Result<Vec<String>, sqlx::Error> {
        let mut tx = self.write_tx().await?;
        let row = clip.row();
        let (kind, size) = (row.kind.as_str(), row.size);
        sqlx::query(
            "INSERT INTO clips (id, user_id, kind, text_content, file_id, size, origin_device_id, created_at, expires_at, \
             encrypted, preview_field) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(clip.id)
        .bind(clip.user_id)
        .bind(kind)
        .bind(clip.text)
        .bind(clip.file.map(|f| f.id.as_str()))
        .bind(size)
        .bind(clip.origin_device_id)
        .bind(clip.created_at)
        .bind(clip.expires_at)
        .bind(row.encrypted as i64)
        .bind(row.preview.as_deref().filter(|_| row.encrypted))
        .execute(&mut *tx)
        .await?;
        let rows = sqlx::query("SELECT id, expires_at FROM clips WHERE user_id = $1 ORDER BY seq DESC")
            .bind(clip.user_id)
            .fetch_all(&mut *tx)
            .await?;
        let mut kept = 0u64;
        let mut removed = Vec::new();
        for row in rows {
            if row.get::<i64, _>("expires_at") > now && kept < history {
                kept += 1;
            } else {
                removed.push(row.get::<String, _>("id"));
            }
        }
        for chunk in removed.chunks(super::IN_LIST_MAX) {
            let sql = format!("DELETE FROM clips WHERE id IN ({})", super::placeholders(1, chunk.len()));
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(id);
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(removed)
    }

    /// The user's live clips, newest first, with their files (one query).
    pub async fn list_clips(&self, user_id: &str, now: i64) -> Result<Vec<ClipRow>, sqlx::Error> {
        let sql = clip_sql("c.user_id = $1 AND c.expires_at > $2 ORDER BY c.seq DESC");
        let rows = sqlx::query(&sql).bind(user_id).bind(now).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(clip_from_row).collect())
    }

    /// The user's newest live clip, with its full text if it is a text
    /// clip: `GET /buffer` sends it, so it comes in the same query.
    pub async fn newest_clip_with_text(
        &self,
        user_id: &str,
        now: i64,
    ) -> Result<Option<(ClipRow, Option<String>)>, sqlx::Error> {
        static SQL: LazyLock<Query> = LazyLock::new(|| {
            Query::new(format!(
                "SELECT {} FROM clips c LEFT JOIN files f ON f.id = c.file_id \
                 WHERE c.user_id = $1 AND c.expires_at > $2 ORDER BY c.seq DESC LIMIT 1",
                clip_with_text_columns()
            ))
        });
        if let Some(local) = &self.local {
            return local.row(&SQL, &[("$1", &user_id), ("$2", &now)], |r| clip_with_text_from_row(r));
        }
        let row = sqlx::query(SQL.sql()).bind(user_id).bind(now).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(clip_with_text_from_row))
    }

    /// A clip by id (expired or not); `user_id: None` for public share access.
    pub async fn clip_by_id(&self, user_id: Option<&str>, id: &str) -> Result<Option<ClipRow>, sqlx::Error> {
        let sql = clip_sql("c.id = $1 AND ($2 IS NULL OR c.user_id = $2)");
        let row = sqlx::query(&sql).bind(id).bind(user_id).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(clip_from_row))
    }

    /// The full text of a text clip.
    pub async fn clip_text(&self, id: &str) -> Result<Option<String>, sqlx::Error> {
        static SQL: LazyLock<Query> =
            LazyLock::new(|| Query::new("SELECT text_content FROM clips WHERE id = $1"));
        if let Some(local) = &self.local {
            return Ok(local.row(&SQL, &[("$1", &id)], |r| r.opt_text("text_content"))?.flatten());
        }
        let text: Option<Option<String>> =
            sqlx::query_scalar(SQL.sql()).bind(id).fetch_optional(&self.pool).await?;
        Ok(text.flatten())
    }

    /// Deletes one of the user's clips (its file, if any, stays under Files).
    pub async fn delete_clip(&self, user_id: &str, id: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM clips WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Clears the user's history; returns the ids removed.
    pub async fn clear_clips(&self, user_id: &str) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar("DELETE FROM clips WHERE user_id = $1 RETURNING id")
            .bind(user_id)
            .fetch_all(&self.pool)
            .await
    }

    /// Purges expired clips; returns `(user_id, clip_id)` pairs.
    pub async fn purge_expired_clips(&self, now: i64) -> Result<Vec<(String, String)>, sqlx::Error> {
        let rows = sqlx::query("DELETE FROM clips WHERE expires_at <= $1 RETURNING user_id, id")
            .bind(now)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| (r.get("user_id"), r.get("id"))).collect())
    }

    /// Live clips of a user.
    pub async fn count_clips(&self, user_id: &str, now: i64) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT COUNT(*) FROM clips WHERE user_id = $1 AND expires_at > $2")
            .bind(user_id)
            .bind(now)
            .fetch_one(&self.pool)
            .await
    }
}

impl Database {
    /// Clips by id, whoever owns them (for share listings: one query per
    /// [`super::IN_LIST_MAX`] distinct ids).
    pub async fn clips_by_ids(&self, ids: &[String]) -> Result<Vec<ClipRow>, sqlx::Error> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut clips = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(super::IN_LIST_MAX) {
            let sql = clip_sql(&format!("c.id IN ({})", super::placeholders(1, chunk.len())));
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(id);
            }
            clips.extend(query.fetch_all(&self.pool).await?.iter().map(clip_from_row));
        }
        Ok(clips)
    }
}
