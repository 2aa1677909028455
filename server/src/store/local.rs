//! Blobs on the local disk: `<data>/store/ab/<hash>`.
//!
//! Uploads stream into `store/tmp/`: each slice of the body is hashed and
//! written on a blocking thread while the next one arrives; the file is
//! fsynced and then renamed into place. No thread is held while an upload
//! waits for the network, so stalled uploads cost none.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::StreamExt;

use super::read_ahead::ReadAhead;
use super::{BlobStream, Hashing, Slicer, Staged, WrittenBlob};

/// Every this many bytes the writer asks the kernel to start writing them to
/// disk, so the final fsync has little left to wait for and the disk works
/// while the network does.
const WRITEBACK_EVERY: u64 = 8 << 20;
/// Downloads read the file in pieces this large, one read ahead of the
/// socket (see `read_ahead`). 1 MiB was no faster (3.3–3.9 GB/s either
/// way) but 20 slow clients held 41 MiB instead of 14.
const READ_PIECE: usize = 256 << 10;
/// Reads up to this size are done whole, in one hop.
const SMALL_READ: u64 = 256 << 10;

/// The store folder.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

/// The temp file and the hash of what was written to it so far.
struct Progress {
    file: std::fs::File,
    hashing: Hashing,
    written_back: u64,
}

impl Progress {
    fn append(&mut self, slice: &[u8]) -> io::Result<()> {
        self.hashing.update(slice);
        self.file.write_all(slice)?;
        let size = self.hashing.size;
        if size - self.written_back >= WRITEBACK_EVERY {
            start_writeback(&self.file, self.written_back, size - self.written_back);
            self.written_back = size;
        }
        Ok(())
    }
}

type SliceWrite = tokio::task::JoinHandle<io::Result<Progress>>;

/// A temp file being written. Dropping it without [`LocalWriter::finish`]
/// deletes the temp file.
pub struct LocalWriter {
    temp: PathBuf,
    /// The file, when no slice is being written.
    idle: Option<Progress>,
    /// The slice being written, which hands the file back.
    writing: Option<SliceWrite>,
    /// Chunks gathered into the next slice.
    slicer: Slicer,
    /// Finished or aborted: nothing to clean up on drop.
    settled: bool,
}

impl LocalWriter {
    /// Adds a chunk. Fails with the I/O error of an earlier slice.
    pub async fn write(&mut self, chunk: Bytes) -> io::Result<()> {
        match self.slicer.push(chunk) {
            Some(slice) => self.write_slice(slice).await,
            None => Ok(()),
        }
    }

    /// Waits for the previous slice, then starts writing this one.
    async fn write_slice(&mut self, slice: Bytes) -> io::Result<()> {
        let mut progress = self.progress().await?;
        self.writing = Some(tokio::task::spawn_blocking(move || {
            progress.append(&slice)?;
            Ok(progress)
        }));
        Ok(())
    }

    async fn progress(&mut self) -> io::Result<Progress> {
        if let Some(writing) = self.writing.take() {
            return writing.await.map_err(io::Error::other)?;
        }
        self.idle.take().ok_or_else(|| io::Error::other("an earlier write of this upload failed"))
    }

    /// Writes what is left, fsyncs and closes the temp file.
    pub async fn finish(mut self) -> io::Result<WrittenBlob> {
        let rest = self.slicer.rest();
        let mut progress = self.progress().await?;
        let done = tokio::task::spawn_blocking(move || {
            progress.append(&rest)?;
            progress.file.sync_all()?;
            Ok::<_, io::Error>(progress)
        })
        .await
        .map_err(io::Error::other)?;
        let progress = match done {
            Ok(progress) => progress,
            Err(e) => {
                self.abort().await;
                return Err(e);
            }
        };
        self.settled = true;
        Ok(progress.hashing.finish(Staged::Local(self.temp.clone())))
    }

    /// Abandons the upload and waits until the temp file is gone.
    pub async fn abort(mut self) {
        self.settled = true;
        if let Some(writing) = self.writing.take() {
            let _ = writing.await;
        }
        let _ = tokio::fs::remove_file(&self.temp).await;
    }
}

impl Drop for LocalWriter {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        // The request went away mid-upload: remove the temp file once the
        // slice being written (if any) is done with it.
        let (temp, writing) = (self.temp.clone(), self.writing.take());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Some(writing) = writing {
                    let _ = writing.await;
                }
                let _ = tokio::fs::remove_file(&temp).await;
            });
        } else {
            let _ = std::fs::remove_file(&temp);
        }
    }
}

impl LocalStore {
    /// Opens the store under `data_dir`, creating its folders.
    pub fn open(data_dir: &Path) -> io::Result<LocalStore> {
        let root = data_dir.join("store");
        std::fs::create_dir_all(root.join("tmp"))?;
        Ok(LocalStore { root })
    }

    /// Where a blob lives (only the store opens it).
    fn blob_path(&self, hash: &str) -> PathBuf {
        self.root.join(&hash[..2]).join(hash)
    }

