//! Blobs in an S3-compatible bucket, through the `object_store` crate.
//!
//! Keys under the configured prefix:
//! - `blobs/ab/<hash>`: the blobs, content-addressed like on disk.
//! - `tmp/<name>`: a finished multipart upload waiting to be copied to its
//!   address (S3 has no rename).
//! - `uploads/<name>`: the record of a multipart upload in flight, holding
//!   its upload id. Parts of an unfinished upload are invisible in a
//!   listing, so this is how clean-up finds a crashed instance's parts: a
//!   record older than [`super::ORPHAN_AGE`] is aborted. Live uploads
//!   rewrite theirs every few minutes.
//!
//! An upload smaller than one part stays in memory and is put once, at its
//! address; larger ones stream as parts, [`PARTS_IN_FLIGHT`] at a time.

use std::collections::{HashSet, VecDeque};
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path;
use object_store::{
    BackoffConfig, ClientOptions, GetOptions, GetRange, MultipartId, ObjectStore, ObjectStoreExt, PutPayload,
    PutPayloadMut, RetryConfig,
};
use tokio::task::JoinHandle;

use super::{BlobStream, Hashing, Slicer, Unavailable, WrittenBlob};

/// Bytes per part (S3 wants at least 5 MiB for all but the last).
const PART: usize = 8 << 20;
/// Parts of one upload sent at once: enough to keep the link busy while
/// the next part gathers, and what bounds an upload's memory.
const PARTS_IN_FLIGHT: usize = 2;
/// How often a live upload rewrites its record.
const RECORD_REFRESH: Duration = Duration::from_secs(5 * 60);

/// A bucket (and prefix) holding blobs.
#[derive(Debug, Clone)]
pub struct S3Store(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    client: AmazonS3,
    prefix: String,
}

/// A finished upload before its row commits.
#[derive(Debug)]
pub enum Staged {
    /// Small: the whole content, put at its address when staged.
    Memory(PutPayload),
    /// Completed at `tmp/<name>`, to be copied to its address.
    Temp(String),
}

