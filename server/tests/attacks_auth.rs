//! Sign-in and share-password guessing as an attacker does it, over
//! loopback from several 127.0.0.0/8 addresses: huge user names cannot
//! grow the limiter, guessing a user's password locks out the guesser and
//! not the user, and guessing a share password from many addresses gets
//! each of them refused while the right password still opens the link.

mod common;
mod support;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use common::{TestServer, TestUser};
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// An HTTP client whose connections come from `from`.
fn client_from(from: &str) -> reqwest::Client {
    reqwest::Client::builder().local_address(from.parse::<IpAddr>().unwrap()).build().unwrap()
}

async fn login(server: &TestServer, http: &reqwest::Client, body: Value) -> reqwest::Response {
    http.post(server.url("/api/v1/auth/login")).json(&body).send().await.unwrap()
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn huge_user_names_are_refused_before_any_state_is_kept() {
    let data = tempfile::tempdir().unwrap();
    let server = support::Spawned::serve(data.path(), &[]).await;
    let before = rss_kib(server.pid());
    let http = reqwest::Client::new();
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    // 3,000 distinct 48 KiB names (the JSON body limit is 64 KiB, the
    // header limit 64 KiB): 140 MiB of names that would each be a key.
    let requests = (0..3000).map(|i| {
        let name = format!("{i}-{}", "n".repeat(48 * 1024));
        let http = http.clone();
        let url = server.url(if i % 3 == 0 { "/api/v1/auth/register" } else { "/api/v1/auth/login" });
        let basic = server.url("/api/v1/me");
        async move {
            if i % 3 == 2 {
                let r = http.get(basic).basic_auth(&name[..16 * 1024], Some("password1")).send().await;
                return r.unwrap().status().as_u16();
            }
            let body = json!({"username": name, "password": "password1"});
            http.post(url).json(&body).send().await.unwrap().status().as_u16()
        }
    });
    let started = Instant::now();
    let mut stream = futures_util::stream::iter(requests).buffer_unordered(16);
    while let Some(status) = stream.next().await {
        *statuses.entry(status).or_default() += 1;
    }
    assert!(statuses.keys().all(|s| [401, 422].contains(s)), "{statuses:?}");
    assert!(started.elapsed() < Duration::from_secs(60), "took {:?}", started.elapsed());
    let after = rss_kib(server.pid());
    assert!(after < before + 32 * 1024, "RSS grew from {before} KiB to {after} KiB");
}

#[tokio::test]
async fn guessing_a_password_locks_out_the_guesser_not_the_user() {
    let server = TestServer::start_with(|s| s.auth_attempts_per_minute = Some(3)).await;
    let alice: TestUser = server.register("alice").await;
    // Alice's own device signs in once and keeps its device token.
    let body = json!({"username": "alice", "password": alice.password});
    let first = login(&server, &client_from("127.0.0.1"), body).await;
    let device_token = first.json::<Value>().await.unwrap()["device_token"].as_str().unwrap().to_string();

    // Mallory guesses from two addresses until each is refused.
    for address in ["127.0.0.21", "127.0.0.22"] {
        let http = client_from(address);
        let mut refused = false;
        for i in 0..6 {
            let guess =
                login(&server, &http, json!({"username": "alice", "password": format!("guess-{i}-x")})).await;
            if guess.status() == StatusCode::TOO_MANY_REQUESTS {
                assert!(guess.headers().contains_key("retry-after"));
                refused = true;
                break;
            }
            assert_eq!(guess.status(), StatusCode::UNAUTHORIZED);
        }
        assert!(refused, "{address} was never refused");
    }

    // Alice from her own address, and from a shared one with her device
    // token, still gets in.
    let body = json!({"username": "alice", "password": alice.password});
    assert_eq!(login(&server, &client_from("127.0.0.23"), body).await.status(), StatusCode::OK);
    let with_token = json!({"username": "alice", "password": alice.password, "device_token": device_token});
    let shared = client_from("127.0.0.21");
    assert_eq!(login(&server, &shared, with_token.clone()).await.status(), StatusCode::OK);
    let without = json!({"username": "alice", "password": alice.password});
    assert_eq!(login(&server, &shared, without).await.status(), StatusCode::TOO_MANY_REQUESTS);
    // A forged device token is worth nothing.
    let forged = json!({"username": "alice", "password": alice.password, "device_token": "0".repeat(64)});
    assert_eq!(login(&server, &shared, forged).await.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn share_guessing_from_many_addresses_is_refused_per_address() {
    let server = TestServer::start_with(|s| s.auth_attempts_per_minute = Some(3)).await;
    let alice = server.register("alice").await;
    let file = server.upload(&alice, "secret.txt", "the secret").await;
    let share: Value = server
        .share(&alice, json!({"file_id": file["id"], "password": "correct horse"}))
        .await
        .json()
        .await
        .unwrap();
    let raw = server.url(&format!("/s/{}/raw", share["token"].as_str().unwrap()));
    for n in 30..38 {
        let http = client_from(&format!("127.0.0.{n}"));
        let mut statuses = Vec::new();
        for i in 0..4 {
            let r = http.get(&raw).header("x-share-password", format!("guess {i}")).send().await.unwrap();
            statuses.push(r.status().as_u16());
        }
        assert_eq!(statuses, [401, 401, 401, 429], "from 127.0.0.{n}");
    }
    // The right password from one more address opens it.
    let http = client_from("127.0.0.40");
    let started = Instant::now();
    let ok = http.get(&raw).header("x-share-password", "correct horse").send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.text().await.unwrap(), "the secret");
    assert!(started.elapsed() < Duration::from_secs(11), "waited at most the longest delay");
}
