//! Serving stored bytes: ETag, Content-Disposition, HEAD and single-range
//! requests, streamed from disk with a completion hook for download counts.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use futures_util::Stream;

use super::names::content_disposition;
use crate::error::{ApiError, ApiResult};

/// The request headers a download answers to: `If-None-Match`, `Range`
/// and `If-Range`. Only these are taken from the request (cloning its whole
/// header map showed in the profile of small downloads); a download that
/// must ignore them (a link with a download limit) uses the default.
#[derive(Debug, Default, Clone)]
pub struct Conditions {
    if_none_match: Option<HeaderValue>,
    range: Option<HeaderValue>,
    if_range: Option<HeaderValue>,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Conditions {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        let get = |name| parts.headers.get(name).cloned();
        Ok(Conditions {
            if_none_match: get(header::IF_NONE_MATCH),
            range: get(header::RANGE),
            if_range: get(header::IF_RANGE),
        })
    }
}

/// What part of the content to send.
#[derive(Debug, PartialEq, Eq)]
pub enum ByteRange {
    /// Everything, 200.
    Full,
    /// `start..=end`, 206.
    Partial(u64, u64),
}

/// Parses a `Range` header against a size. Multiple ranges or other units
/// fall back to the full content (allowed by RFC 9110); a syntactically
/// valid range outside the content is an error (416).
pub fn parse_range(value: Option<&str>, size: u64) -> ApiResult<ByteRange> {
    let Some(spec) = value.and_then(|v| v.trim().strip_prefix("bytes=")) else {
        return Ok(ByteRange::Full);
    };
    if spec.contains(',') {
        return Ok(ByteRange::Full);
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Ok(ByteRange::Full);
    };
    let unsatisfiable = ApiError::RangeNotSatisfiable { size };
    let (start, end) = match (first.trim(), last.trim()) {
        ("", "") => return Ok(ByteRange::Full),
        ("", suffix) => {
            let Ok(n) = suffix.parse::<u64>() else { return Ok(ByteRange::Full) };
            if n == 0 || size == 0 {
                return Err(unsatisfiable);
            }
            (size.saturating_sub(n), size - 1)
        }
        (first, last) => {
            let Ok(start) = first.parse::<u64>() else { return Ok(ByteRange::Full) };
            let end = if last.is_empty() {
                size.saturating_sub(1)
            } else {
                let Ok(end) = last.parse::<u64>() else { return Ok(ByteRange::Full) };
                if end < start {
                    return Ok(ByteRange::Full);
                }
                end.min(size.saturating_sub(1))
            };
            if start >= size {
                return Err(unsatisfiable);
            }
            (start, end)
        }
    };
    if start == 0 && end + 1 == size {
        return Ok(ByteRange::Full);
    }
    Ok(ByteRange::Partial(start, end))
}

/// What is being served.
pub struct Content<'a> {
    /// The store holding the blob.
    pub store: &'a crate::store::BlobStore,
    /// Small blobs kept in memory.
    pub small_blobs: &'a crate::store::SmallBlobs,
    /// Size in bytes.
    pub size: u64,
    /// BLAKE3 hex, the ETag.
    pub hash: &'a str,
    /// Media type.
    pub content_type: &'a str,
    /// Name for Content-Disposition.
    pub name: &'a str,
    /// End-to-end encrypted: `name` and `content_type` are fields, served
    /// as they are (see [`serve`]).
    pub encrypted: bool,
}

impl<'a> Content<'a> {
    /// A stored file's content.
    pub fn of(state: &'a crate::state::AppState, file: &'a crate::db::FileRow) -> Content<'a> {
        Content {
            store: &state.store,
            small_blobs: &state.small_blobs,
            size: file.size.max(0) as u64,
            hash: &file.hash,
            content_type: &file.content_type,
            name: &file.name,
            encrypted: file.encrypted,
        }
    }
}

/// A stored file's bytes for its owner, counted for the file and its owner
/// once the last byte goes out.
pub async fn serve_file(
    state: &crate::state::AppState,
    file: &crate::db::FileRow,
    request: &Conditions,
) -> ApiResult<Response> {
    let (tally, counted) = (state.clone(), crate::tally::Counted::of(file));
    serve(Content::of(state, file), request, move |bytes| tally.tally.download(Some(&counted), bytes)).await
}

