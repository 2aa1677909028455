//! In-memory limits on guessing: a token-bucket [`RateLimiter`] that
//! refuses (429) and a [`Throttle`] that only delays. Keys are fixed-size
//! hashes of what they stand for, so attacker-chosen names cost the same
//! few bytes as any other, and both maps are hard-capped: past the cap,
//! the entries touched longest ago are evicted.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Entries kept before the oldest are evicted (a few MiB at most).
const MAX_KEYS: usize = 100_000;

/// A limiter key: a hash of its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key([u8; 16]);

impl Key {
    /// The key of a kind (`"login"`, `"share"`…) and its parts, each part
    /// length-prefixed so that no two different lists collide by concatenation.
    pub fn new(kind: &str, parts: &[&[u8]]) -> Key {
        let mut hasher = blake3::Hasher::new_derive_key("cloudbuffer rate limit key v1");
        hasher.update(&(kind.len() as u64).to_le_bytes()).update(kind.as_bytes());
        for part in parts {
            hasher.update(&(part.len() as u64).to_le_bytes()).update(part);
        }
        let mut key = [0; 16];
        key.copy_from_slice(&hasher.finalize().as_bytes()[..16]);
        Key(key)
    }

    /// The key as 32 hex digits (the database's bucket key).
    pub fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Removes the oldest eighth of `map` by the time each entry was touched.
fn evict_oldest<V>(map: &mut HashMap<Key, V>, touched: impl Fn(&V) -> Instant) {
    let mut times: Vec<Instant> = map.values().map(&touched).collect();
    let nth = times.len() / 8;
    let (_, cutoff, _) = times.select_nth_unstable(nth);
    let cutoff = *cutoff;
    map.retain(|_, v| touched(v) > cutoff);
}

/// Allows `per_minute` attempts per key, refilled continuously.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: f64,
    buckets: Mutex<HashMap<Key, (f64, Instant)>>,
}

impl RateLimiter {
    /// A limiter allowing `per_minute` attempts per key per minute.
    pub fn new(per_minute: u32) -> RateLimiter {
        RateLimiter { per_minute: per_minute as f64, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one attempt from every key's bucket, or none if any is empty;
    /// then returns the seconds to wait.
    pub fn check(&self, keys: &[Key]) -> Result<(), u64> {
        self.take(keys, true)
    }

    /// Like [`RateLimiter::check`], but a refused attempt costs nothing: for
    /// buckets many people share, so that cheap refused requests cannot
    /// keep them empty for everyone.
    pub fn try_take(&self, keys: &[Key]) -> Result<(), u64> {
        self.take(keys, false)
    }

    /// Gives back one attempt taken with [`RateLimiter::check`]: for limits
    /// that only charge failures but must hold under concurrency (take
    /// first, refund on success).
    pub fn refund(&self, keys: &[Key]) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        for key in keys {
            if let Some((tokens, _)) = buckets.get_mut(key) {
                *tokens = (*tokens + 1.0).min(self.per_minute);
            }
        }
    }

    /// Keys held (for tests of the cap).
    pub fn len(&self) -> usize {
        self.buckets.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// True when no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn take(&self, keys: &[Key], penalize: bool) -> Result<(), u64> {
        let now = Instant::now();
        let rate = self.per_minute / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_KEYS {
            // A full bucket says nothing a new one would not.
            let full = self.per_minute;
            buckets.retain(|_, (tokens, at)| *tokens + rate * now.duration_since(*at).as_secs_f64() < full);
            if buckets.len() >= MAX_KEYS {
                evict_oldest(&mut buckets, |(_, at)| *at);
            }
        }
        let mut wait = 0.0f64;
        for key in keys {
            let (tokens, at) = buckets.entry(*key).or_insert((self.per_minute, now));
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
                    if let Some((tokens, _)) = buckets.get_mut(key) {
                        *tokens = (*tokens - 1.0).max(0.0);
                    }
                }
            }
            return Err(wait.ceil().max(1.0) as u64);
        }
        for key in keys {
            if let Some((tokens, _)) = buckets.get_mut(key) {
                *tokens -= 1.0;
            }
        }
        Ok(())
    }
}

/// Spaces attempts on a key to `per_minute` after a burst of as many, by
/// making each wait for its turn (at most `max_delay`) rather than refusing
/// it: for budgets everyone shares (one user name's, one share link's),
/// where a refusal would lock the rightful owner out along with the
/// guessers. A generic cell rate algorithm: one instant per key.
#[derive(Debug)]
pub struct Throttle {
    interval: Duration,
    burst: Duration,
    max_delay: Duration,
    // tokio's clock, so that tests with paused time see the schedule move.
    turns: Mutex<HashMap<Key, tokio::time::Instant>>,
}

impl Throttle {
    /// `per_minute` attempts per key in steady state, after a burst of as
    /// many; no attempt waits longer than `max_delay`.
    pub fn new(per_minute: u32, max_delay: Duration) -> Throttle {
        let interval = Duration::from_secs(60) / per_minute.max(1);
        Throttle {
            interval,
            burst: interval * per_minute.max(1),
            max_delay,
            turns: Mutex::new(HashMap::new()),
        }
    }