    /// The folder of unfinished uploads.
    pub fn temp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// Starts writing a new temp file.
    pub fn writer(&self) -> io::Result<LocalWriter> {
        let temp = self.temp_dir().join(format!("{}.part", crate::ids::random_hex(16)));
        let file = std::fs::OpenOptions::new().write(true).create_new(true).open(&temp)?;
        let progress = Progress { file, hashing: Hashing::new(), written_back: 0 };
        Ok(LocalWriter { temp, idle: Some(progress), writing: None, slicer: Slicer::new(), settled: false })
    }

    /// Moves a finished temp file to its content address (or drops it if
    /// that content is already stored).
    pub async fn place(&self, hash: &str, temp: &Path) -> io::Result<()> {
        let target = self.blob_path(hash);
        let temp = temp.to_path_buf();
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

    /// `len` bytes of a blob from `start`, to stream out.
    pub async fn read_range(&self, hash: &str, start: u64, len: u64) -> io::Result<BlobStream> {
        if len <= SMALL_READ {
            // The common case (a clip, a photo link): open and read on one
            // blocking hop instead of one for the open, each read and the
            // seek; the response then leaves in one write.
            let path = self.blob_path(hash);
            let bytes = tokio::task::spawn_blocking(move || read_exactly(&path, start, len))
                .await
                .map_err(io::Error::other)??;
            return Ok(futures_util::stream::once(async move { Ok(bytes) }).boxed());
        }
        Ok(ReadAhead::open(self.blob_path(hash), start, len, READ_PIECE).await?.boxed())
    }

    /// Removes a blob file.
    pub async fn unlink(&self, hash: &str) -> io::Result<()> {
        match tokio::fs::remove_file(self.blob_path(hash)).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Checks the store folder can be written.
    pub async fn check_writable(&self) -> io::Result<()> {
        let temp = self.temp_dir();
        tokio::task::spawn_blocking(move || writable_dir(&temp)).await.map_err(io::Error::other)?
    }

    /// Every blob file's name.
    pub fn blob_hashes(&self) -> io::Result<Vec<String>> {
        let mut hashes = Vec::new();
        for dir in self.blob_dirs()? {
            for entry in std::fs::read_dir(dir)? {
                hashes.push(entry?.file_name().to_string_lossy().into_owned());
            }
        }
        Ok(hashes)
    }

    /// The `ab/` folders.
    fn blob_dirs(&self) -> io::Result<Vec<PathBuf>> {
        let mut dirs = Vec::new();
        for dir in std::fs::read_dir(&self.root)? {
            let dir = dir?;
            if dir.file_name() != "tmp" && dir.file_type()?.is_dir() {
                dirs.push(dir.path());
            }
        }
        Ok(dirs)
    }

    /// Deletes temp files and unreferenced blobs older than `min_age`.
    pub fn sweep_orphans(
        &self,
        known: &std::collections::HashSet<String>,
        min_age: std::time::Duration,
    ) -> io::Result<(u64, u64)> {
        let old = |entry: &std::fs::DirEntry| -> io::Result<bool> {
            let modified = entry.metadata()?.modified()?;
            Ok(modified.elapsed().unwrap_or_default() >= min_age)
        };
        let mut temps = 0;
        for entry in std::fs::read_dir(self.temp_dir())? {
            let entry = entry?;
            if old(&entry)? {
                remove_if_there(&entry.path())?;
                temps += 1;
            }
        }
        let mut blobs = 0;
        for dir in self.blob_dirs()? {
            for entry in std::fs::read_dir(dir)? {
                let entry = entry?;
                if !known.contains(entry.file_name().to_string_lossy().as_ref()) && old(&entry)? {
                    remove_if_there(&entry.path())?;
                    blobs += 1;
                }
            }
        }
        Ok((temps, blobs))
    }
}

/// Removes a file that may be gone already.
pub async fn remove_if_there_async(path: &Path) {
    if let Err(e) = tokio::fs::remove_file(path).await {
        if e.kind() != io::ErrorKind::NotFound {
            tracing::warn!(path = %path.display(), error = %e, "cannot remove temp file");
        }
    }
}

/// Another instance may have removed it first.
fn remove_if_there(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// `access(2)` with `W_OK`: also refuses a read-only mount.
#[cfg(target_os = "linux")]
fn writable_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).map_err(io::Error::other)?;
    // SAFETY: a NUL-terminated path that outlives the call.
    if unsafe { libc::access(path.as_ptr(), libc::W_OK | libc::X_OK) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn writable_dir(dir: &Path) -> io::Result<()> {
    if std::fs::metadata(dir)?.permissions().readonly() {
        return Err(io::Error::new(io::ErrorKind::PermissionDenied, "the store is read-only"));
    }
    Ok(())
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

/// `len` bytes of the file at `path` from `start`; an error if it is shorter.
fn read_exactly(path: &Path, start: u64, len: u64) -> io::Result<Bytes> {
    use std::io::{Read, Seek};
    let mut file = std::fs::File::open(path)?;
    if start > 0 {
        file.seek(io::SeekFrom::Start(start))?;
    }
    let mut buffer = vec![0; len as usize];
    file.read_exact(&mut buffer)?;
    Ok(Bytes::from(buffer))
}
