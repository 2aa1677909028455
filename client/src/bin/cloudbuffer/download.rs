//! Downloads: choosing where they go, and the two ways they get there.
//!
//! A download to an ordinary file goes to `<dest>.part` and is renamed
//! only once complete, so an interrupted one never leaves a partial file
//! under the final name (the client library resumes a stored file's
//! `.part`; a share link's is removed). Standard output (`-o -`) and
//! special files (`-o /dev/null`, a FIFO) are streamed to directly:
//! renaming a `.part` over `/dev/null` would replace the device.
//! Encrypted items are decrypted on the way; a file is renamed only after
//! the whole item authenticated.

use std::path::{Path, PathBuf};
use std::pin::Pin;

use bytes::Bytes;
use cloudbuffer_client::crypto::FieldKind;
use cloudbuffer_client::e2e::{decrypting, is_field, open_text, split_share_fragment, Opening};
use cloudbuffer_client::transfer::part_path;
use cloudbuffer_client::{Client, ClientError};
use cloudbuffer_protocol::FileInfo;
use futures_util::{Stream, StreamExt};
use tokio::io::AsyncWriteExt;

use crate::format::{human_bytes, printable, safe_file_name, unused_path};
use crate::http;
use crate::ui::{self, note, Pending};
use crate::{CliResult, Failure};

/// Where downloaded bytes go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dest {
    /// An ordinary file, written through `<path>.part`.
    File(PathBuf),
    /// Standard output.
    Stdout,
    /// An existing special file (device, FIFO), written in place.
    Special(PathBuf),
}

/// The destination for an item called `name`: `-o PATH` as given (a
/// folder gets the name inside it), else the name in the current folder;
/// a name chosen here never overwrites (`name (1).ext`).
pub fn destination(output: Option<&Path>, name: &str) -> CliResult<Dest> {
    let name = safe_file_name(name);
    let Some(output) = output else {
        return Ok(Dest::File(unused_path(Path::new(""), &name)));
    };
    if output == Path::new("-") {
        return Ok(Dest::Stdout);
    }
    match std::fs::metadata(output) {
        Ok(meta) if meta.is_dir() => return Ok(Dest::File(unused_path(output, &name))),
        Ok(meta) if !meta.is_file() => return Ok(Dest::Special(output.to_path_buf())),
        _ => {}
    }
    let parent = match output.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        return Err(Failure::message(format!("{}: no such folder", parent.display())));
    }
    Ok(Dest::File(output.to_path_buf()))
}

/// Downloads one of the user's files (by its info, as the server lists it)
/// to `output`, decrypting an encrypted one.
pub async fn stored_file(client: &Client, file: &FileInfo, output: Option<&Path>) -> CliResult {
    // The name and size people know (an encrypted file's are decrypted).
    let shown = client.reveal_file(file)?;
    let dest = destination(output, &shown.name)?;
    let (bar, progress) = ui::transfer_bar(&printable(&shown.name));
    let size = match &dest {
        Dest::File(path) => {
            ui::set_pending(Some(Pending::Download { part: part_path(path), resumable: !file.encrypted }));
            let result = client.download_file(&file.id, path, progress).await;
            ui::set_pending(None);
            bar.finish_and_clear();
            match result {
                Ok(done) if done.resumed => {
                    note!("Continued the earlier partial download.");
                    done.size
                }
                Ok(done) => done.size,
                Err(e) if part_path(path).exists() => {
                    return Err(Failure::message(format!(
                        "{e} (the partial download is kept in {}; the same command continues it)",
                        part_path(path).display()
                    )))
                }
                Err(e) => return Err(e.into()),
            }
        }
        _ => {
            let opening = match file.encrypted {
                true => {
                    let key = client.account_key()?.ok_or(ClientError::Encrypted)?;
                    Some(Opening::new(&key, Some(&file.name), &printable(&shown.name))?)
                }
                false => None,
            };
            let token = client.access_token().await?;
            let url =
                client.url(&format!("/api/v1/files/{}/content", cloudbuffer_client::api::segment(&file.id)));
            let request = http::http()?.get(url).bearer_auth(token);
            let response = http::send(request, client.server()).await?;
            let size = stream(body_of(response, client.server(), opening), &dest, progress).await;
            bar.finish_and_clear();
            size?
        }
    };
    saved(&shown.name, size, &dest);
    Ok(())
}

