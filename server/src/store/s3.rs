//! Blobs in an S3-compatible bucket, through the `object_store` crate.
//!
//! Keys under the configured prefix:
//! - `blobs/ab/<hash>`: the blobs, content-addressed like on disk.
//! - `tmp/<name>`: a finished multipart upload waiting to be copied to its
//!   address (S3 has no rename).
//! - `uploads/<name>`: the record of a multipart upload in flight, holding
//!   its upload id and when it was written. Parts of an unfinished upload
//!   are invisible in a listing, so this is how clean-up finds a crashed
//!   instance's parts: a record older than the orphan grace is aborted,
//!   with its temp object.
//!   Live uploads rewrite theirs every [`record_refresh`] until settled.
//!
//! An upload smaller than one part stays in memory and is put once, at its
//! address; larger ones stream as parts ([`upload`]).

mod upload;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::multipart::MultipartStore;
use object_store::path::Path;
use object_store::{
    BackoffConfig, ClientOptions, GetOptions, GetRange, MultipartId, ObjectMeta, ObjectStore, ObjectStoreExt,
    PutPayload, RetryConfig,
};

pub use upload::S3Writer;

use super::{BlobStream, Unavailable};

/// The longest a call made under the database write lock may take: every
/// write on every instance waits for that lock.
const LOCKED_CALL: Duration = Duration::from_secs(5);

/// How often a live upload rewrites its record: a third of the grace, so a
/// late or failed rewrite still leaves it young, and at most 5 minutes.
pub fn record_refresh(grace: Duration) -> Duration {
    (grace / 3).min(Duration::from_secs(5 * 60))
}

/// A bucket (and prefix) holding blobs.
#[derive(Debug, Clone)]
pub struct S3Store(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    client: AmazonS3,
    prefix: String,
    record_refresh: Duration,
}

/// A finished upload before its row commits.
#[derive(Debug)]
pub enum Staged {
    /// Small: the whole content, put at its address when staged.
    Memory(PutPayload),
    /// Completed at `tmp/<name>`, to be copied to its address.
    Temp(Temp),
}

/// A completed multipart upload, its record kept fresh until settled.
#[derive(Debug)]
pub struct Temp {
    name: String,
    refresher: upload::Refresher,
}

