//! The content-addressed blob store: one type, two backends.
//!
//! [`local`] keeps blobs under `<data-dir>/store`, [`s3`] in an
//! S3-compatible bucket. Either way an upload is hashed (BLAKE3) while it
//! streams in, becomes visible at its address only when complete and
//! durable, and is placed and unlinked inside the database write
//! transaction that adds or drops its row (`files::commit`,
//! `files::release_blobs`), which orders those steps on every instance
//! sharing the store. Nothing outside this module knows where a blob lives.

mod local;
mod read_ahead;
mod recycle;
mod s3;
pub mod small;

pub use small::SmallBlobs;

use std::collections::HashSet;
use std::io;
use std::path::Path;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::stream::BoxStream;

/// Request bodies arrive in chunks of a few KiB; they are gathered into
/// slices this large before being hashed and handed on: BLAKE3 is fastest
/// on big inputs, and the local store writes one slice per hand-off to a
/// blocking thread.
const SLICE: usize = 256 << 10;

/// Clean-up leaves younger leftovers alone: with several instances on one
/// store they may be another instance's upload in flight or a blob placed
/// a moment before its row commits.
pub const ORPHAN_AGE: Duration = Duration::from_secs(15 * 60);

/// A blob's bytes, streamed.
pub type BlobStream = BoxStream<'static, io::Result<Bytes>>;

/// Where blobs live, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// `<data-dir>/store`.
    Local,
    /// An S3-compatible bucket.
    S3 {
        /// Bucket name.
        bucket: String,
        /// Key prefix without slashes at either end (may be empty).
        prefix: String,
        /// Endpoint URL for non-AWS stores.
        endpoint: Option<String>,
    },
}

impl StoreLocation {
    /// Parses `--store-url`: empty or `file:` means local, else
    /// `s3://BUCKET[/PREFIX]`.
    pub fn parse(url: Option<&str>, endpoint: Option<&str>) -> Result<StoreLocation, String> {
        let url = url.unwrap_or("").trim();
        if url.is_empty() || url == "file:" || url == "local" {
            if endpoint.is_some() {
                return Err("--s3-endpoint needs an s3:// --store-url".into());
            }
            return Ok(StoreLocation::Local);
        }
        let Some(rest) = url.strip_prefix("s3://") else {
            return Err(format!(
                "store URL {url:?}: expected s3://BUCKET[/PREFIX] (or none, for <data-dir>/store)"
            ));
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let valid_bucket = (3..=63).contains(&bucket.len())
            && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !valid_bucket {
            return Err(format!("store URL {url:?}: {bucket:?} is not a bucket name (3-63 of a-z 0-9 . -)"));
        }
        let prefix = prefix.trim_matches('/').to_string();
        if prefix.split('/').any(|part| part.is_empty() || part == "." || part == "..") && !prefix.is_empty()
        {
            return Err(format!("store URL {url:?}: the prefix has an empty, . or .. part"));
        }
        let endpoint = match endpoint.map(str::trim).filter(|e| !e.is_empty()) {
            Some(e) if e.starts_with("http://") || e.starts_with("https://") => {
                Some(e.trim_end_matches('/').to_string())
            }
            Some(e) => return Err(format!("S3 endpoint {e:?}: expected http://… or https://…")),
            None => None,
        };
        Ok(StoreLocation::S3 { bucket: bucket.to_string(), prefix, endpoint })
    }

    /// The largest blob this store can take, if it has a limit: in a
    /// bucket, 5 GiB, the most one CopyObject (upload to address) moves.
    pub fn max_blob_bytes(&self) -> Option<u64> {
        match self {
            StoreLocation::Local => None,
            StoreLocation::S3 { .. } => Some(5 << 30),
        }
    }
}

/// The blob store.
#[derive(Debug, Clone)]
pub enum BlobStore {
    /// Blobs on the local disk.
    Local(local::LocalStore),
    /// Blobs in a bucket.
    S3(s3::S3Store),
}

/// A finished upload with its hash, not yet at its address (or, in a
/// bucket, maybe already there but not yet referenced).
#[derive(Debug)]
pub struct WrittenBlob {
    /// BLAKE3, lowercase hex.
    pub hash: String,
    /// Bytes written.
    pub size: u64,
    /// The first bytes, for content sniffing.
    pub head: Vec<u8>,
    staged: Staged,
}

/// Where a finished upload waits for its row.
#[derive(Debug)]
enum Staged {
    Local(std::path::PathBuf),
    S3(s3::Staged),
}

/// An upload being written. Dropping it unfinished removes what it wrote.
pub enum BlobWriter {
    /// Into a temp file.
    Local(local::LocalWriter),
    /// Into a bucket.
    S3(s3::S3Writer),
}

impl BlobWriter {
    /// Adds a chunk. Fails with the error of an earlier write.
    pub async fn write(&mut self, chunk: Bytes) -> io::Result<()> {
        match self {
            BlobWriter::Local(w) => w.write(chunk).await,
            BlobWriter::S3(w) => w.write(chunk).await,
        }
    }

