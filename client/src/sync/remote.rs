//! The connection to the server: live events over a WebSocket
//! ([`crate::live`], which keeps it authenticated), reconnected with
//! exponential backoff and jitter: at once after a routine 4002/4000,
//! after 30-60 s when the account has too many live connections. On every
//! (re)connection the queue is sent first (local clips made offline are
//! newer than anything we missed), then the history is checked for a newer
//! clip of another device (catch-up).

use std::sync::Arc;
use std::time::Duration;

use cloudbuffer_protocol::Event;
use tokio_util::sync::CancellationToken;

use super::state::Shared;
use super::{apply, send, Connection};
use crate::error::{ClientError, Result};
use crate::live::{self, LiveEnd, LiveOptions, LiveSocket};

/// Reconnection delays: `min` doubling to `max`, each drawn at random from
/// the upper half of its step, so devices cut off together do not all come
/// back in the same instant.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    min: Duration,
    max: Duration,
}

impl Backoff {
    /// Starts at `min`.
    pub fn new(min: Duration, max: Duration) -> Backoff {
        Backoff { next: min, min, max }
    }

    /// Back to `min`, after a connection that worked.
    pub fn reset(&mut self) {
        self.next = self.min;
    }

    /// The delay before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        let base = self.next;
        self.next = (base * 2).min(self.max);
        base / 2 + base.mul_f64(random_fraction() / 2.0)
    }
}

/// A number in [0, 1) from the standard library's randomly keyed hasher.
pub(crate) fn random_fraction() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(time::OffsetDateTime::now_utc().unix_timestamp_nanos() as u128);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

enum Ended {
    Cancelled,
    /// The socket ended after being open this long.
    Live(LiveEnd, Duration),
}

fn fatal(error: &ClientError) -> bool {
    matches!(error, ClientError::SessionExpired | ClientError::NotLoggedIn)
}

/// Stays connected until cancelled or the session ends.
pub(super) async fn run(shared: Arc<Shared>, cancel: CancellationToken) -> Result<()> {
    let config = &shared.config;
    let mut backoff = Backoff::new(config.backoff_min, config.backoff_max);
    let mut options = LiveOptions::default();
    loop {
        let delay = match connected(&shared, &cancel, &mut backoff, &options).await {
            Ok(Ended::Cancelled) => return Ok(()),
            Ok(Ended::Live(LiveEnd::Failed(e), _)) if fatal(&e) => return Err(e),
            Ok(Ended::Live(end, age)) => {
                let delay = live::reconnect_delay(&end, age, &mut backoff);
                match end {
                    LiveEnd::Failed(ClientError::LiveAuthUnsupported) => options.no_auth_messages = true,
                    LiveEnd::Failed(e) => shared.report(e),
                    // Routine (a token ran out, we fell behind): nothing to tell.
                    LiveEnd::TokenExpired | LiveEnd::Behind => {}
                }
                delay
            }
            Err(e) if fatal(&e) => return Err(e),
            Err(e) => {
                let delay = if matches!(e, ClientError::TooManyLive) {
                    live::too_many_delay()
                } else {
                    backoff.next_delay()
                };
                shared.report(e);
                delay
            }
        };
        if delay.is_zero() {
            continue;
        }
        shared.status(|s| s.connection = Connection::Offline { retry_in: delay });
        tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            _ = tokio::time::sleep(delay) => {}
        }
    }
}

/// One connection, from the first attempt to its end.
async fn connected(
    shared: &Arc<Shared>,
    cancel: &CancellationToken,
    backoff: &mut Backoff,
    options: &LiveOptions,
) -> Result<Ended> {
    send::flush(shared).await?;
    let mut socket = LiveSocket::connect(&shared.client, shared.config.idle_timeout, options).await?;
    shared.status(|s| {
        s.connection = Connection::Connected;
        s.connects += 1;
    });
    backoff.reset();
    catch_up(shared).await?;
    send::flush(shared).await?;
    loop {
        let next = tokio::select! {
            _ = cancel.cancelled() => {
                socket.close().await;
                return Ok(Ended::Cancelled);
            }
            _ = shared.wake.notified() => {
                send::flush(shared).await?;
                continue;
            }
            next = socket.next() => next,
        };
        match next {
            Ok(Event::ClipCreated { clip }) => apply::on_clip(shared, clip).await?,
            Ok(_) => {}
            Err(end) => return Ok(Ended::Live(end, socket.age())),
        }
    }
}

/// Applies the newest clip if another device made it after the newest one
/// we applied or sent.
async fn catch_up(shared: &Arc<Shared>) -> Result<()> {
    if let Some(newest) = shared.client.clips().await?.into_iter().next() {
        apply::on_clip(shared, newest).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
        let delays: Vec<_> = (0..10).map(|_| backoff.next_delay()).collect();
        assert!(delays[0] >= Duration::from_millis(250) && delays[0] <= Duration::from_millis(500));
        assert!(delays[1] >= Duration::from_millis(500) && delays[1] <= Duration::from_secs(1));
        assert!(delays[9] >= Duration::from_secs(15) && delays[9] <= Duration::from_secs(30));
        backoff.reset();
        assert!(backoff.next_delay() <= Duration::from_millis(500));
    }
}
