//! `GET /api/v1/events`: the live event WebSocket.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use cloudbuffer_protocol::ErrorBody;
use tokio::sync::broadcast::error::RecvError;

use crate::auth::extract::bearer;
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::events;
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
/// (echoed back). Authentication happens before the upgrade.
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
    let receiver = state.events.subscribe(&user.user.id);
    let ping = Duration::from_secs(state.config.ws_ping_seconds);
    let device = user.device_id;
    let shutdown = state.shutdown.clone();
    Ok(upgrade.on_upgrade(move |socket| serve(socket, receiver, ping, device, shutdown)))
}

async fn authenticate(state: &AppState, parts: &mut Parts) -> ApiResult<(AuthUser, Option<String>)> {
    if parts.headers.contains_key(axum::http::header::AUTHORIZATION) {
        return Ok((AuthUser::from_request_parts(parts, state).await?, None));
    }
    let query: Query<HashMap<String, String>> =
        Query::from_request_parts(parts, state).await.unwrap_or_else(|_| Query(HashMap::new()));
    if let Some(token) = query.get("access_token") {
        return Ok((bearer(state, token).await?, None));
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

/// Forwards events until the client leaves, misbehaves or falls behind.
async fn serve(
    mut socket: WebSocket,
    mut receiver: tokio::sync::broadcast::Receiver<events::Message>,
    ping: Duration,
    device: Option<String>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + ping, ping);
    let mut idle_ticks = 0u32;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => {
                close(socket, 1001, "server shutting down").await;
                return;
            }
            event = receiver.recv() => match event {
                Ok(events::Message::SignedOut(signed_out)) => {
                    if device.as_deref() == Some(&*signed_out) {
                        close(socket, 4001, "this device was signed out").await;
                        return;
                    }
                }
                Ok(events::Message::Event(json)) => {
                    let send = socket.send(Message::Text(json.as_ref().into()));
                    if !matches!(tokio::time::timeout(SEND_TIMEOUT, send).await, Ok(Ok(()))) {
                        return;
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::info!(missed, "event client fell behind; disconnecting it");
                    close(socket, 4000, "too slow: reconnect and catch up").await;
                    return;
                }
                Err(RecvError::Closed) => return,
            },
            message = socket.recv() => match message {
                Some(Ok(Message::Pong(_) | Message::Ping(_))) => idle_ticks = 0,
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(Message::Text(_) | Message::Binary(_))) => {
                    close(socket, 1008, "this endpoint only sends").await;
                    return;
                }
            },
            _ = ticker.tick() => {
                // Two pings without any answer: the peer is gone.
                idle_ticks += 1;
                if idle_ticks > 2 {
                    return;
                }
                let send = socket.send(Message::Ping(Default::default()));
                if !matches!(tokio::time::timeout(SEND_TIMEOUT, send).await, Ok(Ok(()))) {
                    return;
                }
            }
        }
    }
}

async fn close(mut socket: WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame { code, reason: reason.into() };
    let _ = tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Close(Some(frame)))).await;
}