    /// Writes what is left and makes it durable.
    pub async fn finish(self) -> io::Result<WrittenBlob> {
        match self {
            BlobWriter::Local(w) => w.finish().await,
            BlobWriter::S3(w) => w.finish().await,
        }
    }

    /// Abandons the upload and waits until what it wrote is gone.
    pub async fn abort(self) {
        match self {
            BlobWriter::Local(w) => w.abort().await,
            BlobWriter::S3(w) => w.abort().await,
        }
    }
}

impl BlobStore {
    /// Opens the store at `location` (`<data_dir>/store` when local),
    /// for the default orphan grace ([`ORPHAN_AGE`]).
    pub async fn open(location: &StoreLocation, data_dir: &Path) -> io::Result<BlobStore> {
        BlobStore::open_with_grace(location, data_dir, ORPHAN_AGE).await
    }

    /// Opens the store at `location`; in a bucket, live uploads refresh
    /// their records often enough that a sweep with `orphan_grace` leaves
    /// them alone.
    pub async fn open_with_grace(
        location: &StoreLocation,
        data_dir: &Path,
        orphan_grace: Duration,
    ) -> io::Result<BlobStore> {
        match location {
            StoreLocation::Local => Ok(BlobStore::Local(local::LocalStore::open(data_dir)?)),
            StoreLocation::S3 { bucket, prefix, endpoint } => {
                Ok(BlobStore::S3(s3::S3Store::open(bucket, prefix, endpoint.as_deref(), orphan_grace)?))
            }
        }
    }

    /// `local` or `s3`, for `/healthz`.
    pub fn name(&self) -> &'static str {
        match self {
            BlobStore::Local(_) => "local",
            BlobStore::S3(_) => "s3",
        }
    }

    /// True when the blobs are not on this machine's disk.
    pub fn is_remote(&self) -> bool {
        matches!(self, BlobStore::S3(_))
    }

    /// Starts a new upload.
    pub fn writer(&self) -> io::Result<BlobWriter> {
        Ok(match self {
            BlobStore::Local(s) => BlobWriter::Local(s.writer()?),
            BlobStore::S3(s) => BlobWriter::S3(s.writer()),
        })
    }

    /// Does the slow part of placing a finished upload before the write
    /// transaction, so that holding the lock stays short: in a bucket,
    /// copying it to its address. A no-op on the local disk.
    pub async fn stage(&self, blob: &WrittenBlob) -> io::Result<()> {
        match (self, &blob.staged) {
            (BlobStore::S3(s), Staged::S3(staged)) => s.ensure_at_address(&blob.hash, staged).await,
            _ => Ok(()),
        }
    }

    /// Puts a finished upload at its content address (or drops it when
    /// that content is already there). Call inside the write transaction
    /// that records its row: in a bucket it is bounded to a few seconds
    /// (503 after), and only checks the blob is still where it was staged.
    pub async fn place(&self, blob: &WrittenBlob) -> io::Result<()> {
        match (self, &blob.staged) {
            (BlobStore::Local(s), Staged::Local(temp)) => s.place(&blob.hash, temp).await,
            (BlobStore::S3(s), Staged::S3(staged)) => s.place(&blob.hash, staged).await,
            _ => Err(io::Error::other("blob written by another store")),
        }
    }

