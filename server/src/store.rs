//! The content-addressed blob store on disk: `<data>/store/ab/<hash>`.
//!
//! Uploads stream into `store/tmp/` on a blocking writer thread that hashes
//! (BLAKE3) while it writes, fsyncs, and is then renamed into place. Blobs
//! are immutable; a stripe of locks keyed by hash orders "rename + record"
//! against "unreference + unlink" so a blob is never removed under a new
//! reference.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::sync::{mpsc, Mutex, MutexGuard};

/// How many slices may wait for the writer: with [`SLICE`], bounds the
/// memory of one upload to about 1.5 MiB (queued, being written, gathering).
const QUEUE_CHUNKS: usize = 4;
/// Request bodies arrive in chunks of a few KiB; they are gathered into
/// slices this large before they cross to the writer thread, which hashes
/// and writes each at once: one channel hand-off and one `write` per slice
/// rather than per chunk, and BLAKE3 is fastest on big inputs.
const SLICE: usize = 256 << 10;
/// Every this many bytes the writer asks the kernel to start writing them to
/// disk, so the final fsync has little left to wait for and the disk works
/// while the network does.
const WRITEBACK_EVERY: u64 = 8 << 20;
const LOCK_STRIPES: usize = 64;

/// The blob store.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
    locks: Arc<Vec<Mutex<()>>>,
}

/// A finished, durable temp file with its hash.
#[derive(Debug)]
pub struct WrittenBlob {
    /// The temp file.
    pub temp: PathBuf,
    /// BLAKE3, lowercase hex.
    pub hash: String,
    /// Bytes written.
    pub size: u64,
    /// The first bytes, for content sniffing.
    pub head: Vec<u8>,
}

enum Message {
    Data(Bytes),
    Finish,
}

/// A temp file being written on a blocking thread. Dropping it without
/// [`BlobWriter::finish`] deletes the temp file.
pub struct BlobWriter {
    sender: mpsc::Sender<Message>,
    worker: tokio::task::JoinHandle<io::Result<WrittenBlob>>,
    /// Chunks gathered into the next slice.
    slice: BytesMut,
}

impl BlobWriter {
    /// Queues a chunk. Fails with the writer's I/O error if it stopped.
    pub async fn write(&mut self, chunk: Bytes) -> io::Result<()> {
        if self.slice.is_empty() && chunk.len() >= SLICE {
            return self.send(chunk).await;
        }
        self.slice.extend_from_slice(&chunk);
        if self.slice.len() >= SLICE {
            let full = self.slice.split().freeze();
            self.slice.reserve(SLICE);
            self.send(full).await?;
        }
        Ok(())
    }

    async fn send(&mut self, slice: Bytes) -> io::Result<()> {
        if self.sender.send(Message::Data(slice)).await.is_err() {
            return Err(self.worker_error().await);
        }
        Ok(())
    }

    /// Flushes, fsyncs and closes the temp file.
    pub async fn finish(mut self) -> io::Result<WrittenBlob> {
        let rest = self.slice.split().freeze();
        let sent = rest.is_empty() || self.sender.send(Message::Data(rest)).await.is_ok();
        if !sent || self.sender.send(Message::Finish).await.is_err() {
            // The worker already ended with an error; fall through to it.
        }
        drop(self.sender);
        self.worker.await.map_err(io::Error::other)?
    }

    /// Abandons the upload and waits until the temp file is gone.
    pub async fn abort(self) {
        drop(self.sender);
        // After a failed `write` the worker was already awaited (and removed
        // its temp file); polling a completed JoinHandle again panics.
        if !self.worker.is_finished() {
            let _ = self.worker.await;
        }
    }

    async fn worker_error(&mut self) -> io::Error {
        match (&mut self.worker).await {
            Ok(Err(e)) => e,
            Ok(Ok(_)) => io::Error::other("blob writer stopped early"),
            Err(e) => io::Error::other(e),
        }
    }
}

impl BlobStore {
    /// Opens the store under `data_dir`, creating its folders.
    pub fn open(data_dir: &Path) -> io::Result<BlobStore> {
        let root = data_dir.join("store");
        std::fs::create_dir_all(root.join("tmp"))?;
        let locks = Arc::new((0..LOCK_STRIPES).map(|_| Mutex::new(())).collect());
        Ok(BlobStore { root, locks })
    }

    /// Where a blob lives.
    pub fn blob_path(&self, hash: &str) -> PathBuf {
        self.root.join(&hash[..2]).join(hash)
    }

    /// The folder of unfinished uploads.
    pub fn temp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// Starts writing a new temp file.
    pub fn writer(&self) -> io::Result<BlobWriter> {
        let temp = self.temp_dir().join(format!("{}.part", crate::ids::random_hex(16)));
        let file = std::fs::OpenOptions::new().write(true).create_new(true).open(&temp)?;
        let (sender, receiver) = mpsc::channel(QUEUE_CHUNKS);
        let worker = tokio::task::spawn_blocking(move || write_blob(file, temp, receiver));
        Ok(BlobWriter { sender, worker, slice: BytesMut::with_capacity(SLICE) })
    }

