//! Writing an upload into the bucket: small ones gathered in memory, larger
//! ones streamed as a multipart upload to `tmp/<name>`, its record at
//! `uploads/<name>` kept fresh until the upload is settled.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;

use bytes::Bytes;
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path;
use object_store::{MultipartId, ObjectStoreExt, PutPayload, PutPayloadMut};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use super::{io_error, S3Store, Staged, Temp};
use crate::store::{Hashing, Slicer, Unavailable, WrittenBlob};

/// Bytes per part (S3 wants at least 5 MiB for all but the last).
const PART: usize = 8 << 20;
/// Parts of one upload sent at once: enough to keep the link busy while
/// the next part gathers, and what bounds an upload's memory.
const PARTS_IN_FLIGHT: usize = 2;

/// A multipart upload in flight.
struct Multipart {
    name: String,
    key: Path,
    id: MultipartId,
    done: Vec<PartId>,
    sending: VecDeque<JoinHandle<object_store::Result<PartId>>>,
    refresher: Refresher,
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
    pub(super) fn new(store: S3Store) -> S3Writer {
        S3Writer {
            store,
            hashing: Hashing::new(),
            slicer: Slicer::new(),
            part: PutPayloadMut::new(),
            upload: None,
            settled: false,
        }
    }

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
                let key = store.temp_key(&name);
                let id = store.0.client.create_multipart(&key).await.map_err(io_error)?;
                // Recorded before any part is sent, so a crash from here on
                // leaves something the sweep can find.
                let recorded = write_record(&store, &name, &id).await;
                let refresher = Refresher::start(&store, &name, &id);
                self.upload =
                    Some(Multipart { name, key, id, done: Vec::new(), sending: VecDeque::new(), refresher });
                recorded?;
                self.upload.as_mut().expect("just set")
            }
        };
        while upload.sending.len() >= PARTS_IN_FLIGHT {
            let sent = upload.sending.pop_front().expect("non-empty");
            upload.done.push(sent.await.map_err(io::Error::other)?.map_err(upload_error)?);
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
            return Ok(hashing.finish(crate::store::Staged::S3(Staged::Memory(part))));
        }
        let completed = self.complete(part).await;
        match completed {
            Ok(()) => {
                self.settled = true;
                let upload = self.upload.take().expect("a multipart upload");
                // The record stays fresh until the upload is settled.
                let temp = Temp { name: upload.name, refresher: upload.refresher };
                let hashing = std::mem::replace(&mut self.hashing, Hashing::new());
                Ok(hashing.finish(crate::store::Staged::S3(Staged::Temp(temp))))
            }
            Err(e) => {
                self.abort().await;
                Err(e)
            }
        }
    }

    async fn complete(&mut self, last: PutPayload) -> io::Result<()> {
        if last.content_length() > 0 {
            self.send_part(last).await?;
        }
        let upload = self.upload.as_mut().expect("a multipart upload");
        while let Some(sent) = upload.sending.pop_front() {
            upload.done.push(sent.await.map_err(io::Error::other)?.map_err(upload_error)?);
        }
        let parts = std::mem::take(&mut upload.done);
        self.store.0.client.complete_multipart(&upload.key, &upload.id, parts).await.map_err(upload_error)?;
        Ok(())
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

/// A part or completion refused because the upload is gone: another
/// instance's orphan sweep aborted it (its record looked stale). The
/// client may retry, so it is 503, not 500.
fn upload_error(e: object_store::Error) -> io::Error {
    match e {
        object_store::Error::NotFound { .. } => io::Error::other(Unavailable(format!(
            "the multipart upload was lost (aborted by an orphan sweep?): {e}"
        ))),
        e => io_error(e),
    }
}

/// The record: the upload id, then when it was written (ms), which the
/// sweep trusts over the object's date (some stores, s3s-fs among them,
/// keep an overwritten object's first date).
async fn write_record(store: &S3Store, name: &str, id: &MultipartId) -> io::Result<()> {
    let payload = PutPayload::from(format!("{id}\n{}", crate::db::now_ms()).into_bytes());
    store.0.client.put(&store.record_key(name), payload).await.map_err(io_error)?;
    Ok(())
}

/// Rewrites an upload's record every [`super::record_refresh`] of the
/// grace, so that no instance's orphan sweep takes it for a crashed one's,
/// until stopped or dropped.
#[derive(Debug)]
pub(super) struct Refresher {
    /// Held while a rewrite is on its way; true once stopped.
    stopped: Arc<Mutex<bool>>,
    task: JoinHandle<()>,
}

impl Refresher {
    fn start(store: &S3Store, name: &str, id: &MultipartId) -> Refresher {
        let stopped = Arc::new(Mutex::new(false));
        let (store, name, id, flag) = (store.clone(), name.to_string(), id.clone(), stopped.clone());
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(store.0.record_refresh).await;
                let stopped = flag.lock().await;
                if *stopped {
                    return;
                }
                if let Err(e) = write_record(&store, &name, &id).await {
                    tracing::warn!(upload = %name, error = %e, "cannot refresh the upload's record");
                }
            }
        });
        Refresher { stopped, task }
    }

    /// Stops the rewrites, waiting out one on its way, so that a record
    /// deleted after this stays deleted.
    pub(super) async fn stop(&self) {
        *self.stopped.lock().await = true;
        self.task.abort();
    }
}

impl Drop for Refresher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn abort_upload(store: &S3Store, upload: Multipart) {
    upload.refresher.stop().await;
    for sending in &upload.sending {
        sending.abort();
    }
    for sending in upload.sending {
        let _ = sending.await;
    }
    let aborted = store.0.client.abort_multipart(&upload.key, &upload.id).await;
    match aborted {
        // The record goes only once the parts are gone.
        Ok(()) => {
            let _ = store.delete(&store.record_key(&upload.name)).await;
        }
        Err(e) => {
            tracing::warn!(key = %upload.key, error = %e, "cannot abort upload (the orphan sweep will)")
        }
    }
}