/// Builds the response for `content`. `on_complete(bytes)` runs when a
/// body that reaches the end of the content has been fully sent.
pub async fn serve(
    content: Content<'_>,
    request: &Conditions,
    on_complete: impl FnOnce(u64) + Send + 'static,
) -> ApiResult<Response> {
    let etag = etag(content.hash);
    let mut headers = HeaderMap::with_capacity(16);
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    if let Some(tags) = request.if_none_match.as_ref().and_then(|v| v.to_str().ok()) {
        if tags.split(',').any(|t| t.trim() == etag || t.trim() == "*") {
            headers.insert(header::ETAG, owned_value(etag)?);
            return Ok(with_headers(StatusCode::NOT_MODIFIED, headers, Body::empty()));
        }
    }
    let range_header = request.range.as_ref().and_then(|v| v.to_str().ok());
    let if_range_matches = request
        .if_range
        .as_ref()
        .map(|v| v.to_str().map(|t| t.trim() == etag).unwrap_or(false))
        .unwrap_or(true);
    let range = if if_range_matches { parse_range(range_header, content.size)? } else { ByteRange::Full };
    headers.insert(header::ETAG, owned_value(etag)?);

    let (status, start, len) = match range {
        ByteRange::Full => (StatusCode::OK, 0, content.size),
        ByteRange::Partial(start, end) => {
            let range = format!("bytes {start}-{end}/{}", content.size);
            headers.insert(header::CONTENT_RANGE, owned_value(range)?);
            (StatusCode::PARTIAL_CONTENT, start, end - start + 1)
        }
    };
    let (content_type, disposition) = if content.encrypted {
        // The server cannot know the type of ciphertext; the name field
        // is base64url, already safe in a quoted header parameter. The
        // content-type field goes along for the share page's script.
        headers.insert(crate::encrypted::HEADER, HeaderValue::from_static("1"));
        if !content.content_type.is_empty() {
            headers.insert(
                crate::encrypted::CONTENT_TYPE_HEADER,
                HeaderValue::from_str(content.content_type).map_err(internal)?,
            );
        }
        (
            HeaderValue::from_static("application/octet-stream"),
            format!("attachment; filename=\"{}\"", content.name),
        )
    } else {
        let content_type = HeaderValue::from_str(content.content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream"));
        (content_type, content_disposition("attachment", content.name))
    };
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(header::CONTENT_DISPOSITION, owned_value(disposition)?);

    let bytes = read(&content, start, len).await.map_err(|e| unreadable(&content, e))?;
    let reaches_end = start + len == content.size;
    let mut on_complete = Some(on_complete).filter(|_| reaches_end);
    if len == 0 {
        // hyper never polls an empty body: this download is complete now.
        if let Some(hook) = on_complete.take() {
            hook(0);
        }
    }
    let body = match bytes {
        Read::Whole(bytes) => Body::new(Whole { bytes: Some(bytes), on_complete }),
        Read::Stream(reader) => {
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
            Body::from_stream(CountingStream {
                inner: reader,
                sent: 0,
                expected: len,
                on_complete: on_complete.map(|hook| Box::new(hook) as Box<dyn FnOnce(u64) + Send>),
            })
        }
    };
    Ok(with_headers(status, headers, body))
}

/// The strong ETag of a blob: its hash, quoted.
fn etag(hash: &str) -> String {
    let mut tag = String::with_capacity(hash.len() + 2);
    tag.push('"');
    tag.push_str(hash);
    tag.push('"');
    tag
}

/// A header value that takes the string's buffer instead of copying it.
fn owned_value(value: String) -> ApiResult<HeaderValue> {
    HeaderValue::from_maybe_shared(Bytes::from(value)).map_err(internal)
}

fn with_headers(status: StatusCode, headers: HeaderMap, body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

fn unreadable(content: &Content<'_>, e: std::io::Error) -> ApiError {
    if crate::store::is_unavailable(&e) {
        ApiError::Io(e)
    } else {
        ApiError::Internal(format!("blob {} unreadable: {e}", content.hash))
    }
}

/// The bytes to send: whole, from memory, or streamed from the store.
enum Read {
    Whole(Bytes),
    Stream(crate::store::BlobStream),
}

/// `len` bytes of the content from `start`: small blobs whole from memory
/// (read once, then kept), others streamed from the store.
async fn read(content: &Content<'_>, start: u64, len: u64) -> std::io::Result<Read> {
    use futures_util::TryStreamExt;
    if content.size > crate::store::small::MAX_BLOB_BYTES {
        return Ok(Read::Stream(content.store.read_range(content.hash, start, len).await?));
    }
    let whole = match content.small_blobs.get(content.hash) {
        Some(whole) => whole,
        None => {
            let chunks: Vec<Bytes> =
                content.store.read_range(content.hash, 0, content.size).await?.try_collect().await?;
            let whole = Bytes::from(chunks.concat());
            if whole.len() as u64 != content.size {
                return Err(std::io::Error::other(format!(
                    "blob is {} bytes, not {}",
                    whole.len(),
                    content.size
                )));
            }
            content.small_blobs.insert(content.hash, whole.clone());
            whole
        }
    };
    Ok(Read::Whole(whole.slice(start as usize..(start + len) as usize)))
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(e.to_string())
}

/// A body already in memory, sent as one frame, that calls a hook when
/// hyper takes it. Its exact size lets hyper write `Content-Length` and
/// the bytes with the head in one write.
struct Whole<F> {
    bytes: Option<Bytes>,
    on_complete: Option<F>,
}

// Nothing in it is pinned: the hook is only ever moved out and called.
impl<F> Unpin for Whole<F> {}

impl<F: FnOnce(u64)> http_body::Body for Whole<F> {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let Some(bytes) = self.bytes.take() else { return Poll::Ready(None) };
        if let Some(hook) = self.on_complete.take() {
            hook(bytes.len() as u64);
        }
        Poll::Ready(Some(Ok(http_body::Frame::data(bytes))))
    }

    fn is_end_stream(&self) -> bool {
        self.bytes.is_none()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.bytes.as_ref().map_or(0, |b| b.len() as u64))
    }
}

