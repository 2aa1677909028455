//! `cloudbuffer sync` as a process on a machine without a display: it says
//! it syncs folders only, files dropped in its outbox reach the user's
//! other devices, file clips from them land in its inbox, and Ctrl-C stops
//! it cleanly. Without folders and without a clipboard it refuses to start.

mod common;

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cloudbuffer_tests::TestServer;
use common::{failed, User};

/// `cloudbuffer sync ARGS…` for `user` with no display to talk to.
fn spawn_sync(user: &User, args: &[&str]) -> Child {
    Command::new(common::cloudbuffer_bin())
        .arg("sync")
        .args(args)
        .current_dir(user.work.path())
        .env("CLOUDBUFFER_CONFIG_DIR", user.config.path())
        .env("RUST_BACKTRACE", "1")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("CLOUDBUFFER_SERVER")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cloudbuffer sync starts")
}

fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < Duration::from_secs(20), "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folders_sync_both_ways_on_a_headless_machine() {
    let server = TestServer::start().await;
    let laptop = User::new(&server, "alice").await;
    let phone = User::existing(&server, "alice", &laptop.password);
    laptop.login();
    phone.login();
    for dir in ["out", "in"] {
        std::fs::create_dir(laptop.path(dir)).unwrap();
    }
    let mut child = spawn_sync(&laptop, &["--outbox", "out", "--inbox", "in"]);

    // The phone copies a file: it lands in the laptop's inbox.
    std::fs::write(phone.path("notes.txt"), b"from the phone\n").unwrap();
    phone.run(["copy", "--file", "notes.txt"]);
    let arrived = laptop.path("in/notes.txt");
    eventually("notes.txt in the inbox", || std::fs::read(&arrived).is_ok_and(|b| b == b"from the phone\n"));

    // A file dropped in the outbox reaches the phone's file list once.
    std::fs::write(laptop.path("out/report.csv"), b"a,b\n1,2\n").unwrap();
    eventually("report.csv uploaded", || phone.run(["ls"]).contains("report.csv"));
    let listing = phone.run(["ls", "--json"]);
    assert_eq!(listing.matches("report.csv").count(), 1, "{listing}");

    // Ctrl-C stops it cleanly.
    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let begun = Instant::now();
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(begun.elapsed() < Duration::from_secs(10), "sync did not stop on Ctrl-C");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert_eq!(exit.code(), Some(0), "{stderr}");
    common::no_panic(&stderr);
    assert!(stderr.contains("no clipboard here"), "{stderr}");
    assert!(stderr.contains(&format!("connected to {}", server.url)), "{stderr}");
    assert!(stderr.contains("received a clip"), "{stderr}");
    assert!(stderr.trim_end().ends_with("stopped"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_clipboard_or_folders_there_is_nothing_to_sync() {
    let server = TestServer::start().await;
    let alice = User::new(&server, "alice").await;
    alice.login();
    let out = spawn_sync(&alice, &[]).wait_with_output().unwrap();
    let line = failed(&out, 1);
    assert!(line.starts_with("cloudbuffer: no clipboard here ("), "{line}");
    assert!(line.ends_with("give --outbox or --inbox to sync folders"), "{line}");
    let out = spawn_sync(&alice, &["--inbox", "missing"]).wait_with_output().unwrap();
    assert_eq!(failed(&out, 1), "cloudbuffer: missing is not a folder");
}
