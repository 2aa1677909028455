//! Folder watch: an outbox folder whose new files are uploaded as file
//! clips once they stop changing, and an inbox folder where other
//! devices' file clips are saved without overwriting anything.
//!
//! Outbox: the folder is watched with `notify` (inotify on Linux; no
//! polling while nothing happens). A file is sent once its size and
//! modification time stayed the same for `settle` (1 s by default), then
//! moved to `outbox/.sent/`: the folder itself is the record of what is
//! still to send, so every file is sent once, across restarts too. A crash
//! between the upload and the move could send a file twice; files found at
//! start are therefore first looked up among this device's clips by name
//! and BLAKE3 hash. Hidden files and `*.part`/`*.tmp`/`*.crdownload`/`*~`
//! are ignored (downloads in progress).
//!
//! Inbox: `save_to_inbox` downloads under a hidden name, then links it in
//! as `<name>`, or `<name> (1).<ext>`, `<name> (2).<ext>`… when taken (a
//! link fails rather than replace a file that appeared meanwhile).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use cloudbuffer_protocol::FileInfo;
use notify::Watcher;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::api::Client;
use crate::error::{ClientError, Result};
use crate::transfer::{no_progress, part_path};

/// The outbox's record of sent files.
pub const SENT_DIR: &str = ".sent";

const TICK: Duration = Duration::from_millis(250);
const RETRY_MIN: Duration = Duration::from_secs(2);
const RETRY_MAX: Duration = Duration::from_secs(60);

/// `name`, else `name (1).ext`, `name (2).ext`… : the first path in `dir`
/// where neither the file nor its `.part` exists.
pub fn unique_path(dir: &Path, name: &str) -> PathBuf {
    let name = crate::names::safe_file_name(name);
    let free = |p: &Path| !p.exists() && !part_path(p).exists();
    let first = dir.join(&name);
    if free(&first) {
        return first;
    }
    (1..).map(|n| dir.join(crate::names::numbered(&name, n))).find(|p| free(p)).expect("a free name")
}

/// Saves a file clip's file into `dir`, never overwriting: returns its path.
/// It downloads under a hidden name first, then links it in under a free
/// name; a link, unlike a rename, fails if that name was taken meanwhile.
pub async fn save_to_inbox(client: &Client, dir: &Path, file: &FileInfo) -> Result<PathBuf> {
    tokio::fs::create_dir_all(dir).await.map_err(|e| ClientError::io(dir, e))?;
    let id: String = file.id.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let staging = dir.join(format!(".incoming-{id}"));
    client.download_file(&file.id, &staging, no_progress()).await?;
    place_without_overwrite(&staging, dir, &file.name)
}

/// Moves `staging` to a free name for `name` in `dir`.
fn place_without_overwrite(staging: &Path, dir: &Path, name: &str) -> Result<PathBuf> {
    loop {
        let dest = unique_path(dir, name);
        if move_if_free(staging, &dest).map_err(|e| ClientError::io(&dest, e))? {
            return Ok(dest);
        }
    }
}

/// Moves `from` to `to` unless `to` exists (then false, both untouched).
fn move_if_free(from: &Path, to: &Path) -> std::io::Result<bool> {
    match std::fs::hard_link(from, to) {
        Ok(()) => {
            let _ = std::fs::remove_file(from);
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        // No hard links on this file system: rename (racy, but checked just now).
        Err(_) if !to.exists() => std::fs::rename(from, to).map(|()| true),
        Err(_) => Ok(false),
    }
}

/// Files that are not (yet) for sending.
fn ignored(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return true;
    };
    name.starts_with('.')
        || name.ends_with('~')
        || [".part", ".tmp", ".crdownload"].iter().any(|ext| name.ends_with(ext))
}

struct Pending {
    seen: Option<(u64, SystemTime)>,
    since: Instant,
    retry_at: Instant,
    retry_every: Duration,
    /// Found at start: maybe sent by a run that crashed before moving it.
    check_server: bool,
    /// Refused for good: not retried until the file changes.
    failed: bool,
}

impl Pending {
    fn new(check_server: bool) -> Pending {
        let now = Instant::now();
        Pending { seen: None, since: now, retry_at: now, retry_every: RETRY_MIN, check_server, failed: false }
    }
}

