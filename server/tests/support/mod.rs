//! Black-box helpers shared by `bad_input*.rs` and `cli.rs`: raw HTTP/1.1
//! over TCP (for bytes reqwest refuses to send: invalid UTF-8 headers,
//! bodies cut off mid-way) and the real `cloudbuffer-server` binary run as
//! a child process, killed on drop, ready once `/healthz` answers 200.
#![allow(dead_code)]

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

// Test files that use both `common` and `support` load it twice; it holds
// no state, so the two copies agree.
#[allow(clippy::duplicate_mod)]
#[path = "../testdb/mod.rs"]
pub mod testdb;

/// The server binary Cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_cloudbuffer-server");

/// A port that was free a moment ago (bind port 0, read it, let it go).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    listener.local_addr().expect("local addr").port()
}

/// `program` with no `CLOUDBUFFER_*` or `RUST_LOG` inherited from the caller.
pub fn clean_command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new(program);
    for (key, _) in std::env::vars_os() {
        let name = key.to_string_lossy();
        if name.starts_with("CLOUDBUFFER_") || name == "RUST_LOG" {
            command.env_remove(&key);
        }
    }
    command.stdin(Stdio::null());
    command
}

/// The binary, with a clean environment.
pub fn binary() -> Command {
    clean_command(BIN)
}

/// Runs the binary to completion with `args`; (status, stdout, stderr).
pub fn run(command: &mut Command) -> (ExitStatus, String, String) {
    let output = command.output().expect("run cloudbuffer-server");
    (
        output.status,
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `--data-dir <dir>`, plus `--database-url` when the tests run on
/// PostgreSQL (see [`testdb`]).
pub fn data_dir_args(data_dir: &Path) -> Vec<OsString> {
    let mut args = vec!["--data-dir".into(), data_dir.as_os_str().to_owned()];
    if let Some(url) = testdb::database_url(data_dir) {
        args.extend(["--database-url".into(), url.into()]);
    }
    let (store_url, endpoint) = testdb::store_settings(data_dir);
    if let Some(url) = store_url {
        args.extend(["--store-url".into(), url.into()]);
    }
    if let Some(endpoint) = endpoint {
        args.extend(["--s3-endpoint".into(), endpoint.into()]);
    }
    args
}

/// `--bind 127.0.0.1:<port>` and [`data_dir_args`] plus a relaxed auth limit.
pub fn serve_args(port: u16, data_dir: &Path) -> Vec<OsString> {
    let mut args = vec!["--bind".into(), format!("127.0.0.1:{port}").into()];
    args.extend(data_dir_args(data_dir));
    args.extend(["--auth-attempts-per-minute".into(), "1000".into()]);
    args
}

/// A running server process. Killed (SIGKILL) on drop unless it already exited.
pub struct Spawned {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// `127.0.0.1:PORT`.
    pub addr: SocketAddr,
    /// An HTTP client.
    pub http: reqwest::Client,
    stderr_path: PathBuf,
    _logs: tempfile::TempDir,
}

impl Spawned {
    /// Spawns `command` (which must make the server listen on `port`) with
    /// stderr captured to a file, and waits until `/healthz` says 200.
    /// Panics with the server's stderr if it exits or is not ready in 10 s.
    pub async fn start(mut command: Command, port: u16) -> Spawned {
        let logs = tempfile::tempdir().expect("log dir");
        let stderr_path = logs.path().join("stderr.log");
        let stderr = std::fs::File::create(&stderr_path).expect("stderr file");
        command.stdout(Stdio::null()).stderr(stderr);
        let child = command.spawn().expect("spawn server");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let mut server = Spawned {
            child,
            base: format!("http://{addr}"),
            addr,
            http: reqwest::Client::new(),
            stderr_path,
            _logs: logs,
        };
        server.wait_ready().await;
        server
    }

    /// The binary serving `data_dir` on a free port, with `extra` arguments.
    pub async fn serve(data_dir: &Path, extra: &[&str]) -> Spawned {
        let port = free_port();
        let mut command = binary();
        command.args(serve_args(port, data_dir)).args(extra);
        Spawned::start(command, port).await
    }

    async fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let url = self.url("/healthz");
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                panic!("server exited early with {status}; stderr:\n{}", self.stderr());
            }
            let probe = self.http.get(&url).timeout(Duration::from_secs(1)).send().await;
            if probe.is_ok_and(|r| r.status() == reqwest::StatusCode::OK) {
                return;
            }
            assert!(Instant::now() < deadline, "server not ready in 10 s; stderr:\n{}", self.stderr());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `base + path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Everything the server wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, as a crash or the OOM killer would, and reaps it.
    pub fn kill(&mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reap");
    }

    /// Sends SIGTERM and waits (up to `limit`) for the process to exit.
    pub fn terminate(&mut self, limit: Duration) -> ExitStatus {
        let status =
            Command::new("kill").args(["-TERM", &self.pid().to_string()]).status().expect("run kill");
        assert!(status.success(), "kill -TERM failed");
        self.wait_exit(limit)
    }

    /// Polls until the process exits; panics after `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "server still running after {limit:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// `POST /api/v1/auth/register`; the response.
    pub async fn register(&self, username: &str, password: &str) -> reqwest::Response {
        self.http
            .post(self.url("/api/v1/auth/register"))
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .await
            .expect("register request")
    }

    /// `POST /api/v1/auth/login`; the response.
    pub async fn login(&self, username: &str, password: &str) -> reqwest::Response {
        self.http
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .await
            .expect("login request")
    }

    /// Logs in (asserting 200) and returns the access token.
    pub async fn token(&self, username: &str, password: &str) -> String {
        let response = self.login(username, password).await;
        assert_eq!(response.status(), reqwest::StatusCode::OK, "login of {username}");
        let tokens: Value = response.json().await.unwrap();
        tokens["access_token"].as_str().unwrap().to_string()
    }

    /// `GET /api/v1/me` with a Bearer token; the JSON (asserting 200).
    pub async fn me(&self, token: &str) -> Value {
        let response = self.http.get(self.url("/api/v1/me")).bearer_auth(token).send().await.unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::OK, "GET /api/v1/me");
        response.json().await.unwrap()
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A parsed HTTP/1.1 response read off a raw socket.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The values of a header (name compared case-insensitively).
    pub fn header_values(&self, name: &str) -> Vec<&[u8]> {
        self.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_slice()).collect()
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    /// Asserts the contract's error shape with this status and code.
    pub fn expect_error(&self, status: u16, code: &str) -> Value {
        assert_eq!(self.status, status, "status; body: {:?}", String::from_utf8_lossy(&self.body));
        let body = self.json();
        assert_eq!(body["error"]["code"], code, "error body: {body}");
        assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
        body
    }
}

/// `host:port` of an `http://host:port` base.
pub fn host_of(base: &str) -> &str {
    base.trim_start_matches("http://").trim_end_matches('/')
}

/// Sends `request` (which should say `Connection: close`) and reads the response.
pub async fn raw_exchange(addr: &str, request: &[u8]) -> RawResponse {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request).await.expect("send request");
    stream.flush().await.expect("flush");
    tokio::time::timeout(Duration::from_secs(10), read_response(&mut stream))
        .await
        .expect("response within 10 s")
}

