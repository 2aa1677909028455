//! Live events over real WebSocket clients: delivery to all of a user's
//! devices and nobody else's, eviction and expiry notices, authentication
//! before the upgrade, pings, and misbehaving clients.

mod common;

use std::time::Duration;

use common::{next_event, wait_for_event, TestServer};
use futures_util::{SinkExt, StreamExt};
use reqwest::{Method, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clip_reaches_every_device_of_its_user_and_no_one_else() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    // Three ways to authenticate: header, query parameter, subprotocol.
    let mut alice_laptop = server.events(&alice).await;
    let url = format!("{}?access_token={}", server.events_url(), alice.access_token);
    let (mut alice_phone, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let mut request = server.events_url().into_client_request().unwrap();
    let protocol = format!("bearer.{}", bob.access_token);
    request.headers_mut().insert("sec-websocket-protocol", protocol.parse().unwrap());
    let (mut bob_phone, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(response.headers()["sec-websocket-protocol"], protocol.as_str());

    let started = std::time::Instant::now();
    let clip = server.copy_text(&alice, "hello devices").await;
    for ws in [&mut alice_laptop, &mut alice_phone] {
        let (event, _) = wait_for_event(ws, "clip.created").await;
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(event["clip"], clip);
        let (stats, _) = wait_for_event(ws, "stats").await;
        assert_eq!(stats["stats"]["clips"], 1);
    }
    // Bob's first event is his own: Alice's never reached him.
    server.copy_text(&bob, "bob's").await;
    let first = next_event(&mut bob_phone, Duration::from_secs(5)).await.unwrap();
    assert_eq!(first["type"], "clip.created");
    assert_eq!(first["clip"]["preview"], "bob's");
    assert_eq!(next_event(&mut alice_laptop, Duration::from_millis(200)).await, None);
}

#[tokio::test]
async fn file_changes_and_evictions_are_announced_with_their_reason() {
    let server = TestServer::start_with(|s| s.max_files = Some(1)).await;
    let alice = server.register("alice").await;
    let mut ws = server.events(&alice).await;
    let first = server.upload(&alice, "one.txt", "one").await;
    let (created, _) = wait_for_event(&mut ws, "file.created").await;
    assert_eq!(created["file"], first);
    server.upload(&alice, "two.txt", "two").await;
    let (deleted, skipped) = wait_for_event(&mut ws, "file.deleted").await;
    assert_eq!(deleted["id"], first["id"]);
    assert_eq!(deleted["reason"], "evicted");
    assert!(skipped.iter().any(|e| e["type"] == "file.created"));
    let second = server.files(&alice).await.remove(0);
    server
        .as_user(&alice, Method::DELETE, &format!("/api/v1/files/{}", second["id"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    let (deleted, _) = wait_for_event(&mut ws, "file.deleted").await;
    assert_eq!((deleted["id"].clone(), deleted["reason"].clone()), (second["id"].clone(), "deleted".into()));
}

#[tokio::test]
async fn expiry_purges_are_announced() {
    let server = TestServer::start_with(|s| {
        s.expiry_seconds = Some(1);
        s.sweep_interval_seconds = Some(1);
    })
    .await;
    let alice = server.register("alice").await;
    let mut ws = server.events(&alice).await;
    let file = server.upload(&alice, "soon.txt", "soon").await;
    let clip = server.copy_text(&alice, "soon too").await;
    let (deleted, _) = wait_for_event(&mut ws, "file.deleted").await;
    assert_eq!((deleted["id"].clone(), deleted["reason"].clone()), (file["id"].clone(), "expired".into()));
    let (gone, _) = wait_for_event(&mut ws, "clip.deleted").await;
    assert_eq!(gone["id"], clip["id"]);
}

#[tokio::test]
async fn connections_without_a_valid_token_are_refused_before_the_upgrade() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let secret = server.jwt_secret().await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = serde_json::json!({"sub": "x", "did": alice.device_id, "iat": now - 100, "exp": now - 50});
    let expired = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.trim().as_bytes()),
    )
    .unwrap();
    for query in ["".to_string(), "?access_token=garbage".into(), format!("?access_token={expired}")] {
        let error =
            tokio_tungstenite::connect_async(format!("{}{query}", server.events_url())).await.unwrap_err();
        match error {
            tokio_tungstenite::tungstenite::Error::Http(response) => {
                assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{query}")
            }
            other => panic!("expected an HTTP refusal, got {other}"),
        }
    }
    // A plain GET with a valid token is told to use a WebSocket.
    let plain = server.as_user(&alice, Method::GET, "/api/v1/events").send().await.unwrap();
    assert_eq!(plain.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn idle_connections_are_pinged() {
    let server = TestServer::start_with(|s| s.ws_ping_seconds = Some(1)).await;
    let alice = server.register("alice").await;
    let mut ws = server.events(&alice).await;
    let message = tokio::time::timeout(Duration::from_secs(3), ws.next()).await.expect("a ping within 3 s");
    assert!(matches!(message, Some(Ok(Message::Ping(_)))), "{message:?}");
}

#[tokio::test]
async fn a_client_sending_data_is_closed_and_the_server_is_fine() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let mut ws = server.events(&alice).await;
    ws.send(Message::Text("hello?".into())).await.unwrap();
    let message = tokio::time::timeout(Duration::from_secs(3), ws.next()).await.unwrap();
    match message {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 1008),
        other => panic!("expected a close frame, got {other:?}"),
    }
    assert_eq!(server.request(Method::GET, "/healthz").send().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn garbage_frames_end_the_connection_and_the_server_is_fine() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let addr = server.base.trim_start_matches("http://").to_string();
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let handshake = format!(
        "GET /api/v1/events?access_token={} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        alice.access_token
    );
    tcp.write_all(handshake.as_bytes()).await.unwrap();
    let mut buffer = vec![0u8; 1024];
    let n = tcp.read(&mut buffer).await.unwrap();
    assert!(String::from_utf8_lossy(&buffer[..n]).starts_with("HTTP/1.1 101"));
    // An unmasked frame with a reserved opcode and a bogus length.
    tcp.write_all(&[0x8b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3]).await.unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            match tcp.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the server closes the connection");
    assert_eq!(server.request(Method::GET, "/healthz").send().await.unwrap().status(), StatusCode::OK);
    let mut ws = server.events(&alice).await;
    server.copy_text(&alice, "still working").await;
    wait_for_event(&mut ws, "clip.created").await;
}

#[tokio::test]
async fn signing_a_device_out_closes_its_connections_only() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let phone: serde_json::Value = server
        .request(Method::POST, "/api/v1/auth/login")
        .json(&serde_json::json!({"username": "alice", "password": alice.password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = format!("{}?access_token={}", server.events_url(), phone["access_token"].as_str().unwrap());
    let (mut phone_ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let mut laptop_ws = server.events(&alice).await;
    let path = format!("/api/v1/devices/{}", phone["device_id"].as_str().unwrap());
    assert_eq!(
        server.as_user(&alice, Method::DELETE, &path).send().await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    match tokio::time::timeout(Duration::from_secs(3), phone_ws.next()).await.unwrap() {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 4001),
        other => panic!("expected a close frame, got {other:?}"),
    }
    server.copy_text(&alice, "laptop still listens").await;
    wait_for_event(&mut laptop_ws, "clip.created").await;
}

#[tokio::test]
async fn shutting_down_closes_event_connections_with_going_away() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let mut ws = server.events(&alice).await;
    let stopping = tokio::spawn(server.stop());
    match tokio::time::timeout(Duration::from_secs(3), ws.next()).await.unwrap() {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 1001),
        other => panic!("expected a close frame, got {other:?}"),
    }
    tokio::time::timeout(Duration::from_secs(5), stopping).await.expect("stops promptly").unwrap();
}
