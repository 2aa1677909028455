//! `GET /api/v1/events`: the live event WebSocket.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use cloudbuffer_protocol::ErrorBody;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::broadcast::Receiver;
use tokio::time::Instant;

use crate::auth::extract::bearer;
use crate::auth::{query_token, AuthUser};
use crate::db::now_ms;
use crate::error::{ApiError, ApiResult};
use crate::hub;
use crate::state::AppState;

/// A send that takes longer means the client is not reading: drop it.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Clients send nothing but control frames; keep their buffers tiny so
/// thousands of idle connections stay cheap.
const CLIENT_MESSAGE_LIMIT: usize = 4096;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/events", get(connect))
}

/// Live events of the signed-in user, one JSON text message per event.
/// The access token may come as `Authorization`, as the `access_token`
/// query parameter, or as a `Sec-WebSocket-Protocol` value `bearer.<token>`
/// (echoed back). Authentication happens before the upgrade; the session is
/// checked again on every ping. A Bearer socket closes with 4002 when its
/// token expires unless the client sends `{"type":"auth","access_token":…}`
/// with a fresh token of the same device first. Beyond
/// `max_event_sockets_per_user` sockets, a new one closes with 4029.
#[utoipa::path(get, path = "/api/v1/events", tag = "events",
    params(("access_token" = Option<String>, Query, description = "access token, for browsers")),
    responses((status = 101, description = "WebSocket of events"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn connect(State(state): State<AppState>, request: Request) -> ApiResult<Response> {
    // The parts are moved, not cloned, so the upgrade handle comes along.
    let (mut parts, _body) = request.into_parts();
    let (user, protocol) = authenticate(&state, &mut parts).await?;
    let upgrade = WebSocketUpgrade::from_request_parts(&mut parts, &state).await.map_err(|rejection| {
        ApiError::bad_request(
            "websocket_required",
            format!("connect with a WebSocket: {}", rejection.body_text()),
        )
    })?;
    let mut upgrade = upgrade
        .read_buffer_size(CLIENT_MESSAGE_LIMIT)
        .write_buffer_size(0)
        .max_message_size(CLIENT_MESSAGE_LIMIT)
        .max_frame_size(CLIENT_MESSAGE_LIMIT);
    if let Some(protocol) = protocol {
        upgrade = upgrade.protocols([protocol]);
    }
    let Some(receiver) = state.events.subscribe(&user.user.id, state.config.max_event_sockets_per_user)
    else {
        return Ok(
            upgrade.on_upgrade(|socket| close(socket, 4029, "too many live connections for this account"))
        );
    };
    let live = Live { deadline: user.expires_at.map(instant_at), state, user, receiver };
    Ok(upgrade.on_upgrade(move |socket| live.serve(socket)))
}

async fn authenticate(state: &AppState, parts: &mut Parts) -> ApiResult<(AuthUser, Option<String>)> {
    // The header, or `?access_token=` (which `AuthUser` takes on reads).
    if parts.headers.contains_key(axum::http::header::AUTHORIZATION)
        || query_token(parts.uri.query()).is_some()
    {
        return Ok((AuthUser::from_request_parts(parts, state).await?, None));
    }
    let offered = parts
        .headers
        .get_all(axum::http::header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .find(|p| p.starts_with("bearer."));
    if let Some(protocol) = offered {
        let user = bearer(state, &protocol["bearer.".len()..]).await?;
        return Ok((user, Some(protocol.to_string())));
    }
    Err(ApiError::unauthorized(
        "missing_credentials",
        "send the access token as Authorization, ?access_token= or Sec-WebSocket-Protocol: bearer.<token>",
    ))
}

/// What a client may send on the socket besides control frames.
#[derive(Deserialize)]
#[serde(tag = "type")]
enum ClientMessage {
    /// A fresh access token of the same device: the socket lives on.
    #[serde(rename = "auth")]
    Auth { access_token: String },
}

/// Why a socket ends.
struct Close(u16, &'static str);

/// One event socket: whose it is and until when its token holds.
struct Live {
    state: AppState,
    user: AuthUser,
    receiver: Receiver<hub::Message>,
    /// When the access token expires; None for HTTP Basic, whose password
    /// is checked again on every ping instead.
    deadline: Option<Instant>,
}

impl Live {
    /// Forwards events until the client leaves, misbehaves, falls behind or
    /// its session ends.
    async fn serve(mut self, mut socket: WebSocket) {
        let ping = Duration::from_secs(self.state.config.ws_ping_seconds);
        let mut ticker = tokio::time::interval_at(Instant::now() + ping, ping);
        let shutdown = self.state.shutdown.clone();
        let mut idle_ticks = 0u32;
        let outcome = loop {
            let expiry = async {
                match self.deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => break Some(Close(1001, "server shutting down")),
                _ = expiry => break Some(Close(4002, "access token expired: refresh it and reconnect")),
                event = self.receiver.recv() => match event {
                    Ok(hub::Message::SignedOut(device)) => {
                        if self.user.device_id.as_deref() == Some(&*device) {
                            break Some(Close(4001, "this device was signed out"));
                        }
                    }
                    Ok(hub::Message::Event(json)) => {
                        if !send(&mut socket, Message::Text(json.as_ref().into())).await {
                            break None;
                        }
                    }
                    Ok(hub::Message::Resync) => {
                        break Some(Close(4000, "events were missed: reconnect and catch up"));
                    }
                    Err(RecvError::Lagged(missed)) => {
                        tracing::info!(missed, "event client fell behind; disconnecting it");
                        break Some(Close(4000, "too slow: reconnect and catch up"));
                    }
                    Err(RecvError::Closed) => break None,
                },
                message = socket.recv() => match message {
                    Some(Ok(Message::Pong(_) | Message::Ping(_))) => idle_ticks = 0,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break None,
                    Some(Ok(Message::Text(text))) => {
                        idle_ticks = 0;
                        if let Err(close) = self.reauthenticate(&text).await {
                            break Some(close);
                        }
                    }
                    Some(Ok(Message::Binary(_))) => break Some(Close(1008, "this endpoint only sends")),
                },
                _ = ticker.tick() => {
                    // Two pings without any answer: the peer is gone.
                    idle_ticks += 1;
                    if idle_ticks > 2 {
                        break None;
                    }
                    if !self.still_signed_in().await {
                        break Some(Close(4001, "this device was signed out"));
                    }
                    if !send(&mut socket, Message::Ping(Default::default())).await {
                        break None;
                    }
                }
            }
        };
        if let Some(Close(code, reason)) = outcome {
            close(socket, code, reason).await;
        }
    }

    /// An in-band `auth` message: a valid token of the same user and device
    /// moves the deadline; anything else ends the socket.
    async fn reauthenticate(&mut self, text: &str) -> Result<(), Close> {
        let Ok(ClientMessage::Auth { access_token }) = serde_json::from_str(text) else {
            return Err(Close(1008, "the only message accepted is {\"type\":\"auth\",\"access_token\":…}"));
        };
        match bearer(&self.state, &access_token).await {
            Ok(fresh)
                if self.user.device_id.is_some()
                    && fresh.user.id == self.user.user.id
                    && fresh.device_id == self.user.device_id =>
            {
                self.deadline = fresh.expires_at.map(instant_at);
                Ok(())
            }
            _ => Err(Close(4001, "the token sent is not valid for this connection")),
        }
    }

    /// Whether the device still exists (Bearer) or the password is
    /// unchanged (Basic). A database error keeps the socket: it is checked
    /// again at the next ping.
    async fn still_signed_in(&self) -> bool {
        let user_id = &self.user.user.id;
        match &self.user.device_id {
            Some(device) => {
                !matches!(self.state.db.session(device, user_id, crate::db::Along::Nothing).await, Ok(None))
            }
            None => match self.state.db.user_by_id(user_id).await {
                Ok(Some(user)) => user.password_hash == self.user.user.password_hash,
                Ok(None) => false,
                Err(_) => true,
            },
        }
    }
}

/// The tokio instant of a Unix time in seconds.
fn instant_at(unix_secs: i64) -> Instant {
    let left_ms = (unix_secs * 1000 - now_ms()).max(0) as u64;
    Instant::now() + Duration::from_millis(left_ms)
}

/// Sends one message; false if the client is gone or not reading.
async fn send(socket: &mut WebSocket, message: Message) -> bool {
    matches!(tokio::time::timeout(SEND_TIMEOUT, socket.send(message)).await, Ok(Ok(())))
}

async fn close(mut socket: WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame { code, reason: reason.into() };
    let _ = tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Close(Some(frame)))).await;
}
