//! Small encrypted fields: file names, content types, text previews. One-shot
//! AES-256-GCM under a key of their own (HKDF from the item key), written as
//! URL-safe base64 so they fit JSON and HTTP headers such as `X-Filename`.
//!
//! Each field carries the item salt, so the owner's devices open it with the
//! account key alone (a file listing needs no blob reads), and a share link's
//! item key opens it too.

use crate::aead::{Aes, NONCE_LEN};
use crate::keys::{b64_decode, b64_encode, random};
use crate::{Error, ItemKey, ItemSalt, OpenKey, Result, SALT_LEN, TAG_LEN, VERSION};

/// version ‖ salt ‖ nonce, before the ciphertext and tag.
const PREFIX_LEN: usize = 1 + SALT_LEN + NONCE_LEN;

/// What a field holds. Its label is authenticated, so the server cannot pass
/// off an item's encrypted name as its content type or another field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// A file or file clip's name.
    Name,
    /// A file's content type.
    ContentType,
    /// A text clip's preview.
    Preview,
    /// A whole text clip sent as text (the server takes only UTF-8 text clips).
    Text,
}

impl FieldKind {
    /// The label bound into the field's AAD.
    pub fn label(self) -> &'static str {
        match self {
            FieldKind::Name => "name",
            FieldKind::ContentType => "content-type",
            FieldKind::Preview => "preview",
            FieldKind::Text => "text",
        }
    }
}

/// AAD: version ‖ salt ‖ label, binding the field to its item and its kind.
fn aad(prefix: &[u8], kind: FieldKind) -> Vec<u8> {
    let mut aad = Vec::with_capacity(1 + SALT_LEN + 16);
    aad.extend_from_slice(&prefix[..1 + SALT_LEN]);
    aad.extend_from_slice(kind.label().as_bytes());
    aad
}

/// Encrypts one field of the item with this key and salt (an
/// [`crate::Encryptor`]'s `item_key()` and `salt()`): base64url of
/// version ‖ salt ‖ nonce ‖ ciphertext ‖ tag, 60 characters plus 4/3 of the
/// plaintext length.
pub fn encrypt_field(key: &ItemKey, salt: &ItemSalt, kind: FieldKind, plaintext: &[u8]) -> Result<String> {
    encrypt_field_with_nonce(key, salt, kind, plaintext, random()?)
}

/// [`encrypt_field`] with a fixed nonce, for test vectors only: a nonce must
/// never repeat under one item key.
pub fn encrypt_field_with_nonce(
    key: &ItemKey,
    salt: &ItemSalt,
    kind: FieldKind,
    plaintext: &[u8],
    nonce: [u8; NONCE_LEN],
) -> Result<String> {
    let mut bytes = Vec::with_capacity(PREFIX_LEN + plaintext.len() + TAG_LEN);
    bytes.push(VERSION);
    bytes.extend_from_slice(&salt.0);
    bytes.extend_from_slice(&nonce);
    bytes.extend_from_slice(plaintext);
    let aad = aad(&bytes, kind);
    let tag = Aes::new(&key.field_key()).seal(nonce, &aad, &mut bytes[PREFIX_LEN..]);
    bytes.extend_from_slice(&tag);
    Ok(b64_encode(&bytes))
}

/// The item salt a field was encrypted for, without decrypting it: a client
/// compares it with the content header's ([`crate::Decryptor::salt`]) so a
/// server cannot pair one item's name with another item's content.
pub fn field_salt(text: &str) -> Result<ItemSalt> {
    let bytes = b64_decode(text, "encrypted field")?;
    match bytes.get(1..1 + SALT_LEN) {
        Some(salt) if bytes.len() >= PREFIX_LEN + TAG_LEN => {
            Ok(ItemSalt(salt.try_into().expect("salt length")))
        }
        _ => Err(Error::Malformed("encrypted field")),
    }
}

/// Decrypts a field with the account key or the item's key.
pub fn decrypt_field<'a>(key: impl Into<OpenKey<'a>>, kind: FieldKind, text: &str) -> Result<Vec<u8>> {
    let bytes = b64_decode(text, "encrypted field")?;
    if bytes.is_empty() {
        return Err(Error::Malformed("encrypted field"));
    }
    if bytes[0] != VERSION {
        return Err(Error::UnsupportedVersion(bytes[0].into()));
    }
    if bytes.len() < PREFIX_LEN + TAG_LEN {
        return Err(Error::Malformed("encrypted field"));
    }
    let salt = ItemSalt(bytes[1..1 + SALT_LEN].try_into().expect("salt length"));
    let nonce: [u8; NONCE_LEN] = bytes[1 + SALT_LEN..PREFIX_LEN].try_into().expect("nonce length");
    let aad = aad(&bytes, kind);
    let (body, tag) = bytes[PREFIX_LEN..].split_at(bytes.len() - PREFIX_LEN - TAG_LEN);
    let mut plaintext = body.to_vec();
    if !Aes::new(&key.into().item_key(&salt).field_key()).open(nonce, &aad, &mut plaintext, tag) {
        return Err(Error::FieldAuthentication);
    }
    Ok(plaintext)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AccountKey;

    #[test]
    fn fields_open_with_account_or_item_key_and_only_as_their_kind() {
        let account = AccountKey::from_bytes([3; 32]);
        let salt = ItemSalt([9; 16]);
        let item = ItemKey::derive(&account, &salt);
        let name = "résumé 2024.pdf".as_bytes();
        let text = encrypt_field(&item, &salt, FieldKind::Name, name).unwrap();
        assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(text.len(), ((PREFIX_LEN + name.len() + TAG_LEN) * 4).div_ceil(3));
        assert_eq!(decrypt_field(&account, FieldKind::Name, &text).unwrap(), name);
        assert_eq!(decrypt_field(&item, FieldKind::Name, &text).unwrap(), name);
        assert_eq!(field_salt(&text).unwrap(), salt);
        assert_eq!(decrypt_field(&account, FieldKind::ContentType, &text), Err(Error::FieldAuthentication));
        let other = AccountKey::from_bytes([4; 32]);
        assert_eq!(decrypt_field(&other, FieldKind::Name, &text), Err(Error::FieldAuthentication));
        let mut raw = b64_decode(&text, "").unwrap();
        for i in 1..raw.len() {
            raw[i] ^= 1;
            assert!(decrypt_field(&account, FieldKind::Name, &b64_encode(&raw)).is_err(), "byte {i}");
            raw[i] ^= 1;
        }
        assert_eq!(decrypt_field(&account, FieldKind::Name, "AQ"), Err(Error::Malformed("encrypted field")));
        assert_eq!(decrypt_field(&account, FieldKind::Name, "Ag"), Err(Error::UnsupportedVersion(2)));
        assert!(matches!(decrypt_field(&account, FieldKind::Name, "a b"), Err(Error::Malformed(_))));
    }
}
