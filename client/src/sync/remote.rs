//! The connection to the server: live events over a WebSocket, reconnected
//! with exponential backoff and jitter. On every (re)connection the queue
//! is sent first (local clips made offline are newer than anything we
//! missed), then the history is checked for a newer clip of another
//! device (catch-up).

use std::sync::Arc;
use std::time::{Duration, Instant};

use cloudbuffer_protocol::Event;
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest, Message};
use tokio_util::sync::CancellationToken;

use super::state::Shared;
use super::{apply, send, Connection};
use crate::error::{ClientError, Result};

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
fn random_fraction() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(time::OffsetDateTime::now_utc().unix_timestamp_nanos() as u128);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

enum Ended {
    Cancelled,
    Reconnect,
}

fn fatal(error: &ClientError) -> bool {
    matches!(error, ClientError::SessionExpired | ClientError::NotLoggedIn)
}

/// Stays connected until cancelled or the session ends.
pub(super) async fn run(shared: Arc<Shared>, cancel: CancellationToken) -> Result<()> {
    let config = &shared.config;
    let mut backoff = Backoff::new(config.backoff_min, config.backoff_max);
    loop {
        match connected(&shared, &cancel, &mut backoff).await {
            Ok(Ended::Cancelled) => return Ok(()),
            Ok(Ended::Reconnect) => {}
            Err(e) if fatal(&e) => return Err(e),
            Err(e) => shared.report(e),
        }
        let delay = backoff.next_delay();
        shared.status(|s| s.connection = Connection::Offline { retry_in: delay });
        tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            _ = tokio::time::sleep(delay) => {}
        }
    }
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(shared: &Shared) -> Result<Socket> {
    let client = &shared.client;
    let url = client.events_url();
    let bad = |detail: String| ClientError::BadResponse { url: client.server().into(), detail };
    for attempt in 0..2 {
        let token = client.access_token().await?;
        let mut request = url.as_str().into_client_request().map_err(|e| bad(e.to_string()))?;
        let value = format!("Bearer {token}").parse().map_err(|_| bad("unusable token".into()))?;
        request.headers_mut().insert("authorization", value);
        let connecting = tokio_tungstenite::connect_async(request);
        let outcome = tokio::time::timeout(Duration::from_secs(15), connecting).await.map_err(|_| {
            ClientError::Unreachable { url: client.server().into(), reason: "timed out".into() }
        })?;
        match outcome {
            Ok((socket, _)) => return Ok(socket),
            Err(tungstenite::Error::Http(response)) if response.status() == 401 && attempt == 0 => {
                // Maybe our clock thinks the token is fresher than it is: an
                // authenticated request refreshes it (or says the session ended).
                client.me().await?;
            }
            Err(tungstenite::Error::Http(response)) => {
                return Err(bad(format!("live events refused with HTTP {}", response.status())))
            }
            Err(tungstenite::Error::Io(e)) => {
                let reason = if e.kind() == std::io::ErrorKind::ConnectionRefused {
                    "connection refused".to_string()
                } else {
                    e.to_string()
                };
                return Err(ClientError::Unreachable { url: client.server().into(), reason });
            }
            Err(e) => return Err(ClientError::Interrupted(format!("live events: {e}"))),
        }
    }
    Err(ClientError::SessionExpired)
}

/// One connection, from the first attempt to its end.
async fn connected(shared: &Arc<Shared>, cancel: &CancellationToken, backoff: &mut Backoff) -> Result<Ended> {
    send::flush(shared).await?;
    let mut socket = connect(shared).await?;
    let since = Instant::now();
    shared.status(|s| {
        s.connection = Connection::Connected;
        s.connects += 1;
    });
    backoff.reset();
    catch_up(shared).await?;
    send::flush(shared).await?;
    let idle = shared.config.idle_timeout;
    loop {
        let message = tokio::select! {
            _ = cancel.cancelled() => {
                let _ = tokio::time::timeout(Duration::from_secs(1), socket.close(None)).await;
                return Ok(Ended::Cancelled);
            }
            _ = shared.wake.notified() => {
                send::flush(shared).await?;
                continue;
            }
            message = tokio::time::timeout(idle, socket.next()) => message,
        };
        let lost =
            |why: String| ClientError::Interrupted(format!("live events: {why} after {:?}", since.elapsed()));
        match message {
            Err(_) => return Err(lost(format!("nothing heard for {} s", idle.as_secs()))),
            Ok(None) => return Err(lost("connection closed".into())),
            Ok(Some(Err(e))) => return Err(lost(e.to_string())),
            Ok(Some(Ok(Message::Text(text)))) => {
                if let Ok(Event::ClipCreated { clip }) = serde_json::from_str::<Event>(text.as_str()) {
                    apply::on_clip(shared, clip).await?;
                }
            }
            Ok(Some(Ok(Message::Close(frame)))) => {
                let code = frame.as_ref().map(|f| u16::from(f.code)).unwrap_or(1005);
                match code {
                    4001 => return Err(ClientError::SessionExpired),
                    // 4000: we fell behind; reconnect at once and catch up.
                    4000 => return Ok(Ended::Reconnect),
                    _ => return Err(lost(format!("closed by the server ({code})"))),
                }
            }
            Ok(Some(Ok(_))) => {} // pings are answered by tungstenite
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
