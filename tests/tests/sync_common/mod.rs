//! Shared by the sync tests: devices (signed-in clients with their own
//! state dirs), engines with fast reconnection, and waiting helpers.
#![allow(dead_code)]

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cloudbuffer_client::sync::{Clipboard, Connection, SyncBuilder, SyncEngine, SyncHandle};
use cloudbuffer_client::Client;
use cloudbuffer_tests::TestServer;

/// One signed-in device of `user`, with a state dir for its engine.
pub struct Device {
    pub client: Client,
    pub dir: tempfile::TempDir,
}

impl Device {
    pub async fn login(server: &TestServer, user: &str, password: &str, name: &str) -> Device {
        let client = Client::new(&server.url).unwrap();
        client.login(user, password, name).await.unwrap();
        Device { client, dir: tempfile::tempdir().unwrap() }
    }

    /// An engine builder for this device: state in its dir, quick reconnects.
    pub fn engine(&self, clipboard: Arc<dyn Clipboard>) -> SyncBuilder {
        SyncEngine::builder_shared(self.client.clone(), clipboard)
            .state_dir(self.dir.path().join("state"))
            .backoff(Duration::from_millis(100), Duration::from_millis(800))
    }

    pub fn queue_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("state").join("outbox-queue")
    }
}

/// A server with one user signed in on two devices, A and B.
pub async fn two_devices() -> (TestServer, Device, Device) {
    let server = TestServer::start().await;
    let password = server.register("alice").await;
    let a = Device::login(&server, "alice", &password, "device A").await;
    let b = Device::login(&server, "alice", &password, "device B").await;
    (server, a, b)
}

/// Starts the engine and waits until it is connected.
pub async fn start(builder: SyncBuilder) -> SyncHandle {
    let handle = builder.build().unwrap().spawn();
    let status = tokio::time::timeout(
        Duration::from_secs(10),
        handle.wait_for(|s| s.connection == Connection::Connected),
    )
    .await
    .expect("engine connects within 10 s");
    assert_eq!(status.connection, Connection::Connected, "{status:?}");
    handle
}

/// Polls `check` every 20 ms until it holds, failing after `secs` seconds.
pub async fn eventually<F, Fut>(what: &str, secs: u64, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out after {secs} s waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The texts of the server's clips, newest first (file clips as `file:NAME`).
pub async fn server_clips(client: &Client) -> Vec<String> {
    let mut out = Vec::new();
    for clip in client.clips().await.unwrap() {
        match &clip.file {
            Some(file) => out.push(format!("file:{}", file.name)),
            None => out.push(client.clip_text(&clip.id).await.unwrap()),
        }
    }
    out
}

/// Waits `quiet` and then checks the server holds exactly `expected` clips.
pub async fn assert_quiet_count(client: &Client, quiet: Duration, expected: usize) {
    tokio::time::sleep(quiet).await;
    let clips = server_clips(client).await;
    assert_eq!(clips.len(), expected, "server clips after a quiet period: {clips:?}");
}
