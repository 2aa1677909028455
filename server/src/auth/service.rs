//! Sign-up, sign-in, token refresh and sign-out, as plain functions.

use std::net::IpAddr;

use cloudbuffer_protocol::{Credentials, Tokens};

use super::attempts::Caller;
use super::password::{
    hash_password, validate_password, validate_username, verify_password, MAX_PASSWORD_BYTES,
};
use super::tokens::refresh_token_hash;
use crate::config::Registration;
use crate::db::{now_ms, DeviceRow, RefreshOutcome, UserRow};
use crate::error::ApiError;
use crate::ids;
use crate::state::AppState;

/// Refresh tokens die after this long unused (each refresh starts anew).
const REFRESH_LIFE_MS: i64 = 30 * 24 * 3600 * 1000;

/// Creates an account and signs its first device in.
pub async fn register(state: &AppState, creds: Credentials, ip: IpAddr) -> Result<Tokens, ApiError> {
    state.attempts.register(ip).await?;
    if state.config.registration == Registration::Closed {
        return Err(ApiError::Forbidden {
            code: "registration_closed",
            message: "registration is closed on this server; ask its admin for an account".into(),
        });
    }
    validate_username(&creds.username)?;
    validate_password(&creds.password)?;
    let user = UserRow {
        id: ids::new_id(),
        username: creds.username,
        password_hash: hash_password(creds.password).await?,
        is_admin: false,
        created_at: now_ms(),
    };
    if !state.db.create_user(&user, None).await? {
        return Err(ApiError::Conflict {
            code: "username_taken",
            message: format!("the user name {:?} is taken", user.username),
        });
    }
    tracing::info!(username = %user.username, "user registered");
    start_session(state, &user.id, creds.device_name.as_deref()).await
}

fn wrong_credentials() -> ApiError {
    ApiError::unauthorized("invalid_credentials", "wrong user name or password")
}

/// Checks `password` for `username` within the attempt budgets; the user
/// if it is right. Names that cannot exist are refused before any state
/// is touched; unknown ones pay for a hash too, so timing does not reveal
/// them. A `device_token` this user's sign-in once returned marks a known
/// device, which guessers elsewhere cannot slow down or lock out.
pub async fn check_password(
    state: &AppState,
    username: &str,
    password: &str,
    device_token: Option<&str>,
    ip: IpAddr,
) -> Result<UserRow, ApiError> {
    if validate_username(username).is_err() || password.len() > MAX_PASSWORD_BYTES {
        return Err(wrong_credentials());
    }
    let user = state.db.user_by_name(username).await?;
    let known = user.as_ref().zip(device_token).and_then(|(u, t)| state.keys.verify_device_token(&u.id, t));
    let caller = known.map_or(Caller::Address(ip), Caller::KnownDevice);
    state.attempts.sign_in(username, caller).await?;
    let hash = user.as_ref().map_or_else(|| state.dummy_hash.clone(), |u| u.password_hash.clone());
    let valid = verify_password(password.to_string(), hash).await;
    match user {
        Some(user) if valid => Ok(user),
        _ => Err(wrong_credentials()),
    }
}

/// Checks a password and signs a new device in.
pub async fn login(state: &AppState, creds: Credentials, ip: IpAddr) -> Result<Tokens, ApiError> {
    let user =
        check_password(state, &creds.username, &creds.password, creds.device_token.as_deref(), ip).await?;
    start_session(state, &user.id, creds.device_name.as_deref()).await
}

/// Spends a refresh token and issues the next pair. A replayed token
/// signs its device out (someone else may hold a copy).
pub async fn refresh(state: &AppState, refresh_token: &str) -> Result<Tokens, ApiError> {
    let now = now_ms();
    match state.db.use_refresh(&refresh_token_hash(refresh_token), now).await? {
        RefreshOutcome::Valid { issued_at, .. } if now - issued_at > REFRESH_LIFE_MS => {
            Err(ApiError::unauthorized("refresh_token_expired", "the session has expired; sign in again"))
        }
        RefreshOutcome::Valid { device_id, user_id, .. } => {
            let refresh_token = ids::random_token(32);
            state.db.add_refresh(&refresh_token_hash(&refresh_token), &device_id, now).await?;
            // A refresh is no sign-in: the device keeps the token it has.
            Ok(Tokens { device_token: None, ..tokens(state, &user_id, &device_id, refresh_token) })
        }
        RefreshOutcome::Reused => {
            tracing::warn!("a spent refresh token was replayed; its device was signed out");
            Err(ApiError::unauthorized(
                "refresh_token_reused",
                "this refresh token was already used; the device has been signed out",
            ))
        }
        RefreshOutcome::Unknown => {
            Err(ApiError::unauthorized("invalid_refresh_token", "the refresh token is not valid"))
        }
    }
}

async fn start_session(state: &AppState, user_id: &str, name: Option<&str>) -> Result<Tokens, ApiError> {
    let (device, refresh_token) = new_device(name);
    state.db.create_device(user_id, &device, &refresh_token_hash(&refresh_token)).await?;
    device_added(state, user_id, &device).await;
    Ok(tokens(state, user_id, &device.id, refresh_token))
}

/// A device about to sign in, named from `name`, and its first refresh token.
pub(super) fn new_device(name: Option<&str>) -> (DeviceRow, String) {
    let now = now_ms();
    let device = DeviceRow { id: ids::new_id(), name: device_name(name), created_at: now, last_seen_at: now };
    (device, ids::random_token(32))
}

/// Tells the user's other devices that `device` signed in.
pub(super) async fn device_added(state: &AppState, user_id: &str, device: &DeviceRow) {
    let device = cloudbuffer_protocol::Device {
        id: device.id.clone(),
        name: device.name.clone(),
        created_at: crate::db::to_time(device.created_at),
        last_seen_at: crate::db::to_time(device.last_seen_at),
        current: false,
    };
    crate::events::notify(state, user_id, vec![cloudbuffer_protocol::Event::DeviceAdded { device }]).await;
}

/// A fresh token pair, with a device token for the sign-in.
pub(super) fn tokens(state: &AppState, user_id: &str, device_id: &str, refresh_token: String) -> Tokens {
    let life = state.config.access_token_seconds;
    Tokens {
        access_token: state.keys.issue(user_id, device_id, now_ms() / 1000, life),
        refresh_token,
        token_type: "Bearer".into(),
        expires_in: life,
        device_id: device_id.to_string(),
        device_token: Some(state.keys.issue_device_token(user_id)),
    }
}

/// A printable device label of at most 100 characters.
fn device_name(name: Option<&str>) -> String {
    let clean: String = name.unwrap_or("").chars().filter(|c| !c.is_control()).take(100).collect();
    let clean = clean.trim();
    if clean.is_empty() {
        "unnamed device".into()
    } else {
        clean.into()
    }
}
