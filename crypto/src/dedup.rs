//! Keyed content identifiers: BLAKE3 keyed with a key derived from the
//! account key, over the plaintext. Equal content in one account gives equal
//! ids; nobody without the account key can compute one, so an id confirms no
//! guess about the content and says nothing across accounts.

use crate::keys::{b64_encode, hkdf32, INFO_DEDUP};
use crate::AccountKey;

/// A keyed hash of an item's plaintext: use it to recognise content this
/// account already has (a clip that came back through sync, a file already
/// uploaded), and with [`crate::Encryptor::convergent`] to make equal content
/// encrypt to equal bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContentId([u8; 32]);

impl ContentId {
    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Base64url text (43 characters).
    pub fn to_base64url(&self) -> String {
        b64_encode(&self.0)
    }
}

impl std::fmt::Debug for ContentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ContentId({})", self.to_base64url())
    }
}

/// Computes a [`ContentId`] incrementally.
#[derive(Clone)]
pub struct ContentHasher(blake3::Hasher);

impl ContentHasher {
    /// A hasher for this account's content ids.
    pub fn new(account: &AccountKey) -> Self {
        Self(blake3::Hasher::new_keyed(&hkdf32(account.as_bytes(), &[], INFO_DEDUP)))
    }

    /// Feeds plaintext.
    pub fn update(&mut self, plaintext: &[u8]) -> &mut Self {
        self.0.update(plaintext);
        self
    }

    /// The id of everything fed so far.
    pub fn finalize(&self) -> ContentId {
        ContentId(*self.0.finalize().as_bytes())
    }
}

impl std::fmt::Debug for ContentHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ContentHasher")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_per_account_and_match_plain_keyed_blake3_nowhere() {
        let a = AccountKey::from_bytes([1; 32]);
        let b = AccountKey::from_bytes([2; 32]);
        let id = |k| ContentHasher::new(k).update(b"hello").finalize();
        assert_eq!(id(&a), ContentHasher::new(&a).update(b"hel").update(b"lo").finalize());
        assert_ne!(id(&a), id(&b));
        assert_ne!(id(&a).as_bytes(), blake3::hash(b"hello").as_bytes());
    }
}
