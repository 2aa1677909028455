//! The test harness: one real server per test, on a random loopback port,
//! over a real SQLite file in its own temp dir (or a PostgreSQL database of
//! its own, see `testdb`); helpers to sign up and to make requests.
#![allow(dead_code)]

use std::path::PathBuf;

use cloudbuffer_server::config::Settings;
use cloudbuffer_server::store::BlobStore;
use cloudbuffer_server::{launch_with_tcp_listener, AppState};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::Value;
use tokio::sync::oneshot;

// Test files that use both `common` and `support` load it twice; it holds
// no state, so the two copies agree.
#[allow(clippy::duplicate_mod)]
#[path = "../testdb/mod.rs"]
pub mod testdb;

/// A running server.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The server's state, for calling logic directly (e.g. the sweeper).
    pub state: AppState,
    /// An HTTP client.
    pub http: reqwest::Client,
    dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// A signed-up user with a fresh token pair.
#[derive(Clone, Debug)]
pub struct TestUser {
    pub username: String,
    pub password: String,
    pub access_token: String,
    pub refresh_token: String,
    pub device_id: String,
}

impl TestServer {
    /// A server with default settings (and a relaxed auth rate limit).
    pub async fn start() -> TestServer {
        TestServer::start_with(|_| {}).await
    }

