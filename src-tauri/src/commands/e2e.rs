//! Settings → End-to-end encryption: turning it on for the account,
//! unlocking the account key on this computer, locking it again, changing
//! the passphrase.
//!
//! The same server API (`GET`/`PUT /api/v1/e2e`) and the same local key file
//! ([`cloudbuffer_client::LocalKeys`], beside the saved session) as
//! `cloudbuffer e2e`, so a key unlocked by the CLI is unlocked here and the
//! reverse. The client library
//! reads that file on every use: once it holds the key, this computer's
//! sync and uploads encrypt, and its lists decrypt.
//!
//! The steps themselves (argon2 on the blocking pool, the `PUT`, the key
//! file) are the client library's [`E2eAccount`], which the CLI uses too;
//! here they get the app's wording.

use cloudbuffer_client::e2e::MIN_PASSPHRASE_CHARS as MIN_CHARS;
use cloudbuffer_client::{ClientError, E2eAccount, ServerKey};
use serde::Serialize;
use tauri::State;

use crate::error::{UiError, UiResult};
use crate::state::AppState;

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

/// The signed-in account and where its key is kept on this computer (filed
/// under the session's server URL, as the client library and the CLI do).
async fn account(state: &AppState) -> UiResult<E2eAccount> {
    Ok(E2eAccount::of(state.client().await?, &state.store).await?)
}

async fn view(account: &E2eAccount) -> UiResult<E2eView> {
    let Some(server) = account.state().await? else {
        return Ok(E2eView { state: "unsupported", version: 0, updated_at: None });
    };
    let state = match (server.enabled, account.local()?.is_some()) {
        (false, _) => "off",
        (true, false) => "locked",
        // A key of an older version is still the account key: a
        // passphrase change re-wraps the same key.
        (true, true) => "unlocked",
    };
    Ok(E2eView { state, version: server.version, updated_at: server.updated_at })
}

/// The wrapped key the server keeps, when encryption is on.
async fn server_key(account: &E2eAccount) -> UiResult<ServerKey> {
    let server = account.state().await?.ok_or_else(|| UiError::new(UNSUPPORTED))?;
    match ServerKey::of(&server) {
        Ok(Some(key)) => Ok(key),
        Ok(None) => Err(UiError::new(NOT_ON)),
        Err(e) => Err(ui_error(e)),
    }
}

/// The library's errors of the key steps in the app's words.
fn ui_error(error: ClientError) -> UiError {
    match error {
        ClientError::WrongPassphrase => UiError::new(WRONG),
        ClientError::UnreadableAccountKey(e) => {
            UiError::new(format!("The server's wrapped account key is not one this app can read ({e})."))
        }
        e => match e.code() {
            Some("e2e_already_enabled") => UiError::new(ALREADY_ON),
            Some("e2e_version_mismatch") => UiError::new(CHANGED),
            _ => e.into(),
        },
    }
}

/// The state of end-to-end encryption for the account and this computer.
#[tauri::command]
pub async fn e2e_status(state: State<'_, AppState>) -> UiResult<E2eView> {
    view(&account(&state).await?).await
}

/// Turns end-to-end encryption on for the account: a new account key, kept
/// on this computer and stored on the server wrapped under `passphrase`.
#[tauri::command]
pub async fn e2e_enable(state: State<'_, AppState>, passphrase: String) -> UiResult<E2eView> {
    check_new(&passphrase)?;
    let account = account(&state).await?;
    match account.state().await? {
        None => return Err(UiError::new(UNSUPPORTED)),
        Some(server) if server.enabled => return Err(UiError::new(ALREADY_ON)),
        Some(_) => {}
    }
    account.enable(&passphrase).await.map_err(ui_error)?;
    view(&account).await
}

/// Unlocks the account key on this computer with `passphrase`.
#[tauri::command]
pub async fn e2e_unlock(state: State<'_, AppState>, passphrase: String) -> UiResult<E2eView> {
    if passphrase.is_empty() {
        return Err(UiError::new("Type the encryption passphrase."));
    }
    let account = account(&state).await?;
    let server = server_key(&account).await?;
    account.unlock(&server, &passphrase).await.map_err(ui_error)?;
    view(&account).await
}

/// Forgets the account key on this computer (the server and other devices
/// keep theirs). The running client reads the key file on each use and
/// never trusts an "encryption is off" answer, so from now on it refuses to
/// send in the clear without being reopened.
#[tauri::command]
pub async fn e2e_lock(state: State<'_, AppState>) -> UiResult<E2eView> {
    let account = account(&state).await?;
    account.forget()?;
    view(&account).await
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
    let account = account(&state).await?;
    let server = server_key(&account).await?;
    account.change_passphrase(&server, &current, &new).await.map_err(ui_error)?;
    view(&account).await
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
