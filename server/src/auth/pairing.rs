//! Adding a phone without typing a password: a signed-in device asks for a
//! one-time pairing URL (shown as a QR code); the phone that opens it
//! redeems the code in the URL's fragment and becomes a device of the
//! account.

use std::net::IpAddr;

use cloudbuffer_protocol::{PairRequest, Pairing, Tokens};

use super::service::{device_added, new_device, tokens};
use super::tokens::refresh_token_hash;
use crate::db::{now_ms, to_time, PairOutcome};
use crate::error::ApiError;
use crate::state::AppState;

/// How long a code works.
pub const PAIRING_LIFE_SECONDS: u64 = 300;
/// Unused live codes an account may hold at once.
const MAX_ACTIVE: i64 = 10;
/// 128 random bits, in URL-safe base64.
const CODE_BYTES: usize = 16;

/// Only a hash of a code is stored: someone reading the database cannot
/// pair with a live one.
pub fn code_hash(code: &str) -> String {
    hex::encode(blake3::derive_key("cloudbuffer pairing code v1", code.as_bytes()))
}

/// True when `code` has the shape of a code this server hands out, so
/// junk never reaches the database.
fn is_well_formed(code: &str) -> bool {
    code.len() == 22 && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A new pairing URL (under `base`) for `user_id`'s account.
pub async fn create(state: &AppState, user_id: &str, base: &str) -> Result<Pairing, ApiError> {
    let code = crate::ids::random_token(CODE_BYTES);
    let now = now_ms();
    let expires_at = now + PAIRING_LIFE_SECONDS as i64 * 1000;
    if !state.db.create_pairing(user_id, &code_hash(&code), now, expires_at, MAX_ACTIVE).await? {
        return Err(ApiError::TooManyPairings);
    }
    let url = format!("{base}/app/#pair={code}");
    let qr_svg = crate::qr::svg(&url).map_err(ApiError::Internal)?;
    Ok(Pairing { url, expires_at: to_time(expires_at), expires_in: PAIRING_LIFE_SECONDS, qr_svg })
}

/// Redeems a code from `ip`: tokens of a new device of the code's account.
/// Every attempt takes one from the address's budget, so codes cannot be
/// guessed faster than passwords.
pub async fn redeem(state: &AppState, request: PairRequest, ip: IpAddr) -> Result<Tokens, ApiError> {
    state.attempts.pairing(ip).await?;
    if !is_well_formed(&request.code) {
        return Err(unknown());
    }
    let (device, refresh_token) = new_device(request.device_name.as_deref());
    let outcome = state
        .db
        .redeem_pairing(&code_hash(&request.code), now_ms(), &device, &refresh_token_hash(&refresh_token))
        .await?;
    match outcome {
        PairOutcome::Paired { user_id } => {
            tracing::info!(device = %device.name, "device paired");
            device_added(state, &user_id, &device).await;
            Ok(tokens(state, &user_id, &device.id, refresh_token))
        }
        PairOutcome::Unknown => Err(unknown()),
        PairOutcome::Used => Err(ApiError::GoneWith(
            "pairing_used",
            "this pairing code was already used; ask for a new one on a signed-in device",
        )),
        PairOutcome::Expired => Err(ApiError::GoneWith(
            "pairing_expired",
            "this pairing code has expired (codes work for 5 minutes); ask for a new one",
        )),
    }
}

fn unknown() -> ApiError {
    ApiError::NotFoundWith(
        "pairing_unknown",
        "this pairing code is not known; check the link or ask for a new one",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_checked_for_shape() {
        assert!(is_well_formed(&crate::ids::random_token(CODE_BYTES)));
        for bad in ["", "short", &"a".repeat(23), "aaaaaaaaaaaaaaaaaaaa/=", "aaaaaaaaaaaaaaaaaaaa\0a"] {
            assert!(!is_well_formed(bad), "{bad:?}");
        }
    }

    #[test]
    fn hashes_are_stable_and_hide_the_code() {
        let code = "AAAAAAAAAAAAAAAAAAAAAA";
        assert_eq!(code_hash(code), code_hash(code));
        assert_ne!(code_hash(code), code_hash("AAAAAAAAAAAAAAAAAAAAAB"));
        assert!(!code_hash(code).contains(code));
        assert_eq!(code_hash(code).len(), 64);
    }
}
