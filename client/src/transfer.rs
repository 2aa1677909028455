//! Streaming transfers: uploads read from disk chunk by chunk with a
//! progress callback; downloads write to `<dest>.part`, resume it with a
//! `Range` request, and rename only a complete file to its final name.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use cloudbuffer_protocol::{Clip, FileInfo};
use futures_util::StreamExt;
use reqwest::StatusCode;
use tokio::io::AsyncWriteExt;

use crate::api::{segment, Client};
use crate::error::{ClientError, Result};

/// Called with (bytes done, bytes in all).
pub type Progress = std::sync::Arc<dyn Fn(u64, u64) + Send + Sync>;

/// A progress callback that ignores its calls.
pub fn no_progress() -> Progress {
    std::sync::Arc::new(|_, _| {})
}

/// What a download produced.
#[derive(Debug, Clone)]
pub struct Downloaded {
    /// The final file.
    pub path: PathBuf,
    /// Its size.
    pub size: u64,
    /// True if an earlier partial download was continued.
    pub resumed: bool,
}

/// The last path component of `path`, for an upload's name.
pub fn file_name(path: &Path) -> Result<String> {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| ClientError::Invalid(format!("{} is not a file", path.display())))
}

impl Client {
    /// Streams a local file to the server as a stored file.
    pub async fn upload_file(&self, path: &Path, progress: Progress) -> Result<FileInfo> {
        let url = self.url(&format!("/api/v1/files/{}", segment(&file_name(path)?)));
        let (body, size, changed) = self.file_body(path, progress).await?;
        let request = self.http.put(url).header(reqwest::header::CONTENT_LENGTH, size).body(body);
        let response = self.send_once(request).await.map_err(|e| read_error(e, path, &changed))?;
        self.parse(response).await
    }

    /// Streams a local file to the shared clipboard as a file clip.
    pub async fn copy_file(&self, path: &Path, progress: Progress) -> Result<Clip> {
        let name = file_name(path)?;
        let (body, size, changed) = self.file_body(path, progress).await?;
        let request = self
            .http
            .put(self.url("/api/v1/buffer"))
            .header("x-data-type", "file")
            .header("x-filename", segment(&name))
            .header(reqwest::header::CONTENT_LENGTH, size)
            .body(body);
        let response = self.send_once(request).await.map_err(|e| read_error(e, path, &changed))?;
        self.parse(response).await
    }

    /// Opens `path` as a request body, refusing files over the server's limit
    /// before sending a byte. The body fails if the file turns out shorter
    /// than it was when opened (it is being rewritten): the server then
    /// drops the upload, and the flag says why. A file that grows is sent
    /// as long as it was when opened.
    async fn file_body(
        &self,
        path: &Path,
        progress: Progress,
    ) -> Result<(reqwest::Body, u64, Arc<AtomicBool>)> {
        let file = tokio::fs::File::open(path).await.map_err(|e| ClientError::io(path, e))?;
        let size = file.metadata().await.map_err(|e| ClientError::io(path, e))?.len();
        let limits = self.limits().await?;
        if size > limits.max_file_bytes {
            return Err(ClientError::TooLarge { limit: human_bytes(limits.max_file_bytes) });
        }
        progress(0, size);
        let changed = Arc::new(AtomicBool::new(false));
        let read = Arc::new(AtomicU64::new(0));
        let (counted, at_end, flag, flag_at_end) = (read.clone(), read, changed.clone(), changed.clone());
        let chunks = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024).map(move |item| {
            let chunk: Bytes = item?;
            let sent = counted.fetch_add(chunk.len() as u64, Ordering::Relaxed) + chunk.len() as u64;
            if sent > size {
                return Err(changed_error(&flag));
            }
            progress(sent, size);
            Ok(chunk)
        });
        // One more item after the file's end, only if it came too soon.
        let short = futures_util::stream::once(async move {
            (at_end.load(Ordering::Relaxed) < size).then(|| Err(changed_error(&flag_at_end)))
        })
        .filter_map(std::future::ready);
        Ok((reqwest::Body::wrap_stream(chunks.chain(short)), size, changed))
    }

    /// Downloads one of the user's files to `dest`.
    pub async fn download_file(&self, id: &str, dest: &Path, progress: Progress) -> Result<Downloaded> {
        let info = self.file(id).await?;
        // A `.part` as long as the file (interrupted between the last byte
        // and the rename) or longer cannot be continued: a range from its
        // end is refused with 416 on every try. Start over instead.
        let part = part_path(dest);
        if tokio::fs::metadata(&part).await.is_ok_and(|meta| meta.len() >= info.size) {
            let _ = tokio::fs::remove_file(&part).await;
        }
        let url = self.url(&format!("/api/v1/files/{}/content", segment(id)));
        let etag = format!("\"{}\"", info.hash);
        let token = self.access_token().await?;
        let request = self.http.get(url).bearer_auth(token);
        fetch_to(self, request, Some(&etag), dest, progress).await
    }

    /// Downloads a share link's content (`url` is the page URL `…/s/TOKEN`).
    pub async fn download_share(
        &self,
        url: &str,
        password: Option<&str>,
        dest: &Path,
        progress: Progress,
    ) -> Result<Downloaded> {
        let mut request = self.http.get(format!("{}/raw", url.trim_end_matches('/')));
        if let Some(password) = password {
            request = request.header("x-share-password", password);
        }
        fetch_to(self, request, None, dest, progress).await
    }
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

