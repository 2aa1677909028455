//! Small blobs kept in memory: a clip or a photo link is read again and
//! again (the desktop app, a phone reopening a link, a link sent to a
//! group), and reading it costs a hop to a blocking thread (local disk) or a
//! round trip (S3) per request. Blobs are content-addressed, so an entry
//! can never be stale: the same hash is the same bytes. Bounded in total
//! size, oldest entry out first.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use bytes::Bytes;

/// Blobs up to this size are kept.
pub const MAX_BLOB_BYTES: u64 = 64 << 10;
/// What all entries together may take.
const BUDGET_BYTES: usize = 16 << 20;

/// The cache; cheap to share behind the app state.
#[derive(Debug, Default)]
pub struct SmallBlobs {
    inner: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    by_hash: HashMap<String, Bytes>,
    /// Insertion order, for eviction.
    order: VecDeque<String>,
    bytes: usize,
}

impl SmallBlobs {
    /// The whole blob, if kept.
    pub fn get(&self, hash: &str) -> Option<Bytes> {
        self.lock().by_hash.get(hash).cloned()
    }

    /// Keeps a whole blob (ignored above [`MAX_BLOB_BYTES`]).
    pub fn insert(&self, hash: &str, blob: Bytes) {
        if blob.len() as u64 > MAX_BLOB_BYTES {
            return;
        }
        let mut entries = self.lock();
        if entries.by_hash.contains_key(hash) {
            return;
        }
        while entries.bytes + blob.len() > BUDGET_BYTES {
            let Some(oldest) = entries.order.pop_front() else { break };
            if let Some(gone) = entries.by_hash.remove(&oldest) {
                entries.bytes -= gone.len();
            }
        }
        entries.bytes += blob.len();
        entries.order.push_back(hash.to_string());
        entries.by_hash.insert(hash.to_string(), blob);
    }

    /// Forgets a blob (its last file went).
    pub fn remove(&self, hash: &str) {
        let mut entries = self.lock();
        if let Some(gone) = entries.by_hash.remove(hash) {
            entries.bytes -= gone.len();
            entries.order.retain(|h| h != hash);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_small_blobs_within_budget_oldest_out_first() {
        let cache = SmallBlobs::default();
        let blob = Bytes::from(vec![7u8; MAX_BLOB_BYTES as usize]);
        let count = BUDGET_BYTES / blob.len();
        for i in 0..count {
            cache.insert(&format!("h{i}"), blob.clone());
        }
        assert!(cache.get("h0").is_some());
        cache.insert("new", blob.clone());
        assert!(cache.get("h0").is_none(), "the oldest went to make room");
        assert!(cache.get("h1").is_some());
        assert_eq!(cache.get("new").unwrap(), blob);
        assert!(cache.lock().bytes <= BUDGET_BYTES);

        cache.insert("big", Bytes::from(vec![0u8; MAX_BLOB_BYTES as usize + 1]));
        assert!(cache.get("big").is_none(), "too big to keep");

        cache.remove("new");
        assert!(cache.get("new").is_none());
        let entries = cache.lock();
        assert_eq!(entries.bytes, entries.by_hash.values().map(Bytes::len).sum::<usize>());
    }
}
