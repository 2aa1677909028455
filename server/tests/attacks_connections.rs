//! Connections as an attacker holds them, over loopback: request heads
//! sent half-way and left hanging, idle keep-alive connections, and one
//! address opening more connections than its share. The server closes
//! what it must and keeps answering everyone else.

mod common;
mod support;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use common::TestServer;
use support::host_of;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// A connection to `server` from the local address `from`.
async fn connect_from(server: &TestServer, from: &str) -> TcpStream {
    let target: SocketAddr = host_of(&server.base).parse().unwrap();
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(from.parse::<IpAddr>().unwrap(), 0)).unwrap();
    socket.connect(target).await.unwrap()
}

/// True if the server closes `stream` (EOF or reset) within `wait`.
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut buffer = [0u8; 1024];
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            // A 408 or similar before closing is fine.
            Ok(Ok(_)) => continue,
        }
    }
}

async fn healthy(server: &TestServer) {
    let response = server.request(reqwest::Method::GET, "/healthz").send().await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn half_sent_request_heads_are_closed_after_the_idle_timeout() {
    let server = TestServer::start_with(|s| s.idle_timeout_seconds = Some(1)).await;
    let mut stalled = Vec::new();
    for i in 0..200 {
        let mut stream = connect_from(&server, "127.0.0.3").await;
        stream
            .write_all(format!("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow-{i}: ").as_bytes())
            .await
            .unwrap();
        stalled.push(stream);
    }
    healthy(&server).await;
    let started = Instant::now();
    for stream in &mut stalled {
        assert!(closed_within(stream, Duration::from_secs(5)).await, "a stalled head stays open");
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    healthy(&server).await;
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed() {
    let server = TestServer::start_with(|s| s.idle_timeout_seconds = Some(1)).await;
    let mut stream = connect_from(&server, "127.0.0.4").await;
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let response = support::read_response(&mut stream).await;
    assert_eq!(response.status, 200);
    assert!(closed_within(&mut stream, Duration::from_secs(4)).await, "an idle connection stays open");
}

#[tokio::test]
async fn one_address_gets_only_its_share_of_connections() {
    let server = TestServer::start_with(|s| s.max_connections_per_address = Some(16)).await;
    let mut held = Vec::new();
    for _ in 0..16 {
        let mut stream = connect_from(&server, "127.0.0.5").await;
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        held.push(stream);
    }
    // Give the server a moment to count them all.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut extra = connect_from(&server, "127.0.0.5").await;
    let _ = extra.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(closed_within(&mut extra, Duration::from_secs(3)).await, "the 17th connection was served");

    // Another address is unaffected, and so is the same one once a slot frees.
    let mut other = connect_from(&server, "127.0.0.6").await;
    other.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    assert_eq!(support::read_response(&mut other).await.status, 200);
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut again = connect_from(&server, "127.0.0.5").await;
    again.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    assert_eq!(support::read_response(&mut again).await.status, 200);

    let metrics =
        server.request(reqwest::Method::GET, "/metrics").send().await.unwrap().text().await.unwrap();
    let refused = metrics
        .lines()
        .find_map(|l| l.strip_prefix("cloudbuffer_connections_refused_total "))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .expect("the refusals are counted");
    assert!(refused >= 1, "{metrics}");
}
