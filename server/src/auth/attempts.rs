//! Who may try a password, and how often. Guesses are refused per (name,
//! client address) and per address; a name's budget from all addresses
//! together only slows attempts down, so guessers elsewhere cannot lock
//! its owner out. A device that once signed in (it shows its device token)
//! has a budget of its own and skips the others entirely.
//!
//! With several instances on one PostgreSQL database the refusing budgets
//! (per pair, per device, per address, per registering address) live in the
//! database, so a guesser spreading attempts over instances gets no more
//! than against one. The delay-only ones (per name, per link) and the share
//! link budgets stay per instance: they only slow attempts down.

use std::net::IpAddr;
use std::time::Duration;

use super::ratelimit::{Key, RateLimiter, Throttle};
use crate::db::{now_ms, Database};
use crate::error::ApiError;

/// No attempt waits longer than this for its turn on a shared budget.
pub const MAX_DELAY: Duration = Duration::from_secs(10);

/// Sign-in, registration and share-password budgets.
#[derive(Debug)]
pub struct Attempts {
    /// Per (name, address), per device token and per registering address.
    per_pair: RateLimiter,
    /// Per address, all names together (an office behind one NAT signs in
    /// as many people).
    per_address: RateLimiter,
    /// Per name, from everywhere: delays only.
    per_name: Throttle,
    /// Wrong share passwords per (link, address).
    per_link_address: RateLimiter,
    /// Share password attempts per link, from everywhere: delays only.
    per_link: Throttle,
    /// Where the refusing budgets live when instances share a database.
    shared: Option<Shared>,
}

/// The database holding the refusing budgets, and their sizes.
#[derive(Debug)]
struct Shared {
    db: Database,
    per_minute: f64,
}

/// Who is trying a user's password.
#[derive(Debug, Clone, Copy)]
pub enum Caller<'a> {
    /// Someone at this address.
    Address(IpAddr),
    /// A device that proved it signed in as this user before (the nonce of
    /// its device token).
    KnownDevice(&'a str),
}

fn ip_bytes(ip: &IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        // The /64 of an IPv6 client is what one host can choose from.
        IpAddr::V6(v6) => v6.octets()[..8].to_vec(),
    }
}

impl Attempts {
    /// Budgets of `per_minute` attempts (per pair and per link address),
    /// five times that per address and per name, ten times per link.
    pub fn new(per_minute: u32) -> Attempts {
        let wider = per_minute.saturating_mul(5);
        Attempts {
            per_pair: RateLimiter::new(per_minute),
            per_address: RateLimiter::new(wider),
            per_name: Throttle::new(wider, MAX_DELAY),
            per_link_address: RateLimiter::new(per_minute),
            per_link: Throttle::new(per_minute.saturating_mul(10), MAX_DELAY),
            shared: None,
        }
    }

    /// [`Attempts::new`], with the refusing budgets in `db` when other
    /// instances may share it.
    pub fn for_database(per_minute: u32, db: &Database) -> Attempts {
        let shared =
            db.backend().is_shared().then(|| Shared { db: db.clone(), per_minute: per_minute as f64 });
        Attempts { shared, ..Attempts::new(per_minute) }
    }

    /// One attempt from `key`'s bucket of `scale` × the per-minute budget:
    /// in the database when shared, else in `local`.
    async fn take(&self, local: &RateLimiter, key: Key, scale: f64) -> Result<(), ApiError> {
        match &self.shared {
            None => local.check(&[key]).map_err(ApiError::TooManyRequests),
            Some(shared) => {
                let capacity = shared.per_minute * scale;
                match shared.db.take_attempt(&key.hex(), capacity, capacity / 60_000.0, now_ms()).await? {
                    None => Ok(()),
                    Some(wait) => Err(ApiError::TooManyRequests(wait)),
                }
            }
        }
    }

    /// Takes one attempt at `username`'s password: 429 once the caller's
    /// own budget is spent; otherwise may wait for the name's turn.
    /// `username` must already be valid (bounded), see `validate_username`.
    pub async fn sign_in(&self, username: &str, caller: Caller<'_>) -> Result<(), ApiError> {
        let name = username.to_ascii_lowercase();
        match caller {
            Caller::KnownDevice(nonce) => {
                let device = Key::new("device", &[name.as_bytes(), nonce.as_bytes()]);
                self.take(&self.per_pair, device, 1.0).await
            }
            Caller::Address(ip) => {
                let ip = ip_bytes(&ip);
                let pair = Key::new("name+address", &[name.as_bytes(), &ip]);
                self.take(&self.per_address, Key::new("address", &[&ip]), 5.0).await?;
                self.take(&self.per_pair, pair, 1.0).await?;
                self.per_name.wait(Key::new("name", &[name.as_bytes()])).await;
                Ok(())
            }
        }
    }

