//! Settings → End-to-end encryption: turning it on for the account,
//! unlocking the account key on this computer, locking it again, changing
//! the passphrase.
//!
//! The same server API (`GET`/`PUT /api/v1/e2e`) and the same local key file
//! ([`LocalKeys`], beside the saved session) as `cloudbuffer e2e`, so a key
//! unlocked by the CLI is unlocked here and the reverse. The client library
//! reads that file on every use: once it holds the key, this computer's
//! sync and uploads encrypt, and its lists decrypt.
//!
//! The CLI's enable/unlock/passwd logic lives in its binary, not in the
//! library, so the few steps it takes are redone here over the library's
//! public API (`e2e_key`, `put_e2e_key`, [`LocalKeys`]) and the crypto crate.

use cloudbuffer_client::crypto::{AccountKey, Error as CryptoError, KdfParams, WrappedAccountKey};
use cloudbuffer_client::{Client, ClientError, LocalKey, LocalKeys};
use cloudbuffer_protocol::E2eKey;
use serde::Serialize;
use tauri::{AppHandle, Manager, State};

use crate::error::{UiError, UiResult};
use crate::state::AppState;

/// The shortest new passphrase taken, in characters (as the CLI).
const MIN_CHARS: usize = 8;

const ALREADY_ON: &str = "End-to-end encryption is already on for this account (turned on from another \
                          device meanwhile?): unlock it with its passphrase instead.";
const NOT_ON: &str = "End-to-end encryption is not on for this account.";
const WRONG: &str = "Wrong passphrase: the account key did not unlock. (The encryption passphrase, not \
                     your login password.)";
const CHANGED: &str = "The passphrase was changed on another device meanwhile: unlock with the new one, \
                       then try again.";
const UNSUPPORTED: &str = "This server has no end-to-end encryption: it needs a newer Cloud Buffer.";

/// What Settings shows.
#[derive(Debug, Clone, Serialize)]
pub struct E2eView {
    /// `off` (for the account), `locked` (on, but this computer does not
    /// hold the key), `unlocked`, or `unsupported` (an older server).
    pub state: &'static str,
    /// The server's key version (0 when off).
    pub version: u64,
    /// When the wrapped key was last written (RFC 3339).
    #[serde(with = "time::serde::rfc3339::option")]
    pub updated_at: Option<time::OffsetDateTime>,
}

/// The signed-in account and where its key is kept on this computer.
struct Account {
    client: Client,
    keys: LocalKeys,
    server: String,
    username: String,
}

impl Account {
    async fn of(state: &AppState) -> UiResult<Account> {
        let client = state.client().await?;
        let session = client.session().await.ok_or_else(UiError::signed_out)?;
        // Filed under the session's server URL, as the client library and the CLI do.
        Ok(Account {
            client,
            keys: LocalKeys::of(&state.store),
            server: session.server,
            username: session.username,
        })
    }

