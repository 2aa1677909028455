//! Setting up the account key (docs/encryption.md): turning end-to-end
//! encryption on, unlocking the key on this device, changing its
//! passphrase, forgetting it. The steps `cloudbuffer e2e` and the desktop
//! app's Settings take; each front end asks for the passphrase and words
//! the errors its own way.
//!
//! Argon2 (~150 ms and 64 MiB with [`KdfParams::DEFAULT`]) runs on tokio's
//! blocking pool: never on a runtime worker (a UI's live connection, Ctrl-C).

use cloudbuffer_crypto::{AccountKey, KdfParams, WrappedAccountKey};
use cloudbuffer_protocol::E2eKey;
use zeroize::Zeroizing;

use super::keys::{LocalKey, LocalKeys};
use crate::error::{ClientError, Result};
use crate::session::SessionStore;
use crate::Client;

/// The shortest new passphrase front ends should take, in characters: a
/// passphrase must be long enough to be worth the argon2 cost.
pub const MIN_PASSPHRASE_CHARS: usize = 8;

/// The account key as the server keeps it when encryption is on.
#[derive(Debug, Clone)]
pub struct ServerKey {
    /// The key, wrapped under the passphrase.
    pub wrapped: WrappedAccountKey,
    /// Its version: a change must name it (`PUT /api/v1/e2e`).
    pub version: u64,
}

impl ServerKey {
    /// The wrapped key in the server's `state`; `None` when the account has
    /// encryption off. [`ClientError::UnreadableAccountKey`] when it is not
    /// a wrapped key this client can read.
    pub fn of(state: &E2eKey) -> Result<Option<ServerKey>> {
        if !state.enabled {
            return Ok(None);
        }
        let value = state.wrapped_key.clone().unwrap_or_default();
        let wrapped =
            serde_json::from_value(value).map_err(|e| ClientError::UnreadableAccountKey(e.to_string()))?;
        Ok(Some(ServerKey { wrapped, version: state.version }))
    }
}

/// The signed-in account's end-to-end key: on the server (wrapped) and on
/// this device ([`LocalKeys`]). Keys are filed under the saved session's
/// server URL, whatever address the client talks to: that is the same
/// account, and the client library reads the key from there.
#[derive(Debug, Clone)]
pub struct E2eAccount {
    client: Client,
    keys: LocalKeys,
    server: String,
    username: String,
}

impl E2eAccount {
    /// The account `client` is signed in to, keeping its key in `store`'s
    /// folder. [`ClientError::NotLoggedIn`] when it is signed out.
    pub async fn of(client: Client, store: &SessionStore) -> Result<E2eAccount> {
        let session = client.session().await.ok_or(ClientError::NotLoggedIn)?;
        Ok(E2eAccount {
            client,
            keys: LocalKeys::of(store),
            server: session.server,
            username: session.username,
        })
    }

