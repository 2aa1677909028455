//! What an upload sends when this device holds the account key: the
//! content as a CBEE item streamed through an [`Encryptor`] (never the
//! whole file in memory), and the name, content type, text and preview as
//! encrypted fields of the same item.

use bytes::Bytes;
use cloudbuffer_crypto::{encrypt_field, AccountKey, Encryptor, FieldKind, ItemKey, ItemSalt};
use futures_util::{Stream, StreamExt};

use crate::error::{ClientError, Result};

/// The longest text (in bytes) that fits the server's 1 MiB text clip once
/// encrypted: a field of n bytes is ⌈4 (45 + n) / 3⌉ characters.
pub const MAX_ENCRYPTED_TEXT: usize = 786_387;

/// Characters of a text clip kept in its (encrypted) preview, as the
/// server's own previews of plaintext clips.
pub const PREVIEW_CHARS: usize = 200;

/// The request headers of an encrypted upload.
pub(crate) const ENCRYPTED: &str = "x-encrypted";
pub(crate) const ENCRYPTED_CONTENT_TYPE: &str = "x-encrypted-content-type";
pub(crate) const ENCRYPTED_PREVIEW: &str = "x-encrypted-preview";

fn failed(error: cloudbuffer_crypto::Error) -> ClientError {
    ClientError::Invalid(format!("cannot encrypt: {error}"))
}

/// The encrypted fields of one item, under its salt.
pub(crate) struct Fields {
    key: ItemKey,
    salt: ItemSalt,
}

impl Fields {
    /// The fields of the item `encryptor` makes.
    pub fn of(encryptor: &Encryptor) -> Fields {
        Fields { key: encryptor.item_key().clone(), salt: *encryptor.salt() }
    }

    /// The fields of a new item that has no content stream (a text clip).
    pub fn new(account: &AccountKey) -> Result<Fields> {
        let salt = ItemSalt::random().map_err(failed)?;
        Ok(Fields { key: ItemKey::derive(account, &salt), salt })
    }

    /// One field.
    pub fn seal(&self, kind: FieldKind, plaintext: &str) -> Result<String> {
        encrypt_field(&self.key, &self.salt, kind, plaintext.as_bytes()).map_err(failed)
    }
}

/// A new item's encryptor.
pub(crate) fn encryptor(account: &AccountKey) -> Result<Encryptor> {
    Encryptor::new(account).map_err(failed)
}

/// An item's whole content in memory (clipboard images, small clips).
pub(crate) fn seal_all(encryptor: Encryptor, plaintext: &[u8]) -> Result<Vec<u8>> {
    encryptor.encrypt_all(plaintext).map_err(failed)
}

/// The most bytes of text whose field fits the server's 1024-byte cap on
/// `X-Encrypted-Preview` (⌈4 (45 + n) / 3⌉ ≤ 1024).
const MAX_PREVIEW_BYTES: usize = 723;

/// The first [`PREVIEW_CHARS`] characters of `text`, cut further (at a
/// character boundary) to [`MAX_PREVIEW_BYTES`]: 200 emoji are 800 bytes.
pub(crate) fn preview(text: &str) -> &str {
    let mut cut = match text.char_indices().nth(PREVIEW_CHARS) {
        Some((cut, _)) => cut,
        None => text.len(),
    };
    while cut > MAX_PREVIEW_BYTES || !text.is_char_boundary(cut) {
        cut -= 1;
    }
    &text[..cut]
}

/// Encrypts a plaintext body stream as it is read: each chunk goes through
/// the encryptor (which holds back at most one 64 KiB record) and the final
/// record is sealed when the plaintext ends. An error in the plaintext
/// stream ends the body with that error, so the server drops the upload.
pub(crate) fn encrypt_stream<S>(plain: S, encryptor: Encryptor) -> impl Stream<Item = std::io::Result<Bytes>>
where
    S: Stream<Item = std::io::Result<Bytes>> + Unpin,
{
    futures_util::stream::unfold((plain, Some(encryptor)), |(mut plain, mut encryptor)| async move {
        let sealing = encryptor.as_mut()?;
        let mut out = Vec::new();
        let result = match plain.next().await {
            Some(Ok(chunk)) => sealing.push(&chunk, &mut out).map_err(std::io::Error::other),
            Some(Err(e)) => Err(e),
            None => encryptor.take().expect("still sealing").finish(&mut out).map_err(std::io::Error::other),
        };
        match result {
            Ok(()) => Some((Ok(Bytes::from(out)), (plain, encryptor))),
            Err(e) => Some((Err(e), (plain, None))),
        }
    })
    // A chunk smaller than a record can leave nothing to send yet.
    .filter(|item| std::future::ready(!matches!(item, Ok(bytes) if bytes.is_empty())))
}

