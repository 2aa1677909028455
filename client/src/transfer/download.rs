//! Downloads to `<dest>.part`, renamed to `dest` only when complete. Plain
//! ones resume a `.part` with a `Range` request; encrypted ones decrypt on
//! the way and keep nothing unless the whole item authenticated (a `.part`
//! of plaintext cannot be continued from a ciphertext offset, so an
//! interrupted encrypted download starts over).

use std::path::Path;

use futures_util::StreamExt;
use reqwest::StatusCode;
use tokio::io::AsyncWriteExt;

use cloudbuffer_crypto::FieldKind;

use super::{part_path, Downloaded, Progress};
use crate::api::{segment, Client};
use crate::e2e::{decrypting, split_share_fragment, Opening};
use crate::error::{ClientError, Result};

impl Client {
    /// Downloads one of the user's files to `dest`, decrypting an encrypted
    /// one ([`ClientError::Encrypted`] without the account key).
    pub async fn download_file(&self, id: &str, dest: &Path, progress: Progress) -> Result<Downloaded> {
        let info = self.file(id).await?;
        let opening = match info.encrypted {
            true => {
                let key = self.opening_key()?;
                let what = crate::names::printable(&self.reveal_file(&info)?.name);
                Some(Opening::new(&key, Some(&info.name), &what)?)
            }
            false => None,
        };
        // A `.part` as long as the file (interrupted between the last byte
        // and the rename) or longer cannot be continued: a range from its
        // end is refused with 416 on every try. Start over instead.
        let part = part_path(dest);
        let stale = tokio::fs::metadata(&part).await.is_ok_and(|meta| meta.len() >= info.size);
        if stale || opening.is_some() {
            let _ = tokio::fs::remove_file(&part).await;
        }
        let url = self.url(&format!("/api/v1/files/{}/content", segment(id)));
        let etag = format!("\"{}\"", info.hash);
        let token = self.access_token().await?;
        let request = self.http.get(url).bearer_auth(token);
        fetch_to(self, request, Some(&etag), dest, progress, opening).await
    }

    /// BLAKE3 (hex) of an encrypted file's decrypted content, streamed: to
    /// recognise a file sent before, whose ciphertext matches nothing local.
    pub(crate) async fn plaintext_hash(&self, id: &str) -> Result<String> {
        let info = self.file(id).await?;
        let opening = Opening::new(&self.opening_key()?, Some(&info.name), &format!("file {id}"))?;
        let url = self.url(&format!("/api/v1/files/{}/content", segment(id)));
        let response = self.send(|token| self.http.get(&url).bearer_auth(token)).await?;
        let wire = response.bytes_stream().map(|chunk| chunk.map_err(|e| self.transport_error(e)));
        let mut plain = std::pin::pin!(decrypting(Box::pin(wire), opening));
        let mut hasher = blake3::Hasher::new();
        while let Some(chunk) = plain.next().await {
            hasher.update(&chunk?);
        }
        Ok(hasher.finalize().to_hex().to_string())
    }

    /// Downloads a share link's content (`url` is the page URL `…/s/TOKEN`,
    /// with `#k=…` for an encrypted item, which is then decrypted; without
    /// it an encrypted item is [`ClientError::IncompleteLink`]).
    pub async fn download_share(
        &self,
        url: &str,
        password: Option<&str>,
        dest: &Path,
        progress: Progress,
    ) -> Result<Downloaded> {
        let (url, key) = split_share_fragment(url)?;
        let mut request = self.http.get(format!("{}/raw", url.trim_end_matches('/')));
        if let Some(password) = password {
            request = request.header("x-share-password", password);
        }
        let response = self.check(self.transport(request).await?).await?;
        let opening = match (is_encrypted(&response), &key) {
            (false, _) => None,
            (true, None) => return Err(ClientError::IncompleteLink),
            (true, Some(key)) => match shared_name_field(&response) {
                Some(name) => Some(Opening::new(key, Some(&name), "the shared file")?),
                // No encrypted name: a text clip, whose content is a `text` field.
                None => {
                    let field = response.text().await.map_err(|e| self.transport_error(e))?;
                    let text = crate::e2e::open_text(key, FieldKind::Text, field.trim(), "the shared text")?;
                    return write_text(dest, &text);
                }
            },
        };
        write_response(self, response, 0, dest, progress, opening).await
    }
}