    /// The saved session's server URL.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The signed-in user.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The server's state of the account key; `None` for a server without
    /// end-to-end encryption (an older Cloud Buffer).
    pub async fn state(&self) -> Result<Option<E2eKey>> {
        match self.client.e2e_key().await {
            Ok(state) => Ok(Some(state)),
            Err(ClientError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The key this device holds, if any.
    pub fn local(&self) -> Result<Option<LocalKey>> {
        self.keys.load(&self.server, &self.username)
    }

    /// Turns end-to-end encryption on: a new account key, stored on the
    /// server wrapped under `passphrase` (as version 0) and kept on this
    /// device. Check [`E2eAccount::state`] first to not ask for a
    /// passphrase in vain; another device getting there meanwhile fails
    /// with the API code `e2e_already_enabled` ([`ClientError::code`]).
    /// Returns the server's new state.
    pub async fn enable(&self, passphrase: &str) -> Result<E2eKey> {
        let key =
            AccountKey::generate().map_err(|e| ClientError::AccountKey(format!("cannot make a key: {e}")))?;
        self.store_key(key, passphrase, 0).await
    }

    /// The account key in `server`, opened with `passphrase` (not kept):
    /// [`ClientError::WrongPassphrase`] when it does not open.
    pub async fn open(&self, server: &ServerKey, passphrase: &str) -> Result<AccountKey> {
        let wrapped = server.wrapped.clone();
        let passphrase = Zeroizing::new(passphrase.to_owned());
        argon2(move || wrapped.unwrap(passphrase.as_bytes())).await
    }

    /// Unlocks the account key on this device: opens it with `passphrase`
    /// ([`E2eAccount::open`]) and keeps it, with `server`'s version.
    pub async fn unlock(&self, server: &ServerKey, passphrase: &str) -> Result<()> {
        let key = self.open(server, passphrase).await?;
        self.keep(key, server.version)
    }

    /// Wraps `key` under `passphrase` (argon2id, [`KdfParams::DEFAULT`]),
    /// stores it on the server in place of `version` (0 turns encryption on)
    /// and keeps it on this device with the server's new version. Another
    /// device changing the key meanwhile fails with the API code
    /// `e2e_version_mismatch` (or `e2e_already_enabled` for 0), and nothing
    /// is kept. Returns the server's new state.
    pub async fn store_key(&self, key: AccountKey, passphrase: &str, version: u64) -> Result<E2eKey> {
        let wrapped = {
            let key = key.clone();
            let passphrase = Zeroizing::new(passphrase.to_owned());
            argon2(move || key.wrap(passphrase.as_bytes(), KdfParams::DEFAULT)).await?
        };
        let wrapped = serde_json::to_value(&wrapped)
            .map_err(|e| ClientError::AccountKey(format!("cannot encode the wrapped key: {e}")))?;
        let stored = self.client.put_e2e_key(wrapped, version).await?;
        self.keep(key, stored.version)?;
        Ok(stored)
    }

    /// Changes the passphrase: the account key in `server`, opened with
    /// `current`, is re-wrapped under `new` and kept on this device. The key
    /// stays the same, so nothing is re-encrypted and unlocked devices keep
    /// working. Fails as [`E2eAccount::open`] and [`E2eAccount::store_key`]
    /// do. Returns the server's new state.
    pub async fn change_passphrase(&self, server: &ServerKey, current: &str, new: &str) -> Result<E2eKey> {
        let key = self.open(server, current).await?;
        self.store_key(key, new, server.version).await
    }

    /// Deletes the account key from this device (the server and other
    /// devices keep theirs); `false` when it held none. No network.
    pub fn forget(&self) -> Result<bool> {
        self.keys.forget(&self.server, &self.username)
    }

    fn keep(&self, key: AccountKey, version: u64) -> Result<()> {
        self.keys.save(&self.server, &self.username, &LocalKey { key, version })
    }
}

/// Runs argon2 `work` on the blocking pool.
async fn argon2<T: Send + 'static>(
    work: impl FnOnce() -> cloudbuffer_crypto::Result<T> + Send + 'static,
) -> Result<T> {
    let result = tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ClientError::AccountKey(format!("the key derivation stopped: {e}")))?;
    result.map_err(|e| match e {
        // A modified wrap gives the same error: the passphrase is the likely cause.
        cloudbuffer_crypto::Error::WrongPassphrase => ClientError::WrongPassphrase,
        e => ClientError::AccountKey(format!("the account key could not be opened: {e}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wrapped(key: &AccountKey, passphrase: &str) -> WrappedAccountKey {
        key.wrap(passphrase.as_bytes(), KdfParams::INSECURE_FOR_TESTS).unwrap()
    }

    fn state(enabled: bool, wrapped_key: Option<serde_json::Value>) -> E2eKey {
        E2eKey { enabled, version: 3, wrapped_key, updated_at: None }
    }

    #[test]
    fn the_server_key_is_read_only_when_on() {
        let key = AccountKey::from_bytes([5; 32]);
        let json = serde_json::to_value(wrapped(&key, "a passphrase")).unwrap();
        assert!(ServerKey::of(&state(false, None)).unwrap().is_none());
        let server = ServerKey::of(&state(true, Some(json))).unwrap().unwrap();
        assert_eq!(server.version, 3);
        let error = ServerKey::of(&state(true, Some(serde_json::json!({"version": "x"})))).unwrap_err();
        assert!(matches!(error, ClientError::UnreadableAccountKey(_)), "{error:?}");
    }

    #[tokio::test]
    async fn argon2_runs_on_the_blocking_pool_and_names_a_wrong_passphrase() {
        let key = AccountKey::from_bytes([6; 32]);
        let wrap = wrapped(&key, "right passphrase");
        let w = wrap.clone();
        let opened = argon2(move || w.unwrap(b"right passphrase")).await.unwrap();
        assert_eq!(opened.as_bytes(), key.as_bytes());
        let error = argon2(move || wrap.unwrap(b"wrong passphrase")).await.unwrap_err();
        assert!(matches!(error, ClientError::WrongPassphrase), "{error:?}");
    }
}