/// Sends `head` then streams `body` from a separate task while reading the
/// response, so a server that answers early (and then closes) is still heard.
pub async fn raw_upload_reading_early(addr: &str, head: &[u8], body: Vec<u8>) -> RawResponse {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    writer.write_all(head).await.expect("send head");
    let sender = tokio::spawn(async move {
        for chunk in body.chunks(64 * 1024) {
            if writer.write_all(chunk).await.is_err() {
                return;
            }
        }
        let _ = writer.flush().await;
        // Keep the write half open until the response is read.
        std::future::pending::<()>().await;
    });
    let response = tokio::time::timeout(Duration::from_secs(20), read_response(&mut reader))
        .await
        .expect("response within 20 s");
    sender.abort();
    response
}

/// Reads one response: the head, then `Content-Length` bytes (or to EOF).
/// A reset after the complete response is ignored.
pub async fn read_response(reader: &mut (impl AsyncRead + Unpin)) -> RawResponse {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let mut parsed: Option<(usize, RawResponse, Option<usize>)> = None;
    loop {
        if parsed.is_none() {
            if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = parse_head(&buffer[..end]);
                let length = head
                    .header_values("content-length")
                    .first()
                    .and_then(|v| std::str::from_utf8(v).ok()?.trim().parse().ok());
                parsed = Some((end + 4, head, length));
            }
        }
        if let Some((start, _, Some(length))) = &parsed {
            if buffer.len() >= start + length {
                break;
            }
        }
        match reader.read(&mut chunk).await {
            Ok(0) => break,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            Err(e) => {
                assert!(parsed.is_some(), "connection failed before a response: {e}");
                break;
            }
        }
    }
    let (start, mut response, length) = parsed
        .unwrap_or_else(|| panic!("no complete response head in {:?}", String::from_utf8_lossy(&buffer)));
    let end = length.map_or(buffer.len(), |n| (start + n).min(buffer.len()));
    response.body = buffer[start..end].to_vec();
    if let Some(n) = length {
        assert_eq!(response.body.len(), n, "truncated response body");
    }
    response
}

fn parse_head(head: &[u8]) -> RawResponse {
    let mut lines = head.split(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let status_line = String::from_utf8_lossy(lines.next().unwrap_or_default()).into_owned();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers = lines
        .filter_map(|line| {
            let colon = line.iter().position(|&b| b == b':')?;
            let name = String::from_utf8_lossy(&line[..colon]).trim().to_string();
            let value = line[colon + 1..].trim_ascii().to_vec();
            Some((name, value))
        })
        .collect();
    RawResponse { status, headers, body: Vec::new() }
}
