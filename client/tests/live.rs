//! Live sockets against a real server over loopback whose access tokens
//! last a few seconds: a socket (and the sync engine on it) outlives many
//! tokens by re-authenticating in-band, and 4029 ("too many live
//! connections for this account") is told apart and waited out.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cloudbuffer_client::live::{reconnect_delay, LiveEnd, LiveOptions, LiveSocket};
use cloudbuffer_client::sync::{Backoff, Connection, MemoryClipboard, SyncEngine};
use cloudbuffer_client::{Client, ClientError};
use cloudbuffer_protocol::Event;
use cloudbuffer_tests::TestServer;

/// Access tokens of this many seconds: the server closes a socket that
/// does not renew in time with 4002.
const TOKEN_SECONDS: u64 = 3;

async fn signed_in(server: &TestServer, password: &str, device: &str) -> Client {
    let client = Client::new(&server.url).unwrap();
    client.login("alice", password, device).await.unwrap();
    client
}

#[tokio::test]
async fn a_socket_outlives_its_access_tokens() {
    let server = TestServer::start_with(|s| s.access_token_seconds = Some(TOKEN_SECONDS)).await;
    let password = server.register("alice").await;
    let listener = signed_in(&server, &password, "listener").await;
    let writer = signed_in(&server, &password, "writer").await;
    let mut socket =
        LiveSocket::connect(&listener, Duration::from_secs(30), &LiveOptions::default()).await.unwrap();
    // Three token lifetimes: without renewal it would close with 4002 after one.
    let until = Instant::now() + Duration::from_secs(3 * TOKEN_SECONDS);
    while Instant::now() < until {
        let left = until.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, socket.next()).await {
            Err(_) => break,
            Ok(Ok(_)) => {}
            Ok(Err(end)) => panic!("the socket ended after {:?}: {end:?}", socket.age()),
        }
    }
    // Still authenticated: events keep arriving.
    writer.copy_text("after three tokens").await.unwrap();
    let event = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match socket.next().await {
                Ok(Event::ClipCreated { clip }) => return clip,
                Ok(_) => {}
                Err(end) => panic!("the socket ended: {end:?}"),
            }
        }
    })
    .await
    .expect("the clip arrives");
    assert_eq!(event.preview.as_deref(), Some("after three tokens"));
    socket.close().await;
}

#[tokio::test]
async fn the_sync_engine_stays_on_one_connection_across_tokens() {
    let server = TestServer::start_with(|s| s.access_token_seconds = Some(TOKEN_SECONDS)).await;
    let password = server.register("alice").await;
    let device = signed_in(&server, &password, "engine").await;
    let writer = signed_in(&server, &password, "writer").await;
    let dir = tempfile::tempdir().unwrap();
    let clipboard = Arc::new(MemoryClipboard::new());
    let handle = SyncEngine::builder_shared(device, clipboard.clone())
        .state_dir(dir.path())
        .backoff(Duration::from_millis(100), Duration::from_millis(800))
        .build()
        .unwrap()
        .spawn();
    let connected = handle.wait_for(|s| s.connection == Connection::Connected);
    tokio::time::timeout(Duration::from_secs(10), connected).await.expect("connects");
    tokio::time::sleep(Duration::from_secs(3 * TOKEN_SECONDS)).await;
    writer.copy_text("still live").await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while clipboard.text().as_deref() != Some("still live") {
        assert!(Instant::now() < deadline, "the clip was not applied: {:?}", handle.status().borrow());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = handle.status().borrow().clone();
    assert_eq!(status.connects, 1, "one connection the whole time: {status:?}");
    assert_eq!(status.last_error, None);
    handle.stop().await.unwrap();
}

#[tokio::test]
async fn too_many_live_sockets_are_told_apart_and_waited_out() {
    let server = TestServer::start_with(|s| s.max_event_sockets_per_user = Some(1)).await;
    let password = server.register("alice").await;
    let first = signed_in(&server, &password, "first").await;
    let second = signed_in(&server, &password, "second").await;
    let options = LiveOptions::default();
    let _open = LiveSocket::connect(&first, Duration::from_secs(30), &options).await.unwrap();
    let mut refused = LiveSocket::connect(&second, Duration::from_secs(30), &options).await.unwrap();
    let end = tokio::time::timeout(Duration::from_secs(5), refused.next())
        .await
        .expect("the server closes the extra socket")
        .expect_err("no event on it");
    assert!(matches!(end, LiveEnd::Failed(ClientError::TooManyLive)), "{end:?}");
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
    let delay = reconnect_delay(&end, refused.age(), &mut backoff);
    assert!(delay >= Duration::from_secs(30), "waits long: {delay:?}");
    let LiveEnd::Failed(error) = end else { unreachable!() };
    assert!(error.to_string().contains("too many devices connected live for this account"));

    // The sync engine shows it, and waits rather than hammering the server.
    let dir = tempfile::tempdir().unwrap();
    let handle = SyncEngine::builder_shared(second, Arc::new(MemoryClipboard::new()))
        .state_dir(dir.path())
        .backoff(Duration::from_millis(100), Duration::from_millis(800))
        .build()
        .unwrap()
        .spawn();
    let offline = handle.wait_for(|s| matches!(s.connection, Connection::Offline { .. }));
    let status = tokio::time::timeout(Duration::from_secs(10), offline).await.expect("refused");
    let Connection::Offline { retry_in } = status.connection else { unreachable!() };
    assert!(retry_in >= Duration::from_secs(30), "{retry_in:?}");
    let message = status.last_error.unwrap_or_default();
    assert!(message.contains("too many devices connected live"), "{message}");
    handle.stop().await.unwrap();
}
