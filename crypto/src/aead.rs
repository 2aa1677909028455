//! The crate's one AES-256-GCM: `ring`'s (BoringSSL's assembly), for records,
//! fields and the key wrap alike. RustCrypto's `aes-gcm` 0.10 produced the
//! same bytes at a quarter of the speed here (docs/encryption.md,
//! "Performance"), too slow for E2E on a loopback link to keep up with plain
//! transfers.
//!
//! ring keeps no way to zeroize its expanded key schedule on drop (the
//! `aes-gcm` crate had one); the raw keys we derive are still `Zeroizing`.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};

use crate::{KEY_LEN, TAG_LEN};

/// Length of every AES-GCM nonce in the format.
pub(crate) const NONCE_LEN: usize = 12;

/// An AES-256-GCM key ready to seal and open. `LessSafeKey` because every
/// nonce here is constructed by the format (record counter, random field or
/// wrap nonce), which ring's nonce-sequence types cannot express.
pub(crate) struct Aes(LessSafeKey);

impl Aes {
    pub(crate) fn new(key: &[u8; KEY_LEN]) -> Self {
        Self(LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).expect("32 bytes is an AES-256 key")))
    }

    /// Encrypts `in_out` in place and returns the tag.
    pub(crate) fn seal(&self, nonce: [u8; NONCE_LEN], aad: &[u8], in_out: &mut [u8]) -> [u8; TAG_LEN] {
        let tag = self
            .0
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), in_out)
            // ring only refuses more than 2^36 bytes; records are 64 KiB.
            .expect("far below AES-GCM's message limit");
        tag.as_ref().try_into().expect("AES-GCM tags are 16 bytes")
    }

    /// Decrypts `in_out` in place when `tag` authenticates it; on failure
    /// returns false and `in_out` holds garbage the caller must discard.
    #[must_use]
    pub(crate) fn open(&self, nonce: [u8; NONCE_LEN], aad: &[u8], in_out: &mut [u8], tag: &[u8]) -> bool {
        let Ok(tag) = tag.try_into() else { return false };
        self.0
            .open_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), tag, in_out, 0..)
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// NIST's GCM test case 14 (AES-256, zero key, one zero block, zero
    /// nonce): ring behind our wrapper is plain AES-256-GCM.
    #[test]
    fn matches_the_gcm_spec() {
        let aes = Aes::new(&[0; KEY_LEN]);
        let mut block = [0u8; 16];
        let tag = aes.seal([0; NONCE_LEN], &[], &mut block);
        let hex = |b: &[u8]| b.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(hex(&block), "cea7403d4d606b6e074ec5d3baf39d18");
        assert_eq!(hex(&tag), "d0d1c8a799996bf0265b98b5d48ab919");
        assert!(aes.open([0; NONCE_LEN], &[], &mut block, &tag));
        assert_eq!(block, [0; 16]);
        assert!(!aes.open([0; NONCE_LEN], b"x", &mut block, &tag));
        assert!(!aes.open([0; NONCE_LEN], &[], &mut block, &tag[..15]));
    }
}
