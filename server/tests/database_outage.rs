//! The database going away under traffic, and coming back: requests get
//! 503 `unavailable` with Retry-After (never a panic, never a half-recorded
//! file), `/healthz` says which part is down, and the server recovers by
//! itself, its event relay included. The server reaches the real PostgreSQL
//! through a TCP relay in this test that can cut every connection and
//! refuse new ones, as a database restart or a network partition does.
//! Needs `CLOUDBUFFER_TEST_DATABASE_URL`; skipped (with a note) on SQLite.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{testdb, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A TCP relay to the database that can be switched off.
struct Switch {
    port: u16,
    up: Arc<AtomicBool>,
    /// Bumped to cut every open connection.
    cut: watch::Sender<u64>,
}

impl Switch {
    async fn start(target: String) -> Switch {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let (cut, _) = watch::channel(0u64);
        let (is_up, cuts) = (up.clone(), cut.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else { return };
                if !is_up.load(Ordering::SeqCst) {
                    continue; // dropped: connection closed at once
                }
                let target = target.clone();
                let mut cut = cuts.subscribe();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&target).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Switch { port, up, cut }
    }

    fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
    }

    fn up(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// `postgres://user@host:port/db` → (`host:port`, the URL with `port` instead).
fn through(url: &str, port: u16) -> (String, String) {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap();
    let (user, host) = authority.rsplit_once('@').map_or(("", authority), |(u, h)| (u, h));
    let at = if user.is_empty() { String::new() } else { format!("{user}@") };
    (host.to_string(), format!("{scheme}://{at}127.0.0.1:{port}/{path}"))
}

async fn get_status(server: &TestServer, user: &common::TestUser, path: &str) -> StatusCode {
    server.as_user(user, Method::GET, path).send().await.unwrap().status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_is_503_loses_nothing_and_heals_by_itself() {
    if !testdb::is_postgres() {
        eprintln!("skipped: needs PostgreSQL ({} unset)", testdb::ENV);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let direct = testdb::database_url(dir.path()).unwrap();
    let (target, _) = through(&direct, 0);
    let switch = Switch::start(target).await;
    let (_, proxied) = through(&direct, switch.port);
    let server = TestServer::start_in(dir, |s| s.database_url = Some(proxied)).await;
    let alice = server.register("alice").await;
    let kept = server.upload(&alice, "kept.txt", "kept through the outage").await;
    let mut socket = server.events(&alice).await;
    let blobs_before = server.stored_blobs();

    // An upload whose first half arrives before the outage, the rest after.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let body = reqwest::Body::wrap_stream(tokio_stream_from(rx));
    let upload = server.as_user(&alice, Method::PUT, "/api/v1/files/cut.bin").body(body).send();
    let upload = tokio::spawn(upload);
    tx.send(Ok(vec![1u8; 256 << 10])).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    switch.down();
    tx.send(Ok(vec![2u8; 256 << 10])).await.unwrap();
    drop(tx);
    let response = upload.await.unwrap().unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "5");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
    assert_eq!(server.pending_uploads(), 0, "no temp file left");
    if !testdb::is_s3() {
        assert_eq!(server.stored_blobs(), blobs_before, "no blob placed for an unrecorded file");
    }

    let me = server.as_user(&alice, Method::GET, "/api/v1/me").send().await.unwrap();
    assert_eq!(me.status(), StatusCode::SERVICE_UNAVAILABLE);
    let health = server.request(Method::GET, "/healthz").send().await.unwrap();
    assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE);
    let health: Value = health.json().await.unwrap();
    assert_eq!(health["database"]["status"], "unavailable");
    assert_eq!(health["store"]["status"], "ok");

    // Back: the server heals without a restart.
    switch.up();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while get_status(&server, &alice, "/api/v1/me").await != StatusCode::OK {
        assert!(tokio::time::Instant::now() < deadline, "no recovery within 15 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let files = server.files(&alice).await;
    assert_eq!(files.len(), 1, "the cut upload was not recorded: {files:?}");
    assert_eq!(files[0]["id"], kept["id"]);
    if testdb::is_s3() {
        // In a bucket the upload was put at its address before the row (the
        // copy must not hold the write lock); with the database gone it
        // could not be released, and stays, unreferenced, for the orphan
        // sweep, here without waiting for the grace period.
        let known = server.state.db.all_blob_hashes().await.unwrap().into_iter().collect();
        server.state.store.sweep_orphans(known, Duration::ZERO).await.unwrap();
        assert_eq!(server.stored_blobs(), blobs_before, "only referenced blobs are left");
    }
    server.upload(&alice, "after.txt", "after the outage").await;
    // The event relay lost its connection too: once it is back, sockets are
    // told to catch up (4000) on what they may have missed.
    let closed = common::close_code(&mut socket, Duration::from_secs(15)).await;
    assert_eq!(closed, Some(4000));
    let metrics = server.request(Method::GET, "/metrics").send().await.unwrap().text().await.unwrap();
    let reconnects = metrics
        .lines()
        .find_map(|l| l.strip_prefix("cloudbuffer_relay_reconnects_total "))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap();
    assert!(reconnects >= 1, "{metrics}");
}

/// A stream of the chunks sent on `rx`.
fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
