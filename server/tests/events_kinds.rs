//! Live events, continued: every kind of change is announced (shares, clip
//! deletions of each cause), bad tokens are refused in every place a token
//! can be sent, and a device that stops reading costs nobody else.

mod common;

use std::time::{Duration, Instant};

use common::{next_event, wait_for_event, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[tokio::test]
async fn shares_made_and_revoked_are_announced() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let mut ws = server.events(&alice).await;
    let file = server.upload(&alice, "a.txt", "a").await;
    let made: Value = server.share(&alice, json!({"file_id": file["id"]})).await.json().await.unwrap();
    let (created, _) = wait_for_event(&mut ws, "share.created").await;
    assert_eq!(created["share"]["token"], made["token"]);
    assert_eq!(created["share"]["file"]["id"], file["id"]);
    let path = format!("/api/v1/shares/{}", made["token"].as_str().unwrap());
    let revoked = server.as_user(&alice, Method::DELETE, &path).send().await.unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    let (gone, _) = wait_for_event(&mut ws, "share.revoked").await;
    assert_eq!(gone["token"], made["token"]);
}

#[tokio::test]
async fn clips_deleted_cleared_or_pushed_out_of_the_history_are_announced() {
    let server = TestServer::start_with(|s| s.clip_history = Some(2)).await;
    let alice = server.register("alice").await;
    let mut ws = server.events(&alice).await;
    let first = server.copy_text(&alice, "one").await;
    server.copy_text(&alice, "two").await;
    // A third clip pushes the first out of a history of two.
    let third = server.copy_text(&alice, "three").await;
    let (trimmed, _) = wait_for_event(&mut ws, "clip.deleted").await;
    assert_eq!(trimmed["id"], first["id"]);
    let path = format!("/api/v1/buffer/clips/{}", third["id"].as_str().unwrap());
    assert_eq!(
        server.as_user(&alice, Method::DELETE, &path).send().await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    let (deleted, _) = wait_for_event(&mut ws, "clip.deleted").await;
    assert_eq!(deleted["id"], third["id"]);
    let left: Vec<Value> = server.clips(&alice).await;
    assert_eq!(left.len(), 1);
    let cleared = server.as_user(&alice, Method::DELETE, "/api/v1/buffer").send().await.unwrap();
    assert_eq!(cleared.status(), StatusCode::NO_CONTENT);
    let (last, _) = wait_for_event(&mut ws, "clip.deleted").await;
    assert_eq!(last["id"], left[0]["id"]);
}

#[tokio::test]
async fn bad_tokens_are_refused_in_the_header_and_the_subprotocol_too() {
    let server = TestServer::start().await;
    server.register("alice").await;
    for (header, value) in [
        ("authorization", "Bearer garbage".to_string()),
        ("authorization", "Basic YWxpY2U6d3Jvbmc=".to_string()),
        ("sec-websocket-protocol", "bearer.garbage".to_string()),
        ("sec-websocket-protocol", "bearer.".to_string()),
    ] {
        let mut request = server.events_url().into_client_request().unwrap();
        request.headers_mut().insert(header, value.parse().unwrap());
        match tokio_tungstenite::connect_async(request).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{header}: {value}")
            }
            other => panic!("{header}: {value}: expected a refusal before the upgrade, got {other:?}"),
        }
    }
}

/// A device that stops reading (and so answers no pings): another device of
/// the same user still gets every event at once, and the stuck one is cut
/// off after missing its pings (what the kernel buffers for it until then is
/// bounded; it catches up from the history when it reconnects).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_device_that_stops_reading_is_dropped_and_slows_no_one() {
    let server = TestServer::start_with(|s| s.ws_ping_seconds = Some(1)).await;
    let alice = server.register("alice").await;
    let addr: std::net::SocketAddr = server.base.trim_start_matches("http://").parse().unwrap();
    // A small receive window so the server's socket fills up quickly.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stuck = socket.connect(addr).await.unwrap();
    let handshake = format!(
        "GET /api/v1/events?access_token={} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        alice.access_token
    );
    stuck.write_all(handshake.as_bytes()).await.unwrap();
    let mut buffer = vec![0u8; 64 << 10];
    let n = stuck.read(&mut buffer).await.unwrap();
    assert!(String::from_utf8_lossy(&buffer[..n]).starts_with("HTTP/1.1 101"));

    let mut laptop = server.events(&alice).await;
    let filler = "x".repeat(190);
    let mut slowest = Duration::ZERO;
    for i in 0..300 {
        let clip = server.copy_text(&alice, &format!("{i:05} {filler}")).await;
        let sent = Instant::now();
        loop {
            let event = next_event(&mut laptop, Duration::from_secs(5))
                .await
                .expect("the laptop keeps getting events");
            if event["type"] == "clip.created" {
                assert_eq!(event["clip"]["id"], clip["id"]);
                break;
            }
        }
        slowest = slowest.max(sent.elapsed());
    }
    assert!(slowest < Duration::from_secs(1), "the slowest event took {slowest:?}");
    // The stuck device is disconnected: reading what was buffered for it
    // ends in the server closing the connection.
    // Meanwhile the laptop keeps reading, so that it answers its pings (a
    // client that stops reading for longer than the ping timeout is cut
    // off too, which is the point of this test).
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        use futures_util::StreamExt;
        loop {
            tokio::select! {
                read = stuck.read(&mut buffer) => match read {
                    Ok(0) | Err(_) => return,
                    Ok(_) => continue,
                },
                _ = laptop.next() => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the server still holds the stuck connection after 10 s");
    // The laptop, which answers its pings, is still connected.
    let clip = server.copy_text(&alice, "still here").await;
    loop {
        let event =
            next_event(&mut laptop, Duration::from_secs(5)).await.expect("the laptop is still connected");
        if event["type"] == "clip.created" && event["clip"]["id"] == clip["id"] {
            break;
        }
    }
}
