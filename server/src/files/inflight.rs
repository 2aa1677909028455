//! Uploads in flight, per user: how many, and how many bytes they have
//! received. Both are bounded while the bytes arrive, so one account
//! cannot fill the store's temp area or tie up the server with uploads
//! that would fail the quota at commit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::error::ApiError;
use crate::files::human_bytes;

/// Bytes reserved at a time, so the lock is taken about once per MiB.
const STEP: u64 = 1 << 20;

/// Seconds a client refused for too many uploads is asked to wait.
const RETRY_AFTER_SECONDS: u64 = 2;

#[derive(Debug, Default)]
struct InFlight {
    uploads: usize,
    bytes: u64,
}

/// The uploads in flight of every user.
#[derive(Debug, Default)]
pub struct Uploads {
    users: Arc<Mutex<HashMap<String, InFlight>>>,
}

/// One upload's place: its share of the user's count and bytes, given back
/// when dropped (finished, refused or abandoned alike).
#[derive(Debug)]
pub struct Ticket {
    users: Arc<Mutex<HashMap<String, InFlight>>>,
    user_id: String,
    /// Bytes this upload has reserved.
    reserved: u64,
    /// Bytes this upload has received.
    received: u64,
    quota: u64,
}

impl Uploads {
    /// Starts an upload of `user_id`: 429 beyond `max_uploads` at once;
    /// 507 when `declared` bytes cannot fit beside the user's other
    /// uploads in flight.
    pub fn begin(
        &self,
        user_id: &str,
        max_uploads: usize,
        quota: u64,
        declared: Option<u64>,
    ) -> Result<Ticket, ApiError> {
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        let entry = users.entry(user_id.to_string()).or_default();
        if entry.uploads >= max_uploads {
            tracing::info!(user = %user_id, max_uploads, "upload refused: too many at once");
            return Err(ApiError::TooManyUploads(RETRY_AFTER_SECONDS));
        }
        let reserved = declared.unwrap_or(0).min(quota);
        if entry.bytes + reserved > quota || declared.is_some_and(|n| n > quota) {
            return Err(over_quota(quota));
        }
        entry.uploads += 1;
        entry.bytes += reserved;
        Ok(Ticket { users: self.users.clone(), user_id: user_id.to_string(), reserved, received: 0, quota })
    }

    /// Uploads and bytes in flight for a user (for tests and metrics).
    pub fn of(&self, user_id: &str) -> (usize, u64) {
        let users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        users.get(user_id).map_or((0, 0), |e| (e.uploads, e.bytes))
    }
}

impl Ticket {
    /// Counts `n` more received bytes: 507 once the user's uploads in
    /// flight together would exceed the quota.
    pub fn receive(&mut self, n: u64) -> Result<(), ApiError> {
        self.received += n;
        if self.received <= self.reserved {
            return Ok(());
        }
        let need = self.received - self.reserved;
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        let entry = users.entry(self.user_id.clone()).or_default();
        // A whole step if it fits, else exactly what is needed.
        let take = if entry.bytes + need.max(STEP) <= self.quota { need.max(STEP) } else { need };
        if entry.bytes + take > self.quota {
            return Err(over_quota(self.quota));
        }
        entry.bytes += take;
        self.reserved += take;
        Ok(())
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = users.get_mut(&self.user_id) {
            entry.uploads = entry.uploads.saturating_sub(1);
            entry.bytes = entry.bytes.saturating_sub(self.reserved);
            if entry.uploads == 0 {
                users.remove(&self.user_id);
            }
        }
    }
}

/// 507 for a quota that the uploads in flight would exceed.
pub fn over_quota(quota: u64) -> ApiError {
    ApiError::InsufficientStorage {
        code: "quota_exceeded",
        message: format!("this would exceed your {} quota; delete some files first", human_bytes(quota)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_beyond_the_cap_are_refused_until_one_ends() {
        let uploads = Uploads::default();
        let first = uploads.begin("a", 2, 100, None).unwrap();
        let _second = uploads.begin("a", 2, 100, None).unwrap();
        assert!(matches!(uploads.begin("a", 2, 100, None), Err(ApiError::TooManyUploads(_))));
        assert!(uploads.begin("b", 2, 100, None).is_ok(), "another user is not affected");
        drop(first);
        assert!(uploads.begin("a", 2, 100, None).is_ok());
    }

    #[test]
    fn bytes_in_flight_share_one_quota() {
        let uploads = Uploads::default();
        let quota = 3 * STEP;
        let mut one = uploads.begin("a", 8, quota, None).unwrap();
        let mut two = uploads.begin("a", 8, quota, None).unwrap();
        one.receive(STEP + 1).unwrap();
        two.receive(STEP - 1).unwrap();
        // 2 MiB + something reserved; the last MiB is shared.
        assert!(two.receive(STEP / 2).is_ok());
        assert!(one.receive(STEP).is_err(), "together they would pass the quota");
        drop(two);
        assert!(one.receive(STEP / 2).is_ok(), "freed by the ended upload");
        drop(one);
        assert_eq!(uploads.of("a"), (0, 0), "everything given back");
    }

    #[test]
    fn a_declared_length_is_reserved_at_the_start() {
        let uploads = Uploads::default();
        let _big = uploads.begin("a", 8, 100, Some(80)).unwrap();
        assert!(matches!(uploads.begin("a", 8, 100, Some(30)), Err(ApiError::InsufficientStorage { .. })));
        assert!(uploads.begin("a", 8, 100, Some(20)).is_ok());
        assert!(uploads.begin("a", 8, 100, Some(101)).is_err());
    }
}
