//! Random identifiers and secrets.

use base64::Engine;

/// `n` random bytes as lowercase hex (2n characters).
pub fn random_hex(n: usize) -> String {
    hex::encode(random_bytes(n))
}

/// `n` random bytes, URL-safe base64 without padding.
pub fn random_token(n: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes(n))
}

/// `n` bytes from the operating system's CSPRNG.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    bytes
}

/// A new id for users, devices and files: 96 random bits, 24 hex chars.
pub fn new_id() -> String {
    random_hex(12)
}
