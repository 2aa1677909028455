//! The account key (docs/encryption.md): the wrapped key the server keeps
//! (`GET`/`PUT /api/v1/e2e`) and the unwrapped key this device keeps
//! ([`LocalKeys`]).
//!
//! The unwrapped key lives in the session's config folder, one file per
//! server and user (`e2e-key-<hash>.json`, mode 0600, written atomically).
//! It is never logged: [`LocalKey`]'s `Debug` leaves it out.

use std::path::PathBuf;

use cloudbuffer_crypto::AccountKey;
use cloudbuffer_protocol::{E2eKey, PutE2eKey};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use crate::error::{ClientError, Result};
use crate::session::{write_private, SessionStore};
use crate::Client;

/// The API path of the account's wrapped key.
const PATH: &str = "/api/v1/e2e";

impl Client {
    /// Whether the account has end-to-end encryption on, and its wrapped
    /// key and version when it does (`GET /api/v1/e2e`).
    pub async fn e2e_key(&self) -> Result<E2eKey> {
        self.get_json(PATH).await
    }

    /// Stores `wrapped_key` (a [`cloudbuffer_crypto::WrappedAccountKey`] as
    /// JSON) in place of `version`: 0 turns end-to-end encryption on, the
    /// current version replaces the key (`PUT /api/v1/e2e`). The server
    /// answers 409 `e2e_already_enabled` or `e2e_version_mismatch` (see
    /// [`ClientError::code`]) when another device got there first.
    pub async fn put_e2e_key(&self, wrapped_key: serde_json::Value, version: u64) -> Result<E2eKey> {
        let url = self.url(PATH);
        let body = PutE2eKey { wrapped_key, version };
        let response = self.send(|token| self.http.put(&url).bearer_auth(token).json(&body)).await?;
        self.parse(response).await
    }
}

/// The account key as this device keeps it.
#[derive(Clone)]
pub struct LocalKey {
    /// The unwrapped account key.
    pub key: AccountKey,
    /// The server's version of the wrapped key it was unwrapped from (or
    /// wrapped into): another version there means the key changed elsewhere.
    pub version: u64,
}

impl std::fmt::Debug for LocalKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalKey").field("key", &self.key).field("version", &self.version).finish()
    }
}

/// The file's contents.
#[derive(Serialize, Deserialize)]
struct KeyFile {
    server: String,
    username: String,
    version: u64,
    /// Base64url of the 32 key bytes ([`AccountKey::to_base64url`]).
    account_key: String,
}

impl Drop for KeyFile {
    fn drop(&mut self) {
        self.account_key.zeroize();
    }
}

/// The account keys kept on this device, beside a [`SessionStore`]'s session.
#[derive(Debug, Clone)]
pub struct LocalKeys {
    store: SessionStore,
}

impl LocalKeys {
    /// The keys kept in `store`'s folder.
    pub fn of(store: &SessionStore) -> LocalKeys {
        LocalKeys { store: store.clone() }
    }

    /// The file that holds the key of `username` at `server`.
    pub fn path(&self, server: &str, username: &str) -> PathBuf {
        let mut hasher = blake3::Hasher::new();
        hasher.update(server.as_bytes()).update(&[0]).update(username.as_bytes());
        let hash = hasher.finalize().to_hex();
        self.store.dir().join(format!("e2e-key-{}.json", &hash[..16]))
    }

    /// The key of `username` at `server`, if this device holds it.
    pub fn load(&self, server: &str, username: &str) -> Result<Option<LocalKey>> {
        let path = self.path(server, username);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => Zeroizing::new(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ClientError::io(path, e)),
        };
        let damaged = |why: &str| {
            ClientError::Invalid(format!(
                "{} is damaged ({why}): run `cloudbuffer e2e forget`, then `cloudbuffer e2e unlock`",
                path.display()
            ))
        };
        let file: KeyFile = serde_json::from_slice(&bytes).map_err(|_| damaged("not a key file"))?;
        if file.server != server || file.username != username {
            return Ok(None);
        }
        let key = AccountKey::from_base64url(&file.account_key).map_err(|_| damaged("bad key"))?;
        Ok(Some(LocalKey { key, version: file.version }))
    }

    /// Keeps `key` for `username` at `server`, replacing any: readable by
    /// the owner only, written to a temporary file first and renamed.
    pub fn save(&self, server: &str, username: &str, key: &LocalKey) -> Result<()> {
        let dir = self.store.dir();
        std::fs::create_dir_all(dir).map_err(|e| ClientError::io(dir, e))?;
        let path = self.path(server, username);
        let file = KeyFile {
            server: server.into(),
            username: username.into(),
            version: key.version,
            account_key: key.key.to_base64url(),
        };
        let json = Zeroizing::new(serde_json::to_vec_pretty(&file).expect("a key file serializes"));
        let mut temp = path.clone().into_os_string();
        temp.push(format!(".{}.tmp", std::process::id()));
        let temp = PathBuf::from(temp);
        let result = write_private(&temp, &json)
            .map_err(|e| ClientError::io(&temp, e))
            .and_then(|()| std::fs::rename(&temp, &path).map_err(|e| ClientError::io(&path, e)));
        if result.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        result
    }

    /// Deletes the key of `username` at `server` from this device; `false`
    /// when there was none.
    pub fn forget(&self, server: &str, username: &str) -> Result<bool> {
        let path = self.path(server, username);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(ClientError::io(path, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_kept_privately_per_server_and_user() {
        let dir = tempfile::tempdir().unwrap();
        let keys = LocalKeys::of(&SessionStore::at(dir.path().join("config")));
        assert!(keys.load("http://a", "alice").unwrap().is_none());
        let key = LocalKey { key: AccountKey::from_bytes([7; 32]), version: 3 };
        keys.save("http://a", "alice", &key).unwrap();
        let back = keys.load("http://a", "alice").unwrap().unwrap();
        assert_eq!(back.key.as_bytes(), &[7; 32]);
        assert_eq!(back.version, 3);
        assert!(keys.load("http://b", "alice").unwrap().is_none());
        assert!(keys.load("http://a", "bob").unwrap().is_none());
        assert_ne!(keys.path("http://a", "alice"), keys.path("http://a", "bob"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let path = keys.path("http://a", "alice");
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let files: Vec<_> = std::fs::read_dir(dir.path().join("config")).unwrap().collect();
        assert_eq!(files.len(), 1, "no temporary file left behind");
        assert!(!format!("{back:?}").contains(&key.key.to_base64url()));
        assert!(keys.forget("http://a", "alice").unwrap());
        assert!(!keys.forget("http://a", "alice").unwrap());
        assert!(keys.load("http://a", "alice").unwrap().is_none());
    }

    #[test]
    fn a_damaged_file_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let keys = LocalKeys::of(&SessionStore::at(dir.path()));
        std::fs::write(keys.path("http://a", "alice"), b"{not json").unwrap();
        let error = keys.load("http://a", "alice").unwrap_err().to_string();
        assert!(error.contains("cloudbuffer e2e forget"), "{error}");
    }
}
