//! Steps every desktop test takes with the app: signing in through the UI,
//! and another device sending clips with the real `cloudbuffer` CLI.

use cloudbuffer_tests::cloudbuffer_bin;

use super::Session;

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
