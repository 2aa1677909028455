//! One live-events WebSocket (`/api/v1/events`) that outlives its access
//! token: the sync engine and the desktop app both read events through it.
//!
//! The server closes a socket with 4002 once the access token it was
//! opened with expires, unless the client first sends it a fresher token
//! of the same device (`{"type":"auth","access_token":…}`), which moves the
//! deadline to that token's expiry. So a [`LiveSocket`] refreshes the token
//! (through the [`Client`], as every request does) and sends it well before
//! the deadline: at 80 % of the time left, at least 10 s before it (for
//! very short tokens, half-way). The other closes it tells apart:
//! 4001 (signed out), 4000 (fell behind), 4029 (too many live sockets of
//! this account).

use std::time::Duration;

use cloudbuffer_protocol::Event;
use futures_util::{SinkExt, StreamExt};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest, Message};

use crate::api::Client;
use crate::error::{ClientError, Result};

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Sent no later than this before the socket's token expires.
const AUTH_MARGIN: Duration = Duration::from_secs(10);
/// A renewal that failed (network) is tried again this soon.
const RENEW_RETRY: Duration = Duration::from_secs(5);
/// The shortest a 4029 ("too many live connections") keeps us away.
pub const TOO_MANY_MIN_DELAY: Duration = Duration::from_secs(30);

/// How a [`LiveSocket`] ended.
#[derive(Debug)]
pub enum LiveEnd {
    /// 4002: the token ran out before a fresh one reached the server.
    /// Reconnect at once: it is routine, not a failure.
    TokenExpired,
    /// 4000: we fell behind the events; reconnect at once and catch up.
    Behind,
    /// Anything else: the session ended, too many sockets, a lost
    /// connection (see [`ClientError`]).
    Failed(ClientError),
}

/// The connection as a whole: whether this server takes `auth` messages.
/// Kept across reconnections by whoever reconnects.
#[derive(Debug, Clone, Default)]
pub struct LiveOptions {
    /// A server from before in-band re-authentication closes a socket that
    /// says anything (1008); such a server does not expire sockets either,
    /// so after one such close nothing more is sent.
    pub no_auth_messages: bool,
}

/// An open live-events socket that keeps itself authenticated.
pub struct LiveSocket {
    socket: Socket,
    client: Client,
    /// The token the server holds this socket to.
    token: String,
    renew_at: Instant,
    renewing: Option<Renewal>,
    idle: Duration,
    opened: std::time::Instant,
    /// When the last `auth` message went out (to recognise an old server's 1008).
    auth_sent: Option<Instant>,
    send_auth: bool,
}

/// A token refresh in its own task: the new token and its expiry.
type Renewal = JoinHandle<Result<(String, Option<i64>)>>;

/// When to send a fresh token for one that expires `left` from now.
pub fn renew_delay(left: Duration) -> Duration {
    let early = left.mul_f64(0.8).min(left.saturating_sub(AUTH_MARGIN));
    early.max(left / 2)
}

/// The renewal time of a token expiring at `expires_at` (Unix seconds);
/// soon when that is unknown.
fn renew_instant(expires_at: Option<i64>) -> Instant {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let left = expires_at.map_or(0, |at| (at - now).max(0)) as u64;
    Instant::now() + renew_delay(Duration::from_secs(left)).max(Duration::from_secs(1))
}

