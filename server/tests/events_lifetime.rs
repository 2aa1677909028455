//! How long an event WebSocket lives: it closes with 4002 when its access
//! token expires unless the client re-authenticates in-band, with 4001 when
//! the device is signed out by any route (another process changing the
//! password, a revoked device, a Basic password that changed), and with
//! 4029 beyond the per-user socket cap. The `?access_token=` a browser uses
//! never reaches the logs.

mod common;
mod support;

use std::time::{Duration, Instant};

use common::{close_code, next_event, TestServer, TestUser, Ws};
use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

/// Asserts that `ws` stays open (and answers) for `span`.
async fn stays_open(ws: &mut Ws, span: Duration) {
    let deadline = Instant::now() + span;
    while Instant::now() < deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, ws.next()).await {
            Err(_) => return,
            Ok(Some(Ok(Message::Close(frame)))) => panic!("closed early: {frame:?}"),
            Ok(Some(Ok(_))) => continue,
            Ok(other) => panic!("socket ended early: {other:?}"),
        }
    }
}

async fn refresh(server: &TestServer, user: &TestUser) -> Value {
    let response = server
        .request(Method::POST, "/api/v1/auth/refresh")
        .json(&json!({"refresh_token": user.refresh_token}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn send_auth(ws: &mut Ws, token: &str) {
    let message = json!({"type": "auth", "access_token": token}).to_string();
    ws.send(Message::Text(message.into())).await.unwrap();
}

#[tokio::test]
async fn a_socket_closes_with_4002_when_its_token_expires() {
    let server = TestServer::start_with(|s| s.access_token_seconds = Some(2)).await;
    let alice = server.register("alice").await;
    let mut ws = server.events(&alice).await;
    let opened = Instant::now();
    assert_eq!(close_code(&mut ws, Duration::from_secs(6)).await, Some(4002));
    assert!(opened.elapsed() >= Duration::from_millis(500), "closed at expiry, not at once");
}

#[tokio::test]
async fn a_fresh_token_sent_in_band_keeps_the_socket_alive() {
    // Expiry has whole-second resolution: refreshing 1.2 s in is sure to
    // give a later expiry than the first token's.
    let server = TestServer::start_with(|s| s.access_token_seconds = Some(3)).await;
    let mut alice = server.register("alice").await;
    let mut ws = server.events(&alice).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let tokens = refresh(&server, &alice).await;
    alice.access_token = tokens["access_token"].as_str().unwrap().to_string();
    send_auth(&mut ws, &alice.access_token).await;
    // Past the first token's expiry, events still flow.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    server.copy_text(&alice, "still live").await;
    let event = next_event(&mut ws, Duration::from_secs(2)).await.expect("an event after the first expiry");
    assert_eq!(event["type"], "clip.created");
    // The new token runs out too: then the socket closes.
    assert_eq!(close_code(&mut ws, Duration::from_secs(5)).await, Some(4002));
}

#[tokio::test]
async fn in_band_tokens_of_another_device_or_garbage_end_the_socket() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let mut ws = server.events(&alice).await;
    send_auth(&mut ws, &bob.access_token).await;
    assert_eq!(close_code(&mut ws, Duration::from_secs(3)).await, Some(4001));

    let mut ws = server.events(&alice).await;
    send_auth(&mut ws, "not-a-token").await;
    assert_eq!(close_code(&mut ws, Duration::from_secs(3)).await, Some(4001));

    let mut ws = server.events(&alice).await;
    ws.send(Message::Text(r#"{"type":"subscribe"}"#.into())).await.unwrap();
    assert_eq!(close_code(&mut ws, Duration::from_secs(3)).await, Some(1008));
}

#[tokio::test]
async fn a_password_changed_by_another_process_closes_the_socket_at_the_next_ping() {
    let server = TestServer::start_with(|s| s.ws_ping_seconds = Some(1)).await;
    let alice = server.register("alice").await;
    let mut ws = server.events(&alice).await;
    let mut command = support::binary();
    command.args(support::data_dir_args(&server.data_dir())).args(["user", "passwd", "alice"]);
    command.env("CLOUDBUFFER_PASSWORD", "a-brand-new-password");
    let (status, _, stderr) = support::run(&mut command);
    assert!(status.success(), "user passwd: {stderr}");
    assert_eq!(close_code(&mut ws, Duration::from_secs(4)).await, Some(4001));
}

#[tokio::test]
async fn a_basic_auth_socket_closes_when_the_password_changes() {
    let server = TestServer::start_with(|s| s.ws_ping_seconds = Some(1)).await;
    let alice = server.register("alice").await;
    let url = server.events_url();
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(url).unwrap();
    let basic = base64_basic(&alice.username, &alice.password);
    request.headers_mut().insert("authorization", basic.parse().unwrap());
    let mut ws = tokio_tungstenite::connect_async(request).await.unwrap().0;
    stays_open(&mut ws, Duration::from_millis(2500)).await;
    let mut command = support::binary();
    command.args(support::data_dir_args(&server.data_dir())).args(["user", "passwd", "alice"]);
    command.env("CLOUDBUFFER_PASSWORD", "a-brand-new-password");
    assert!(support::run(&mut command).0.success());
    assert_eq!(close_code(&mut ws, Duration::from_secs(4)).await, Some(4001));
}

#[tokio::test]
async fn a_revoked_device_is_closed_at_once() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let phone = sign_in(&server, &alice).await;
    let mut ws = server.events(&phone).await;
    let revoke = server.as_user(&alice, Method::DELETE, &format!("/api/v1/devices/{}", phone.device_id));
    assert!(revoke.send().await.unwrap().status().is_success());
    assert_eq!(close_code(&mut ws, Duration::from_secs(3)).await, Some(4001));
}

#[tokio::test]
async fn sockets_beyond_the_per_user_cap_close_with_4029() {
    let server = TestServer::start_with(|s| s.max_event_sockets_per_user = Some(2)).await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let mut first = server.events(&alice).await;
    let _second = server.events(&alice).await;
    let mut third = server.events(&alice).await;
    assert_eq!(close_code(&mut third, Duration::from_secs(3)).await, Some(4029));
    let mut bobs = server.events(&bob).await;
    stays_open(&mut bobs, Duration::from_millis(300)).await;
    // One leaves: the next one gets in.
    first.close(None).await.unwrap();
    drop(first);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut again = server.events(&alice).await;
    server.copy_text(&alice, "room again").await;
    assert!(next_event(&mut again, Duration::from_secs(2)).await.is_some());
}

#[tokio::test]
async fn the_query_string_token_never_reaches_the_logs() {
    let data = tempfile::tempdir().unwrap();
    let port = support::free_port();
    let mut command = support::binary();
    command.args(support::serve_args(port, data.path())).env("RUST_LOG", "debug");
    let mut server = support::Spawned::start(command, port).await;
    assert_eq!(server.register("logged", "logged-password").await.status(), 201);
    let token = server.token("logged", "logged-password").await;
    let url = format!("ws://{}/api/v1/events?access_token={token}", server.addr);
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("query-token socket");
    ws.close(None).await.unwrap();
    let bad = format!("ws://{}/api/v1/events?page=1&access_token={token}x", server.addr);
    assert!(tokio_tungstenite::connect_async(bad).await.is_err());
    assert!(server.terminate(Duration::from_secs(10)).success());
    let log = server.stderr();
    assert!(log.contains("/api/v1/events"), "requests are logged at debug: {log}");
    assert!(log.contains("access_token=REDACTED"), "{log}");
    let signature = token.rsplit('.').next().unwrap();
    assert!(!log.contains(signature), "the token leaked into the log");
}

/// Another device of `user`: a login with its password.
async fn sign_in(server: &TestServer, user: &TestUser) -> TestUser {
    let body = json!({"username": user.username, "password": user.password, "device_name": "phone"});
    let response = server.request(Method::POST, "/api/v1/auth/login").json(&body).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let tokens: Value = response.json().await.unwrap();
    TestUser {
        access_token: tokens["access_token"].as_str().unwrap().to_string(),
        refresh_token: tokens["refresh_token"].as_str().unwrap().to_string(),
        device_id: tokens["device_id"].as_str().unwrap().to_string(),
        ..user.clone()
    }
}

fn base64_basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}
