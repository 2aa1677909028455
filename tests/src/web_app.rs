//! What the web app's browser tests share: an account spoken to over the
//! API with Basic auth (to set things up and check what landed), and the
//! page's own sign-in, through its form.

use std::time::Duration;

use serde_json::Value;

use crate::browser::Browser;
use crate::TestServer;

/// How long a page may take to do something a person would wait for.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// An account, spoken to over the API with HTTP Basic.
pub struct Account {
    /// The server's base URL.
    pub url: String,
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
    http: reqwest::Client,
}

impl Account {
    /// Registers `username` on `server`.
    pub async fn new(server: &TestServer, username: &str) -> Account {
        let password = server.register(username).await;
        Account { url: server.url.clone(), username: username.into(), password, http: reqwest::Client::new() }
    }

    /// A request to `/api/v1{path}` with this account's credentials.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}/api/v1{path}", self.url))
            .basic_auth(&self.username, Some(&self.password))
    }

    /// `GET /api/v1{path}` as JSON, expecting 200.
    pub async fn get(&self, path: &str) -> Value {
        let response = self.request(reqwest::Method::GET, path).send().await.expect("GET");
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.expect("JSON")
    }

    /// The bytes at `/api/v1{path}`, expecting 200.
    pub async fn bytes(&self, path: &str) -> Vec<u8> {
        let response = self.request(reqwest::Method::GET, path).send().await.expect("GET");
        assert_eq!(response.status(), 200, "GET {path}");
        response.bytes().await.expect("body").to_vec()
    }

    /// Puts a text clip.
    pub async fn copy_text(&self, text: &str) -> Value {
        let response = self
            .request(reqwest::Method::PUT, "/buffer")
            .header("x-data-type", "text")
            .body(text.to_string())
            .send()
            .await
            .expect("PUT /buffer");
        assert_eq!(response.status(), 201, "PUT /buffer text");
        response.json().await.expect("clip JSON")
    }

    /// Puts a file clip named `name`.
    pub async fn copy_file(&self, name: &str, bytes: Vec<u8>) -> Value {
        let response = self
            .request(reqwest::Method::PUT, "/buffer")
            .header("x-data-type", "file")
            .header("x-filename", name)
            .body(bytes)
            .send()
            .await
            .expect("PUT /buffer");
        assert_eq!(response.status(), 201, "PUT /buffer file");
        response.json().await.expect("clip JSON")
    }

    /// A new pairing URL (`POST /pairings`).
    pub async fn pairing_url(&self) -> String {
        let response = self.request(reqwest::Method::POST, "/pairings").send().await.expect("POST /pairings");
        assert_eq!(response.status(), 201, "POST /pairings");
        let body: Value = response.json().await.expect("pairing JSON");
        body["url"].as_str().expect("url").to_string()
    }

    /// The account's devices.
    pub async fn devices(&self) -> Vec<Value> {
        self.get("/devices").await.as_array().expect("device list").clone()
    }
}

/// Opens the app and signs in as `account` through the form; returns once
/// the app is live (its events socket open).
pub async fn sign_in(browser: &Browser, account: &Account) {
    browser.goto(&format!("{}/app/", account.url)).await;
    browser
        .wait_until("the sign-in screen shows", PATIENCE, "!document.querySelector('#login-screen').hidden")
        .await;
    browser.send_keys("#login-username", &account.username).await;
    browser.send_keys("#login-password", &account.password).await;
    browser.click("#login-submit").await;
    wait_live(browser).await;
}

/// Waits for the signed-in screen, live.
pub async fn wait_live(browser: &Browser) {
    browser
        .wait_until(
            "the app is signed in and live",
            PATIENCE,
            "!document.querySelector('#app-screen').hidden \
             && document.querySelector('#live-status').textContent === 'Live'",
        )
        .await;
}

/// The browser's own device id, from the session the page keeps.
pub async fn device_id(browser: &Browser) -> String {
    let value = browser.js("return JSON.parse(localStorage.getItem('cb.session') || 'null')", vec![]).await;
    value["device_id"].as_str().unwrap_or_else(|| panic!("no session in the page: {value}")).to_string()
}

/// `n` bytes of deterministic noise.
pub fn noise(n: usize, seed: &str) -> Vec<u8> {
    // xorshift: enough to defeat compression and dedup, no dependency.
    let mut state =
        seed.bytes().fold(0x9E37_79B9_7F4A_7C15u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3));
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(n);
    out
}