impl S3Store {
    /// Connects to `bucket` (nothing is sent until the first request).
    /// Credentials and region come from the standard `AWS_*` variables.
    /// Live uploads refresh their records often enough for `grace`.
    pub fn open(bucket: &str, prefix: &str, endpoint: Option<&str>, grace: Duration) -> io::Result<S3Store> {
        // reqwest is built without a bundled TLS provider; this process
        // uses ring (a second install attempt is harmless).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            // Parts are not hashed twice: TLS guards them on the way, and
            // signing every byte with SHA-256 would halve the upload rate.
            .with_unsigned_payload(true)
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(100),
                    max_backoff: Duration::from_secs(1),
                    base: 2.0,
                },
                max_retries: 3,
                retry_timeout: Duration::from_secs(10),
            })
            .with_client_options(
                ClientOptions::new()
                    .with_connect_timeout(Duration::from_secs(3))
                    // A download streams as fast as the phone reads it: no
                    // limit on the whole request, only on silence.
                    .with_timeout_disabled()
                    .with_read_timeout(Duration::from_secs(30)),
            );
        if std::env::var_os("AWS_REGION").is_none() && std::env::var_os("AWS_DEFAULT_REGION").is_none() {
            builder = builder.with_region("us-east-1");
        }
        if let Some(endpoint) = endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        let client = builder.build().map_err(|e| io::Error::other(format!("S3 store: {e}")))?;
        let record_refresh = record_refresh(grace);
        Ok(S3Store(Arc::new(Inner { client, prefix: prefix.to_string(), record_refresh })))
    }

    fn key(&self, rest: &str) -> Path {
        if self.0.prefix.is_empty() {
            Path::from(rest)
        } else {
            Path::from(format!("{}/{rest}", self.0.prefix))
        }
    }

    fn blob_key(&self, hash: &str) -> Path {
        self.key(&format!("blobs/{}/{hash}", &hash[..2]))
    }

    fn temp_key(&self, name: &str) -> Path {
        self.key(&format!("tmp/{name}"))
    }

    fn record_key(&self, name: &str) -> Path {
        self.key(&format!("uploads/{name}"))
    }

    /// Everything under `dir` (`blobs`, `tmp` or `uploads`).
    async fn list(&self, dir: &str) -> io::Result<Vec<ObjectMeta>> {
        self.0.client.list(Some(&self.key(dir))).try_collect().await.map_err(io_error)
    }

    /// Starts an upload (nothing is sent before the first full part).
    pub fn writer(&self) -> S3Writer {
        S3Writer::new(self.clone())
    }

    /// Whether the blob is at its address.
    async fn at_address(&self, hash: &str) -> io::Result<bool> {
        match self.0.client.head(&self.blob_key(hash)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(io_error(e)),
        }
    }

    /// Makes sure the blob is at its address: kept if already there,
    /// else put or copied from where it was staged.
    pub async fn ensure_at_address(&self, hash: &str, staged: &Staged) -> io::Result<()> {
        if self.at_address(hash).await? {
            return Ok(());
        }
        let target = self.blob_key(hash);
        match staged {
            Staged::Memory(payload) => self.0.client.put(&target, payload.clone()).await.map(drop),
            Staged::Temp(temp) => self.0.client.copy(&self.temp_key(&temp.name), &target).await,
        }
        .map_err(io_error)
    }

    /// Checks again, under the write lock, that the blob is at its
    /// address (a removal may have come since it was staged), within
    /// [`LOCKED_CALL`]. A small upload is put again; a large one is not
    /// copied again under the lock: the upload fails with 503 instead.
    pub async fn place(&self, hash: &str, staged: &Staged) -> io::Result<()> {
        bounded("placing a blob", async {
            if self.at_address(hash).await? {
                return Ok(());
            }
            match staged {
                Staged::Memory(payload) => {
                    self.0.client.put(&self.blob_key(hash), payload.clone()).await.map(drop).map_err(io_error)
                }
                Staged::Temp(_) => Err(io::Error::other(Unavailable(
                    "the blob was removed while the upload was recorded; retry the upload".into(),
                ))),
            }
        })
        .await
    }

    /// Deletes an upload's temp object and record.
    pub async fn remove_staged(&self, staged: &Staged) {
        if let Staged::Temp(temp) = staged {
            temp.refresher.stop().await;
            for key in [self.temp_key(&temp.name), self.record_key(&temp.name)] {
                if let Err(e) = self.delete(&key).await {
                    tracing::warn!(%key, error = %e, "cannot remove upload leftovers (the orphan sweep will)");
                }
            }
        }
    }

    /// `len` bytes of a blob from `start`.
    pub async fn read_range(&self, hash: &str, start: u64, len: u64) -> io::Result<BlobStream> {
        if len == 0 {
            return Ok(futures_util::stream::empty().boxed());
        }
        let options = GetOptions { range: Some(GetRange::Bounded(start..start + len)), ..Default::default() };
        let result = self.0.client.get_opts(&self.blob_key(hash), options).await.map_err(io_error)?;
        Ok(result.into_stream().map_err(io_error).boxed())
    }

    /// Removes a blob (gone already is fine), within [`LOCKED_CALL`]: it
    /// is called under the write lock.
    pub async fn unlink(&self, hash: &str) -> io::Result<()> {
        bounded("removing a blob", self.delete(&self.blob_key(hash))).await
    }

    async fn delete(&self, key: &Path) -> io::Result<()> {
        match self.0.client.delete(key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(io_error(e)),
        }
    }

    /// Asks the bucket about a key that does not exist: an answer (404)
    /// proves it is reachable and the credentials are good.
    pub async fn check(&self) -> io::Result<()> {
        match self.0.client.head(&self.key("healthz")).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(io_error(e)),
        }
    }

    /// Every blob's hash.
    pub async fn blob_hashes(&self) -> io::Result<Vec<String>> {
        let listed = self.list("blobs").await?;
        Ok(listed.into_iter().filter_map(|meta| meta.location.filename().map(str::to_string)).collect())
    }

    /// Multipart uploads in flight (or crashed), by their records.
    pub async fn pending_uploads(&self) -> io::Result<usize> {
        Ok(self.list("uploads").await?.len())
    }

    /// Aborts uploads whose record is older than `min_age` and deletes
    /// their temp objects, deletes temp objects without a record once older
    /// than that, and unreferenced blobs too. Returns (uploads and temp
    /// objects, blobs) removed.
    pub async fn sweep_orphans(&self, known: &HashSet<String>, min_age: Duration) -> io::Result<(u64, u64)> {
        let now_ms = crate::db::now_ms();
        let old =
            |meta: &ObjectMeta| now_ms - meta.last_modified.timestamp_millis() >= min_age.as_millis() as i64;
        let mut uploads = 0;
        // Upload name -> whether its record is stale.
        let mut records = HashMap::new();
        for record in self.list("uploads").await? {
            let Some(name) = record.location.filename() else { continue };
            records.insert(name.to_string(), old(&record));
            if !old(&record) {
                continue;
            }
            let body = self
                .0
                .client
                .get(&record.location)
                .await
                .map_err(io_error)?
                .bytes()
                .await
                .map_err(io_error)?;
            let body = String::from_utf8_lossy(&body);
            let (id, written_ms) = body.split_once('\n').unwrap_or((&body, ""));
            if written_ms.parse::<i64>().is_ok_and(|ms| now_ms - ms < min_age.as_millis() as i64) {
                records.insert(name.to_string(), false);
                continue;
            }
            let id: MultipartId = id.to_string();
            // Fails harmlessly when the upload completed before the crash.
            let _ = self.0.client.abort_multipart(&self.temp_key(name), &id).await;
            self.delete(&record.location).await?;
            uploads += 1;
        }
        // A live upload's temp object may be old (a slow copy or commit),
        // but its record is fresh.
        for temp in self.list("tmp").await? {
            let Some(name) = temp.location.filename() else { continue };
            if records.get(name).copied().unwrap_or_else(|| old(&temp)) {
                self.delete(&temp.location).await?;
                uploads += 1;
            }
        }
        let mut blobs = 0;
        for blob in self.list("blobs").await?.iter().filter(|m| old(m)) {
            if blob.location.filename().is_some_and(|hash| !known.contains(hash)) {
                self.delete(&blob.location).await?;
                blobs += 1;
            }
        }
        Ok((uploads, blobs))
    }
}

/// Runs a call made under the write lock, failing it as unavailable when
/// the store takes longer than [`LOCKED_CALL`].
async fn bounded<T>(what: &str, call: impl Future<Output = io::Result<T>>) -> io::Result<T> {
    tokio::time::timeout(LOCKED_CALL, call).await.unwrap_or_else(|_| {
        Err(io::Error::other(Unavailable(format!("{what}: no answer within {} s", LOCKED_CALL.as_secs()))))
    })
}

/// Not found stays not found; anything else means the store failed us.
fn io_error(e: object_store::Error) -> io::Error {
    match e {
        object_store::Error::NotFound { .. } => io::Error::new(io::ErrorKind::NotFound, e.to_string()),
        e => io::Error::other(Unavailable(e.to_string())),
    }
}
