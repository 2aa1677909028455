//! Clip content in memory, for the sync engine:
//! uploading bytes held in memory as a file clip, and reading a clip's
//! content into memory with a size cap.

use cloudbuffer_protocol::Clip;
use futures_util::StreamExt;

use crate::api::{segment, Client};
use crate::error::{ClientError, Result};

impl Client {
    /// Puts `bytes` on the shared clipboard as a file clip named `name`
    /// (a clipboard image as PNG, say).
    pub async fn copy_bytes(&self, name: &str, bytes: Vec<u8>) -> Result<Clip> {
        let url = self.url("/api/v1/buffer");
        let body = bytes::Bytes::from(bytes);
        let response = self
            .send(|token| {
                self.http
                    .put(&url)
                    .bearer_auth(token)
                    .header("x-data-type", "file")
                    .header("x-filename", segment(name))
                    .body(body.clone())
            })
            .await?;
        self.parse(response).await
    }

    /// The content of a clip in memory; more than `max` bytes is an error.
    pub async fn clip_bytes(&self, id: &str, max: u64) -> Result<Vec<u8>> {
        let url = self.url(&format!("/api/v1/buffer/clips/{}/content", segment(id)));
        let response = self.send(|token| self.http.get(&url).bearer_auth(token)).await?;
        let too_large = || ClientError::Invalid(format!("clip {id} is larger than {max} bytes"));
        if response.content_length().is_some_and(|n| n > max) {
            return Err(too_large());
        }
        let mut out = Vec::new();
        let mut body = response.bytes_stream();
        while let Some(chunk) = body.next().await {
            out.extend_from_slice(&chunk.map_err(|e| self.transport_error(e))?);
            if out.len() as u64 > max {
                return Err(too_large());
            }
        }
        Ok(out)
    }
}
