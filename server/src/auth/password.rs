//! Password hashing (argon2id) and the rules for names and passwords.

use std::sync::{mpsc, Arc, LazyLock, Mutex};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use tokio::sync::{oneshot, Semaphore};

use crate::error::ApiError;

/// Each argon2id hash holds 19 MiB while it runs and keeps a core busy for
/// tens of milliseconds. Hashes run on a few threads of their own, one per
/// core up to four: never on tokio's blocking pool, where file I/O of
/// uploads and downloads could make sign-ins queue (and a burst of sign-ins
/// could take gigabytes). Waiting callers queue on the semaphore, without a
/// thread; a permit travels with its job, so a request abandoned mid-hash
/// still holds its slot until that hash is done.
struct HashPool {
    slots: Arc<Semaphore>,
    jobs: Mutex<mpsc::Sender<Job>>,
}

type Job = Box<dyn FnOnce() + Send>;

static POOL: LazyLock<HashPool> = LazyLock::new(|| {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 4);
    let (sender, receiver) = mpsc::channel::<Job>();
    let receiver = Arc::new(Mutex::new(receiver));
    for i in 0..threads {
        let receiver = receiver.clone();
        let spawned = std::thread::Builder::new().name(format!("argon2-{i}")).spawn(move || loop {
            let job = receiver.lock().unwrap_or_else(|e| e.into_inner()).recv();
            match job {
                Ok(job) => job(),
                Err(_) => return,
            }
        });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start a password hashing thread");
        }
    }
    HashPool { slots: Arc::new(Semaphore::new(threads)), jobs: Mutex::new(sender) }
});

/// Runs `work` on the hashing threads once a slot is free.
async fn on_hash_pool<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    let slot = POOL.slots.clone().acquire_owned().await.map_err(|e| ApiError::Internal(e.to_string()))?;
    let (done, result) = oneshot::channel();
    let job: Job = Box::new(move || {
        let _slot = slot;
        let _ = done.send(work());
    });
    POOL.jobs
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .send(job)
        .map_err(|_| ApiError::Internal("password hashing threads are gone".into()))?;
    result.await.map_err(|_| ApiError::Internal("a password hash was abandoned".into()))
}

/// Hashes a password with argon2id (it takes tens of ms).
pub async fn hash_password(password: String) -> Result<String, ApiError> {
    on_hash_pool(move || {
        let salt = SaltString::encode_b64(&crate::ids::random_bytes(16))
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ApiError::Internal(e.to_string()))
    })
    .await?
}

/// Checks a password against a stored hash.
pub async fn verify_password(password: String, hash: String) -> bool {
    on_hash_pool(move || {
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

/// Longest password, in bytes (account and share passwords alike).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// At least 8 characters, at most 1024 bytes.
pub fn validate_password(password: &str) -> Result<(), ApiError> {
    if password.chars().count() < 8 {
        return Err(ApiError::unprocessable("weak_password", "passwords need at least 8 characters"));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::unprocessable("invalid_password", "passwords are at most 1024 bytes"));
    }
    Ok(())
}
