//! The client's one error type: each variant says, in words a person
//! understands, what went wrong and, where there is one, what to do.

use std::path::PathBuf;

/// Everything a client call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No connection could be made.
    #[error("cannot reach the server at {url}: {reason}")]
    Unreachable {
        /// The server URL.
        url: String,
        /// Why, e.g. "connection refused".
        reason: String,
    },
    /// Not signed in on this machine.
    #[error("not signed in: run `cloudbuffer login --server URL --username NAME`")]
    NotLoggedIn,
    /// The refresh token no longer works.
    #[error("your session has expired or was signed out: run `cloudbuffer login` again")]
    SessionExpired,
    /// Wrong user name or password.
    #[error("wrong user name or password")]
    InvalidCredentials,
    /// The file is over the server's upload limit.
    #[error("file too large for this server's {limit} limit")]
    TooLarge {
        /// The limit, for people ("512 MiB").
        limit: String,
    },
    /// The user's quota or the server's disk is full.
    #[error("{0}")]
    Storage(String),
    /// Unknown, or not this user's.
    #[error("not found: {0}")]
    NotFound(String),
    /// Expired, revoked or used up.
    #[error("{0}")]
    Gone(String),
    /// Too many attempts.
    #[error("too many attempts; try again in {retry_after} s")]
    RateLimited {
        /// Seconds to wait.
        retry_after: u64,
    },
    /// Any other error the server reported.
    #[error("the server refused: {message} ({code}, HTTP {status})")]
    Api {
        /// HTTP status.
        status: u16,
        /// The API's error code.
        code: String,
        /// The API's message.
        message: String,
    },
    /// The server answered something that is not the API.
    #[error("the server at {url} answered something unexpected: {detail}")]
    BadResponse {
        /// The server URL.
        url: String,
        /// What was wrong.
        detail: String,
    },
    /// A local file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The connection broke during a transfer.
    #[error("the transfer was interrupted: {0}")]
    Interrupted(String),
    /// The server refused another live connection (WebSocket close 4029):
    /// the account has too many devices connected live.
    #[error("too many devices connected live for this account; retrying in a while")]
    TooManyLive,
    /// The server closed the live connection on an in-band re-authentication
    /// (an older server, which needs none): reconnected without it.
    #[error("the server does not take live re-authentication; reconnecting without it")]
    LiveAuthUnsupported,
    /// A setting or argument is unusable.
    #[error("{0}")]
    Invalid(String),
    /// The account has end-to-end encryption on, but this device does not
    /// hold its key: nothing is sent, since it would go unencrypted.
    #[error("end-to-end encryption is on for this account: run `cloudbuffer e2e unlock`")]
    E2eLocked,
    /// An encrypted item, and this device does not hold the account key.
    #[error("encrypted (locked): run `cloudbuffer e2e unlock` to open it on this device")]
    Encrypted,
    /// An encrypted item did not decrypt (modified, cut short, wrong key):
    /// nothing of it was kept.
    #[error("{0}")]
    Decryption(String),
    /// A share link of an encrypted item without (a whole) `#k=` key.
    #[error(
        "this link is incomplete: the item is end-to-end encrypted and its key (the part after `#k=`) is missing or cut; copy the whole link"
    )]
    IncompleteLink,
    /// The encryption passphrase did not open the account key (or the
    /// server's wrapped key was modified: the two cannot be told apart).
    #[error(
        "wrong encryption passphrase (or the server's wrapped key was modified): the account key did not unlock"
    )]
    WrongPassphrase,
    /// The server's wrapped account key is not one this client can read
    /// (a newer format?): why.
    #[error("the server's wrapped account key is not one this client can read ({0})")]
    UnreadableAccountKey(String),
    /// The account key could not be made, wrapped or opened, other than
    /// by a wrong passphrase.
    #[error("{0}")]
    AccountKey(String),
}

impl ClientError {
    /// The API error code, when the server sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> ClientError {
        ClientError::Io { path: path.into(), source }
    }
}

/// Shorthand for client results.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;

/// A short reason for a reqwest failure ("connection refused", "timed out").
pub(crate) fn transport_reason(error: &reqwest::Error) -> String {
    use std::error::Error;
    let mut source: Option<&dyn Error> = Some(error);
    let mut deepest = error.to_string();
    while let Some(e) = source {
        deepest = e.to_string();
        source = e.source();
    }
    if error.is_timeout() {
        "timed out".into()
    } else if deepest.to_ascii_lowercase().contains("connection refused") {
        "connection refused".into()
    } else {
        deepest
    }
}
