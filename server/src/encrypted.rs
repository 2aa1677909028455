//! End-to-end encrypted items as the server sees them (issue 17,
//! docs/encryption.md). The server cannot read them, so it checks only
//! their shape — fields are bounded base64url, content starts with the
//! CBEE header — and stores them exactly as sent: no name sanitising, no
//! type sniffing, no preview. Every request header of that contract is
//! parsed here, so all upload routes agree on it; refusals are
//! [`ApiError`]s like any other.

use axum::http::{HeaderMap, HeaderValue};

use crate::error::{ApiError, ApiResult};

/// Request and response header marking an encrypted item (`1`).
pub const HEADER: &str = "x-encrypted";
/// Request (and response) header with an encrypted file's `content-type` field.
pub const CONTENT_TYPE_HEADER: &str = "x-encrypted-content-type";
/// Request header with an encrypted text clip's `preview` field.
pub const PREVIEW_HEADER: &str = "x-encrypted-preview";
/// Longest name, content-type or preview field, in bytes. A field is
/// ⌈4 (45 + n) / 3⌉ characters, so names up to ~700 bytes of plaintext fit.
pub const MAX_FIELD_BYTES: usize = 1024;
/// What every encrypted item's content starts with: magic `CBEE`, version 1.
pub const MAGIC: [u8; 5] = *b"CBEE\x01";

/// `X-Encrypted` of a request: `1`/`true` on, absent/`0`/`false` off,
/// anything else 400 `invalid_header`.
pub fn requested(headers: &HeaderMap) -> ApiResult<bool> {
    let Some(value) = headers.get(HEADER) else { return Ok(false) };
    match value.to_str().map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        Ok("1" | "true") => Ok(true),
        Ok("0" | "false") => Ok(false),
        _ => Err(ApiError::bad_request("invalid_header", "X-Encrypted must be 1, true, 0 or false")),
    }
}

/// Checks that `value` is an encrypted field: base64url characters with
/// optional `=` padding at the end, 1 to `max` bytes; else 400
/// `invalid_encrypted_field` naming `what`. Such a value is safe as-is in
/// JSON, in a header and in HTML attributes.
pub fn check_field(what: &str, value: &[u8], max: usize) -> ApiResult<()> {
    let data = value.strip_suffix(b"==").or_else(|| value.strip_suffix(b"=")).unwrap_or(value);
    let valid = (1..=max).contains(&value.len())
        && !data.is_empty()
        && data.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "invalid_encrypted_field",
            format!("the encrypted {what} must be 1 to {max} base64url characters"),
        ))
    }
}

/// An optional header holding a field (checked as by [`check_field`]).
fn field_header(headers: &HeaderMap, name: &str, what: &str) -> ApiResult<Option<String>> {
    let Some(value) = headers.get(name) else { return Ok(None) };
    check_field(what, value.as_bytes(), MAX_FIELD_BYTES)?;
    // Checked ASCII above.
    Ok(Some(String::from_utf8_lossy(value.as_bytes()).into_owned()))
}

/// An encrypted text clip's preview field from `X-Encrypted-Preview`, if sent.
pub fn preview(headers: &HeaderMap) -> ApiResult<Option<String>> {
    field_header(headers, PREVIEW_HEADER, "preview")
}

/// What an upload's request headers say: None for a plaintext upload, else
/// the encrypted content-type field (empty when not sent).
pub fn upload(headers: &HeaderMap) -> ApiResult<Option<EncryptedUpload>> {
    if !requested(headers)? {
        return Ok(None);
    }
    let content_type = field_header(headers, CONTENT_TYPE_HEADER, "content type")?.unwrap_or_default();
    Ok(Some(EncryptedUpload { content_type }))
}

/// An encrypted upload's metadata from its headers (see [`upload`]).
#[derive(Debug, Clone)]
pub struct EncryptedUpload {
    /// The `content-type` field, or "" when the client sent none.
    pub content_type: String,
}