    /// True when [`BlobStore::stage`] may leave a blob at its address with
    /// no row yet (in a bucket): a refused upload must then release it.
    pub fn stages_at_address(&self) -> bool {
        self.is_remote()
    }

    /// Removes what an upload left besides its blob, once its row is
    /// committed or refused.
    pub async fn settle(&self, blob: &WrittenBlob) {
        match (self, &blob.staged) {
            (BlobStore::Local(_), Staged::Local(temp)) => local::remove_if_there_async(temp).await,
            (BlobStore::S3(s), Staged::S3(staged)) => s.remove_staged(staged).await,
            _ => {}
        }
    }

    /// `len` bytes of a blob from `start`.
    pub async fn read_range(&self, hash: &str, start: u64, len: u64) -> io::Result<BlobStream> {
        match self {
            BlobStore::Local(s) => s.read_range(hash, start, len).await,
            BlobStore::S3(s) => s.read_range(hash, start, len).await,
        }
    }

    /// Removes a blob. Call inside the write transaction that dropped its
    /// row (in a bucket, bounded to a few seconds, 503 after).
    pub async fn unlink(&self, hash: &str) -> io::Result<()> {
        match self {
            BlobStore::Local(s) => s.unlink(hash).await,
            BlobStore::S3(s) => s.unlink(hash).await,
        }
    }

    /// Checks the store (for `/healthz`) without writing, since a probe per
    /// call would let anyone make it write: a local folder must be
    /// writable; a bucket is only asked about a key (a read: reachable,
    /// credentials good).
    pub async fn check(&self) -> io::Result<()> {
        match self {
            BlobStore::Local(s) => s.check_writable().await,
            BlobStore::S3(s) => s.check().await,
        }
    }

    /// Every blob hash in the store (for tests and checks).
    pub async fn blob_hashes(&self) -> io::Result<Vec<String>> {
        match self {
            BlobStore::Local(s) => {
                let s = s.clone();
                tokio::task::spawn_blocking(move || s.blob_hashes()).await.map_err(io::Error::other)?
            }
            BlobStore::S3(s) => s.blob_hashes().await,
        }
    }

    /// Uploads started and neither finished nor cleaned up: temp files,
    /// or in a bucket, upload records (for tests and checks).
    pub async fn pending_uploads(&self) -> io::Result<usize> {
        match self {
            BlobStore::Local(s) => Ok(std::fs::read_dir(s.temp_dir())?.count()),
            BlobStore::S3(s) => s.pending_uploads().await,
        }
    }

    /// Deletes leftovers of crashed uploads and blobs no row references,
    /// both only once older than `min_age`. `known` holds every referenced
    /// hash. Returns (uploads, blobs) removed.
    pub async fn sweep_orphans(&self, known: HashSet<String>, min_age: Duration) -> io::Result<(u64, u64)> {
        match self {
            BlobStore::Local(s) => {
                let s = s.clone();
                tokio::task::spawn_blocking(move || s.sweep_orphans(&known, min_age))
                    .await
                    .map_err(io::Error::other)?
            }
            BlobStore::S3(s) => s.sweep_orphans(&known, min_age).await,
        }
    }
}

/// The hash, the first bytes and the size of an upload so far, and the
/// chunks gathered into its next slice.
struct Hashing {
    hasher: blake3::Hasher,
    head: Vec<u8>,
    size: u64,
}

impl Hashing {
    fn new() -> Hashing {
        Hashing { hasher: blake3::Hasher::new(), head: Vec::new(), size: 0 }
    }

    fn update(&mut self, slice: &[u8]) {
        if self.head.len() < 512 {
            let take = (512 - self.head.len()).min(slice.len());
            self.head.extend_from_slice(&slice[..take]);
        }
        self.hasher.update(slice);
        self.size += slice.len() as u64;
    }

    fn finish(self, staged: Staged) -> WrittenBlob {
        WrittenBlob {
            hash: self.hasher.finalize().to_hex().to_string(),
            size: self.size,
            head: self.head,
            staged,
        }
    }
}

/// Gathers chunks into slices of about [`SLICE`] bytes.
struct Slicer(BytesMut, recycle::Recycler);