    /// Books the next turn on `key` and says how long to wait for it.
    pub fn delay(&self, key: Key) -> Duration {
        let now = tokio::time::Instant::now();
        let mut turns = self.turns.lock().unwrap_or_else(|e| e.into_inner());
        if turns.len() >= MAX_KEYS {
            turns.retain(|_, next| *next > now);
            if turns.len() >= MAX_KEYS {
                evict_oldest(&mut turns, |next| next.into_std());
            }
        }
        let next = turns.entry(key).or_insert(now);
        // Past the longest delay the schedule stops growing, so a flood ends
        // with the key free again after `burst + max_delay`.
        *next = ((*next).max(now) + self.interval).min(now + self.burst + self.max_delay);
        next.saturating_duration_since(now + self.burst)
    }

    /// Waits for the next turn on `key`.
    pub async fn wait(&self, key: Key) {
        let delay = self.delay(key);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> Key {
        Key::new("test", &[name.as_bytes()])
    }

    #[test]
    fn refuses_after_the_burst_and_names_a_wait() {
        let limiter = RateLimiter::new(3);
        let (ip1, ip2, user) = (key("ip:1"), key("ip:2"), key("user:a"));
        for _ in 0..3 {
            assert!(limiter.check(&[ip1, user]).is_ok());
        }
        let wait = limiter.check(&[ip1, user]).unwrap_err();
        assert!((1..=20).contains(&wait), "wait {wait}");
        // Another key is unaffected; a shared exhausted key still blocks.
        assert!(limiter.check(&[ip2]).is_ok());
        assert!(limiter.check(&[ip2, user]).is_err());
    }

    #[test]
    fn refused_try_takes_cost_nothing() {
        let limiter = RateLimiter::new(1);
        assert!(limiter.try_take(&[key("k")]).is_ok());
        for _ in 0..10 {
            assert!(limiter.try_take(&[key("k")]).is_err());
        }
        limiter.refund(&[key("k")]);
        assert!(limiter.try_take(&[key("k")]).is_ok(), "the refused ones did not drain the bucket");
    }

    #[test]
    fn a_refund_gives_back_what_check_took() {
        let limiter = RateLimiter::new(2);
        for _ in 0..5 {
            assert!(limiter.check(&[key("k")]).is_ok());
            limiter.refund(&[key("k")]);
        }
        assert!(limiter.check(&[key("k")]).is_ok());
        assert!(limiter.check(&[key("k")]).is_ok());
        assert!(limiter.check(&[key("k")]).is_err());
        // Never past the full budget.
        let fresh = RateLimiter::new(1);
        assert!(fresh.check(&[key("k")]).is_ok());
        fresh.refund(&[key("k")]);
        fresh.refund(&[key("k")]);
        assert!(fresh.check(&[key("k")]).is_ok());
        assert!(fresh.check(&[key("k")]).is_err());
    }

    #[test]
    fn the_maps_stay_bounded_and_keep_the_newest() {
        let limiter = RateLimiter::new(5);
        let hot = key("hot");
        for i in 0..(MAX_KEYS + 5_000) {
            if i == MAX_KEYS {
                // Touched recently: must survive the eviction that follows.
                limiter.check(&[hot]).unwrap();
            }
            limiter.check(&[Key::new("name", &[&i.to_le_bytes()])]).unwrap();
        }
        assert!(limiter.len() <= MAX_KEYS, "{} keys", limiter.len());
        let throttle = Throttle::new(1, Duration::from_secs(1));
        for i in 0..(MAX_KEYS + 5_000) {
            throttle.delay(Key::new("name", &[&i.to_le_bytes()]));
        }
        assert!(throttle.turns.lock().unwrap().len() <= MAX_KEYS);
        // `hot` kept its spent budget: not evicted as if new.
        for _ in 0..4 {
            limiter.check(&[hot]).unwrap();
        }
        assert!(limiter.check(&[hot]).is_err());
    }

    #[test]
    fn keys_do_not_collide_by_concatenation() {
        assert_ne!(Key::new("a", &[b"bc"]), Key::new("ab", &[b"c"]));
        assert_ne!(Key::new("k", &[b"a", b"bc"]), Key::new("k", &[b"ab", b"c"]));
    }

    #[test]
    fn a_throttle_delays_after_the_burst_and_never_past_its_cap() {
        let throttle = Throttle::new(60, Duration::from_secs(5));
        let k = key("link");
        for _ in 0..60 {
            assert_eq!(throttle.delay(k), Duration::ZERO, "the burst passes at once");
        }
        let first = throttle.delay(k);
        assert!(first > Duration::ZERO && first <= Duration::from_secs(1), "{first:?}");
        let mut last = first;
        for _ in 0..100 {
            last = throttle.delay(k);
        }
        assert_eq!(last, Duration::from_secs(5), "capped");
        assert_eq!(throttle.delay(key("other")), Duration::ZERO, "other keys are free");
    }
}
