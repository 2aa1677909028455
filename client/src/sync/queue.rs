//! The on-disk outbox queue: clips made on this device that the server has
//! not accepted yet. One file per item, named by a monotonic sequence
//! number so the directory listing is the send order: `<seq>.txt` (UTF-8
//! text) or `<seq>.png` (a clipboard image). Items are written to a
//! `.tmp` file, synced, then renamed, so a crash never leaves half an item;
//! an item is removed only after the server accepted it.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What an item holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    /// UTF-8 text.
    Text,
    /// A PNG image.
    Png,
}

/// One queued clip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Its file.
    pub path: PathBuf,
    /// Text or image.
    pub kind: ItemKind,
}

/// The queue directory.
#[derive(Debug)]
pub struct Queue {
    dir: PathBuf,
    last_seq: Mutex<u128>,
    /// Items pushed by this process and never attempted: only these are
    /// certainly not on the server yet.
    fresh: Mutex<HashSet<PathBuf>>,
}

fn seq_of(path: &Path) -> Option<u128> {
    path.file_stem()?.to_str()?.parse().ok()
}

impl Queue {
    /// Opens (creating) the queue in `dir`, dropping unfinished writes.
    pub fn open(dir: &Path) -> std::io::Result<Queue> {
        std::fs::create_dir_all(dir)?;
        let queue = Queue { dir: dir.to_path_buf(), last_seq: Mutex::new(0), fresh: Mutex::default() };
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "tmp") {
                let _ = std::fs::remove_file(&path);
            }
        }
        let last = queue.items()?.last().and_then(|item| seq_of(&item.path)).unwrap_or(0);
        *queue.last_seq.lock().unwrap_or_else(|e| e.into_inner()) = last;
        Ok(queue)
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Adds an item durably; returns its path.
    pub fn push(&self, kind: ItemKind, bytes: &[u8]) -> std::io::Result<PathBuf> {
        let seq = {
            let mut last = self.last_seq.lock().unwrap_or_else(|e| e.into_inner());
            let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos().max(0) as u128;
            *last = now.max(*last + 1);
            *last
        };
        let ext = match kind {
            ItemKind::Text => "txt",
            ItemKind::Png => "png",
        };
        let path = self.dir.join(format!("{seq:024}.{ext}"));
        let temp = self.dir.join(format!("{seq:024}.tmp"));
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temp, &path)?;
        self.fresh.lock().unwrap_or_else(|e| e.into_inner()).insert(path.clone());
        Ok(path)
    }

    /// The items, oldest first.
    pub fn items(&self) -> std::io::Result<Vec<Item>> {
        let mut items = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let path = entry?.path();
            let kind = match path.extension().and_then(|e| e.to_str()) {
                Some("txt") => ItemKind::Text,
                Some("png") => ItemKind::Png,
                _ => continue,
            };
            if seq_of(&path).is_some() {
                items.push(Item { path, kind });
            }
        }
        items.sort_by_key(|item| seq_of(&item.path));
        Ok(items)
    }

    /// How many items wait.
    pub fn len(&self) -> usize {
        self.items().map(|items| items.len()).unwrap_or(0)
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True (once) if `item` was pushed by this process and never attempted.
    pub fn take_fresh(&self, item: &Item) -> bool {
        self.fresh.lock().unwrap_or_else(|e| e.into_inner()).remove(&item.path)
    }

    /// Removes a sent item.
    pub fn remove(&self, item: &Item) -> std::io::Result<()> {
        self.fresh.lock().unwrap_or_else(|e| e.into_inner()).remove(&item.path);
        match std::fs::remove_file(&item.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_come_back_in_order_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let queue = Queue::open(dir.path()).unwrap();
        let a = queue.push(ItemKind::Text, b"a").unwrap();
        let b = queue.push(ItemKind::Png, b"png").unwrap();
        let c = queue.push(ItemKind::Text, b"c").unwrap();
        std::fs::write(dir.path().join("1.tmp"), b"half").unwrap();
        let items = queue.items().unwrap();
        assert_eq!(items.iter().map(|i| i.path.clone()).collect::<Vec<_>>(), vec![a, b.clone(), c]);
        assert!(queue.take_fresh(&items[0]));
        assert!(!queue.take_fresh(&items[0]));
        queue.remove(&items[0]).unwrap();

        let reopened = Queue::open(dir.path()).unwrap();
        assert!(!dir.path().join("1.tmp").exists());
        let items = reopened.items().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0], Item { path: b, kind: ItemKind::Png });
        assert!(!reopened.take_fresh(&items[0]), "items from an earlier run are not fresh");
        let d = reopened.push(ItemKind::Text, b"d").unwrap();
        assert_eq!(reopened.items().unwrap().last().unwrap().path, d);
    }
}