/// Downloads a share link (`…/s/TOKEN`, with `#k=…` for an encrypted
/// item, which is decrypted) to `output`.
pub async fn share_link(link: &str, password: Option<&str>, output: Option<&Path>) -> CliResult {
    let (url, key) = split_share_fragment(link)?;
    let (base, token) = split_share_url(&url)?;
    let mut request = http::http()?.get(format!("{base}/s/{token}/raw"));
    if let Some(password) = password {
        request = request.header("x-share-password", password);
    }
    let response = http::send(request, &base).await?;
    let encrypted = response.headers().get("x-encrypted").is_some_and(|v| v == "1" || v == "true");
    let disposition = response
        .headers()
        .get(reqwest::header::CONTENT_DISPOSITION)
        .and_then(|v| http::filename_from_disposition(&String::from_utf8_lossy(v.as_bytes())));
    let (name, body) = match (encrypted, key) {
        (false, _) => {
            let name = disposition.unwrap_or_else(|| format!("download-{token}"));
            (name, body_of(response, &base, None))
        }
        (true, None) => return Err(ClientError::IncompleteLink.into()),
        // An encrypted file: its name is a field the link's key opens.
        (true, Some(key)) if disposition.as_deref().is_some_and(is_field) => {
            let field = disposition.unwrap_or_default();
            let name = open_text(&key, FieldKind::Name, &field, "the shared file's name")?;
            let opening = Opening::new(&key, Some(&field), &printable(&name))?;
            (name, body_of(response, &base, Some(opening)))
        }
        // An encrypted text clip: the body is one `text` field.
        (true, Some(key)) => {
            let field = response.text().await.map_err(|e| http::transport(&e, &base))?;
            let text = open_text(&key, FieldKind::Text, field.trim(), "the shared text")?;
            let name = disposition.unwrap_or_else(|| "clip.txt".into());
            let len = text.len() as u64;
            let one: Body = Box::pin(futures_util::stream::once(async move { Ok(Bytes::from(text)) }));
            (name, (one, Some(len)))
        }
    };
    let dest = destination(output, &name)?;
    let (bar, progress) = ui::transfer_bar(&printable(&name));
    let size = stream(body, &dest, progress).await;
    bar.finish_and_clear();
    saved(&name, size?, &dest);
    Ok(())
}

/// A download's bytes, decrypted on the way when `opening` is given.
type Body = Pin<Box<dyn Stream<Item = Result<Bytes, ClientError>> + Send>>;

/// A response's body (and its length, if known) as plaintext.
fn body_of(response: reqwest::Response, server: &str, opening: Option<Opening>) -> (Body, Option<u64>) {
    let total = response.content_length();
    let server = server.to_string();
    let wire = response.bytes_stream().map(move |chunk| chunk.map_err(|e| http::transport(&e, &server)));
    match opening {
        Some(opening) => {
            (Box::pin(decrypting(Box::pin(wire), opening)), total.and_then(cloudbuffer_crypto::plaintext_len))
        }
        None => (Box::pin(wire), total),
    }
}

fn saved(name: &str, size: u64, dest: &Dest) {
    match dest {
        Dest::File(path) | Dest::Special(path) => {
            // Both come from the server: a name may carry terminal controls.
            let (name, path) = (printable(name), printable(&path.display().to_string()));
            note!("Saved {name} ({}) to {path}", human_bytes(size))
        }
        Dest::Stdout => {}
    }
}

/// `(http://host[/base], TOKEN)` of a share link.
pub fn split_share_url(url: &str) -> CliResult<(String, String)> {
    let invalid = || Failure::message(format!("{url:?} is not a share link (http://host/s/TOKEN)"));
    let url = url.trim();
    let (base, rest) = url.rsplit_once("/s/").ok_or_else(invalid)?;
    let token = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if token.is_empty() || !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(invalid());
    }
    cloudbuffer_client::api::normalize_server(base)?;
    Ok((base.to_string(), token.to_string()))
}