    /// Locks the stripe of a hash; hold it across "place blob + record row"
    /// and across "check unreferenced + unlink".
    pub async fn lock(&self, hash: &str) -> MutexGuard<'_, ()> {
        let stripe = u8::from_str_radix(&hash[..2], 16).unwrap_or(0) as usize % LOCK_STRIPES;
        self.locks[stripe].lock().await
    }

    /// Moves a finished temp file to its content address (or drops it if
    /// that content is already stored). Call with the hash's lock held.
    pub async fn place(&self, blob: &WrittenBlob) -> io::Result<()> {
        let target = self.blob_path(&blob.hash);
        let temp = blob.temp.clone();
        tokio::task::spawn_blocking(move || {
            if target.exists() {
                return std::fs::remove_file(&temp);
            }
            let dir = target.parent().expect("blob path has a parent");
            std::fs::create_dir_all(dir)?;
            std::fs::rename(&temp, &target)?;
            // Make the rename itself durable before the row points at it.
            std::fs::File::open(dir)?.sync_all()
        })
        .await
        .map_err(io::Error::other)?
    }

    /// Removes a blob file. Call with the hash's lock held, after checking
    /// that no row references it.
    pub async fn unlink(&self, hash: &str) -> io::Result<()> {
        match tokio::fs::remove_file(self.blob_path(hash)).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Checks the store can be written (for `/healthz`).
    pub async fn check_writable(&self) -> io::Result<()> {
        let probe = self.temp_dir().join(format!("health-{}.part", crate::ids::random_hex(8)));
        tokio::fs::write(&probe, b"ok").await?;
        tokio::fs::remove_file(&probe).await
    }

    /// Start-up clean-up: deletes temp files left by a crash and blobs no
    /// row references. `known` holds every referenced hash.
    pub fn sweep_orphans(&self, known: &std::collections::HashSet<String>) -> io::Result<(u64, u64)> {
        let mut temps = 0;
        for entry in std::fs::read_dir(self.temp_dir())? {
            std::fs::remove_file(entry?.path())?;
            temps += 1;
        }
        let mut blobs = 0;
        for dir in std::fs::read_dir(&self.root)? {
            let dir = dir?;
            let name = dir.file_name();
            if name == "tmp" || !dir.file_type()?.is_dir() {
                continue;
            }
            for entry in std::fs::read_dir(dir.path())? {
                let entry = entry?;
                if !known.contains(entry.file_name().to_string_lossy().as_ref()) {
                    std::fs::remove_file(entry.path())?;
                    blobs += 1;
                }
            }
        }
        Ok((temps, blobs))
    }
}

/// Starts writing `len` bytes at `offset` of `file` to disk without waiting
/// (Linux `sync_file_range`); elsewhere the final fsync does it all.
fn start_writeback(file: &std::fs::File, offset: u64, len: u64) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: a plain syscall on an open descriptor we own; its result
        // is advisory (the fsync that follows is what makes data durable).
        unsafe {
            libc::sync_file_range(
                file.as_raw_fd(),
                offset as libc::off64_t,
                len as libc::off64_t,
                libc::SYNC_FILE_RANGE_WRITE,
            );
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, offset, len);
}

/// The writer thread: receive, hash, write; fsync on Finish; delete the
/// temp file on any other ending.
fn write_blob(
    file: std::fs::File,
    temp: PathBuf,
    mut receiver: mpsc::Receiver<Message>,
) -> io::Result<WrittenBlob> {
    let result = (|| {
        let mut file = file;
        let mut hasher = blake3::Hasher::new();
        let mut head = Vec::new();
        let mut size = 0u64;
        let mut written_back = 0u64;
        loop {
            match receiver.blocking_recv() {
                Some(Message::Data(slice)) => {
                    size += slice.len() as u64;
                    if head.len() < 512 {
                        let take = (512 - head.len()).min(slice.len());
                        head.extend_from_slice(&slice[..take]);
                    }
                    hasher.update(&slice);
                    file.write_all(&slice)?;
                    if size - written_back >= WRITEBACK_EVERY {
                        start_writeback(&file, written_back, size - written_back);
                        written_back = size;
                    }
                }
                Some(Message::Finish) => {
                    file.sync_all()?;
                    let hash = hasher.finalize().to_hex().to_string();
                    return Ok((hash, size, head));
                }
                None => return Err(io::Error::new(io::ErrorKind::Interrupted, "upload abandoned")),
            }
        }
    })();
    match result {
        Ok((hash, size, head)) => Ok(WrittenBlob { temp, hash, size, head }),
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            Err(e)
        }
    }
}