/// A content type for `name` from its extension, guessed here because the
/// server cannot sniff encrypted content. Unknown: `application/octet-stream`.
pub fn guess_content_type(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "txt" | "log" => "text/plain",
        "md" => "text/markdown",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "css" => "text/css",
        "js" | "mjs" => "text/javascript",
        "json" => "application/json",
        "xml" => "application/xml",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" | "tgz" => "application/gzip",
        "tar" => "application/x-tar",
        "7z" => "application/x-7z-compressed",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "avif" => "image/avif",
        "heic" => "image/heic",
        "bmp" => "image/bmp",
        "mp3" => "audio/mpeg",
        "ogg" | "oga" => "audio/ogg",
        "wav" => "audio/wav",
        "flac" => "audio/flac",
        "m4a" => "audio/mp4",
        "mp4" | "m4v" => "video/mp4",
        "webm" => "video/webm",
        "mov" => "video/quicktime",
        "mkv" => "video/x-matroska",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "odt" => "application/vnd.oasis.opendocument.text",
        "epub" => "application/epub+zip",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudbuffer_crypto::{ciphertext_len, decrypt_all, decrypt_field};

    #[tokio::test]
    async fn the_stream_is_the_item_whatever_the_chunking() {
        let key = AccountKey::from_bytes([3; 32]);
        for (len, chunk) in
            [(0usize, 7usize), (5, 1), (65_536, 65_536), (200_000, 1000), (300 * 1024, 256 * 1024)]
        {
            let plain: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let chunks: Vec<std::io::Result<Bytes>> =
                plain.chunks(chunk).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
            let body = encrypt_stream(futures_util::stream::iter(chunks), encryptor(&key).unwrap());
            let parts: Vec<Bytes> = body.map(|b| b.unwrap()).collect().await;
            assert!(parts.iter().all(|p| !p.is_empty()));
            let sealed: Vec<u8> = parts.concat();
            assert_eq!(sealed.len() as u64, ciphertext_len(len as u64), "{len}");
            assert_eq!(decrypt_all(&key, &sealed).unwrap(), plain);
        }
    }

    #[tokio::test]
    async fn a_failing_source_fails_the_body() {
        let key = AccountKey::from_bytes([3; 32]);
        let chunks = vec![Ok(Bytes::from_static(b"abc")), Err(std::io::Error::other("gone"))];
        let body = encrypt_stream(futures_util::stream::iter(chunks), encryptor(&key).unwrap());
        let items: Vec<_> = body.collect().await;
        assert!(items.last().unwrap().is_err());
    }

    #[test]
    fn fields_previews_and_types() {
        let key = AccountKey::from_bytes([4; 32]);
        let fields = Fields::new(&key).unwrap();
        let name = fields.seal(FieldKind::Name, "report.pdf").unwrap();
        assert_eq!(decrypt_field(&key, FieldKind::Name, &name).unwrap(), b"report.pdf");
        assert!(decrypt_field(&key, FieldKind::Preview, &name).is_err(), "labels differ");
        let long = "é".repeat(300);
        assert_eq!(preview(&long).chars().count(), PREVIEW_CHARS);
        assert_eq!(preview("short"), "short");
        let emoji = "😀".repeat(300);
        assert_eq!(preview(&emoji).len(), 720, "whole characters, within the cap");
        assert_eq!(fields.seal(FieldKind::Preview, preview(&emoji)).unwrap().len(), 1020);
        let most = "x".repeat(MAX_PREVIEW_BYTES);
        assert_eq!(fields.seal(FieldKind::Preview, &most).unwrap().len(), 1024);
        let biggest = "x".repeat(MAX_ENCRYPTED_TEXT);
        assert_eq!(fields.seal(FieldKind::Text, &biggest).unwrap().len(), 1 << 20);
        assert_eq!(guess_content_type("Photo.JPG"), "image/jpeg");
        assert_eq!(guess_content_type("archive.tar.gz"), "application/gzip");
        assert_eq!(guess_content_type("README"), "application/octet-stream");
    }
}