impl LiveSocket {
    /// Opens the socket, refreshing a token the server refuses once.
    /// `idle`: silence (no event, no ping) this long means a dead connection.
    pub async fn connect(client: &Client, idle: Duration, options: &LiveOptions) -> Result<LiveSocket> {
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
                Ok((socket, _)) => {
                    let expires_at = client.access_expiry(&token).await;
                    return Ok(LiveSocket {
                        socket,
                        client: client.clone(),
                        token,
                        renew_at: renew_instant(expires_at),
                        renewing: None,
                        idle,
                        opened: std::time::Instant::now(),
                        auth_sent: None,
                        send_auth: !options.no_auth_messages,
                    });
                }
                Err(tungstenite::Error::Http(response)) if response.status() == 401 && attempt == 0 => {
                    // Maybe our clock thinks the token is fresher than it is: an
                    // authenticated request refreshes it (or says the session ended).
                    client.me().await?;
                }
                Err(tungstenite::Error::Http(response)) if response.status() == 429 => {
                    return Err(ClientError::TooManyLive)
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

    /// How long this socket has been open.
    pub fn age(&self) -> Duration {
        self.opened.elapsed()
    }

    /// The next event, or how the socket ended. Cancel-safe: a token
    /// renewal in progress goes on in its own task and is picked up by the
    /// next call.
    pub async fn next(&mut self) -> std::result::Result<Event, LiveEnd> {
        loop {
            let renew_at = self.renew_at;
            let wants_renewal = self.send_auth && self.renewing.is_none();
            let (renewing, socket, idle) = (&mut self.renewing, &mut self.socket, self.idle);
            let renewal = async {
                match renewing.as_mut() {
                    Some(handle) => handle.await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = tokio::time::sleep_until(renew_at), if wants_renewal => {
                    let (client, stale) = (self.client.clone(), self.token.clone());
                    self.renewing = Some(tokio::spawn(async move {
                        let token = client.renewed_access_token(&stale).await?;
                        let expires_at = client.access_expiry(&token).await;
                        Ok((token, expires_at))
                    }));
                }
                renewed = renewal => {
                    self.renewing = None;
                    match renewed {
                        Ok(Ok((token, expires_at))) => self.authenticate(token, expires_at).await?,
                        Ok(Err(e @ (ClientError::SessionExpired | ClientError::NotLoggedIn))) => {
                            return Err(LiveEnd::Failed(e))
                        }
                        // Offline for a moment: try again; the server says 4002 if too late.
                        Ok(Err(_)) | Err(_) => self.renew_at = Instant::now() + RENEW_RETRY,
                    }
                }
                message = tokio::time::timeout(idle, socket.next()) => {
                    if let Some(event) = self.received(message)? {
                        return Ok(event);
                    }
                }
            }
        }
    }

    /// Sends `token` as the socket's new credential.
    async fn authenticate(
        &mut self,
        token: String,
        expires_at: Option<i64>,
    ) -> std::result::Result<(), LiveEnd> {
        let text = serde_json::json!({"type": "auth", "access_token": token}).to_string();
        if let Err(e) = self.socket.send(Message::text(text)).await {
            return Err(self.lost(e.to_string()));
        }
        self.token = token;
        self.renew_at = renew_instant(expires_at);
        self.auth_sent = Some(Instant::now());
        Ok(())
    }

    /// One read from the socket: an event, nothing of interest, or the end.
    fn received(
        &mut self,
        message: std::result::Result<Option<tungstenite::Result<Message>>, tokio::time::error::Elapsed>,
    ) -> std::result::Result<Option<Event>, LiveEnd> {
        match message {
            Err(_) => Err(self.lost(format!("nothing heard for {} s", self.idle.as_secs()))),
            Ok(None) => Err(self.lost("connection closed".into())),
            Ok(Some(Err(e))) => Err(self.lost(e.to_string())),
            // Events this client does not know yet are skipped.
            Ok(Some(Ok(Message::Text(text)))) => Ok(serde_json::from_str::<Event>(text.as_str()).ok()),
            Ok(Some(Ok(Message::Close(frame)))) => {
                let code = frame.as_ref().map(|f| u16::from(f.code)).unwrap_or(1005);
                Err(match code {
                    4001 => LiveEnd::Failed(ClientError::SessionExpired),
                    4002 => LiveEnd::TokenExpired,
                    4000 => LiveEnd::Behind,
                    4029 => LiveEnd::Failed(ClientError::TooManyLive),
                    1008 if self.auth_sent.is_some_and(|at| at.elapsed() < Duration::from_secs(10)) => {
                        // An older server: it takes no auth message, and needs none.
                        self.send_auth = false;
                        LiveEnd::Failed(ClientError::LiveAuthUnsupported)
                    }
                    _ => self.lost(format!("closed by the server ({code})")),
                })
            }
            Ok(Some(Ok(_))) => Ok(None), // pings are answered by tungstenite
        }
    }

    fn lost(&self, why: String) -> LiveEnd {
        LiveEnd::Failed(ClientError::Interrupted(format!("live events: {why} after {:?}", self.age())))
    }

    /// Closes the socket politely (bounded: the server may be gone).
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), self.socket.close(None)).await;
    }
}

/// The delay before reconnecting after `end`, given the usual `backoff`:
/// none after a routine 4002/4000 (unless the socket died young, which
/// would otherwise loop), long with jitter after 4029.
pub fn reconnect_delay(end: &LiveEnd, age: Duration, backoff: &mut crate::sync::Backoff) -> Duration {
    match end {
        LiveEnd::TokenExpired | LiveEnd::Behind if age >= Duration::from_secs(5) => Duration::ZERO,
        LiveEnd::Failed(ClientError::LiveAuthUnsupported) => Duration::ZERO,
        LiveEnd::Failed(ClientError::TooManyLive) => too_many_delay(),
        _ => backoff.next_delay(),
    }
}

/// 30 to 60 s: every device of the account was refused at once; they
/// should not all come back in the same instant.
pub fn too_many_delay() -> Duration {
    TOO_MANY_MIN_DELAY + TOO_MANY_MIN_DELAY.mul_f64(crate::sync::random_fraction())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_tokens_go_out_well_before_expiry() {
        assert_eq!(renew_delay(Duration::from_secs(900)), Duration::from_secs(720));
        assert_eq!(renew_delay(Duration::from_secs(30)), Duration::from_secs(20));
        // Too short for 10 s of margin: half-way, never a tight loop.
        assert_eq!(renew_delay(Duration::from_secs(10)), Duration::from_secs(5));
        assert_eq!(renew_delay(Duration::from_secs(2)), Duration::from_secs(1));
        assert_eq!(renew_delay(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn reconnect_delays_by_how_the_socket_ended() {
        let mut backoff = crate::sync::Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
        let old = Duration::from_secs(60);
        assert_eq!(reconnect_delay(&LiveEnd::TokenExpired, old, &mut backoff), Duration::ZERO);
        assert_eq!(reconnect_delay(&LiveEnd::Behind, old, &mut backoff), Duration::ZERO);
        let young = reconnect_delay(&LiveEnd::TokenExpired, Duration::from_secs(1), &mut backoff);
        assert!(young > Duration::ZERO && young <= Duration::from_millis(500));
        for _ in 0..20 {
            let too_many = LiveEnd::Failed(ClientError::TooManyLive);
            let delay = reconnect_delay(&too_many, old, &mut backoff);
            assert!(delay >= Duration::from_secs(30) && delay <= Duration::from_secs(60), "{delay:?}");
        }
        assert!(ClientError::TooManyLive.to_string().contains("too many devices connected live"));
    }
}
