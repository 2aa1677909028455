//! A headless Chromium driven over W3C WebDriver (Debian's `chromium` and
//! `chromium-driver`), for the web app's end-to-end tests and benchmarks.
//!
//! Each [`Browser`] is its own `chromedriver` (a child process in its own
//! process group, killed with everything it started on drop) and its own
//! fresh profile, so tests never share cookies, storage or service workers.
//! The viewport is a phone's: 360 × 740 CSS pixels.
//!
//! Without the tools, [`tools`] says so and returns `None` (the test then
//! passes as skipped), except under `CI`, where a skip would hide a broken
//! setup: there it fails.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

/// The key W3C WebDriver uses for element references.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The phone viewport, in CSS pixels.
pub const VIEWPORT: (u32, u32) = (360, 740);

/// Where the browser and its driver are.
#[derive(Debug, Clone)]
pub struct Tools {
    /// The Chromium binary (`/usr/bin/chromium` on Debian).
    pub chromium: PathBuf,
    /// `chromedriver`.
    pub chromedriver: PathBuf,
}

fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|candidate| candidate.is_file())
}

/// Finds Chromium and chromedriver; `None` (with a SKIPPED line) when one
/// is missing, a panic instead when `CI` is set.
pub fn tools() -> Option<Tools> {
    let chromium =
        [Some(PathBuf::from("/usr/bin/chromium")), on_path("chromium"), on_path("chromium-browser")]
            .into_iter()
            .flatten()
            .find(|p: &PathBuf| p.is_file());
    let chromedriver = on_path("chromedriver");
    match (chromium, chromedriver) {
        (Some(chromium), Some(chromedriver)) => Some(Tools { chromium, chromedriver }),
        (chromium, _) => {
            let missing = if chromium.is_none() { "chromium" } else { "chromedriver" };
            let hint = "apt-get install chromium chromium-driver (scripts/test.sh does)";
            assert!(
                std::env::var_os("CI").is_none(),
                "{missing} is missing ({hint}), and CI must run the browser tests"
            );
            eprintln!("SKIPPED: {missing} is missing ({hint})");
            None
        }
    }
}

/// How a browser starts.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// `prefers-color-scheme: dark`.
    pub dark: bool,
    /// Device pixels per CSS pixel (1 for tests, 2 for screenshots).
    pub pixel_ratio: u32,
}

/// A browser session with its driver and profile.
pub struct Browser {
    http: reqwest::Client,
    session: String,
    driver: Child,
    // Deleted after the driver's process group is gone (field order).
    _profile: tempfile::TempDir,
}

/// An element reference of the current page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element(pub String);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address").port()
}

impl Browser {
    /// A light-mode phone browser, or `None` when the tools are missing
    /// outside CI (see [`tools`]).
    pub async fn start() -> Option<Browser> {
        let tools = tools()?;
        Some(Browser::launch(&tools, Options::default()).await)
    }