/// Streams a body to `dest`; returns the bytes written. A file gets them
/// through `<dest>.part`, removed if anything fails (a decryption error
/// included), so nothing is left under the final name.
async fn stream(
    (mut body, total): (Body, Option<u64>),
    dest: &Dest,
    progress: cloudbuffer_client::transfer::Progress,
) -> CliResult<u64> {
    let (mut sink, written_to) = match dest {
        Dest::Stdout => (Sink::Stdout(std::io::stdout()), None),
        Dest::Special(path) => {
            let file = tokio::fs::OpenOptions::new().write(true).open(path).await;
            (Sink::File(file.map_err(|e| ClientError::io(path, e))?), Some(path.clone()))
        }
        Dest::File(path) => {
            let part = part_path(path);
            ui::set_pending(Some(Pending::Download { part: part.clone(), resumable: false }));
            let file = tokio::fs::File::create(&part).await.map_err(|e| ClientError::io(&part, e))?;
            (Sink::File(file), Some(part))
        }
    };
    let write_error = |e: std::io::Error| match &written_to {
        Some(path) => Failure::from(ClientError::io(path, e)),
        None => Failure::stdout(e),
    };
    let result: CliResult<u64> = async {
        let mut done = 0u64;
        progress(0, total.unwrap_or(0));
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            sink.write_all(&chunk).await.map_err(write_error)?;
            done += chunk.len() as u64;
            progress(done, total.unwrap_or(done));
        }
        sink.flush().await.map_err(write_error)?;
        if let (Sink::File(file), Dest::File(_)) = (&sink, dest) {
            file.sync_all().await.map_err(write_error)?;
        }
        if let Some(total) = total.filter(|&t| t != done) {
            return Err(ClientError::Interrupted(format!("got {done} of {total} bytes")).into());
        }
        Ok(done)
    }
    .await;
    drop(sink);
    let Dest::File(path) = dest else { return result };
    ui::set_pending(None);
    let part = part_path(path);
    if result.is_ok() {
        if let Err(e) = tokio::fs::rename(&part, path).await {
            let _ = tokio::fs::remove_file(&part).await;
            return Err(ClientError::io(path, e).into());
        }
    } else {
        let _ = tokio::fs::remove_file(&part).await;
    }
    result
}

/// Standard output (written directly: a blocked pipe holds the download
/// back, as it should) or a file.
enum Sink {
    Stdout(std::io::Stdout),
    File(tokio::fs::File),
}

impl Sink {
    async fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Sink::Stdout(stdout) => std::io::Write::write_all(stdout, bytes),
            Sink::File(file) => file.write_all(bytes).await,
        }
    }

    async fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Stdout(stdout) => std::io::Write::flush(stdout),
            Sink::File(file) => file.flush().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_urls() {
        let (base, token) = split_share_url("http://127.0.0.1:8080/s/AbC-_9").unwrap();
        assert_eq!((base.as_str(), token.as_str()), ("http://127.0.0.1:8080", "AbC-_9"));
        let (base, token) = split_share_url("https://x.example/buffer/s/tok/raw?x=1").unwrap();
        assert_eq!((base.as_str(), token.as_str()), ("https://x.example/buffer", "tok"));
        assert!(split_share_url("http://host/files/abc").is_err());
        assert!(split_share_url("ftp://host/s/abc").is_err());
        assert!(split_share_url("http://host/s/").is_err());
    }

    #[test]
    fn destinations() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert_eq!(destination(Some(Path::new("-")), "a").unwrap(), Dest::Stdout);
        assert_eq!(destination(Some(d), "../a.txt").unwrap(), Dest::File(d.join("a.txt")));
        std::fs::write(d.join("a.txt"), "x").unwrap();
        assert_eq!(destination(Some(d), "a.txt").unwrap(), Dest::File(d.join("a (1).txt")));
        // Named explicitly: overwritten (through a .part).
        assert_eq!(destination(Some(&d.join("a.txt")), "b").unwrap(), Dest::File(d.join("a.txt")));
        assert!(destination(Some(&d.join("nowhere/a.txt")), "b").is_err());
        #[cfg(unix)]
        assert_eq!(
            destination(Some(Path::new("/dev/null")), "b").unwrap(),
            Dest::Special("/dev/null".into())
        );
    }
}
