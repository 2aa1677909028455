//! Cloud Buffer's end-to-end encryption: the on-disk/on-wire format of
//! encrypted items, the account key and its passphrase wrapping, share keys
//! and small encrypted fields. `docs/encryption.md` is the specification;
//! `server/web/e2e.js` is the same format in WebCrypto, checked against
//! `crypto/tests/vectors.json`.
//!
//! Key hierarchy:
//!
//! ```text
//! passphrase --argon2id--> wrapping key --AES-GCM--> AccountKey (random, 256 bit)
//! AccountKey --HKDF(salt = item salt, "cloudbuffer item v1")--> ItemKey   (= the share key)
//! ItemKey    --HKDF("cloudbuffer content v1")--> content key  (records)
//! ItemKey    --HKDF("cloudbuffer field v1")-->   field key    (name, type, preview)
//! AccountKey --HKDF("cloudbuffer dedup v1")-->   content-id key (keyed BLAKE3)
//! ```
//!
//! Everything is synchronous and does no I/O, so async code calls it between
//! reads and writes: [`Encryptor::push`] / [`Decryptor::push`] take slices of
//! any size and append to a caller's buffer.

#![warn(missing_docs)]

mod aead;
mod dedup;
mod error;
mod field;
mod keys;
mod sizes;
mod stream;
mod wrap;

pub use dedup::{ContentHasher, ContentId};
pub use error::{Error, Result};
pub use field::{decrypt_field, encrypt_field, field_salt, FieldKind};
pub use keys::{AccountKey, ItemKey, ItemSalt, OpenKey};
pub use sizes::{ciphertext_len, plaintext_len};
pub use stream::{decrypt_all, Decryptor, Encryptor};
pub use wrap::{KdfParams, WrappedAccountKey};

/// Deterministic entry points for `tests/vectors.rs`, not part of the API:
/// fixed nonces are only safe for test vectors.
#[doc(hidden)]
pub mod __vectors {
    pub use crate::field::encrypt_field_with_nonce;

    /// Base64url without padding, as every text form here.
    pub fn b64(bytes: &[u8]) -> String {
        crate::keys::b64_encode(bytes)
    }
}

/// The first bytes of every encrypted item ("Cloud Buffer End-to-End Encrypted").
pub const MAGIC: [u8; 4] = *b"CBEE";
/// The format version this crate writes and reads (the fifth header byte).
pub const VERSION: u8 = 1;
/// Length of an item salt, which makes each item's key unique.
pub const SALT_LEN: usize = 16;
/// Length of the random nonce prefix; the rest of the 96-bit nonce is the
/// 32-bit record counter and the final-record flag byte.
pub const NONCE_PREFIX_LEN: usize = 7;
/// Length of the item header: magic, version, salt, nonce prefix.
pub const HEADER_LEN: usize = MAGIC.len() + 1 + SALT_LEN + NONCE_PREFIX_LEN;
/// Plaintext bytes per record (every record but the last holds exactly this).
pub const RECORD_SIZE: usize = 64 * 1024;
/// The AES-GCM authentication tag that ends every record.
pub const TAG_LEN: usize = 16;
/// Length of every symmetric key (AES-256).
pub const KEY_LEN: usize = 32;
