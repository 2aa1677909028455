//! Download counts, batched: a completed download adds to counters in
//! memory, and they are written in one transaction every [`FLUSH_EVERY`],
//! before this instance reads them back (listings, stats), and at
//! shutdown. A write transaction per download would serialize every small
//! download behind the database's single writer; these counts inform, they
//! limit nothing. What does limit (a link's `max_downloads`) stays exact
//! and is counted at once (`shares::Reservation`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::db::{Database, DownloadCounts, FileRow};

/// How long a count may wait in memory.
pub const FLUSH_EVERY: Duration = Duration::from_millis(200);

/// What a download of a stored file counts for: the file and its owner.
/// Only the two ids, so a download in flight does not hold a copy of the
/// whole row.
#[derive(Debug, Clone)]
pub struct Counted {
    file_id: String,
    user_id: String,
}

impl Counted {
    /// The counts of this file.
    pub fn of(file: &FileRow) -> Counted {
        Counted { file_id: file.id.clone(), user_id: file.user_id.clone() }
    }
}

/// Counts not yet written.
#[derive(Debug, Default)]
pub struct Tally {
    pending: Mutex<DownloadCounts>,
    /// Held while counts are being written: a reader that flushes waits for
    /// a flush in progress, or it could read before those counts commit.
    writing: tokio::sync::Mutex<()>,
}

impl Tally {
    /// One completed download, `bytes` long: in the metrics, and for the
    /// file and its owner when it is a stored file (not a text clip).
    pub fn download(&self, file: Option<&Counted>, bytes: u64) {
        crate::metrics::DOWNLOAD_BYTES.add(bytes);
        let Some(file) = file else { return };
        let mut counts = self.lock();
        *bump(&mut counts.files, &file.file_id) += 1;
        let user = bump(&mut counts.users, &file.user_id);
        user.0 += 1;
        user.1 += bytes as i64;
    }

    /// One completed download through a link without a download limit.
    pub fn share(&self, token: &str) {
        *bump(&mut self.lock().shares, token) += 1;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DownloadCounts> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes what is pending (nothing to do: no query). On failure the
    /// counts go back, to be tried again.
    pub async fn flush(&self, db: &Database) -> Result<(), sqlx::Error> {
        let _writing = self.writing.lock().await;
        let pending = std::mem::take(&mut *self.lock());
        if pending.is_empty() {
            return Ok(());
        }
        if let Err(e) = db.add_download_counts(&pending).await {
            self.lock().merge(pending);
            return Err(e);
        }
        Ok(())
    }
}

impl DownloadCounts {
    fn is_empty(&self) -> bool {
        self.files.is_empty() && self.users.is_empty() && self.shares.is_empty()
    }

    fn merge(&mut self, other: DownloadCounts) {
        merge_into(&mut self.files, other.files, |a, b| *a += b);
        merge_into(&mut self.shares, other.shares, |a, b| *a += b);
        merge_into(&mut self.users, other.users, |a, b| {
            a.0 += b.0;
            a.1 += b.1;
        });
    }
}

fn merge_into<V: Default>(into: &mut HashMap<String, V>, from: HashMap<String, V>, add: impl Fn(&mut V, V)) {
    for (key, value) in from {
        add(into.entry(key).or_default(), value);
    }
}

/// Flushes every [`FLUSH_EVERY`] until cancelled, then once more.
pub async fn run(state: crate::AppState, cancel: CancellationToken) {
    let mut ticker = tokio::time::interval(FLUSH_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let stopping = tokio::select! {
            _ = cancel.cancelled() => true,
            _ = ticker.tick() => false,
        };
        if let Err(e) = state.tally.flush(&state.db).await {
            tracing::warn!(error = %e, "download counts not written yet; will retry");
        }
        if stopping {
            return;
        }
    }
}

/// `map[key]`, made with its default first if absent. The key is copied only
/// then: most downloads count an id already pending, and `entry` would copy
/// it every time.
fn bump<'a, V: Default>(map: &'a mut std::collections::HashMap<String, V>, key: &str) -> &'a mut V {
    if !map.contains_key(key) {
        map.insert(key.to_string(), V::default());
    }
    map.get_mut(key).expect("inserted above")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(id: &str, user: &str) -> Counted {
        Counted::of(&FileRow {
            id: id.into(),
            user_id: user.into(),
            name: "f".into(),
            size: 1,
            hash: "00".repeat(32),
            content_type: "text/plain".into(),
            created_at: 0,
            expires_at: 0,
            downloads: 0,
            encrypted: false,
        })
    }

    #[test]
    fn counts_add_up_per_file_user_and_link_and_merge_back() {
        let tally = Tally::default();
        tally.download(Some(&file("a", "u")), 10);
        tally.download(Some(&file("a", "u")), 5);
        tally.download(Some(&file("b", "v")), 7);
        tally.share("t");
        let taken = std::mem::take(&mut *tally.lock());
        assert_eq!(taken.files, HashMap::from([("a".into(), 2), ("b".into(), 1)]));
        assert_eq!(taken.users, HashMap::from([("u".into(), (2, 15)), ("v".into(), (1, 7))]));
        assert_eq!(taken.shares, HashMap::from([("t".into(), 1)]));
        tally.download(Some(&file("a", "u")), 1);
        tally.lock().merge(taken);
        let merged = tally.lock();
        assert_eq!(merged.files["a"], 3);
        assert_eq!(merged.users["u"], (3, 16));
    }
}
