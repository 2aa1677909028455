//! Uploads of local files, streamed from disk: as they are, or encrypted on
//! the way when this device holds the account key (see [`crate::e2e`]).

use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use cloudbuffer_crypto::{ciphertext_len, FieldKind};
use cloudbuffer_protocol::{Clip, FileInfo};
use futures_util::{Stream, StreamExt};

use super::{file_name, human_bytes, Progress};
use crate::api::{segment, Client};
use crate::e2e::seal::{self, Fields, ENCRYPTED, ENCRYPTED_CONTENT_TYPE};
use crate::error::{ClientError, Result};

type Chunks = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// An upload's body and what goes with it.
struct FileBody {
    body: reqwest::Body,
    /// Bytes on the wire (the ciphertext's when encrypted).
    len: u64,
    /// Set when the body failed because the file changed under it.
    changed: Arc<AtomicBool>,
    /// The name to send: the file's, or its encrypted `name` field.
    name: String,
    /// The encrypted `content-type` field, when encrypted.
    sealed_type: Option<String>,
}

impl FileBody {
    /// The name as a path segment or `X-Filename` value. An encrypted field
    /// is base64url, safe in both, and goes as it is.
    fn wire_name(&self) -> String {
        match self.sealed_type {
            Some(_) => self.name.clone(),
            None => segment(&self.name),
        }
    }

    fn send(self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let mut request = request.header(reqwest::header::CONTENT_LENGTH, self.len);
        if let Some(content_type) = &self.sealed_type {
            request = request.header(ENCRYPTED, "1").header(ENCRYPTED_CONTENT_TYPE, content_type);
        }
        request.body(self.body)
    }
}

impl Client {
    /// Streams a local file to the server as a stored file (encrypted when
    /// this device holds the account key).
    pub async fn upload_file(&self, path: &Path, progress: Progress) -> Result<FileInfo> {
        let body = self.file_body(path, progress).await?;
        let url = self.url(&format!("/api/v1/files/{}", body.wire_name()));
        let changed = body.changed.clone();
        let request = body.send(self.http.put(url));
        let response = self.send_once(request).await.map_err(|e| read_error(e, path, &changed))?;
        self.parse(response).await
    }

    /// Streams a local file to the shared clipboard as a file clip
    /// (encrypted when this device holds the account key).
    pub async fn copy_file(&self, path: &Path, progress: Progress) -> Result<Clip> {
        let body = self.file_body(path, progress).await?;
        let request = self
            .http
            .put(self.url("/api/v1/buffer"))
            .header("x-data-type", "file")
            .header("x-filename", body.wire_name());
        let changed = body.changed.clone();
        let response = self.send_once(body.send(request)).await.map_err(|e| read_error(e, path, &changed))?;
        self.parse(response).await
    }

    /// Opens `path` as a request body, refusing files over the server's limit
    /// before sending a byte. The body fails if the file turns out shorter
    /// than it was when opened (it is being rewritten): the server then
    /// drops the upload, and the flag says why. A file that grows is sent
    /// as long as it was when opened. Progress counts bytes on the wire.
    async fn file_body(&self, path: &Path, progress: Progress) -> Result<FileBody> {
        let name = file_name(path)?;
        let key = self.sealing_key().await?;
        let file = tokio::fs::File::open(path).await.map_err(|e| ClientError::io(path, e))?;
        let size = file.metadata().await.map_err(|e| ClientError::io(path, e))?.len();
        let len = if key.is_some() { ciphertext_len(size) } else { size };
        let limits = self.limits().await?;
        if len > limits.max_file_bytes {
            return Err(ClientError::TooLarge { limit: human_bytes(limits.max_file_bytes) });
        }
        progress(0, len);
        let changed = Arc::new(AtomicBool::new(false));
        let plain = plaintext(file, size, changed.clone());
        let (chunks, name, sealed_type): (Chunks, _, _) = match key {
            Some(key) => {
                let encryptor = seal::encryptor(&key)?;
                let fields = Fields::of(&encryptor);
                let sealed_name = fields.seal(FieldKind::Name, &name)?;
                let sealed_type = fields.seal(FieldKind::ContentType, seal::guess_content_type(&name))?;
                (Box::pin(seal::encrypt_stream(plain, encryptor)), sealed_name, Some(sealed_type))
            }
            None => (plain, name, None),
        };
        let mut sent = 0u64;
        let counted = chunks.map(move |item| {
            if let Ok(chunk) = &item {
                sent += chunk.len() as u64;
                progress(sent, len);
            }
            item
        });
        Ok(FileBody { body: reqwest::Body::wrap_stream(counted), len, changed, name, sealed_type })
    }
}

/// The file's bytes, failing if it ends before `size` or runs past it.
fn plaintext(file: tokio::fs::File, size: u64, changed: Arc<AtomicBool>) -> Chunks {
    let read = Arc::new(AtomicU64::new(0));
    let (counted, at_end, flag_at_end) = (read.clone(), read, changed.clone());
    let chunks = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024).map(move |item| {
        let chunk: Bytes = item?;
        let done = counted.fetch_add(chunk.len() as u64, Ordering::Relaxed) + chunk.len() as u64;
        if done > size {
            return Err(changed_error(&changed));
        }
        Ok(chunk)
    });
    // One more item after the file's end, only if it came too soon.
    let short = futures_util::stream::once(async move {
        (at_end.load(Ordering::Relaxed) < size).then(|| Err(changed_error(&flag_at_end)))
    })
    .filter_map(std::future::ready);
    Box::pin(chunks.chain(short))
}

/// A body that failed because the local file did: say so, not "interrupted".
/// Marks the upload as failed because the file changed under it.
fn changed_error(flag: &AtomicBool) -> std::io::Error {
    flag.store(true, Ordering::Relaxed);
    std::io::Error::other("the file changed while it was being uploaded")
}

fn read_error(error: ClientError, path: &Path, changed: &AtomicBool) -> ClientError {
    if changed.load(Ordering::Relaxed) {
        let reason =
            "it changed while it was being uploaded; nothing was stored, try again once it is complete";
        return ClientError::io(path, std::io::Error::other(reason));
    }
    match error {
        ClientError::Interrupted(reason) if !path.exists() => ClientError::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, format!("vanished ({reason})")),
        ),
        other => other,
    }
}