impl Slicer {
    fn new() -> Slicer {
        Slicer(BytesMut::new(), recycle::Recycler::default())
    }

    /// Adds a chunk; returns a full slice when there is one. A big chunk
    /// arriving on an empty slice passes through uncopied.
    fn push(&mut self, chunk: Bytes) -> Option<Bytes> {
        if self.0.is_empty() && chunk.len() >= SLICE {
            return Some(chunk);
        }
        if self.0.capacity() == 0 {
            self.0 = self.1.buffer(SLICE);
        }
        // Fill to exactly SLICE: growing the buffer would copy it.
        let room = SLICE.saturating_sub(self.0.len());
        if chunk.len() < room {
            self.0.extend_from_slice(&chunk);
            return None;
        }
        self.0.extend_from_slice(&chunk[..room]);
        let full = self.rest();
        let left = &chunk[room..];
        if !left.is_empty() {
            self.0 = self.1.buffer(SLICE.max(left.len()));
            self.0.extend_from_slice(left);
        }
        Some(full)
    }

    /// What is left. The whole buffer goes (not a split-off part), so it
    /// can come back once the writer drops it.
    fn rest(&mut self) -> Bytes {
        self.1.lend(std::mem::take(&mut self.0))
    }
}

/// An error of a store that could not be reached or answered with a
/// failure: the request gets 503 and may be retried.
#[derive(Debug, thiserror::Error)]
#[error("the file store is unavailable: {0}")]
pub struct Unavailable(pub String);

/// True for errors of a store that is down or refusing (503, not 500).
pub fn is_unavailable(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<Unavailable>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3(bucket: &str, prefix: &str, endpoint: Option<&str>) -> StoreLocation {
        StoreLocation::S3 { bucket: bucket.into(), prefix: prefix.into(), endpoint: endpoint.map(Into::into) }
    }

    #[test]
    fn store_urls_parse_or_say_what_is_wrong() {
        assert_eq!(StoreLocation::parse(None, None), Ok(StoreLocation::Local));
        assert_eq!(StoreLocation::parse(Some(""), None), Ok(StoreLocation::Local));
        assert_eq!(StoreLocation::parse(Some("s3://bucket"), None), Ok(s3("bucket", "", None)));
        assert_eq!(
            StoreLocation::parse(Some("s3://my.bucket/a/b/"), Some("http://127.0.0.1:9000/")),
            Ok(s3("my.bucket", "a/b", Some("http://127.0.0.1:9000")))
        );
        for bad in
            ["s3://", "s3://B", "s3://ab", "s3://bucket/a//b", "s3://bucket/../x", "gs://bucket", "/tmp/x"]
        {
            assert!(StoreLocation::parse(Some(bad), None).is_err(), "{bad} accepted");
        }
        assert!(StoreLocation::parse(Some("s3://bucket"), Some("ftp://x")).is_err());
        assert!(StoreLocation::parse(None, Some("http://x")).is_err(), "an endpoint without a bucket");
    }

    #[test]
    fn slices_gather_small_chunks_and_pass_big_ones() {
        let mut slicer = Slicer::new();
        assert!(slicer.push(Bytes::from(vec![1; 1000])).is_none());
        let full = slicer.push(Bytes::from(vec![2; SLICE])).expect("a full slice");
        assert_eq!(full.len(), SLICE, "filled to exactly a slice");
        assert!(full[..1000].iter().all(|&b| b == 1) && full[1000..].iter().all(|&b| b == 2));
        assert_eq!(slicer.rest().as_ref(), &[2; 1000][..], "the rest of the chunk starts the next slice");
        let big = Bytes::from(vec![3; SLICE * 2]);
        assert_eq!(slicer.push(big.clone()).unwrap().as_ptr(), big.as_ptr(), "passed through uncopied");
        assert!(slicer.rest().is_empty());
    }

    #[test]
    fn unavailability_is_recognised_through_io_errors() {
        assert!(is_unavailable(&io::Error::other(Unavailable("down".into()))));
        assert!(!is_unavailable(&io::Error::other("broken")));
        assert!(!is_unavailable(&io::Error::from(io::ErrorKind::NotFound)));
    }
}
