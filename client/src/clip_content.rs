//! Clip content in memory: text clips both ways, and file clips made from
//! bytes in memory (a clipboard image) or read into memory with a size cap.
//! Encrypted when this device holds the account key (see [`crate::e2e`]).

use cloudbuffer_crypto::{ciphertext_len, FieldKind};
use cloudbuffer_protocol::Clip;
use futures_util::StreamExt;

use crate::api::{segment, Client};
use crate::e2e::seal::{self, Fields, ENCRYPTED, ENCRYPTED_CONTENT_TYPE, ENCRYPTED_PREVIEW};
use crate::e2e::{open_text, Opening, MAX_ENCRYPTED_TEXT};
use crate::error::{ClientError, Result};
use crate::transfer::{is_encrypted, shared_name_field};

impl Client {
    /// Puts text on the shared clipboard: as an encrypted `text` field with
    /// an encrypted preview when this device holds the account key (then at
    /// most [`MAX_ENCRYPTED_TEXT`] bytes).
    pub async fn copy_text(&self, text: &str) -> Result<Clip> {
        let url = self.url("/api/v1/buffer");
        // The body, and the encrypted preview when the body is a sealed field.
        let (body, preview) = match self.sealing_key().await? {
            None => (text.to_string(), None),
            Some(key) => {
                if text.len() > MAX_ENCRYPTED_TEXT {
                    return Err(ClientError::Invalid(format!(
                        "text over {} bytes does not fit an encrypted text clip: send it as a file",
                        MAX_ENCRYPTED_TEXT
                    )));
                }
                let fields = Fields::new(&key)?;
                let preview = fields.seal(FieldKind::Preview, seal::preview(text))?;
                (fields.seal(FieldKind::Text, text)?, Some(preview))
            }
        };
        let response = self
            .send(|token| {
                let request = self.http.put(&url).bearer_auth(token).header("x-data-type", "text");
                let request = match &preview {
                    Some(preview) => {
                        request.header(ENCRYPTED, "1").header(ENCRYPTED_PREVIEW, preview.as_str())
                    }
                    None => request,
                };
                request.body(body.clone())
            })
            .await?;
        self.parse(response).await
    }

    /// The whole text of a text clip (decrypted if it is encrypted).
    pub async fn clip_text(&self, id: &str) -> Result<String> {
        let url = self.url(&format!("/api/v1/buffer/clips/{}/content", segment(id)));
        let response = self.send(|token| self.http.get(&url).bearer_auth(token)).await?;
        let encrypted = is_encrypted(&response);
        let text = response.text().await.map_err(|e| self.transport_error(e))?;
        match encrypted {
            true => open_text(&self.opening_key()?, FieldKind::Text, text.trim(), "the clip's text"),
            false => Ok(text),
        }
    }

    /// Puts `bytes` on the shared clipboard as a file clip named `name`
    /// (a clipboard image as PNG, say), encrypted when this device holds
    /// the account key.
    pub async fn copy_bytes(&self, name: &str, bytes: Vec<u8>) -> Result<Clip> {
        let url = self.url("/api/v1/buffer");
        let (body, name, sealed_type) = match self.sealing_key().await? {
            Some(key) => {
                let encryptor = seal::encryptor(&key)?;
                let fields = Fields::of(&encryptor);
                let sealed_name = fields.seal(FieldKind::Name, name)?;
                let sealed_type = fields.seal(FieldKind::ContentType, seal::guess_content_type(name))?;
                (seal::seal_all(encryptor, &bytes)?, sealed_name, Some(sealed_type))
            }
            None => (bytes, segment(name), None),
        };
        let body = bytes::Bytes::from(body);
        let response = self
            .send(|token| {
                let request = self
                    .http
                    .put(&url)
                    .bearer_auth(token)
                    .header("x-data-type", "file")
                    .header("x-filename", name.as_str())
                    .body(body.clone());
                match &sealed_type {
                    Some(content_type) => {
                        request.header(ENCRYPTED, "1").header(ENCRYPTED_CONTENT_TYPE, content_type.as_str())
                    }
                    None => request,
                }
            })
            .await?;
        self.parse(response).await
    }

    /// The content of a clip in memory (decrypted if it is encrypted); more
    /// than `max` bytes is an error.
    pub async fn clip_bytes(&self, id: &str, max: u64) -> Result<Vec<u8>> {
        let url = self.url(&format!("/api/v1/buffer/clips/{}/content", segment(id)));
        let response = self.send(|token| self.http.get(&url).bearer_auth(token)).await?;
        let too_large = || ClientError::Invalid(format!("clip {id} is larger than {max} bytes"));
        let mut opening = match is_encrypted(&response) {
            true => {
                let name = shared_name_field(&response);
                Some(Opening::new(&self.opening_key()?, name.as_deref(), &format!("clip {id}"))?)
            }
            false => None,
        };
        let wire_max = if opening.is_some() { ciphertext_len(max) } else { max };
        if response.content_length().is_some_and(|n| n > wire_max) {
            return Err(too_large());
        }
        let mut out = Vec::new();
        let mut body = response.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| self.transport_error(e))?;
            match &mut opening {
                Some(opening) => opening.push(&chunk, &mut out)?,
                None => out.extend_from_slice(&chunk),
            }
            if out.len() as u64 > max {
                return Err(too_large());
            }
        }
        if let Some(opening) = opening {
            opening.finish(&mut out)?;
        }
        Ok(out)
    }
}
