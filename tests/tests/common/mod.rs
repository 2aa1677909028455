//! Helpers of the CLI tests: the `cloudbuffer` binary (built once), a
//! user with their own config folder and working folder, and checks that
//! failures are one clean line.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;
use cloudbuffer_tests::TestServer;

pub use cloudbuffer_tests::cloudbuffer_bin;

/// One person at a terminal: a config folder (their session), a working
/// folder, and the server they use.
pub struct User {
    pub name: String,
    pub password: String,
    pub server: String,
    pub config: tempfile::TempDir,
    pub work: tempfile::TempDir,
}

impl User {
    /// A new account on `server`, not signed in on this "machine" yet.
    pub async fn new(server: &TestServer, name: &str) -> User {
        let password = server.register(name).await;
        User::existing(server, name, &password)
    }

    /// Another "machine" of an existing account.
    pub fn existing(server: &TestServer, name: &str, password: &str) -> User {
        User {
            name: name.into(),
            password: password.into(),
            server: server.url.clone(),
            config: tempfile::tempdir().expect("config dir"),
            work: tempfile::tempdir().expect("work dir"),
        }
    }

    /// `cloudbuffer ARGS…` in the working folder with this user's config
    /// (and a backtrace asked for, to prove none is ever printed).
    pub fn cmd<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = Command::new(cloudbuffer_bin());
        cmd.args(args)
            .current_dir(self.work.path())
            .env("CLOUDBUFFER_CONFIG_DIR", self.config.path())
            .env("RUST_BACKTRACE", "1")
            .env_remove("CLOUDBUFFER_SERVER")
            .env_remove("CLOUDBUFFER_PASSWORD")
            .env_remove("CLOUDBUFFER_SHARE_PASSWORD")
            .timeout(Duration::from_secs(120));
        cmd
    }

    /// Signs this machine in with the CLI.
    pub fn login(&self) {
        let out = self
            .cmd(["login", "--server", &self.server, "--username", &self.name])
            .env("CLOUDBUFFER_PASSWORD", &self.password)
            .output()
            .expect("runs");
        ok(&out);
    }

    /// Runs and expects success; returns stdout.
    pub fn run<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let out = self.cmd(args).output().expect("runs");
        ok(&out)
    }

    /// Runs and expects failure with exit 1; returns the one error line.
    pub fn fail<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let out = self.cmd(args).output().expect("runs");
        failed(&out, 1)
    }

    /// A file in the working folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.work.path().join(name)
    }
}

/// Success: exit 0 and nothing alarming on stderr. Returns stdout.
pub fn ok(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "expected success, got {:?}\nstdout: {}\nstderr: {stderr}",
        out.status,
        String::from_utf8_lossy(&out.stdout)
    );
    no_panic(&stderr);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Failure with `code`, reported as exactly one line `cloudbuffer: …`.
/// Returns that line.
pub fn failed(out: &Output, code: i32) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "exit code; stderr: {stderr}");
    no_panic(&stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let last = lines.last().copied().unwrap_or_default();
    assert!(last.starts_with("cloudbuffer: "), "error line: {stderr:?}");
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("cloudbuffer: ")).count(),
        1,
        "one error line: {stderr:?}"
    );
    last.to_string()
}

/// No panic message or backtrace, ever.
pub fn no_panic(stderr: &str) {
    for bad in ["panicked", "RUST_BACKTRACE", "stack backtrace"] {
        assert!(!stderr.contains(bad), "stderr contains {bad:?}: {stderr}");
    }
}

/// `n` bytes of deterministic noise.
pub fn noise(n: usize, seed: &str) -> Vec<u8> {
    let mut bytes = vec![0u8; n];
    blake3::Hasher::new().update(seed.as_bytes()).finalize_xof().fill(&mut bytes);
    bytes
}

/// BLAKE3 of a file, hex.
pub fn hash_file(path: &Path) -> String {
    let mut hasher = blake3::Hasher::new();
    let mut file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    hasher.finalize().to_hex().to_string()
}

/// A loopback address nothing listens on.
pub fn dead_address() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}")
}

/// A fake server: each connection's request head is read, then `respond`
/// writes whatever it likes. Runs for the life of the test process.
pub fn fake_server(respond: impl Fn(&str, &mut std::net::TcpStream) + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let respond = std::sync::Arc::new(respond);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let respond = respond.clone();
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && head.len() < 65_536 {
                    match stream.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                respond(&String::from_utf8_lossy(&head), &mut stream);
                let _ = stream.flush();
            });
        }
    });
    format!("http://{addr}")
}

/// The first line of `text`.
pub fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}
