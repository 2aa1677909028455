//! Opening encrypted items: a streaming [`Opening`] that yields only
//! authenticated plaintext and checks the item belongs to the fields it was
//! listed with, and a stream adaptor for download bodies.

use bytes::Bytes;
use cloudbuffer_crypto::{field_salt, Decryptor, ItemSalt, OpenKey};
use futures_util::{Stream, StreamExt};

use crate::error::{ClientError, Result};

/// A [`ClientError::Decryption`] saying what did not open and why, in words.
pub(crate) fn decryption(what: &str, error: &cloudbuffer_crypto::Error) -> ClientError {
    use cloudbuffer_crypto::Error;
    let why = match error {
        Error::Authentication { .. } | Error::FieldAuthentication => {
            "it was modified or damaged, or the key is wrong".to_string()
        }
        Error::Truncated => "it was cut short".into(),
        Error::TrailingData => "data was added after its end".into(),
        Error::NotEncrypted | Error::Malformed(_) => "it is not encrypted data this client can read".into(),
        other => other.to_string(),
    };
    ClientError::Decryption(format!("{what} could not be decrypted: {why}"))
}

/// Plaintext bytes of an encrypted field `len` characters long (unpadded
/// base64url of version ‖ salt ‖ nonce ‖ ciphertext ‖ tag): for sizes shown
/// to people, since a text clip's size is its field's.
pub fn field_plaintext_len(len: u64) -> u64 {
    (len * 3 / 4).saturating_sub(45)
}

/// True if `text` has the shape of an encrypted field (it may still not open).
pub fn is_field(text: &str) -> bool {
    field_salt(text).is_ok()
}

/// Decrypts one item pushed in pieces, checking that its header's salt is
/// `expected` (the salt of the name it was listed under: a server cannot
/// pair one item's name with another item's content).
pub struct Opening {
    decryptor: Decryptor,
    expected: Option<ItemSalt>,
    checked: bool,
    what: String,
}

impl Opening {
    /// Opens with the account key or an item key; `name_field` is the item's
    /// encrypted name, when it has one, whose salt the content must carry;
    /// `what` names the item in errors ("report.pdf").
    pub fn new<'a>(key: impl Into<OpenKey<'a>>, name_field: Option<&str>, what: &str) -> Result<Opening> {
        let expected = match name_field {
            Some(field) => {
                Some(field_salt(field).map_err(|e| decryption(&format!("the name of {what}"), &e))?)
            }
            None => None,
        };
        Ok(Opening { decryptor: Decryptor::new(key), expected, checked: false, what: what.to_string() })
    }

    /// Decrypts `input`, appending the plaintext it completes to `out`.
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<()> {
        self.decryptor.push(input, out).map_err(|e| decryption(&self.what, &e))?;
        self.check()
    }

    /// Ends the item: fails unless it was complete and authentic.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<()> {
        self.check()?;
        if !self.checked {
            return Err(decryption(&self.what, &cloudbuffer_crypto::Error::Truncated));
        }
        self.decryptor.finish(out).map_err(|e| decryption(&self.what, &e))
    }

    fn check(&mut self) -> Result<()> {
        if self.checked {
            return Ok(());
        }
        let Some(salt) = self.decryptor.salt() else { return Ok(()) };
        if self.expected.is_some_and(|expected| expected != salt) {
            return Err(ClientError::Decryption(format!(
                "{} could not be decrypted: its content belongs to another item (the server paired them wrongly)",
                self.what
            )));
        }
        self.checked = true;
        Ok(())
    }
}

/// The plaintext of an encrypted body: every item is authenticated before
/// it is yielded, and the stream ends with an error instead of its last
/// piece if the item turns out cut short or modified.
pub fn decrypting<S>(body: S, opening: Opening) -> impl Stream<Item = Result<Bytes>>
where
    S: Stream<Item = Result<Bytes>> + Unpin,
{
    futures_util::stream::unfold((body, Some(opening)), |(mut body, mut opening)| async move {
        let open = opening.as_mut()?;
        let mut out = Vec::new();
        let result = match body.next().await {
            Some(Ok(chunk)) => open.push(&chunk, &mut out),
            Some(Err(e)) => Err(e),
            None => opening.take().expect("still opening").finish(&mut out),
        };
        match result {
            Ok(()) => Some((Ok(Bytes::from(out)), (body, opening))),
            Err(e) => Some((Err(e), (body, None))),
        }
    })
    .filter(|item| std::future::ready(!matches!(item, Ok(bytes) if bytes.is_empty())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudbuffer_crypto::{encrypt_field, AccountKey, Encryptor, FieldKind};

    fn item(key: &AccountKey, plain: &[u8]) -> (Vec<u8>, String) {
        let encryptor = Encryptor::new(key).unwrap();
        let name = encrypt_field(encryptor.item_key(), encryptor.salt(), FieldKind::Name, b"n").unwrap();
        (encryptor.encrypt_all(plain).unwrap(), name)
    }

    async fn open_all(key: &AccountKey, sealed: &[u8], name: &str, chunk: usize) -> Result<Vec<u8>> {
        let chunks: Vec<Result<Bytes>> =
            sealed.chunks(chunk).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
        let opening = Opening::new(key, Some(name), "item")?;
        let mut out = Vec::new();
        let mut stream = std::pin::pin!(decrypting(futures_util::stream::iter(chunks), opening));
        while let Some(piece) = stream.next().await {
            out.extend_from_slice(&piece?);
        }
        Ok(out)
    }

    #[tokio::test]
    async fn only_whole_authentic_items_open() {
        let key = AccountKey::from_bytes([9; 32]);
        let plain: Vec<u8> = (0..150_000u32).map(|i| (i % 253) as u8).collect();
        let (sealed, name) = item(&key, &plain);
        for chunk in [1 << 20, 4096, 7] {
            assert_eq!(open_all(&key, &sealed, &name, chunk).await.unwrap(), plain);
        }
        let mut flipped = sealed.clone();
        flipped[100_000] ^= 1;
        let error = open_all(&key, &flipped, &name, 4096).await.unwrap_err().to_string();
        assert!(error.contains("modified or damaged"), "{error}");
        let cut = &sealed[..sealed.len() - 10];
        assert!(open_all(&key, cut, &name, 4096).await.is_err());
        assert!(open_all(&key, &sealed[..10], &name, 4096).await.is_err(), "a header cut short");
        assert!(open_all(&key, &[], &name, 4096).await.is_err(), "nothing at all");
        let (_, other_name) = item(&key, b"other");
        let error = open_all(&key, &sealed, &other_name, 4096).await.unwrap_err().to_string();
        assert!(error.contains("belongs to another item"), "{error}");
        let wrong = AccountKey::from_bytes([8; 32]);
        assert!(open_all(&wrong, &sealed, &name, 4096).await.is_err());
    }

    #[test]
    fn field_sizes() {
        let key = AccountKey::from_bytes([1; 32]);
        let encryptor = Encryptor::new(&key).unwrap();
        for n in [0usize, 1, 2, 3, 199, 1000] {
            let text = "a".repeat(n);
            let field =
                encrypt_field(encryptor.item_key(), encryptor.salt(), FieldKind::Text, text.as_bytes());
            let field = field.unwrap();
            assert_eq!(field_plaintext_len(field.len() as u64), n as u64);
            assert!(is_field(&field));
        }
        assert!(!is_field("clip.txt"));
    }
}
