//! Harness for end-to-end tests: a real server on a loopback port over a
//! real SQLite file, which can be stopped and started again on the same
//! address (to test reconnection), plus helpers to create accounts, and
//! a headless Chromium over WebDriver for the web app ([`browser`]).

pub mod browser;
pub mod secrets;
pub mod web_app;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub use cloudbuffer_server::config::Settings;
use cloudbuffer_server::{launch_with_tcp_listener, AppState};
use tokio::sync::oneshot;

/// A running (or stopped) server with its data dir.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The listening address (kept across restarts).
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
    settings: Settings,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    /// Starts a server on a random port.
    pub async fn start() -> TestServer {
        TestServer::start_with(|_| {}).await
    }

    /// Starts a server on a random port with settings changed by
    /// `configure` (kept across restarts).
    pub async fn start_with(configure: impl FnOnce(&mut Settings)) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let url = format!("http://{addr}");
        let mut settings = Settings {
            data_dir: Some(dir.path().to_path_buf()),
            public_url: Some(url.clone()),
            auth_attempts_per_minute: Some(10_000),
            ws_ping_seconds: Some(5),
            ..Settings::default()
        };
        configure(&mut settings);
        let mut server = TestServer { url, addr, dir, settings, stop: None, task: None };
        server.serve(listener).await;
        server
    }

    async fn serve(&mut self, listener: tokio::net::TcpListener) {
        let settings = self.settings.clone();
        let state = AppState::open(settings.resolve().expect("settings")).await.expect("server opens");
        let (stop, stopped) = oneshot::channel::<()>();
        self.stop = Some(stop);
        self.task = Some(tokio::spawn(launch_with_tcp_listener(state, listener, async {
            let _ = stopped.await;
        })));
    }

    /// Stops the server (connections are closed; data stays).
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            // Open WebSockets keep graceful shutdown waiting: don't wait forever.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), task).await;
        }
    }

    /// Starts it again on the same address and data.
    pub async fn restart(&mut self) {
        self.stop().await;
        let listener = loop {
            match tokio::net::TcpListener::bind(self.addr).await {
                Ok(listener) => break listener,
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            }
        };
        self.serve(listener).await;
    }

    /// The data directory.
    pub fn data_dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Registers `username` with password `password-of-<username>`.
    pub async fn register(&self, username: &str) -> String {
        let password = format!("password-of-{username}");
        let response = reqwest::Client::new()
            .post(format!("{}/api/v1/auth/register", self.url))
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .await
            .expect("register");
        assert_eq!(response.status(), 201, "register {username}");
        password
    }
}

/// The `cloudbuffer` binary of the client package, built once per test
/// process into the target dir and profile the calling test runs from (a
/// binary of another package gets no `CARGO_BIN_EXE_*`, and `cargo test`
/// does not build it on its own).
pub fn cloudbuffer_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        // The test executable is <target>/<profile dir>/deps/NAME-HASH.
        let exe = std::env::current_exe().expect("test executable path");
        let profile_dir = exe.parent().and_then(Path::parent).expect("<target>/<profile>").to_path_buf();
        let target_dir = profile_dir.parent().expect("target dir").to_path_buf();
        let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") | None => "dev".to_string(),
            Some(name) => name.to_string(),
        };
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root");
        let status = std::process::Command::new(cargo)
            .current_dir(workspace)
            .args(["build", "--quiet", "-p", "cloudbuffer-client", "--bin", "cloudbuffer", "--profile"])
            .arg(&profile)
            .arg("--target-dir")
            .arg(&target_dir)
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the cloudbuffer binary failed");
        let bin = profile_dir.join(format!("cloudbuffer{}", std::env::consts::EXE_SUFFIX));
        assert!(bin.exists(), "{} was not built", bin.display());
        bin
    })
}