/// Watches `dir` until cancelled, uploading each settled file once.
/// Problems with one file (or the network) go to `report` and are retried;
/// only an unusable folder ends it with an error.
pub async fn run_outbox(
    client: Client,
    dir: PathBuf,
    settle: Duration,
    cancel: CancellationToken,
    report: impl Fn(String) + Send + 'static,
) -> Result<()> {
    // Events name paths under the watched one: compare them to one spelling.
    let dir = std::path::absolute(&dir).map_err(|e| ClientError::io(&dir, e))?;
    let sent_dir = dir.join(SENT_DIR);
    std::fs::create_dir_all(&sent_dir).map_err(|e| ClientError::io(&sent_dir, e))?;
    let (tx, mut rx) = mpsc::unbounded_channel::<PathBuf>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        for path in event.map(|e| e.paths).unwrap_or_default() {
            let _ = tx.send(path);
        }
    })
    .map_err(|e| ClientError::Invalid(format!("cannot watch {}: {e}", dir.display())))?;
    watcher
        .watch(&dir, notify::RecursiveMode::NonRecursive)
        .map_err(|e| ClientError::Invalid(format!("cannot watch {}: {e}", dir.display())))?;

    let mut pending: HashMap<PathBuf, Pending> = HashMap::new();
    for entry in std::fs::read_dir(&dir).map_err(|e| ClientError::io(&dir, e))? {
        let path = entry.map_err(|e| ClientError::io(&dir, e))?.path();
        if !ignored(&path) {
            pending.insert(path, Pending::new(true));
        }
    }
    loop {
        let tick = async {
            if pending.is_empty() {
                std::future::pending::<()>().await
            } else {
                tokio::time::sleep(TICK).await
            }
        };
        tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            Some(path) = rx.recv() => {
                if path.parent() == Some(dir.as_path()) && !ignored(&path) {
                    let entry = pending.entry(path).or_insert_with(|| Pending::new(false));
                    entry.since = Instant::now();
                    entry.failed = false;
                }
                continue;
            }
            _ = tick => {}
        }
        let now = Instant::now();
        let mut ready = Vec::new();
        pending.retain(|path, p| {
            let Ok(meta) = std::fs::metadata(path) else { return false };
            if !meta.is_file() {
                return false;
            }
            let stamp = (meta.len(), meta.modified().unwrap_or(SystemTime::UNIX_EPOCH));
            if p.seen != Some(stamp) {
                p.seen = Some(stamp);
                p.since = now;
                p.failed = false;
            } else if !p.failed && now.duration_since(p.since) >= settle && now >= p.retry_at {
                ready.push(path.clone());
            }
            true
        });
        for path in ready {
            let Some(p) = pending.get_mut(&path) else { continue };
            match send_one(&client, &path, &sent_dir, p.check_server).await {
                Ok(()) => {
                    pending.remove(&path);
                }
                Err(e) => {
                    report(format!("outbox: {}: {e}", path.display()));
                    if matches!(e, ClientError::Unreachable { .. } | ClientError::Interrupted(_))
                        || matches!(e, ClientError::RateLimited { .. })
                    {
                        p.retry_at = Instant::now() + p.retry_every;
                        p.retry_every = (p.retry_every * 2).min(RETRY_MAX);
                    } else {
                        p.failed = true;
                    }
                }
            }
        }
    }
}

async fn send_one(client: &Client, path: &Path, sent_dir: &Path, check_server: bool) -> Result<()> {
    if !(check_server && already_sent(client, path).await?) {
        client.copy_file(path, no_progress()).await?;
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let dest = unique_path(sent_dir, &name);
    tokio::fs::rename(path, &dest).await.map_err(|e| ClientError::io(path, e))
}

/// True if one of this device's clips is this file (same name and hash;
/// an encrypted one by the hash of its decrypted content).
async fn already_sent(client: &Client, path: &Path) -> Result<bool> {
    let device = client.session().await.map(|s| s.device_id);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let ours: Vec<_> = client
        .clips()
        .await?
        .into_iter()
        .filter(|c| c.origin_device_id.is_some() && c.origin_device_id == device)
        .filter_map(|c| c.file)
        .filter_map(|f| Some((client.reveal_file(&f).ok()?, f.encrypted)))
        .filter(|(f, _)| f.name == name)
        .collect();
    if ours.is_empty() {
        return Ok(false);
    }
    // Hashed as it is read: outbox files can be as large as uploads are.
    let file = path.to_path_buf();
    let (hash, size) = tokio::task::spawn_blocking(move || {
        let mut hasher = blake3::Hasher::new();
        hasher.update_reader(std::fs::File::open(&file)?)?;
        Ok::<_, std::io::Error>((hasher.finalize().to_hex(), std::fs::metadata(&file)?.len()))
    })
    .await
    .map_err(|e| ClientError::Invalid(format!("hashing {}: {e}", path.display())))?
    .map_err(|e| ClientError::io(path, e))?;
    for (info, encrypted) in ours {
        let same = match encrypted {
            true => info.size == size && client.plaintext_hash(&info.id).await? == hash.as_str(),
            false => info.hash == hash.as_str(),
        };
        if same {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_names_never_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(unique_path(dir.path(), "a.txt"), dir.path().join("a.txt"));
        std::fs::write(dir.path().join("a.txt"), b"").unwrap();
        assert_eq!(unique_path(dir.path(), "a.txt"), dir.path().join("a (1).txt"));
        std::fs::write(dir.path().join("a (1).txt.part"), b"").unwrap();
        assert_eq!(unique_path(dir.path(), "a.txt"), dir.path().join("a (2).txt"));
        assert_eq!(unique_path(dir.path(), "../x/README"), dir.path().join("README"));
        assert_eq!(unique_path(dir.path(), ".."), dir.path().join("download"));
        assert!(ignored(Path::new("/o/.hidden")) && ignored(Path::new("/o/f.part")));
        assert!(!ignored(Path::new("/o/photo.jpg")));
    }

    #[test]
    fn a_received_file_never_replaces_one_that_appeared_meanwhile() {
        let dir = tempfile::tempdir().unwrap();
        let staging = dir.path().join(".incoming-1");
        std::fs::write(&staging, b"new").unwrap();
        // The name was free when chosen, then someone saved a file there.
        let chosen = unique_path(dir.path(), "a.txt");
        std::fs::write(&chosen, b"mine").unwrap();
        assert!(!move_if_free(&staging, &chosen).unwrap());
        assert_eq!(std::fs::read(&chosen).unwrap(), b"mine");
        assert!(staging.exists());
        let placed = place_without_overwrite(&staging, dir.path(), "a.txt").unwrap();
        assert_eq!(placed, dir.path().join("a (1).txt"));
        assert_eq!(std::fs::read(&chosen).unwrap(), b"mine");
        assert_eq!(std::fs::read(&placed).unwrap(), b"new");
        assert!(!staging.exists());
    }
}
