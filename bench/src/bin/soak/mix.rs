//! The soak clients: accounts, and the mix of operations each client runs
//! until the deadline, every answer checked.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

use super::{Error, Opts, Stats, PASSWORD};
use std::sync::Arc;

/// A registered user and the token of its first device.
#[derive(Clone)]
pub(crate) struct Account {
    pub(crate) username: String,
    pub(crate) token: String,
}

/// A file acknowledged with 201: its bytes are `content(len, seed)`.
#[derive(Clone)]
pub(crate) struct Stored {
    pub(crate) account: usize,
    pub(crate) id: String,
    pub(crate) len: usize,
    pub(crate) seed: u64,
}

/// Deterministic bytes (xorshift), so nothing needs to be kept in memory.
pub(crate) fn content(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

async fn sign_in(
    http: &reqwest::Client,
    server: &str,
    endpoint: &str,
    username: &str,
) -> Result<Value, Error> {
    let body = json!({"username": username, "password": PASSWORD, "device_name": "soak"});
    let response = http.post(format!("{server}/api/v1/auth/{endpoint}")).json(&body).send().await?;
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        return Err(format!("POST /api/v1/auth/{endpoint} {username}: HTTP {status}: {text:.300}").into());
    }
    Ok(serde_json::from_str(&text)?)
}

/// Registers `count` users named for this run.
pub(crate) async fn register(
    http: &reqwest::Client,
    server: &str,
    count: usize,
) -> Result<Vec<Account>, Error> {
    let run = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() % 1_000_000_000;
    let mut accounts = Vec::new();
    for i in 0..count {
        let username = format!("soak{run}-{i}");
        let tokens = sign_in(http, server, "register", &username).await?;
        let token = tokens["access_token"].as_str().ok_or("no access_token")?.to_string();
        accounts.push(Account { username, token });
    }
    Ok(accounts)
}

/// One client: its account, its own device, its files.
pub(crate) struct Client {
    index: usize,
    account: usize,
    username: String,
    token: String,
    http: reqwest::Client,
    server: String,
    think_ms: u64,
    stats: Arc<Stats>,
    rng: u64,
    seq: u64,
    files: Vec<Stored>,
    deleted: Vec<Stored>,
}

/// What one answer was, for the books.
enum Answer {
    /// The status the operation wanted.
    Ok(reqwest::Response),
    /// An expected refusal (429): the server's limits at work.
    Limited,
    /// Anything else (already counted as a failure).
    Failed,
}

impl Client {
    pub(crate) fn new(
        index: usize,
        account: &Account,
        http: &reqwest::Client,
        opts: &Opts,
        stats: Arc<Stats>,
    ) -> Client {
        Client {
            index,
            account: index % opts.accounts,
            username: account.username.clone(),
            token: account.token.clone(),
            http: http.clone(),
            server: opts.server.clone(),
            think_ms: opts.think_ms,
            stats,
            rng: (index as u64 + 1).wrapping_mul(0x2545_F491_4F6C_DD1D) | 1,
            seq: 0,
            files: Vec::new(),
            deleted: Vec::new(),
        }
    }

