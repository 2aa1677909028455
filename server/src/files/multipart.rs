//! Multipart uploads with every part of the stream bounded: part headers
//! (64 KiB), fields other than `file` (64 KiB each), the whole stream
//! (`max_file_bytes` plus 64 KiB) and the time between two bytes.
//!
//! multer looks for the blank line ending a part's headers in a buffer
//! that grows until it finds one, so a body that never sends it would be
//! held whole. [`Metered`] counts what is pulled from the body while a
//! part's headers are being read and fails the stream beyond the bound.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use multer::{Constraints, SizeLimit};

use crate::db::FileRow;
use crate::encrypted::{EncryptedUpload, Naming};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Bytes a part's boundary line and headers may take.
pub const MAX_PART_HEADERS: usize = 64 * 1024;
/// Bytes a field other than `file` may hold (it is read and dropped).
pub const MAX_OTHER_FIELD: u64 = 64 * 1024;
/// What a multipart stream may carry beyond the file itself.
pub const STREAM_OVERHEAD: u64 = 64 * 1024;

/// Streams the `file` part of a `multipart/form-data` body into the store;
/// `encrypted`: what the request's headers say of an encrypted upload (its
/// part's filename is then the name field).
pub async fn upload<S, E>(
    state: &AppState,
    user_id: &str,
    content_type: &str,
    encrypted: Option<&EncryptedUpload>,
    body: S,
) -> ApiResult<FileRow>
where
    S: Stream<Item = Result<Bytes, E>> + Send + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
{
    let boundary = multer::parse_boundary(content_type).map_err(|_| {
        ApiError::bad_request("malformed_multipart", "the Content-Type has no multipart boundary")
    })?;
    let max_file = state.config.max_file_bytes;
    let limits = SizeLimit::new()
        .whole_stream(max_file.saturating_add(STREAM_OVERHEAD))
        .per_field(MAX_OTHER_FIELD)
        // The store bounds the file itself, with its clearer file_too_large.
        .for_field("file", u64::MAX);
    let meter = Arc::new(Meter::default());
    let metered = Metered { inner: Box::pin(body), meter: meter.clone() };
    let mut multipart =
        multer::Multipart::with_constraints(metered, boundary, Constraints::new().size_limit(limits));
    let idle = Duration::from_secs(state.config.idle_timeout_seconds);
    loop {
        meter.arm();
        let field = tokio::time::timeout(idle, multipart.next_field()).await;
        meter.disarm();
        let field =
            field.map_err(|_| ApiError::RequestTimeout(idle.as_secs()))?.map_err(|e| error(&meter, e))?;
        let Some(mut field) = field else {
            return Err(ApiError::bad_request("missing_file_field", "the form has no part named `file`"));
        };
        if field.name() == Some("file") {
            let naming = Naming::new(field.file_name(), encrypted)?;
            return super::upload_file(state, user_id, &naming, None, field).await;
        }
        loop {
            let chunk = tokio::time::timeout(idle, field.chunk()).await;
            let chunk =
                chunk.map_err(|_| ApiError::RequestTimeout(idle.as_secs()))?.map_err(|e| error(&meter, e))?;
            if chunk.is_none() {
                break;
            }
        }
    }
}

/// The API error for a multer error (with the meter's verdict first).
fn error(meter: &Meter, error: multer::Error) -> ApiError {
    if meter.tripped.load(Ordering::Relaxed) {
        return ApiError::bad_request(
            "multipart_headers_too_large",
            format!("a part's headers exceed {} KiB", MAX_PART_HEADERS / 1024),
        );
    }
    match error {
        multer::Error::StreamSizeExceeded { limit } | multer::Error::FieldSizeExceeded { limit, .. } => {
            ApiError::TooLarge {
                code: "payload_too_large",
                message: format!("the multipart body exceeds its {limit}-byte limit"),
            }
        }
        other => ApiError::bad_request("malformed_multipart", other.to_string()),
    }
}

/// Bytes pulled from the body while a part's headers are read.
#[derive(Debug, Default)]
struct Meter {
    armed: AtomicBool,
    pulled: AtomicUsize,
    tripped: AtomicBool,
}

impl Meter {
    fn arm(&self) {
        self.pulled.store(0, Ordering::Relaxed);
        self.armed.store(true, Ordering::Relaxed);
    }

    fn disarm(&self) {
        self.armed.store(false, Ordering::Relaxed);
    }
}

/// The request body, failing once headers take more than their bound.
struct Metered<S> {
    inner: Pin<Box<S>>,
    meter: Arc<Meter>,
}

/// The stream error [`Metered`] raises; the meter says why.
#[derive(Debug, thiserror::Error)]
#[error("multipart part headers too large")]
struct HeadersTooLarge;

impl<S, E> Stream for Metered<S>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Item = Result<Bytes, Box<dyn std::error::Error + Send + Sync>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let meter = self.meter.clone();
        let armed = meter.armed.load(Ordering::Relaxed);
        if armed && meter.pulled.load(Ordering::Relaxed) > MAX_PART_HEADERS {
            meter.tripped.store(true, Ordering::Relaxed);
            return Poll::Ready(Some(Err(Box::new(HeadersTooLarge))));
        }
        match self.inner.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                if armed {
                    meter.pulled.fetch_add(chunk.len(), Ordering::Relaxed);
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    fn body(chunks: Vec<Vec<u8>>) -> impl Stream<Item = Result<Bytes, std::io::Error>> {
        futures_util::stream::iter(chunks.into_iter().map(|c| Ok(Bytes::from(c))))
    }

    #[tokio::test]
    async fn only_bytes_pulled_while_armed_count() {
        let meter = Arc::new(Meter::default());
        let chunks = vec![vec![0; MAX_PART_HEADERS]; 4];
        let mut metered = Metered { inner: Box::pin(body(chunks)), meter: meter.clone() };
        assert!(metered.next().await.unwrap().is_ok(), "disarmed: no bound");
        assert!(metered.next().await.unwrap().is_ok());
        meter.arm();
        assert!(metered.next().await.unwrap().is_ok(), "64 KiB while armed is allowed");
        meter.pulled.fetch_add(1, Ordering::Relaxed);
        assert!(metered.next().await.unwrap().is_err(), "beyond it fails");
        assert!(meter.tripped.load(Ordering::Relaxed));
    }
}