impl S3Store {
    /// Connects to `bucket` (nothing is sent until the first request).
    /// Credentials and region come from the standard `AWS_*` variables.
    pub fn open(bucket: &str, prefix: &str, endpoint: Option<&str>) -> io::Result<S3Store> {
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
        Ok(S3Store(Arc::new(Inner { client, prefix: prefix.to_string() })))
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

    /// Starts an upload (nothing is sent before the first full part).
    pub fn writer(&self) -> S3Writer {
        S3Writer {
            store: self.clone(),
            hashing: Hashing::new(),
            slicer: Slicer::new(),
            part: PutPayloadMut::new(),
            upload: None,
            settled: false,
        }
    }

    /// Makes sure the blob is at its address: kept if already there,
    /// else put or copied from where it was staged.
    pub async fn ensure_at_address(&self, hash: &str, staged: &Staged) -> io::Result<()> {
        let target = self.blob_key(hash);
        match self.0.client.head(&target).await {
            Ok(_) => return Ok(()),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(io_error(e)),
        }
        match staged {
            Staged::Memory(payload) => self.0.client.put(&target, payload.clone()).await.map(drop),
            Staged::Temp(name) => self.0.client.copy(&self.key(&format!("tmp/{name}")), &target).await,
        }
        .map_err(io_error)
    }

    /// Deletes an upload's temp object and record.
    pub async fn remove_staged(&self, staged: &Staged) {
        if let Staged::Temp(name) = staged {
            for key in [self.key(&format!("tmp/{name}")), self.key(&format!("uploads/{name}"))] {
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

    /// Removes a blob (gone already is fine).
    pub async fn unlink(&self, hash: &str) -> io::Result<()> {
        self.delete(&self.blob_key(hash)).await
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
        let listed: Vec<_> =
            self.0.client.list(Some(&self.key("blobs"))).try_collect().await.map_err(io_error)?;
        Ok(listed.into_iter().filter_map(|meta| meta.location.filename().map(str::to_string)).collect())
    }

    /// Multipart uploads in flight (or crashed), by their records.
    pub async fn pending_uploads(&self) -> io::Result<usize> {
        let listed: Vec<_> =
            self.0.client.list(Some(&self.key("uploads"))).try_collect().await.map_err(io_error)?;
        Ok(listed.len())
    }

    /// Aborts uploads whose record is older than `min_age`, deletes temp
    /// objects and unreferenced blobs older than that. Returns (uploads and
    /// temp objects, blobs) removed.
    pub async fn sweep_orphans(&self, known: &HashSet<String>, min_age: Duration) -> io::Result<(u64, u64)> {
        let now_ms = crate::db::now_ms();
        let old = |meta: &object_store::ObjectMeta| {
            now_ms - meta.last_modified.timestamp_millis() >= min_age.as_millis() as i64
        };
        let mut uploads = 0;
        let records: Vec<_> =
            self.0.client.list(Some(&self.key("uploads"))).try_collect().await.map_err(io_error)?;
        for record in records.iter().filter(|m| old(m)) {
            let Some(name) = record.location.filename() else { continue };
            let id = self
                .0
                .client
                .get(&record.location)
                .await
                .map_err(io_error)?
                .bytes()
                .await
                .map_err(io_error)?;
            let id: MultipartId = String::from_utf8_lossy(&id).into_owned();
            // Fails harmlessly when the upload completed before the crash.
            let _ = self.0.client.abort_multipart(&self.key(&format!("tmp/{name}")), &id).await;
            self.delete(&record.location).await?;
            uploads += 1;
        }
        let temps: Vec<_> =
            self.0.client.list(Some(&self.key("tmp"))).try_collect().await.map_err(io_error)?;
        for temp in temps.iter().filter(|m| old(m)) {
            self.delete(&temp.location).await?;
            uploads += 1;
        }
        let mut blobs = 0;
        let listed: Vec<_> =
            self.0.client.list(Some(&self.key("blobs"))).try_collect().await.map_err(io_error)?;
        for blob in listed.iter().filter(|m| old(m)) {
            if blob.location.filename().is_some_and(|hash| !known.contains(hash)) {
                self.delete(&blob.location).await?;
                blobs += 1;
            }
        }
        Ok((uploads, blobs))
    }
}

/// Not found stays not found; anything else means the store failed us.
fn io_error(e: object_store::Error) -> io::Error {
    match e {
        object_store::Error::NotFound { .. } => io::Error::new(io::ErrorKind::NotFound, e.to_string()),
        e => io::Error::other(Unavailable(e.to_string())),
    }
}

/// A multipart upload in flight.
struct Multipart {
    name: String,
    key: Path,
    id: MultipartId,
    done: Vec<PartId>,
    sending: VecDeque<JoinHandle<object_store::Result<PartId>>>,
    recorded_at: Instant,
}

/// An upload into the bucket. Dropping it unfinished aborts it.
pub struct S3Writer {
    store: S3Store,
    hashing: Hashing,
    slicer: Slicer,
    /// Slices gathered for the next part.
    part: PutPayloadMut,
    upload: Option<Multipart>,
    settled: bool,
}

impl S3Writer {
    /// Adds a chunk.
    pub async fn write(&mut self, chunk: Bytes) -> io::Result<()> {
        if let Some(slice) = self.slicer.push(chunk) {
            self.hashing.update(&slice);
            self.part.push(slice);
            if self.part.content_length() >= PART {
                let part = std::mem::take(&mut self.part).freeze();
                self.send_part(part).await?;
            }
        }
        Ok(())
    }

    /// Starts the multipart upload on the first part, waits while
    /// [`PARTS_IN_FLIGHT`] are on their way, then sends this one.
    async fn send_part(&mut self, part: PutPayload) -> io::Result<()> {
        let store = self.store.clone();
        let upload = match &mut self.upload {
            Some(upload) => upload,
            None => {
                let name = crate::ids::random_hex(16);
                let key = store.key(&format!("tmp/{name}"));
                let id = store.0.client.create_multipart(&key).await.map_err(io_error)?;
                let upload = Multipart {
                    name,
                    key,
                    id,
                    done: Vec::new(),
                    sending: VecDeque::new(),
                    recorded_at: Instant::now(),
                };
                // Recorded before any part is sent, so a crash from here on
                // leaves something the sweep can find.
                let recorded = write_record(&store, &upload).await;
                self.upload = Some(upload);
                recorded?;
                self.upload.as_mut().expect("just set")
            }
        };
        while upload.sending.len() >= PARTS_IN_FLIGHT {
            let sent = upload.sending.pop_front().expect("non-empty");
            upload.done.push(sent.await.map_err(io::Error::other)?.map_err(io_error)?);
        }
        if upload.recorded_at.elapsed() >= RECORD_REFRESH {
            upload.recorded_at = Instant::now();
            write_record(&store, upload).await?;
        }
        let (key, id, index) =
            (upload.key.clone(), upload.id.clone(), upload.done.len() + upload.sending.len());
        upload
            .sending
            .push_back(tokio::spawn(async move { store.0.client.put_part(&key, &id, index, part).await }));
        Ok(())
    }

    /// Sends what is left; a small upload stays in memory for
    /// [`S3Store::ensure_at_address`].
    pub async fn finish(mut self) -> io::Result<WrittenBlob> {
        let rest = self.slicer.rest();
        if !rest.is_empty() {
            self.hashing.update(&rest);
            self.part.push(rest);
        }
        let part = std::mem::take(&mut self.part).freeze();
        if self.upload.is_none() {
            self.settled = true;
            let hashing = std::mem::replace(&mut self.hashing, Hashing::new());
            return Ok(hashing.finish(super::Staged::S3(Staged::Memory(part))));
        }
        let completed = self.complete(part).await;
        match completed {
            Ok(name) => {
                self.settled = true;
                let hashing = std::mem::replace(&mut self.hashing, Hashing::new());
                Ok(hashing.finish(super::Staged::S3(Staged::Temp(name))))
            }
            Err(e) => {
                self.abort().await;
                Err(e)
            }
        }
    }

    async fn complete(&mut self, last: PutPayload) -> io::Result<String> {
        if last.content_length() > 0 {
            self.send_part(last).await?;
        }
        let upload = self.upload.as_mut().expect("a multipart upload");
        while let Some(sent) = upload.sending.pop_front() {
            upload.done.push(sent.await.map_err(io::Error::other)?.map_err(io_error)?);
        }
        let parts = std::mem::take(&mut upload.done);
        self.store.0.client.complete_multipart(&upload.key, &upload.id, parts).await.map_err(io_error)?;
        Ok(upload.name.clone())
    }

    /// Abandons the upload: aborts its parts and removes its record.
    pub async fn abort(mut self) {
        self.settled = true;
        if let Some(upload) = self.upload.take() {
            abort_upload(&self.store, upload).await;
        }
    }
}

impl Drop for S3Writer {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        // The request went away mid-upload.
        if let (Some(upload), Ok(runtime)) = (self.upload.take(), tokio::runtime::Handle::try_current()) {
            let store = self.store.clone();
            runtime.spawn(async move { abort_upload(&store, upload).await });
        }
    }
}

async fn write_record(store: &S3Store, upload: &Multipart) -> io::Result<()> {
    let record = store.key(&format!("uploads/{}", upload.name));
    store.0.client.put(&record, PutPayload::from(upload.id.clone().into_bytes())).await.map_err(io_error)?;
    Ok(())
}

async fn abort_upload(store: &S3Store, upload: Multipart) {
    for sending in &upload.sending {
        sending.abort();
    }
    for sending in upload.sending {
        let _ = sending.await;
    }
    let aborted = store.0.client.abort_multipart(&upload.key, &upload.id).await;
    let record = store.key(&format!("uploads/{}", upload.name));
    match aborted {
        // The record goes only once the parts are gone.
        Ok(()) => {
            let _ = store.delete(&record).await;
        }
        Err(e) => {
            tracing::warn!(key = %upload.key, error = %e, "cannot abort upload (the orphan sweep will)")
        }
    }
}