    fn random(&mut self, n: u64) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng % n.max(1)
    }

    /// Runs the mix until `deadline`; returns the files kept and deleted.
    pub(crate) async fn run(mut self, deadline: tokio::time::Instant) -> (Vec<Stored>, Vec<Stored>) {
        self.login().await; // a device of its own, as a real client has
        while tokio::time::Instant::now() < deadline {
            match self.random(100) {
                0..=3 => self.login().await,
                4..=23 => self.buffer_put().await,
                24..=38 => self.buffer_get().await,
                39..=58 => self.upload().await,
                59..=73 => self.download().await,
                74..=81 => self.share().await,
                82..=91 => self.events().await,
                92..=96 => self.list().await,
                _ => self.delete().await,
            }
            if self.think_ms > 0 {
                let pause = self.random(2 * self.think_ms + 1);
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
        }
        (self.files, self.deleted)
    }

    /// Sends, counts and classifies one request.
    async fn send(&self, op: &'static str, want: StatusCode, request: reqwest::RequestBuilder) -> Answer {
        match request.send().await {
            Err(e) => {
                self.stats.count(op, 0);
                self.stats.fail(format!("client {} {op}: no answer: {}", self.index, super::chain(&e)));
                Answer::Failed
            }
            Ok(response) => {
                let status = response.status();
                self.stats.count(op, status.as_u16());
                if status == want {
                    Answer::Ok(response)
                } else if status == StatusCode::TOO_MANY_REQUESTS {
                    Answer::Limited
                } else {
                    let body = response.text().await.unwrap_or_default();
                    self.stats.fail(format!(
                        "client {} {op}: HTTP {status}, wanted {want}: {body:.200}",
                        self.index
                    ));
                    Answer::Failed
                }
            }
        }
    }

    fn authed(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.server)).bearer_auth(&self.token)
    }

    /// The body of an answer, or a failure.
    async fn body(&self, op: &str, response: reqwest::Response) -> Option<Vec<u8>> {
        match response.bytes().await {
            Ok(bytes) => Some(bytes.to_vec()),
            Err(e) => {
                self.stats.fail(format!("client {} {op}: body cut off: {}", self.index, super::chain(&e)));
                None
            }
        }
    }

    async fn json(&self, op: &str, response: reqwest::Response) -> Option<Value> {
        let bytes = self.body(op, response).await?;
        serde_json::from_slice(&bytes)
            .map_err(|e| self.stats.fail(format!("client {} {op}: not JSON: {e}", self.index)))
            .ok()
    }

    fn check(&self, op: &str, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.stats.fail(format!("client {} {op}: {}", self.index, what()));
        }
    }

    async fn login(&mut self) {
        let body = json!({"username": self.username, "password": PASSWORD, "device_name": format!("soak client {}", self.index)});
        let request = self.http.post(format!("{}/api/v1/auth/login", self.server)).json(&body);
        if let Answer::Ok(response) = self.send("login", StatusCode::OK, request).await {
            if let Some(tokens) = self.json("login", response).await {
                match tokens["access_token"].as_str() {
                    Some(token) => self.token = token.to_string(),
                    None => self.check("login", false, || format!("no access_token: {tokens}")),
                }
            }
        }
    }

    async fn buffer_put(&mut self) {
        self.seq += 1;
        let pad = "x".repeat(self.random(2000) as usize);
        let text = format!("soak text {} {} {pad}", self.index, self.seq);
        let request =
            self.authed(Method::PUT, "/api/v1/buffer").header("x-data-type", "text").body(text.clone());
        let Answer::Ok(response) = self.send("buffer put", StatusCode::CREATED, request).await else {
            return;
        };
        let Some(clip) = self.json("buffer put", response).await else { return };
        let Some(id) = clip["id"].as_str() else {
            return self.check("buffer put", false, || format!("{clip}"));
        };
        let request = self.authed(Method::GET, &format!("/api/v1/buffer/clips/{id}/content"));
        let Answer::Ok(response) = self.send("clip content", StatusCode::OK, request).await else { return };
        if let Some(bytes) = self.body("clip content", response).await {
            self.check("clip content", bytes == text.as_bytes(), || format!("clip {id}: not the text sent"));
        }
    }

    async fn buffer_get(&mut self) {
        match self.authed(Method::GET, "/api/v1/buffer").send().await {
            Ok(response) if response.status() == StatusCode::NO_CONTENT => {
                self.stats.count("buffer get", 204)
            }
            Ok(response) => {
                let status = response.status();
                self.stats.count("buffer get", status.as_u16());
                let kind = response.headers().get("x-data-type").cloned();
                let ok = status == StatusCode::OK && self.body("buffer get", response).await.is_some();
                self.check("buffer get", ok && kind.is_some(), || {
                    format!("HTTP {status}, X-Data-Type {kind:?}")
                });
            }
            Err(e) => {
                self.stats.count("buffer get", 0);
                self.stats.fail(format!("client {} buffer get: no answer: {}", self.index, super::chain(&e)));
            }
        }
    }

    async fn upload(&mut self) {
        self.seq += 1;
        let len = 1 + self.random(64 * 1024) as usize;
        let seed = ((self.index as u64) << 32) | self.seq;
        let name = format!("soak-{}-{}.bin", self.index, self.seq);
        let request = self.authed(Method::PUT, &format!("/api/v1/files/{name}")).body(content(len, seed));
        let Answer::Ok(response) = self.send("upload", StatusCode::CREATED, request).await else { return };
        let Some(info) = self.json("upload", response).await else { return };
        let ok = info["size"] == len && info["name"] == name.as_str() && info["id"].is_string();
        self.check("upload", ok, || format!("FileInfo {info} for {name} ({len} bytes)"));
        if ok {
            let id = info["id"].as_str().unwrap_or_default().to_string();
            self.files.push(Stored { account: self.account, id, len, seed });
            if self.random(2) == 0 {
                self.fetch(self.files.len() - 1).await;
            }
        }
    }

    fn pick(&mut self) -> Option<usize> {
        (!self.files.is_empty()).then(|| self.random(self.files.len() as u64) as usize)
    }

    async fn fetch(&mut self, i: usize) {
        let file = self.files[i].clone();
        let request = self.authed(Method::GET, &format!("/api/v1/files/{}/content", file.id));
        let Answer::Ok(response) = self.send("download", StatusCode::OK, request).await else { return };
        if let Some(bytes) = self.body("download", response).await {
            let ok = bytes == content(file.len, file.seed);
            self.check("download", ok, || {
                format!("file {}: {} bytes, not the bytes sent", file.id, bytes.len())
            });
        }
    }

    async fn download(&mut self) {
        if let Some(i) = self.pick() {
            self.fetch(i).await;
        }
    }

    async fn share(&mut self) {
        let Some(i) = self.pick() else { return };
        let file = self.files[i].clone();
        let request = self.authed(Method::POST, "/api/v1/shares").json(&json!({"file_id": file.id}));
        let Answer::Ok(response) = self.send("share", StatusCode::CREATED, request).await else { return };
        let Some(share) = self.json("share", response).await else { return };
        let Some(token) = share["token"].as_str() else {
            return self.check("share", false, || format!("{share}"));
        };
        let request = self.http.get(format!("{}/s/{token}/raw", self.server));
        let Answer::Ok(response) = self.send("share raw", StatusCode::OK, request).await else { return };
        if let Some(bytes) = self.body("share raw", response).await {
            self.check("share raw", bytes == content(file.len, file.seed), || {
                format!("/s/{token}/raw: wrong bytes")
            });
        }
    }

    async fn list(&mut self) {
        let Answer::Ok(response) =
            self.send("list", StatusCode::OK, self.authed(Method::GET, "/api/v1/files")).await
        else {
            return;
        };
        if let Some(list) = self.json("list", response).await {
            self.check("list", list.is_array(), || format!("not a list: {list:.200}"));
        }
    }

    async fn delete(&mut self) {
        let Some(i) = self.pick() else { return };
        let id = self.files[i].id.clone();
        let request = self.authed(Method::DELETE, &format!("/api/v1/files/{id}"));
        if let Answer::Ok(_) = self.send("delete", StatusCode::NO_CONTENT, request).await {
            let file = self.files.swap_remove(i);
            self.deleted.push(file);
        }
    }

    /// Connects to the events, reads for a moment (events must be JSON), closes.
    async fn events(&mut self) {
        let url = format!("ws{}/api/v1/events", &self.server["http".len()..]);
        let mut request = url.into_client_request().expect("a valid URL");
        let bearer = HeaderValue::from_str(&format!("Bearer {}", self.token)).expect("a token is ASCII");
        request.headers_mut().insert("authorization", bearer);
        let mut socket = match tokio_tungstenite::connect_async(request).await {
            Ok((socket, _)) => socket,
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                let status = response.status();
                self.stats.count("events", status.as_u16());
                if status != StatusCode::TOO_MANY_REQUESTS {
                    self.stats.fail(format!("client {} events: HTTP {status}", self.index));
                }
                return;
            }
            Err(e) => {
                self.stats.count("events", 0);
                return self.stats.fail(format!("client {} events: {e}", self.index));
            }
        };
        self.stats.count("events", 101);
        let wait = Duration::from_millis(50 + self.random(450));
        let until = tokio::time::Instant::now() + wait;
        while let Ok(Some(message)) = tokio::time::timeout_at(until, socket.next()).await {
            match message {
                Ok(Message::Text(text)) => {
                    let event: Option<Value> = serde_json::from_str(&text).ok();
                    let ok = event.as_ref().is_some_and(|e| e["type"].is_string());
                    self.check("events", ok, || format!("not an event: {text:.200}"));
                }
                Ok(Message::Ping(_) | Message::Pong(_)) => {}
                // Too many sockets for this user: the server's limit at work.
                Ok(Message::Close(Some(frame))) if frame.code == CloseCode::Library(4029) => {
                    return self.stats.count("events closed 4029", 101);
                }
                Ok(other) => return self.check("events", false, || format!("unexpected {other:?}")),
                Err(e) => return self.check("events", false, || format!("socket error: {e}")),
            }
        }
        if let Err(e) = socket.close(None).await {
            self.check("events", false, || format!("close: {e}"));
        }
        // Read to the server's close frame so the connection ends cleanly.
        let _ =
            tokio::time::timeout(Duration::from_secs(2), async { while socket.next().await.is_some() {} })
                .await;
    }
}