/// How an uploaded file is named and typed.
#[derive(Debug, Clone)]
pub enum Naming {
    /// Plaintext: the client's name, sanitised on storing; the type from
    /// the name and the first bytes.
    Plain(String),
    /// End-to-end encrypted: both fields stored as sent, the content
    /// checked for [`MAGIC`].
    Encrypted {
        /// The `name` field.
        name: String,
        /// The `content-type` field, or "".
        content_type: String,
    },
}

impl Naming {
    /// The naming of an upload called `raw_name` (None: the client gave no
    /// name), checking an encrypted upload's name field. A plaintext upload
    /// without a name is called `untitled`.
    pub fn new(raw_name: Option<&str>, encrypted: Option<&EncryptedUpload>) -> ApiResult<Naming> {
        match encrypted {
            None => Ok(Naming::Plain(raw_name.unwrap_or("untitled").to_string())),
            Some(upload) => {
                let name = raw_name.unwrap_or("");
                check_field("name", name.as_bytes(), MAX_FIELD_BYTES)?;
                Ok(Naming::Encrypted { name: name.to_string(), content_type: upload.content_type.clone() })
            }
        }
    }

    /// Whether the upload is end-to-end encrypted.
    pub fn is_encrypted(&self) -> bool {
        matches!(self, Naming::Encrypted { .. })
    }
}

/// Checks that an encrypted upload starts with [`MAGIC`] as its bytes
/// arrive, so a wrong body is refused at its first chunk, before the rest
/// is stored.
#[derive(Debug, Default)]
pub struct MagicCheck {
    seen: usize,
}

impl MagicCheck {
    /// Looks at the next chunk of the body.
    pub fn feed(&mut self, chunk: &[u8]) -> ApiResult<()> {
        let take = (MAGIC.len() - self.seen).min(chunk.len());
        if chunk[..take] != MAGIC[self.seen..self.seen + take] {
            return Err(not_an_item());
        }
        self.seen += take;
        Ok(())
    }

    /// At the end of the body: a body shorter than the magic fails too.
    pub fn finish(&self) -> ApiResult<()> {
        if self.seen < MAGIC.len() {
            return Err(not_an_item());
        }
        Ok(())
    }
}

fn not_an_item() -> ApiError {
    ApiError::bad_request(
        "invalid_ciphertext",
        "an encrypted upload must be an encrypted item (starting with CBEE, version 1)",
    )
}

/// Marks a download of an encrypted item (`X-Encrypted: 1`).
pub fn mark(headers: &mut HeaderMap) {
    headers.insert(HEADER, HeaderValue::from_static("1"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_bounded_base64url() {
        for good in ["A", "abc-_09XYZ", "QUJD==", "QUI=", &"a".repeat(1024)] {
            assert!(check_field("name", good.as_bytes(), MAX_FIELD_BYTES).is_ok(), "{good}");
        }
        for bad in ["", "=", "==", "a===", "a=b", "../x", "a\0b", "a b", "a+b/c", "é", &"a".repeat(1025)] {
            assert!(check_field("name", bad.as_bytes(), MAX_FIELD_BYTES).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_header_is_on_off_or_refused() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(HEADER, HeaderValue::from_str(v).unwrap());
            requested(&h)
        };
        assert!(!requested(&HeaderMap::new()).unwrap());
        assert!(with("1").unwrap() && with("true").unwrap() && with("TRUE").unwrap());
        assert!(!with("0").unwrap() && !with("false").unwrap());
        assert!(with("yes").is_err() && with("").is_err() && with("2").is_err());
    }

    #[test]
    fn the_magic_is_checked_across_chunks() {
        let mut check = MagicCheck::default();
        for chunk in [&b"CB"[..], b"", b"E", b"E\x01rest", b"anything"] {
            check.feed(chunk).unwrap();
        }
        check.finish().unwrap();
        let mut short = MagicCheck::default();
        short.feed(b"CBEE").unwrap();
        assert!(short.finish().is_err(), "a body shorter than the magic");
        assert!(MagicCheck::default().feed(b"CBEE\x02").is_err(), "another version");
        let mut split = MagicCheck::default();
        split.feed(b"CB").unwrap();
        assert!(split.feed(b"XX").is_err());
        assert!(MagicCheck::default().finish().is_err(), "an empty body");
    }
}
