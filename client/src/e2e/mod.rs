//! End-to-end encryption (docs/encryption.md, issue 17).
//!
//! - [`keys`]: the account key, wrapped on the server and unwrapped on this
//!   device ([`LocalKeys`]);
//! - [`setup`]: turning encryption on, unlocking the key on this device,
//!   changing its passphrase ([`E2eAccount`]);
//! - `seal`: what uploads send when this device holds the key (a streaming
//!   encrypted body, encrypted name, content type, text and preview);
//! - `open`: decrypting downloads and fields, checking that an item's
//!   fields belong to its content;
//! - `link`: share links of encrypted items (`url#k=<item key>`).
//!
//! A client encrypts exactly when it holds the account key
//! ([`Client::account_key`]); without it, it refuses to send plaintext to
//! an account that has encryption on, and reports encrypted items it
//! receives as [`ClientError::Encrypted`] instead of writing ciphertext.

pub mod keys;
mod link;
pub(crate) mod open;
pub(crate) mod seal;
pub mod setup;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use cloudbuffer_crypto::{decrypt_field, plaintext_len, AccountKey, FieldKind};
use cloudbuffer_protocol::{Clip, FileInfo};

pub use keys::{LocalKey, LocalKeys};
pub use link::split_share_fragment;
pub use open::{decrypting, field_plaintext_len, is_field, Opening};
pub use seal::{guess_content_type, MAX_ENCRYPTED_TEXT, PREVIEW_CHARS};
pub use setup::{E2eAccount, ServerKey, MIN_PASSPHRASE_CHARS};

use crate::error::{ClientError, Result};
use crate::Client;

/// Where a client finds the account key.
#[derive(Clone, Debug, Default)]
pub(crate) enum KeySource {
    /// Nowhere: this client never encrypts.
    #[default]
    None,
    /// Given by the caller ([`Client::with_account_key`]).
    Fixed(AccountKey),
    /// This device's key file, read on each use, so a key unlocked (or
    /// forgotten) while a long-running client works takes effect at once.
    Store { keys: LocalKeys, server: String, username: String },
}

/// A client's encryption state: its key source and what the server said.
/// Shared by the client's clones, so a sign-in sets it for all of them.
#[derive(Clone, Debug, Default)]
pub(crate) struct E2eState {
    source: Arc<Mutex<KeySource>>,
    /// Set once the server said the account has encryption on. Only "on"
    /// is remembered (it cannot be turned off): an "off" answer is asked
    /// again before every upload, since another device may turn it on at
    /// any moment and a keyless device must then stop sending plaintext at
    /// once, not after a cache expires. That costs a keyless account one
    /// small GET per upload.
    server_on: Arc<AtomicBool>,
}

impl E2eState {
    /// Takes the key from `keys`, for `username` at `server` (after a
    /// sign-in or when opening a saved session), unless one was given.
    pub fn use_store(&self, keys: LocalKeys, server: String, username: String) {
        let mut source = self.source.lock().unwrap_or_else(|e| e.into_inner());
        if !matches!(*source, KeySource::Fixed(_)) {
            *source = KeySource::Store { keys, server, username };
        }
        self.server_on.store(false, Ordering::Relaxed);
    }
}

impl Client {
    /// This client with a fixed account key (instead of this device's key
    /// file): it encrypts what it sends and opens encrypted items.
    pub fn with_account_key(mut self, key: AccountKey) -> Client {
        self.e2e = E2eState { source: Arc::new(Mutex::new(KeySource::Fixed(key))), ..E2eState::default() };
        self
    }

    /// The account key this client holds, if any: uploads are encrypted
    /// exactly when this is `Some`.
    pub fn account_key(&self) -> Result<Option<AccountKey>> {
        let source = self.e2e.source.lock().unwrap_or_else(|e| e.into_inner()).clone();
        match &source {
            KeySource::None => Ok(None),
            KeySource::Fixed(key) => Ok(Some(key.clone())),
            KeySource::Store { keys, server, username } => {
                Ok(keys.load(server, username)?.map(|local| local.key))
            }
        }
    }

    /// The key to encrypt an upload with; `None` to send it as it is. Fails
    /// with [`ClientError::E2eLocked`] when the account has encryption on
    /// but this client holds no key: plaintext is never sent to it.
    pub(crate) async fn sealing_key(&self) -> Result<Option<AccountKey>> {
        if let Some(key) = self.account_key()? {
            return Ok(Some(key));
        }
        if self.e2e_on().await? {
            return Err(ClientError::E2eLocked);
        }
        Ok(None)
    }

    /// Whether the account has end-to-end encryption on ("on" is cached).
    async fn e2e_on(&self) -> Result<bool> {
        if self.e2e.server_on.load(Ordering::Relaxed) {
            return Ok(true);
        }
        let on = match self.e2e_key().await {
            Ok(state) => state.enabled,
            // A server without end-to-end encryption: nothing to protect.
            Err(ClientError::NotFound(_)) => false,
            Err(e) => return Err(e),
        };
        if on {
            self.e2e.server_on.store(true, Ordering::Relaxed);
        }
        Ok(on)
    }

    /// The key that opens encrypted items, or [`ClientError::Encrypted`].
    pub(crate) fn opening_key(&self) -> Result<AccountKey> {
        self.account_key()?.ok_or(ClientError::Encrypted)
    }

    /// `info` as people see it: for an encrypted file, its name and content
    /// type decrypted and its size the plaintext's (its `hash` stays the
    /// ciphertext's). [`ClientError::Encrypted`] without the key;
    /// [`ClientError::Decryption`] when a field does not open.
    pub fn reveal_file(&self, info: &FileInfo) -> Result<FileInfo> {
        if !info.encrypted {
            return Ok(info.clone());
        }
        reveal_file_with(&self.opening_key()?, info)
    }

    /// `clip` as people see it: a file clip's file revealed
    /// ([`Client::reveal_file`]), an encrypted text clip's preview decrypted
    /// and its size the text's.
    pub fn reveal_clip(&self, clip: &Clip) -> Result<Clip> {
        if !clip.encrypted && !clip.file.as_ref().is_some_and(|f| f.encrypted) {
            return Ok(clip.clone());
        }
        let key = self.opening_key()?;
        let mut out = clip.clone();
        if let Some(file) = &clip.file {
            let file = reveal_file_with(&key, file)?;
            out.size = file.size;
            out.file = Some(file);
        } else {
            out.size = field_plaintext_len(clip.size);
            out.preview = match &clip.preview {
                Some(field) => Some(open_text(&key, FieldKind::Preview, field, "the clip's preview")?),
                None => None,
            };
        }
        Ok(out)
    }
}

fn reveal_file_with(key: &AccountKey, info: &FileInfo) -> Result<FileInfo> {
    let mut out = info.clone();
    out.name = open_text(key, FieldKind::Name, &info.name, "the file's name")?;
    if !info.content_type.is_empty() {
        out.content_type = open_text(key, FieldKind::ContentType, &info.content_type, "the content type")?;
    }
    out.size = plaintext_len(info.size).unwrap_or(info.size);
    Ok(out)
}

/// A field's text; `what` names it in the error.
pub fn open_text<'a>(
    key: impl Into<cloudbuffer_crypto::OpenKey<'a>>,
    kind: FieldKind,
    field: &str,
    what: &str,
) -> Result<String> {
    let bytes = decrypt_field(key, kind, field).map_err(|e| open::decryption(what, &e))?;
    String::from_utf8(bytes).map_err(|_| ClientError::Decryption(format!("{what} is not UTF-8 text")))
}