    /// Takes one attempt at redeeming a pairing code from `ip`.
    pub async fn pairing(&self, ip: IpAddr) -> Result<(), ApiError> {
        self.take(&self.per_pair, Key::new("pair", &[&ip_bytes(&ip)]), 1.0).await
    }

    /// Takes one registration attempt from `ip`.
    pub async fn register(&self, ip: IpAddr) -> Result<(), ApiError> {
        self.take(&self.per_pair, Key::new("register", &[&ip_bytes(&ip)]), 1.0).await
    }

    /// Takes one password attempt on share `token` from `ip`: 429 once this
    /// address has spent its budget on the link; otherwise may wait for the
    /// link's turn. The charge is given back by [`ShareCharge::refund`].
    pub async fn share_password(&self, token: &str, ip: IpAddr) -> Result<ShareCharge<'_>, ApiError> {
        let key = Key::new("link+address", &[token.as_bytes(), &ip_bytes(&ip)]);
        self.per_link_address.try_take(&[key]).map_err(ApiError::TooManyRequests)?;
        let charge = ShareCharge { attempts: self, key, keep: false };
        // Waiting here, the charge is already held: a burst of guesses sent
        // at once cannot all pass the address's budget while they wait.
        self.per_link.wait(Key::new("link", &[token.as_bytes()])).await;
        Ok(charge)
    }
}

/// One share password attempt's charge: given back on drop unless kept
/// (kept for wrong passwords only, so a visitor who knows the password is
/// never slowed by their own downloads).
#[derive(Debug)]
pub struct ShareCharge<'a> {
    attempts: &'a Attempts,
    key: Key,
    keep: bool,
}

impl ShareCharge<'_> {
    /// The password was wrong: the attempt stays spent.
    pub fn keep(mut self) {
        self.keep = true;
    }
}

impl Drop for ShareCharge<'_> {
    fn drop(&mut self) {
        if !self.keep {
            self.attempts.per_link_address.refund(&[self.key]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    #[tokio::test(start_paused = true)]
    async fn one_address_cannot_lock_a_name_out_elsewhere() {
        let attempts = Attempts::new(3);
        for _ in 0..3 {
            attempts.sign_in("alice", Caller::Address(ip(1))).await.unwrap();
        }
        assert!(attempts.sign_in("alice", Caller::Address(ip(1))).await.is_err());
        assert!(attempts.sign_in("Alice", Caller::Address(ip(1))).await.is_err(), "names fold case");
        attempts.sign_in("alice", Caller::Address(ip(2))).await.unwrap();
        attempts.sign_in("alice", Caller::KnownDevice("nonce")).await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn many_addresses_slow_a_name_down_without_refusing_it() {
        let attempts = Attempts::new(2);
        // 10 per minute per name after a burst of 10: 20 addresses × 1.
        let started = tokio::time::Instant::now();
        for last in 0..20 {
            attempts.sign_in("alice", Caller::Address(ip(last))).await.unwrap();
        }
        let waited = started.elapsed();
        assert!(waited >= Duration::from_secs(50), "the last ten waited their turns: {waited:?}");
        // A known device does not queue behind them.
        let before = tokio::time::Instant::now();
        attempts.sign_in("alice", Caller::KnownDevice("n")).await.unwrap();
        assert_eq!(before.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn share_charges_are_refunded_unless_kept() {
        let attempts = Attempts::new(2);
        for _ in 0..5 {
            drop(attempts.share_password("tok", ip(1)).await.unwrap());
        }
        attempts.share_password("tok", ip(1)).await.unwrap().keep();
        attempts.share_password("tok", ip(1)).await.unwrap().keep();
        assert!(attempts.share_password("tok", ip(1)).await.is_err(), "two wrong ones spent it");
        assert!(attempts.share_password("tok", ip(2)).await.is_ok(), "another address is not refused");
    }
}
