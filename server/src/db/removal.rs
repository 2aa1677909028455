//! Removing files: their clips, their rows and their blob references, in a
//! few set-based statements (evictions, deletes, expiry purges).

use std::collections::{BTreeMap, HashMap};

use super::Row as SqlRow;
use sqlx::{Any, Row, Transaction};

use super::{placeholders, IN_LIST_MAX};

/// Why a file went away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoveReason {
    /// Its owner deleted it.
    Deleted,
    /// Its time ran out.
    Expired,
    /// A newer file pushed it past the user's file limit.
    Evicted,
}

/// A file removed from the database, for notifications.
#[derive(Debug, Clone)]
pub struct PurgedFile {
    /// File id.
    pub id: String,
    /// Owner.
    pub user_id: String,
    /// Why.
    pub reason: RemoveReason,
    /// The file clips that went with it.
    pub clip_ids: Vec<String>,
}

/// `(file, hash)` pairs for [`remove_files`] from rows of `id, user_id, hash`.
pub(super) fn to_remove(rows: &[SqlRow], reason: RemoveReason) -> Vec<(PurgedFile, String)> {
    rows.iter()
        .map(|r| {
            let file =
                PurgedFile { id: r.get("id"), user_id: r.get("user_id"), reason, clip_ids: Vec::new() };
            (file, r.get("hash"))
        })
        .collect()
}

/// Deletes the listed files (noting the clips that go with them) and
/// releases their blobs; returns dead blobs. Three statements per
/// [`IN_LIST_MAX`] files, however many there are.
pub(super) async fn remove_files(
    tx: &mut Transaction<'_, Any>,
    files: &mut [(PurgedFile, String)],
) -> Result<Vec<String>, sqlx::Error> {
    let mut dead = Vec::new();
    for chunk in files.chunks_mut(IN_LIST_MAX) {
        let list = placeholders(1, chunk.len());
        let sql = format!("DELETE FROM clips WHERE file_id IN ({list}) RETURNING id, file_id");
        let mut query = sqlx::query(&sql);
        for (file, _) in chunk.iter() {
            query = query.bind(&file.id);
        }
        let mut clips: HashMap<String, Vec<String>> = HashMap::new();
        for row in query.fetch_all(&mut **tx).await? {
            clips.entry(row.get("file_id")).or_default().push(row.get("id"));
        }
        let sql = format!("DELETE FROM files WHERE id IN ({list})");
        let mut query = sqlx::query(&sql);
        for (file, _) in chunk.iter_mut() {
            file.clip_ids = clips.remove(&file.id).unwrap_or_default();
            query = query.bind(&file.id);
        }
        query.execute(&mut **tx).await?;
        dead.extend(release_blobs(tx, chunk.iter().map(|(_, hash)| hash.as_str())).await?);
    }
    Ok(dead)
}

/// Drops one reference to a blob per hash given (a hash may come more than
/// once: deduplicated content); returns the hashes whose last reference
/// that was. The row stays (refcount 0) until the server unlinks the file
/// and drops it with [`super::Database::drop_dead_blob`], so a crash in between, or
/// a removal made by the admin command line, is finished by the next sweep.
async fn release_blobs<'h>(
    tx: &mut Transaction<'_, Any>,
    hashes: impl Iterator<Item = &'h str>,
) -> Result<Vec<String>, sqlx::Error> {
    let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
    for hash in hashes {
        *counts.entry(hash).or_default() += 1;
    }
    if counts.is_empty() {
        return Ok(Vec::new());
    }
    // refcount - CASE hash WHEN $1 THEN $2 … END, for every hash at once.
    let cases: String =
        (0..counts.len()).map(|i| format!(" WHEN ${} THEN ${}", 2 * i + 1, 2 * i + 2)).collect();
    let sql = format!(
        "UPDATE blobs SET refcount = refcount - CASE hash{cases} ELSE 0 END WHERE hash IN ({}) \
         RETURNING hash, refcount",
        placeholders(2 * counts.len() + 1, counts.len())
    );
    let mut query = sqlx::query(&sql);
    for (hash, n) in &counts {
        query = query.bind(*hash).bind(*n);
    }
    for hash in counts.keys() {
        query = query.bind(*hash);
    }
    let rows = query.fetch_all(&mut **tx).await?;
    Ok(rows.iter().filter(|r| r.get::<i64, _>("refcount") <= 0).map(|r| r.get("hash")).collect())
}