    /// Starts chromedriver and a Chromium session with `options`.
    pub async fn launch(tools: &Tools, options: Options) -> Browser {
        let port = free_port();
        let driver = Command::new(&tools.chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own group, so drop can kill Chromium's processes with it.
            .process_group(0)
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().expect("profile dir");
        // A stuck driver fails the test instead of hanging it.
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("HTTP client");
        let mut browser = Browser { http, session: String::new(), driver, _profile: profile };
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = match browser.http.get(format!("{base}/status")).send().await {
                Ok(response) => {
                    response.json::<Value>().await.map(|b| b["value"]["ready"] == true).unwrap_or(false)
                }
                Err(_) => false,
            };
            if ready {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not become ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile_arg = format!("--user-data-dir={}", browser._profile.path().display());
        let (width, height) = VIEWPORT;
        let mut args = vec![
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=360,740",
            &profile_arg,
        ];
        if options.dark {
            // Chromium 156 headless: this is what makes prefers-color-scheme match dark.
            args.push("--blink-settings=preferredColorScheme=0");
        }
        // Headless windows are at least 500 px wide whatever --window-size
        // says; mobile emulation gives the page a phone's viewport.
        let phone = json!({"deviceMetrics": {"width": width, "height": height,
            "pixelRatio": options.pixel_ratio.max(1), "touch": true}});
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": tools.chromium, "args": args, "mobileEmulation": phone}
        }}});
        let body = browser.raw(reqwest::Method::POST, &format!("{base}/session"), Some(capabilities)).await;
        let id = body["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {body}"));
        browser.session = format!("{base}/session/{id}");
        browser
    }

    async fn raw(&self, method: reqwest::Method, url: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap_or_else(|e| panic!("WebDriver {url}: {e}"));
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "WebDriver {url}: HTTP {status}: {body}");
        body["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.raw(reqwest::Method::POST, &format!("{}{path}", self.session), Some(body)).await
    }

    /// Opens `url` (returns once the page has loaded).
    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    /// Runs `script` in the page (`arguments[0..]` = `args`) and returns its value.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.post("/execute/sync", json!({"script": script, "args": args})).await
    }

    /// Runs `script` as an async function: it ends by calling
    /// `arguments[arguments.length - 1](value)`.
    pub async fn js_async(&self, script: &str, args: Vec<Value>) -> Value {
        self.post("/execute/async", json!({"script": script, "args": args})).await
    }

    /// The element matching `css`, if there is one now.
    pub async fn try_find(&self, css: &str) -> Option<Element> {
        let response = self
            .http
            .post(format!("{}/element", self.session))
            .json(&json!({"using": "css selector", "value": css}))
            .send()
            .await
            .expect("find element");
        if !response.status().is_success() {
            return None;
        }
        let body: Value = response.json().await.expect("element JSON");
        Some(Element(body["value"][ELEMENT].as_str().expect("element id").to_string()))
    }

    /// The element matching `css`, waiting up to 10 s for it to exist.
    pub async fn find(&self, css: &str) -> Element {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(element) = self.try_find(css).await {
                return element;
            }
            assert!(Instant::now() < deadline, "no element {css}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Clicks the element matching `css` (as a user would: it must be visible).
    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.post(&format!("/element/{}/click", element.0), json!({})).await;
    }

    /// Types `text` into the element matching `css`. For an `<input
    /// type=file>`, `text` is a path and the file is picked.
    pub async fn send_keys(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.post(&format!("/element/{}/value", element.0), json!({ "text": text })).await;
    }

    /// Picks `path` in the file input matching `css`.
    pub async fn pick_file(&self, css: &str, path: &Path) {
        self.send_keys(css, path.to_str().expect("UTF-8 path")).await;
    }

    /// The `textContent` of the element matching `css` (hidden ones too,
    /// unlike WebDriver's rendered text).
    pub async fn text(&self, css: &str) -> String {
        let element = self.find(css).await;
        let value = self.js("return arguments[0].textContent", vec![json!({ ELEMENT: element.0 })]).await;
        value.as_str().unwrap_or_default().to_string()
    }

    /// Whether the element matching `css` exists and has no `hidden` attribute.
    pub async fn shown(&self, css: &str) -> bool {
        let script = "const e = document.querySelector(arguments[0]); return !!e && !e.hidden";
        self.js(script, vec![json!(css)]).await == Value::Bool(true)
    }

    /// Polls the JS expression `condition` every 50 ms until it is truthy;
    /// panics after `timeout` with `what` and what the page shows.
    pub async fn wait_until(&self, what: &str, timeout: Duration, condition: &str) {
        let deadline = Instant::now() + timeout;
        let script = format!("return !!({condition});");
        while self.js(&script, vec![]).await != Value::Bool(true) {
            if Instant::now() > deadline {
                let page = self
                    .js("return document.body ? document.body.innerText.slice(0, 2000) : ''", vec![])
                    .await;
                panic!(
                    "timed out after {timeout:?} waiting until {what} ({condition}); the page says:\n{page}"
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Lets pages download files into `dir` (Chromium's DevTools protocol,
    /// through chromedriver): a finished download has its own name there, one
    /// in progress a `.crdownload` beside it.
    pub async fn download_to(&self, dir: &Path) {
        let params = json!({"behavior": "allow", "downloadPath": dir, "eventsEnabled": false});
        self.post("/goog/cdp/execute", json!({"cmd": "Browser.setDownloadBehavior", "params": params})).await;
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&self) -> Vec<u8> {
        let value = self.raw(reqwest::Method::GET, &format!("{}/screenshot", self.session), None).await;
        base64::engine::general_purpose::STANDARD
            .decode(value.as_str().expect("base64 PNG"))
            .expect("base64 PNG")
    }

    /// Ends the session cleanly (drop alone also cleans up, harder).
    pub async fn close(self) {
        let _ = self.http.delete(&self.session).send().await;
    }
}

impl Drop for Browser {
    /// Kills chromedriver's process group: the driver and every Chromium process.
    fn drop(&mut self) {
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
        let _ = self.driver.wait();
    }
}
