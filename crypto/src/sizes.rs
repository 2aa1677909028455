//! Exact sizes of encrypted items, for quotas and Content-Length.

use crate::{HEADER_LEN, RECORD_SIZE, TAG_LEN};

/// A full record on the wire: plaintext plus tag.
pub(crate) const FULL: usize = RECORD_SIZE + TAG_LEN;

/// The exact encrypted size of `plaintext_len` bytes: the header, the
/// plaintext, and one tag per record (an empty item still has one, empty,
/// final record). What the server's quota counts.
pub fn ciphertext_len(plaintext_len: u64) -> u64 {
    let records = plaintext_len.div_ceil(RECORD_SIZE as u64).max(1);
    HEADER_LEN as u64 + plaintext_len + records * TAG_LEN as u64
}

/// The plaintext size of an item whose ciphertext is `ciphertext_len` bytes
/// (e.g. a decrypting download's Content-Length); `None` when no plaintext
/// encrypts to that size.
pub fn plaintext_len(ciphertext_len: u64) -> Option<u64> {
    let body = ciphertext_len.checked_sub(HEADER_LEN as u64)?;
    let records = body.div_ceil(FULL as u64).max(1);
    let plain = body.checked_sub(records * TAG_LEN as u64)?;
    (self::ciphertext_len(plain) == ciphertext_len).then_some(plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_exact_and_invertible() {
        let r = RECORD_SIZE as u64;
        assert_eq!(ciphertext_len(0), 28 + 16);
        assert_eq!(ciphertext_len(1), 28 + 1 + 16);
        assert_eq!(ciphertext_len(r), 28 + r + 16);
        assert_eq!(ciphertext_len(r + 1), 28 + r + 1 + 32);
        for n in [0, 1, 2, r - 1, r, r + 1, 3 * r, 3 * r + 5, 1 << 29] {
            assert_eq!(plaintext_len(ciphertext_len(n)), Some(n), "{n}");
        }
        for bad in [0, 27, 28, 43, 28 + FULL as u64 + 1, 28 + FULL as u64 + 16] {
            assert_eq!(plaintext_len(bad), None, "{bad}");
        }
    }
}