    /// A server whose settings `adjust` may change.
    pub async fn start_with(adjust: impl FnOnce(&mut Settings)) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        TestServer::start_in(dir, adjust).await
    }

    /// A server over an existing data dir (for restarts).
    pub async fn start_in(dir: tempfile::TempDir, adjust: impl FnOnce(&mut Settings)) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let mut settings = Settings {
            data_dir: Some(dir.path().to_path_buf()),
            public_url: Some(format!("http://{addr}")),
            auth_attempts_per_minute: Some(10_000),
            database_url: testdb::database_url(dir.path()),
            ..Settings::default()
        };
        (settings.store_url, settings.s3_endpoint) = testdb::store_settings(dir.path());
        adjust(&mut settings);
        TestServer::launch(settings, listener, dir).await
    }

    /// Another instance on the same PostgreSQL database, as a second
    /// process behind a load balancer would be: on the same store when
    /// `share_store` (blobs in one place, as S3 will give), else on a data
    /// dir of its own. Panics on SQLite: check `testdb::is_postgres()`.
    pub async fn start_sibling(&self, share_store: bool, adjust: impl FnOnce(&mut Settings)) -> TestServer {
        let url = testdb::database_url(self.dir.path()).expect("siblings need PostgreSQL");
        let own = tempfile::tempdir().expect("temp dir");
        let data_dir = if share_store { self.dir.path().to_path_buf() } else { own.path().to_path_buf() };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let mut settings = Settings {
            data_dir: Some(data_dir.clone()),
            public_url: Some(format!("http://{addr}")),
            auth_attempts_per_minute: Some(10_000),
            database_url: Some(url),
            ..Settings::default()
        };
        (settings.store_url, settings.s3_endpoint) = testdb::store_settings(&data_dir);
        adjust(&mut settings);
        TestServer::launch(settings, listener, own).await
    }

    async fn launch(
        settings: Settings,
        listener: tokio::net::TcpListener,
        dir: tempfile::TempDir,
    ) -> TestServer {
        let addr = listener.local_addr().expect("local addr");
        let config = settings.resolve().expect("valid settings");
        // The server closes idle connections after its idle timeout; a
        // pooled connection reused just as it does fails the request (the
        // usual keep-alive race, which real clients retry). Tests that set
        // a timeout of seconds open a connection per request instead.
        let http = if config.idle_timeout_seconds < 10 {
            reqwest::Client::builder().pool_max_idle_per_host(0).build().expect("client")
        } else {
            reqwest::Client::new()
        };
        let state = AppState::open(config).await.expect("server opens");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(launch_with_tcp_listener(state.clone(), listener, async {
            let _ = stopped.await;
        }));
        TestServer { base: format!("http://{addr}"), state, http, dir, stop: Some(stop), task: Some(task) }
    }

    /// Stops the server gracefully and hands back its data dir.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server ran");
        }
        let dir = tempfile::tempdir().expect("temp dir");
        std::mem::replace(&mut self.dir, dir)
    }

    /// The server's real signing secret: in the data dir on SQLite, in the
    /// database on PostgreSQL.
    pub async fn jwt_secret(&self) -> String {
        let stored = self.state.db.stored_secret("jwt").await.expect("read secrets");
        let secret = match stored {
            Some(secret) => secret,
            None => std::fs::read_to_string(self.data_dir().join("jwt_secret")).expect("jwt_secret"),
        };
        secret.trim().to_string()
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// `base + path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A request to `path`.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, self.url(path))
    }

    /// A request authenticated as `user` with a Bearer token.
    pub fn as_user(&self, user: &TestUser, method: Method, path: &str) -> RequestBuilder {
        self.request(method, path).bearer_auth(&user.access_token)
    }

    /// Signs `username` in as a new device called `device`.
    pub async fn login(&self, username: &str, password: &str, device: &str) -> TestUser {
        let response = self
            .request(Method::POST, "/api/v1/auth/login")
            .json(&serde_json::json!({"username": username, "password": password, "device_name": device}))
            .send()
            .await
            .expect("login request");
        assert_eq!(response.status(), StatusCode::OK, "login {username}");
        let tokens: Value = response.json().await.expect("tokens");
        TestUser {
            username: username.to_string(),
            password: password.to_string(),
            access_token: tokens["access_token"].as_str().expect("access_token").to_string(),
            refresh_token: tokens["refresh_token"].as_str().expect("refresh_token").to_string(),
            device_id: tokens["device_id"].as_str().expect("device_id").to_string(),
        }
    }

    /// Registers `username` (password `password-of-<username>`).
    pub async fn register(&self, username: &str) -> TestUser {
        let password = format!("password-of-{username}");
        let response = self
            .request(Method::POST, "/api/v1/auth/register")
            .json(&serde_json::json!({"username": username, "password": password, "device_name": "test"}))
            .send()
            .await
            .expect("register request");
        assert_eq!(response.status(), StatusCode::CREATED, "register {username}");
        let tokens: Value = response.json().await.expect("tokens");
        TestUser {
            username: username.to_string(),
            password,
            access_token: tokens["access_token"].as_str().unwrap().to_string(),
            refresh_token: tokens["refresh_token"].as_str().unwrap().to_string(),
            device_id: tokens["device_id"].as_str().unwrap().to_string(),
        }
    }

    /// Uploads `bytes` as `name` with a raw PUT; returns the FileInfo.
    pub async fn upload(&self, user: &TestUser, name: &str, bytes: impl Into<reqwest::Body>) -> Value {
        let response = self
            .as_user(user, Method::PUT, &format!("/api/v1/files/{}", encode_segment(name)))
            .body(bytes)
            .send()
            .await
            .expect("upload request");
        assert_eq!(response.status(), StatusCode::CREATED, "upload {name}");
        response.json().await.expect("file info")
    }

    /// The user's file list.
    pub async fn files(&self, user: &TestUser) -> Vec<Value> {
        let response = self.as_user(user, Method::GET, "/api/v1/files").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// The user's clip history, newest first.
    pub async fn clips(&self, user: &TestUser) -> Vec<Value> {
        let response = self.as_user(user, Method::GET, "/api/v1/buffer/clips").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// Every blob in the server's store (on disk or in its bucket), sorted.
    pub fn stored_blobs(&self) -> Vec<String> {
        let mut blobs = self.query_store(|store| async move { store.blob_hashes().await });
        blobs.sort();
        blobs
    }

    /// Uploads started and not cleaned up: temp files on disk, upload
    /// records in a bucket.
    pub fn pending_uploads(&self) -> usize {
        self.query_store(|store| async move { store.pending_uploads().await })
    }

    /// The first `len` bytes of a blob, read from the store.
    pub fn blob_bytes(&self, hash: &str, len: u64) -> Vec<u8> {
        let hash = hash.to_string();
        self.query_store(move |store| async move {
            use futures_util::TryStreamExt;
            let all = store.read_range(&hash, 0, len).await?;
            let chunks: Vec<bytes::Bytes> = all.try_collect().await?;
            Ok(chunks.concat())
        })
    }

    /// Asks the server's store something from a thread of its own, so sync
    /// helpers (and polling closures) work inside async tests.
    fn query_store<T, F>(&self, ask: impl FnOnce(BlobStore) -> F + Send + 'static) -> T
    where
        T: Send + 'static,
        F: std::future::Future<Output = std::io::Result<T>>,
    {
        let (location, dir) = (self.state.config.store.clone(), self.state.config.data_dir.clone());
        std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async move {
                let store = BlobStore::open(&location, &dir).await.expect("open the store");
                ask(store).await.expect("ask the store")
            })
        })
        .join()
        .expect("store query")
    }
}

