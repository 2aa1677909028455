//! Password hashing (argon2id) and the rules for names and passwords.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::sync::{Arc, LazyLock};

use argon2::Argon2;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;

/// Each argon2id hash holds 19 MiB while it runs. Without a bound, a burst of
/// sign-ins (or of share passwords) would run one per blocking thread, up to
/// 512 at once: gigabytes of memory for no more throughput than one hash per
/// core gives. Waiting callers queue here instead. The permit goes into the
/// blocking task, so a request abandoned mid-hash still holds its slot until
/// the hash is done.
static HASHING: LazyLock<Arc<Semaphore>> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    Arc::new(Semaphore::new(cores.clamp(1, 8)))
});

async fn hashing_slot() -> Result<OwnedSemaphorePermit, ApiError> {
    HASHING.clone().acquire_owned().await.map_err(|e| ApiError::Internal(e.to_string()))
}

/// Hashes a password with argon2id on a blocking thread (it takes tens of ms).
pub async fn hash_password(password: String) -> Result<String, ApiError> {
    let slot = hashing_slot().await?;
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let salt = SaltString::encode_b64(&crate::ids::random_bytes(16))
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ApiError::Internal(e.to_string()))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
}

/// Checks a password against a stored hash on a blocking thread.
pub async fn verify_password(password: String, hash: String) -> bool {
    let Ok(slot) = hashing_slot().await else { return false };
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        PasswordHash::new(&hash)
            .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// 1–64 characters from `[A-Za-z0-9._-]`.
pub fn validate_username(name: &str) -> Result<(), ApiError> {
    let ok = (1..=64).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::unprocessable(
            "invalid_username",
            "user names are 1 to 64 characters: letters, digits, '.', '_' or '-'",
        ))
    }
}

/// At least 8 characters, at most 1024 bytes.
pub fn validate_password(password: &str) -> Result<(), ApiError> {
    if password.chars().count() < 8 {
        return Err(ApiError::unprocessable("weak_password", "passwords need at least 8 characters"));
    }
    if password.len() > 1024 {
        return Err(ApiError::unprocessable("invalid_password", "passwords are at most 1024 bytes"));
    }
    Ok(())
}
