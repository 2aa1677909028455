//! A small in-memory token-bucket limiter for authentication attempts.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Buckets kept before idle ones are dropped.
const MAX_KEYS: usize = 10_000;

/// Allows `per_minute` attempts per key, refilled continuously.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// A limiter allowing `per_minute` attempts per key per minute.
    pub fn new(per_minute: u32) -> RateLimiter {
        RateLimiter { per_minute: per_minute as f64, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one attempt from every key's bucket, or none if any is empty;
    /// then returns the seconds to wait.
    pub fn check(&self, keys: &[&str]) -> Result<(), u64> {
        self.take(keys, true)
    }

    /// Like [`RateLimiter::check`], but a refused attempt costs nothing: for
    /// buckets many people share (one share link's), so that cheap refused
    /// requests cannot keep them empty for everyone.
    pub fn try_take(&self, keys: &[&str]) -> Result<(), u64> {
        self.take(keys, false)
    }

    /// Gives back one attempt taken with [`RateLimiter::check`]: for limits
    /// that only charge failures but must hold under concurrency (take
    /// first, refund on success).
    pub fn refund(&self, keys: &[&str]) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        for key in keys {
            if let Some((tokens, _)) = buckets.get_mut(*key) {
                *tokens = (*tokens + 1.0).min(self.per_minute);
            }
        }
    }

    fn take(&self, keys: &[&str], penalize: bool) -> Result<(), u64> {
        let now = Instant::now();
        let rate = self.per_minute / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > MAX_KEYS {
            let full = self.per_minute;
            buckets.retain(|_, (tokens, at)| *tokens + rate * now.duration_since(*at).as_secs_f64() < full);
        }
        let mut wait = 0.0f64;
        for key in keys {
            let (tokens, at) = buckets.entry(key.to_string()).or_insert((self.per_minute, now));
            *tokens = (*tokens + rate * now.duration_since(*at).as_secs_f64()).min(self.per_minute);
            *at = now;
            if *tokens < 1.0 {
                wait = wait.max((1.0 - *tokens) / rate);
            }
        }
        if wait > 0.0 {
            if penalize {
                // A failure past the limit still counts, so hammering does
                // not refill the budget sooner.
                for key in keys {
                    if let Some((tokens, _)) = buckets.get_mut(*key) {
                        *tokens = (*tokens - 1.0).max(0.0);
                    }
                }
            }
            return Err(wait.ceil().max(1.0) as u64);
        }
        for key in keys {
            if let Some((tokens, _)) = buckets.get_mut(*key) {
                *tokens -= 1.0;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_after_the_burst_and_names_a_wait() {
        let limiter = RateLimiter::new(3);
        for _ in 0..3 {
            assert!(limiter.check(&["ip:1", "user:a"]).is_ok());
        }
        let wait = limiter.check(&["ip:1", "user:a"]).unwrap_err();
        assert!((1..=20).contains(&wait), "wait {wait}");
        // Another key is unaffected; a shared exhausted key still blocks.
        assert!(limiter.check(&["ip:2"]).is_ok());
        assert!(limiter.check(&["ip:2", "user:a"]).is_err());
    }

    #[test]
    fn refused_try_takes_cost_nothing() {
        let limiter = RateLimiter::new(1);
        assert!(limiter.try_take(&["k"]).is_ok());
        for _ in 0..10 {
            assert!(limiter.try_take(&["k"]).is_err());
        }
        limiter.refund(&["k"]);
        assert!(limiter.try_take(&["k"]).is_ok(), "the refused ones did not drain the bucket");
    }

    #[test]
    fn a_refund_gives_back_what_check_took() {
        let limiter = RateLimiter::new(2);
        for _ in 0..5 {
            assert!(limiter.check(&["k"]).is_ok());
            limiter.refund(&["k"]);
        }
        assert!(limiter.check(&["k"]).is_ok());
        assert!(limiter.check(&["k"]).is_ok());
        assert!(limiter.check(&["k"]).is_err());
        // Never past the full budget.
        let fresh = RateLimiter::new(1);
        assert!(fresh.check(&["k"]).is_ok());
        fresh.refund(&["k"]);
        fresh.refund(&["k"]);
        assert!(fresh.check(&["k"]).is_ok());
        assert!(fresh.check(&["k"]).is_err());
    }
}
