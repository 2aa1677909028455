//! `cloudbuffer pair`, driven as a process against a real server: the
//! pairing link it prints is redeemed as a phone would (`POST
//! /api/v1/auth/pair`), the CLI sees the phone arrive and says so; a code
//! works once; links a phone cannot open are called out.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cloudbuffer_client::loopback_warning;
use cloudbuffer_client::pairing::pairing_code;
use cloudbuffer_client::{Client, ClientError};
use cloudbuffer_tests::TestServer;
use common::{cloudbuffer_bin, no_panic, ok, User};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pair_waits_for_the_phone_and_a_code_works_once() {
    let server = TestServer::start().await;
    let alice = User::new(&server, "alice").await;
    alice.login();

    let mut child = Command::new(cloudbuffer_bin())
        .arg("pair")
        .env("CLOUDBUFFER_CONFIG_DIR", alice.config.path())
        .env("RUST_BACKTRACE", "1")
        .env_remove("CLOUDBUFFER_SERVER")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cloudbuffer pair starts");
    // The link is its first line; the rest is read once it exits.
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut url = String::new();
    let read = tokio::task::spawn_blocking(move || {
        let _ = stdout.read_line(&mut url);
        (url, stdout)
    });
    let (url, mut stdout) = tokio::time::timeout(Duration::from_secs(30), read)
        .await
        .expect("the link is printed within 30 s")
        .unwrap();
    let url = url.trim().to_string();
    assert!(url.starts_with(&format!("{}/app/#pair=", server.url)), "{url}");
    let code = pairing_code(&url).expect("a code in the link").to_string();

    // The phone opens the link: the code becomes a new device's tokens.
    let phone = Client::new(&server.url).unwrap();
    let tokens = phone.pair(&code, "Pixel 8 (test)").await.expect("the code is redeemed");
    assert!(!tokens.access_token.is_empty() && !tokens.device_id.is_empty());

    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("cloudbuffer pair did not notice the phone within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    no_panic(&stderr);
    assert!(status.success(), "exit {status:?}; stderr: {stderr}");
    assert_eq!(rest.trim(), "Paired: Pixel 8 (test)", "no QR code when stdout is not a terminal");
    // The test server's links are loopback ones: said plainly, on stderr,
    // naming the port in use.
    let port = server.addr.port();
    let warning = format!(
        "phones can't open 127.0.0.1 — start the server with --bind 0.0.0.0 --public-url \
         http://<this machine's LAN address>:{port} (scripts/run-server.sh --lan does both)"
    );
    assert!(stderr.contains(&warning), "{stderr}");
    assert!(stderr.contains("works once, for the next 5 min"), "{stderr}");

    // The phone is a device of alice's, listed by the CLI.
    let devices: serde_json::Value = serde_json::from_str(&alice.run(["devices", "--json"])).unwrap();
    let names: Vec<&str> = devices.as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"Pixel 8 (test)"), "{names:?}");

    // A second use of the same code is refused with 410.
    let again = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/pair", server.url))
        .json(&serde_json::json!({"code": code, "device_name": "thief"}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 410);
    let body: serde_json::Value = again.json().await.unwrap();
    assert_eq!(body["error"]["code"], "pairing_used");
    match phone.pair(&code, "thief").await {
        Err(ClientError::Gone(_)) => {}
        other => panic!("a used code: {other:?}"),
    }
    // No device was made of it.
    let after: serde_json::Value = serde_json::from_str(&alice.run(["devices", "--json"])).unwrap();
    assert_eq!(after.as_array().unwrap().len(), devices.as_array().unwrap().len(), "{after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pair_no_wait_prints_a_link_and_a_qr_code() {
    // A server whose links use a LAN address: no warning.
    let server = TestServer::start_with(|s| s.public_url = Some("http://192.0.2.10:8080".into())).await;
    let alice = User::new(&server, "alice").await;
    alice.login();
    let out = alice.cmd(["pair", "--no-wait", "--qr"]).output().unwrap();
    let stdout = ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let url = common::first_line(&stdout);
    assert!(url.starts_with("http://192.0.2.10:8080/app/#pair="), "{url}");
    assert!(stdout.contains('█'), "a QR code is drawn");
    assert!(!stderr.contains("phones can't open"), "{stderr}");
    // It exits at once, and the code still works.
    let code = pairing_code(url).unwrap();
    Client::new(&server.url).unwrap().pair(code, "tablet").await.expect("the code works");

    // Unknown codes are 404s; help says what the command does.
    match Client::new(&server.url).unwrap().pair("AAAAAAAAAAAAAAAAAAAAAA", "x").await {
        Err(ClientError::NotFound(_)) => {}
        other => panic!("an unknown code: {other:?}"),
    }
    let help = alice.run(["pair", "--help"]);
    assert!(help.contains("Add a phone") && help.contains("--no-wait"), "{help}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn share_links_on_loopback_are_called_out() {
    let server = TestServer::start().await;
    let alice = User::new(&server, "alice").await;
    alice.login();
    std::fs::write(alice.path("a.txt"), "hello").unwrap();
    let out = alice.cmd(["send", "a.txt"]).output().unwrap();
    ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&loopback_warning(&server.url).unwrap()), "{stderr}");
    let out = alice.cmd(["pair", "--no-wait"]).output().unwrap();
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("phones can't open 127.0.0.1 —"));
}

/// With end-to-end encryption unlocked on this device, the pairing link
/// carries the account key after `#` (so the phone's web app can open
/// encrypted items); `--no-key` leaves it out, and before E2E is on there is
/// no key to add.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_link_carries_the_encryption_key_unless_told_not_to() {
    let server = TestServer::start().await;
    let alice = User::new(&server, "alice").await;
    alice.login();
    let first_line = |stdout: String| stdout.lines().next().unwrap_or("").to_string();

    let url = first_line(ok(&alice.cmd(["pair", "--no-wait"]).output().unwrap()));
    assert!(pairing_code(&url).is_some() && !url.contains("&k="), "no key before E2E is on: {url}");

    let passphrase = "a passphrase for pairing";
    ok(&alice.cmd(["e2e", "enable"]).env("CLOUDBUFFER_E2E_PASSPHRASE", passphrase).output().unwrap());
    let keyed = alice.cmd(["pair", "--no-wait"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&keyed.stderr).to_string();
    let url = first_line(ok(&keyed));
    assert!(pairing_code(&url).is_some(), "{url}");
    let key = cloudbuffer_client::pairing::account_key_in(&url).expect("a well-formed key in the link");
    // The same key the server holds wrapped under the passphrase.
    let client = Client::new(&server.url).unwrap();
    client.login("alice", &alice.password, "checker").await.unwrap();
    let wrapped = client.e2e_key().await.unwrap().wrapped_key.expect("a wrapped key on the server");
    let wrapped: cloudbuffer_client::crypto::WrappedAccountKey = serde_json::from_value(wrapped).unwrap();
    assert_eq!(key.as_bytes(), wrapped.unwrap(passphrase.as_bytes()).unwrap().as_bytes());
    assert!(stderr.contains("carries your end-to-end encryption key"), "{stderr}");

    let url = first_line(ok(&alice.cmd(["pair", "--no-wait", "--no-key"]).output().unwrap()));
    assert!(pairing_code(&url).is_some() && !url.contains("&k="), "{url}");
}
