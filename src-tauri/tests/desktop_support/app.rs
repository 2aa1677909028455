//! Steps every desktop test takes with the app: starting it on a display
//! and bus of its own, signing in through the UI, and another device
//! sending clips with the real `cloudbuffer` CLI.

use cloudbuffer_tests::{cloudbuffer_bin, TestServer};

use super::bus::SessionBus;
use super::{app_env, driver_logging_to, xvfb, Driver, Guard, Session, Tools};

/// The app binary under test.
pub const APP: &str = env!("CARGO_BIN_EXE_cloudbuffer-desktop");

/// The app running on its own Xvfb display and D-Bus session bus, signed in
/// as `alice` to a fresh server. Dropped, it takes everything down in order.
pub struct SignedIn {
    /// The WebDriver session driving the app.
    pub app: Session,
    driver: Driver,
    /// The session bus (notifications, tray) the app talks to.
    pub bus: SessionBus,
    /// The server, and alice's password on it.
    pub server: TestServer,
    /// Alice's password.
    pub password: String,
    /// The app's X display, `:N`.
    pub display: String,
    _xvfb: Guard,
    _home: tempfile::TempDir,
}

/// Starts the app with `env` added to its environment and signs it in.
pub async fn start_signed_in(tools: &Tools, env: &[(&str, String)]) -> SignedIn {
    let server = TestServer::start().await;
    let password = server.register("alice").await;
    let (xvfb, display) = xvfb();
    let home = tempfile::tempdir().expect("home");
    let bus = SessionBus::start();
    let mut all = app_env(&display, home.path());
    all.push(("DBUS_SESSION_BUS_ADDRESS".into(), bus.address.clone()));
    all.extend(env.iter().map(|(key, value)| (key.to_string(), value.clone())));
    let driver = driver_logging_to(tools, &all, &home.path().join("app.log")).await;
    let app = Session::start(&driver.url, APP).await;
    sign_in(&app, &server.url, "alice", &password).await;
    SignedIn { app, driver, bus, server, password, display, _xvfb: xvfb, _home: home }
}

impl SignedIn {
    /// What the app (and the drivers) wrote on standard error so far.
    pub fn app_log(&self) -> String {
        std::fs::read_to_string(self._home.path().join("app.log")).unwrap_or_default()
    }

    /// The app's config folder (`CLOUDBUFFER_CONFIG_DIR`): its saved
    /// session and, with end-to-end encryption unlocked, its key file.
    pub fn config_dir(&self) -> std::path::PathBuf {
        self._home.path().join("cloudbuffer")
    }

    /// Quits the app and starts it again (signed in with the saved session).
    pub async fn restart(&mut self) {
        self.app.close().await;
        self.app = Session::start(&self.driver.url, APP).await;
        self.app.wait("the app shows signed in", 20, "!document.querySelector('#app').hidden").await;
    }
}

impl Drop for SignedIn {
    /// A failed test shows what the app said.
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- the app's standard error ---\n{}", self.app_log());
        }
    }
}

/// Signs in through the form and waits until sync is online.
pub async fn sign_in(app: &Session, server: &str, username: &str, password: &str) {
    app.wait("the sign-in form shows", 20, "!document.querySelector('#signin').hidden").await;
    app.type_into("#server", server).await;
    app.type_into("#username", username).await;
    app.type_into("#password", password).await;
    app.click("#sign-in").await;
    app.wait("the app shows", 10, "!document.querySelector('#app').hidden").await;
    app.wait("sync is online", 15, "document.querySelector('#status').textContent.includes('syncing')").await;
}

/// Another device: the `cloudbuffer` CLI with its own saved session.
pub struct Cli {
    home: tempfile::TempDir,
    password: String,
}

impl Cli {
    /// Signs the CLI in to `server` as `username`.
    pub fn login(server: &str, username: &str, password: &str) -> Cli {
        let cli = Cli { home: tempfile::tempdir().expect("cli config"), password: password.into() };
        cli.run(&["login", "--server", server, "--username", username]);
        cli
    }

    /// Runs `cloudbuffer ARGS`, which must succeed.
    pub fn run(&self, args: &[&str]) {
        let out = std::process::Command::new(cloudbuffer_bin())
            .args(args)
            .env("CLOUDBUFFER_CONFIG_DIR", self.home.path())
            .env("CLOUDBUFFER_PASSWORD", &self.password)
            // Not this display's clipboard: the CLI is another device.
            .env_remove("DISPLAY")
            .output()
            .expect("cloudbuffer runs");
        assert!(out.status.success(), "cloudbuffer {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
}