/// A byte stream that calls a hook once every expected byte was yielded.
struct CountingStream<S> {
    inner: S,
    sent: u64,
    expected: u64,
    on_complete: Option<Box<dyn FnOnce(u64) + Send>>,
}

impl<S> Stream for CountingStream<S>
where
    S: Stream<Item = std::io::Result<Bytes>> + Unpin,
{
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let item = Pin::new(&mut this.inner).poll_next(cx);
        if let Poll::Ready(Some(Ok(chunk))) = &item {
            this.sent += chunk.len() as u64;
            // hyper stops polling once Content-Length bytes are out, so the
            // last byte, not the end of the stream, marks completion.
            if this.sent == this.expected {
                if let Some(hook) = this.on_complete.take() {
                    hook(this.sent);
                }
            }
        }
        item
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range(None, 10).unwrap(), ByteRange::Full);
        assert_eq!(parse_range(Some("bytes=0-4"), 10).unwrap(), ByteRange::Partial(0, 4));
        assert_eq!(parse_range(Some("bytes=5-"), 10).unwrap(), ByteRange::Partial(5, 9));
        assert_eq!(parse_range(Some("bytes=-3"), 10).unwrap(), ByteRange::Partial(7, 9));
        assert_eq!(parse_range(Some("bytes=4-100"), 10).unwrap(), ByteRange::Partial(4, 9));
        assert_eq!(parse_range(Some("bytes=0-9"), 10).unwrap(), ByteRange::Full);
        assert_eq!(parse_range(Some("bytes=0-1,3-4"), 10).unwrap(), ByteRange::Full);
        assert_eq!(parse_range(Some("items=0-1"), 10).unwrap(), ByteRange::Full);
        assert_eq!(parse_range(Some("bytes=x-y"), 10).unwrap(), ByteRange::Full);
        assert!(parse_range(Some("bytes=10-"), 10).is_err());
        assert!(parse_range(Some("bytes=-0"), 10).is_err());
        assert!(parse_range(Some("bytes=0-"), 0).is_err());
    }
}