/// GETs into `<dest>.part` (continuing it when the server honours the
/// range and the content is the same), then renames it to `dest`.
async fn fetch_to(
    client: &Client,
    request: reqwest::RequestBuilder,
    etag: Option<&str>,
    dest: &Path,
    progress: Progress,
) -> Result<Downloaded> {
    let part = part_path(dest);
    let have = match (etag, tokio::fs::metadata(&part).await) {
        (Some(_), Ok(meta)) => meta.len(),
        _ => 0,
    };
    let request = match etag {
        Some(tag) if have > 0 => request.header("range", format!("bytes={have}-")).header("if-range", tag),
        _ => request,
    };
    let response = client.check(client.transport(request).await?).await?;
    let resumed = response.status() == StatusCode::PARTIAL_CONTENT;
    let start = if resumed { have } else { 0 };
    let total = start + response.content_length().unwrap_or(0);
    let mut file = if resumed {
        tokio::fs::OpenOptions::new().append(true).open(&part).await
    } else {
        tokio::fs::File::create(&part).await
    }
    .map_err(|e| ClientError::io(&part, e))?;
    let mut done = start;
    progress(done, total);
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| client.transport_error(e))?;
        file.write_all(&chunk).await.map_err(|e| ClientError::io(&part, e))?;
        done += chunk.len() as u64;
        progress(done, total);
    }
    file.flush().await.map_err(|e| ClientError::io(&part, e))?;
    file.sync_all().await.map_err(|e| ClientError::io(&part, e))?;
    drop(file);
    if total > 0 && done != total {
        return Err(ClientError::Interrupted(format!("got {done} of {total} bytes")));
    }
    tokio::fs::rename(&part, dest).await.map_err(|e| ClientError::io(dest, e))?;
    Ok(Downloaded { path: dest.to_path_buf(), size: done, resumed })
}

/// `<dest>.part`, beside the destination so the final rename is atomic.
/// A name too long for that (file names stop at 255 bytes) is cut and
/// given a hash of the whole name, so each destination keeps one `.part`.
pub fn part_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    if name.len() + ".part".len() > crate::names::MAX_NAME_BYTES {
        let hash = blake3::hash(name.as_encoded_bytes()).to_hex();
        let lossy = name.to_string_lossy();
        let mut cut = crate::names::MAX_NAME_BYTES - ".part".len() - 9;
        while !lossy.is_char_boundary(cut) {
            cut -= 1;
        }
        name = format!("{}-{}", &lossy[..cut], &hash[..8]).into();
    }
    name.push(".part");
    dest.with_file_name(name)
}

pub use cloudbuffer_protocol::units::human_bytes;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_paths_fit_in_a_file_name() {
        assert_eq!(part_path(Path::new("/d/a.txt")), Path::new("/d/a.txt.part"));
        let long = crate::names::safe_file_name(&"é".repeat(200));
        let part = part_path(&Path::new("/d").join(&long));
        let name = part.file_name().unwrap().to_str().unwrap();
        assert!(name.len() <= crate::names::MAX_NAME_BYTES && name.ends_with(".part"), "{name}");
        let other = part_path(&Path::new("/d").join(format!("{long}x")));
        assert_ne!(part, other, "two long names share no .part");
    }
}
