//! The crate's one error type.

/// Everything that can go wrong when wrapping keys, encrypting or decrypting.
///
/// Decryption errors never come with plaintext: whatever a [`crate::Decryptor`]
/// produced before an error was authenticated, and nothing after it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The passphrase does not open the wrapped account key (or the wrapped key
    /// was modified: the two cannot be told apart, by design).
    #[error("wrong passphrase (or the wrapped key was modified)")]
    WrongPassphrase,
    /// The data does not start with the Cloud Buffer encryption magic.
    #[error("not Cloud Buffer encrypted data")]
    NotEncrypted,
    /// A format version this build does not know.
    #[error("unsupported encryption format version {0}")]
    UnsupportedVersion(u32),
    /// A record did not authenticate: the key is wrong, or the record, the header
    /// or the order of records was changed, or the stream was cut inside a record.
    #[error("record {record} failed authentication: wrong key, or the data was modified or cut")]
    Authentication {
        /// Index of the first record that failed (0 is the first).
        record: u64,
    },
    /// The stream ended cleanly on a record boundary but without its final
    /// record: someone cut it short.
    #[error("the encrypted data ends without its final record: it was truncated")]
    Truncated,
    /// Bytes follow the final record.
    #[error("data follows the final record")]
    TrailingData,
    /// An encrypted field (name, content type, preview) did not authenticate.
    #[error("encrypted field failed authentication: wrong key, or it was modified")]
    FieldAuthentication,
    /// Input that cannot be parsed at all (bad base64, wrong length...).
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// The wrapped key names a key derivation function this build does not know.
    #[error("unsupported key derivation function {0:?}")]
    UnsupportedKdf(String),
    /// Argon2 parameters outside what a client accepts to run.
    #[error("key derivation parameters out of range: {0}")]
    KdfParams(String),
    /// More than 2^32 records (256 TiB): the nonce counter would wrap.
    #[error("item too large to encrypt: more than 2^32 records")]
    TooLarge,
    /// The API was used out of order (e.g. a short record that is not the last).
    #[error("encryptor misuse: {0}")]
    Misuse(&'static str),
    /// The operating system's random number generator failed.
    #[error("random number generator failed: {0}")]
    Random(getrandom::Error),
}

/// This crate's `Result`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
