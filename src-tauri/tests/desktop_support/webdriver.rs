//! A W3C WebDriver client over plain HTTP (reqwest): just the calls the
//! desktop tests make.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A WebDriver session: the app, launched by the driver.
pub struct Session {
    http: reqwest::Client,
    base: String,
}

/// An element of the page.
#[derive(Debug, Clone)]
pub struct Element(String);

impl Session {
    /// Launches `application` through the driver at `driver_url`.
    pub async fn start(driver_url: &str, application: &str) -> Session {
        // A stuck driver fails the test instead of hanging it.
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("HTTP client");
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "wry",
            "tauri:options": {"application": application}
        }}});
        let response = http
            .post(format!("{driver_url}/session"))
            .json(&capabilities)
            .send()
            .await
            .expect("new session request");
        let body: Value = response.json().await.expect("session JSON");
        let id = body["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {body}"));
        Session { http, base: format!("{driver_url}/session/{id}") }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap_or_else(|e| panic!("WebDriver {path}: {e}"));
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "WebDriver {path}: HTTP {status}: {body}");
        body["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// Ends the session (the driver closes the app).
    pub async fn end(self) {
        self.close().await;
    }

    /// Ends the session, for a holder that starts another in its place.
    pub async fn close(&self) {
        let _ = self.http.delete(&self.base).send().await;
    }

    /// Runs `script` in the page (`arguments[0..]` = `args`) and returns its value.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.post("/execute/sync", json!({"script": script, "args": args})).await
    }

    /// The element matching `css`, waiting up to 10 s for it to exist.
    pub async fn find(&self, css: &str) -> Element {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let response = self
                .http
                .post(format!("{}/element", self.base))
                .json(&json!({"using": "css selector", "value": css}))
                .send()
                .await
                .expect("find element");
            if response.status().is_success() {
                let body: Value = response.json().await.expect("element JSON");
                return Element(body["value"][ELEMENT].as_str().expect("element id").to_string());
            }
            assert!(Instant::now() < deadline, "no element {css}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits up to `seconds` for the JS expression `condition` to be true.
    pub async fn wait(&self, what: &str, seconds: u64, condition: &str) {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let script = format!("return !!({condition});");
        while self.js(&script, vec![]).await != Value::Bool(true) {
            assert!(Instant::now() < deadline, "timed out waiting until {what} ({condition})");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.post(&format!("/element/{}/click", element.0), json!({})).await;
    }

    /// Replaces the text of the input matching `css` by typing `text`.
    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.post(&format!("/element/{}/clear", element.0), json!({})).await;
        self.post(&format!("/element/{}/value", element.0), json!({"text": text})).await;
    }

    /// Presses `key` with Alt held, as the keyboard does (W3C key actions).
    pub async fn press_alt(&self, key: char) {
        const ALT: &str = "\u{E00A}";
        let key = key.to_string();
        let steps = json!([
            {"type": "keyDown", "value": ALT}, {"type": "keyDown", "value": key},
            {"type": "keyUp", "value": key}, {"type": "keyUp", "value": ALT}
        ]);
        self.post("/actions", json!({"actions": [{"type": "key", "id": "keyboard", "actions": steps}]}))
            .await;
    }

    /// A PNG of the window, `display` being the app's X display.
    pub async fn screenshot(&self, display: &str) -> Vec<u8> {
        let size = self.js("return [window.outerWidth, window.outerHeight]", vec![]).await;
        let (width, height) = (size[0].as_u64().expect("width"), size[1].as_u64().expect("height"));
        super::x_screenshot(display, width, height)
    }
}