    /// The server's state; `None` for a server without the API.
    async fn server_state(&self) -> UiResult<Option<E2eKey>> {
        match self.client.e2e_key().await {
            Ok(state) => Ok(Some(state)),
            Err(ClientError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn local(&self) -> UiResult<Option<LocalKey>> {
        Ok(self.keys.load(&self.server, &self.username)?)
    }

    fn keep(&self, key: AccountKey, version: u64) -> UiResult<()> {
        Ok(self.keys.save(&self.server, &self.username, &LocalKey { key, version })?)
    }

    async fn view(&self) -> UiResult<E2eView> {
        let Some(server) = self.server_state().await? else {
            return Ok(E2eView { state: "unsupported", version: 0, updated_at: None });
        };
        let state = match (server.enabled, self.local()?.is_some()) {
            (false, _) => "off",
            (true, false) => "locked",
            // A key of an older version is still the account key: a
            // passphrase change re-wraps the same key.
            (true, true) => "unlocked",
        };
        Ok(E2eView { state, version: server.version, updated_at: server.updated_at })
    }
}

/// The state of end-to-end encryption for the account and this computer.
#[tauri::command]
pub async fn e2e_status(state: State<'_, AppState>) -> UiResult<E2eView> {
    Account::of(&state).await?.view().await
}

/// Turns end-to-end encryption on for the account: a new account key, kept
/// on this computer and stored on the server wrapped under `passphrase`.
#[tauri::command]
pub async fn e2e_enable(state: State<'_, AppState>, passphrase: String) -> UiResult<E2eView> {
    check_new(&passphrase)?;
    let account = Account::of(&state).await?;
    match account.server_state().await? {
        None => return Err(UiError::new(UNSUPPORTED)),
        Some(server) if server.enabled => return Err(UiError::new(ALREADY_ON)),
        Some(_) => {}
    }
    let key = AccountKey::generate().map_err(|e| UiError::new(format!("Cannot make a key: {e}.")))?;
    let wrapped = wrap(&key, passphrase).await?;
    let stored = account.client.put_e2e_key(wrapped, 0).await.map_err(|e| match e.code() {
        Some("e2e_already_enabled") => UiError::new(ALREADY_ON),
        _ => e.into(),
    })?;
    account.keep(key, stored.version)?;
    account.view().await
}

/// Unlocks the account key on this computer with `passphrase`.
#[tauri::command]
pub async fn e2e_unlock(state: State<'_, AppState>, passphrase: String) -> UiResult<E2eView> {
    if passphrase.is_empty() {
        return Err(UiError::new("Type the encryption passphrase."));
    }
    let account = Account::of(&state).await?;
    let server = account.server_state().await?.ok_or_else(|| UiError::new(UNSUPPORTED))?;
    let key = unwrap(wrapped_of(&server)?, passphrase).await?;
    account.keep(key, server.version)?;
    account.view().await
}

/// Forgets the account key on this computer (the server and other devices
/// keep theirs). The client is opened afresh, so that nothing it learnt
/// while it held the key (such as "encryption is off", cached for a while
/// before it was turned on) lets it send in the clear now.
#[tauri::command]
pub async fn e2e_lock(app: AppHandle, state: State<'_, AppState>) -> UiResult<E2eView> {
    let account = Account::of(&state).await?;
    account.keys.forget(&account.server, &account.username)?;
    let fresh = Client::from_store(app.state::<AppState>().store.clone(), None)?;
    crate::account::activate(&app, fresh).await?;
    account.view().await
}

/// Re-wraps the account key under `new` (the key stays: nothing is
/// re-encrypted and unlocked devices keep working).
#[tauri::command]
pub async fn e2e_change_passphrase(
    state: State<'_, AppState>,
    current: String,
    new: String,
) -> UiResult<E2eView> {
    check_new(&new)?;
    if current == new {
        return Err(UiError::new("The new passphrase is the same as the current one."));
    }
    let account = Account::of(&state).await?;
    let server = account.server_state().await?.ok_or_else(|| UiError::new(UNSUPPORTED))?;
    // The server's key, opened with the current passphrase, is the one to re-wrap.
    let key = unwrap(wrapped_of(&server)?, current).await?;
    let rewrapped = wrap(&key, new).await?;
    let stored = account.client.put_e2e_key(rewrapped, server.version).await.map_err(|e| match e.code() {
        Some("e2e_version_mismatch") => UiError::new(CHANGED),
        _ => e.into(),
    })?;
    account.keep(key, stored.version)?;
    account.view().await
}

/// A new passphrase must be long enough to be worth the argon2 cost.
fn check_new(passphrase: &str) -> UiResult<()> {
    if passphrase.chars().count() < MIN_CHARS {
        return Err(UiError::new(format!(
            "The passphrase is too short: use at least {MIN_CHARS} characters (a few words are best)."
        )));
    }
    Ok(())
}

/// The wrapped key the server keeps, when encryption is on.
fn wrapped_of(server: &E2eKey) -> UiResult<WrappedAccountKey> {
    if !server.enabled {
        return Err(UiError::new(NOT_ON));
    }
    serde_json::from_value(server.wrapped_key.clone().unwrap_or_default()).map_err(|e| {
        UiError::new(format!("The server's wrapped account key is not one this app can read ({e})."))
    })
}

/// Argon2 (~150 ms and 64 MiB) runs on the blocking pool: never on the
/// UI's thread nor on a runtime worker the live connection needs.
async fn argon2<T: Send + 'static>(
    work: impl FnOnce() -> cloudbuffer_client::crypto::Result<T> + Send + 'static,
) -> UiResult<T> {
    let result = tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| UiError::new(format!("The key derivation stopped: {e}.")))?;
    result.map_err(|e| match e {
        // A modified wrap gives the same error: the passphrase is the likely cause.
        CryptoError::WrongPassphrase => UiError::new(WRONG),
        e => UiError::new(format!("The account key could not be opened: {e}.")),
    })
}

/// Wraps `key` under `passphrase` with the default argon2 cost.
async fn wrap(key: &AccountKey, passphrase: String) -> UiResult<serde_json::Value> {
    let key = key.clone();
    let wrapped = argon2(move || key.wrap(passphrase.as_bytes(), KdfParams::DEFAULT)).await?;
    serde_json::to_value(&wrapped).map_err(|e| UiError::new(format!("Cannot encode the wrapped key: {e}.")))
}

/// Opens the server's wrapped key with `passphrase`.
async fn unwrap(wrapped: WrappedAccountKey, passphrase: String) -> UiResult<AccountKey> {
    argon2(move || wrapped.unwrap(passphrase.as_bytes())).await
}