/// The encrypted name of a shared encrypted file (its Content-Disposition).
pub(crate) fn shared_name_field(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get(reqwest::header::CONTENT_DISPOSITION)
        .and_then(|v| v.to_str().ok())
        .and_then(cloudbuffer_protocol::disposition::filename_from_disposition)
        .filter(|name| crate::e2e::is_field(name))
}

/// Writes decrypted text through `<dest>.part`.
fn write_text(dest: &Path, text: &str) -> Result<Downloaded> {
    let part = part_path(dest);
    let written = std::fs::write(&part, text)
        .map_err(|e| ClientError::io(&part, e))
        .and_then(|()| std::fs::rename(&part, dest).map_err(|e| ClientError::io(dest, e)));
    if written.is_err() {
        let _ = std::fs::remove_file(&part);
    }
    written.map(|()| Downloaded { path: dest.to_path_buf(), size: text.len() as u64, resumed: false })
}

/// True if the response carries an encrypted item (`X-Encrypted: 1`).
pub(crate) fn is_encrypted(response: &reqwest::Response) -> bool {
    response.headers().get("x-encrypted").is_some_and(|v| v.as_bytes() == b"1" || v.as_bytes() == b"true")
}

/// GETs into `<dest>.part` (continuing it when the server honours the
/// range and the content is the same), then renames it to `dest`.
async fn fetch_to(
    client: &Client,
    request: reqwest::RequestBuilder,
    etag: Option<&str>,
    dest: &Path,
    progress: Progress,
    opening: Option<Opening>,
) -> Result<Downloaded> {
    let part = part_path(dest);
    let have = match (etag, tokio::fs::metadata(&part).await) {
        (Some(_), Ok(meta)) if opening.is_none() => meta.len(),
        _ => 0,
    };
    let request = match etag {
        Some(tag) if have > 0 => request.header("range", format!("bytes={have}-")).header("if-range", tag),
        _ => request,
    };
    let response = client.check(client.transport(request).await?).await?;
    write_response(client, response, have, dest, progress, opening).await
}

/// Writes a response to `<dest>.part` (appending after `have` bytes on a
/// 206), then renames it. A failed decryption removes the `.part`; a plain
/// download's is kept to be continued.
async fn write_response(
    client: &Client,
    response: reqwest::Response,
    have: u64,
    dest: &Path,
    progress: Progress,
    opening: Option<Opening>,
) -> Result<Downloaded> {
    let part = part_path(dest);
    let resumed = response.status() == StatusCode::PARTIAL_CONTENT && opening.is_none();
    let start = if resumed { have } else { 0 };
    let wire_total = start + response.content_length().unwrap_or(0);
    let encrypted = opening.is_some();
    // Progress counts what lands in the file: the plaintext.
    let total = match encrypted {
        true => cloudbuffer_crypto::plaintext_len(wire_total).unwrap_or(wire_total),
        false => wire_total,
    };
    let mut file = if resumed {
        tokio::fs::OpenOptions::new().append(true).open(&part).await
    } else {
        tokio::fs::File::create(&part).await
    }
    .map_err(|e| ClientError::io(&part, e))?;
    let wire = response.bytes_stream().map(|chunk| chunk.map_err(|e| client.transport_error(e)));
    let mut body = match opening {
        Some(opening) => decrypting(Box::pin(wire), opening).boxed(),
        None => wire.boxed(),
    };
    let mut done = start;
    progress(done, total);
    let result: Result<()> = async {
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            file.write_all(&chunk).await.map_err(|e| ClientError::io(&part, e))?;
            done += chunk.len() as u64;
            progress(done, total);
        }
        file.flush().await.map_err(|e| ClientError::io(&part, e))?;
        file.sync_all().await.map_err(|e| ClientError::io(&part, e))
    }
    .await;
    drop(file);
    if let Err(e) = result {
        // Decrypted bytes before a failure are not to be trusted as a whole.
        if encrypted {
            let _ = tokio::fs::remove_file(&part).await;
        }
        return Err(e);
    }
    if !encrypted && total > 0 && done != total {
        return Err(ClientError::Interrupted(format!("got {done} of {total} bytes")));
    }
    tokio::fs::rename(&part, dest).await.map_err(|e| ClientError::io(dest, e))?;
    Ok(Downloaded { path: dest.to_path_buf(), size: done, resumed })
}