/// Percent-encodes one path segment.
pub fn encode_segment(segment: &str) -> String {
    let mut out = String::new();
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Asserts the status and the error code of an error response.
pub async fn expect_error(response: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status, "status for expected error {code}");
    let body: Value = response.json().await.expect("error body is JSON");
    assert_eq!(body["error"]["code"], code, "error body: {body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "message: {body}");
    body
}

/// BLAKE3 of bytes, hex.
pub fn blake3_hex(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// Deterministic pseudo-random bytes (distinct per seed, so no dedup).
pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407) | 1;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A WebSocket client connection.
pub type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

impl TestServer {
    /// The events URL (`ws://…/api/v1/events`).
    pub fn events_url(&self) -> String {
        format!("{}/api/v1/events", self.base.replacen("http", "ws", 1))
    }

    /// Connects to the event stream with an Authorization header.
    pub async fn events(&self, user: &TestUser) -> Ws {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = self.events_url().into_client_request().unwrap();
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {}", user.access_token).parse().unwrap());
        tokio_tungstenite::connect_async(request).await.expect("websocket connects").0
    }
}

/// The next JSON event on `ws` (pings skipped), or None after `wait`.
pub async fn next_event(ws: &mut Ws, wait: std::time::Duration) -> Option<Value> {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let message = tokio::time::timeout_at(deadline, ws.next()).await.ok()??.ok()?;
        match message {
            Message::Text(text) => return Some(serde_json::from_str(&text).expect("events are JSON")),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected message {other:?}"),
        }
    }
}

/// Reads until the server closes; the close code, or None if the socket
/// ended without a close frame. Panics if it is still open after `wait`.
pub async fn close_code(ws: &mut Ws, wait: std::time::Duration) -> Option<u16> {
    use futures_util::StreamExt;
    use tokio::time::Instant;
    use tokio_tungstenite::tungstenite::Message;
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, ws.next()).await {
            Err(_) => panic!("the socket is still open after {wait:?}"),
            Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(_)) | None) => return None,
        }
    }
}

/// Events until one of type `kind` arrives (the skipped ones are returned too).
pub async fn wait_for_event(ws: &mut Ws, kind: &str) -> (Value, Vec<Value>) {
    let mut skipped = Vec::new();
    loop {
        let event = next_event(ws, std::time::Duration::from_secs(5))
            .await
            .unwrap_or_else(|| panic!("no {kind} event within 5 s (saw {skipped:?})"));
        if event["type"] == kind {
            return (event, skipped);
        }
        skipped.push(event);
    }
}

impl TestServer {
    /// Puts a text clip on the user's clipboard; returns the Clip.
    pub async fn copy_text(&self, user: &TestUser, text: &str) -> Value {
        let response = self
            .as_user(user, Method::PUT, "/api/v1/buffer")
            .header("x-data-type", "text")
            .body(text.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.unwrap()
    }

    /// Creates a share from a JSON request; returns the response.
    pub async fn share(&self, user: &TestUser, request: Value) -> Response {
        self.as_user(user, Method::POST, "/api/v1/shares").json(&request).send().await.unwrap()
    }
}
