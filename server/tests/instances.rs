//! Two instances on one PostgreSQL database behave as one server: tokens,
//! files, live events, sign-outs, limits and one-time links cross between
//! them. Needs `CLOUDBUFFER_TEST_DATABASE_URL` (scripts/test.sh sets it for
//! its PostgreSQL pass); on SQLite, which is one process, each test says it
//! was skipped.

mod common;
mod support;

use std::collections::HashMap;
use std::time::Duration;

use cloudbuffer_server::config::Settings;
use common::{next_event, testdb, wait_for_event, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Instance A and a sibling B; `None` (and a note) on SQLite. Each
/// instance takes up to 16 uploads of one user at once (the per-user cap
/// counts per instance).
async fn pair(share_store: bool, max_files: Option<u64>) -> Option<(TestServer, TestServer)> {
    pair_with(share_store, move |s| s.max_files = max_files).await
}

/// [`pair`] with both instances' settings adjusted.
async fn pair_with(share_store: bool, adjust: impl Fn(&mut Settings)) -> Option<(TestServer, TestServer)> {
    if !postgres() {
        return None;
    }
    let settings = |s: &mut Settings| {
        s.max_uploads_per_user = Some(16);
        adjust(s);
    };
    let a = TestServer::start_with(settings).await;
    let b = a.start_sibling(share_store, settings).await;
    Some((a, b))
}

/// True on PostgreSQL; on SQLite says the test was skipped.
fn postgres() -> bool {
    if !testdb::is_postgres() {
        eprintln!("skipped: needs PostgreSQL ({} unset)", testdb::ENV);
    }
    testdb::is_postgres()
}

#[tokio::test]
async fn tokens_and_passwords_from_one_instance_work_on_the_other() {
    // Separate data dirs: the signing secret comes from the database.
    let Some((a, b)) = pair(false, None).await else { return };
    let alice = a.register("alice").await;
    let me = b.as_user(&alice, Method::GET, "/api/v1/me").send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK, "A's access token on B");
    let basic = b.request(Method::GET, "/api/v1/me").basic_auth("alice", Some(&alice.password)).send().await;
    assert_eq!(basic.unwrap().status(), StatusCode::OK, "Basic on B");
    // Signing out on A ends the token on B at once.
    let out = a.as_user(&alice, Method::POST, "/api/v1/auth/logout").send().await.unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let after = b.as_user(&alice, Method::GET, "/api/v1/me").send().await.unwrap();
    common::expect_error(after, StatusCode::UNAUTHORIZED, "session_revoked").await;
}

#[tokio::test]
async fn a_refresh_replayed_on_b_after_rotation_on_a_signs_the_device_out() {
    let Some((a, b)) = pair(false, None).await else { return };
    let alice = a.register("alice").await;
    let body = serde_json::json!({"refresh_token": alice.refresh_token});
    let rotated = a.request(Method::POST, "/api/v1/auth/refresh").json(&body).send().await.unwrap();
    assert_eq!(rotated.status(), StatusCode::OK);
    let fresh: Value = rotated.json().await.unwrap();
    let replay = b.request(Method::POST, "/api/v1/auth/refresh").json(&body).send().await.unwrap();
    common::expect_error(replay, StatusCode::UNAUTHORIZED, "refresh_token_reused").await;
    // The whole device is out, on both instances, its new tokens included.
    let token = fresh["access_token"].as_str().unwrap();
    for server in [&a, &b] {
        let me = server.request(Method::GET, "/api/v1/me").bearer_auth(token).send().await.unwrap();
        assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    }
    let again = serde_json::json!({"refresh_token": fresh["refresh_token"]});
    let refused = a.request(Method::POST, "/api/v1/auth/refresh").json(&again).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_file_uploaded_on_a_downloads_whole_and_in_ranges_from_b() {
    let Some((a, b)) = pair(true, None).await else { return };
    let alice = a.register("alice").await;
    // In a bucket, big enough to go up in parts.
    let size = if testdb::is_s3() { 9 << 20 } else { 300_000 };
    let bytes = common::pseudo_random(size, 7);
    let file = a.upload(&alice, "photo.jpg", bytes.clone()).await;
    let id = file["id"].as_str().unwrap();
    let path = format!("/api/v1/files/{id}/content");
    let whole = b.as_user(&alice, Method::GET, &path).send().await.unwrap();
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(whole.bytes().await.unwrap().as_ref(), bytes.as_slice());
    let part = b.as_user(&alice, Method::GET, &path).header("range", "bytes=1000-1999").send().await.unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.bytes().await.unwrap().as_ref(), &bytes[1000..2000]);
    assert_eq!(b.files(&alice).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clip_put_on_a_reaches_a_device_connected_to_b_and_sign_outs_cross() {
    let Some((a, b)) = pair(false, None).await else { return };
    let alice = a.register("alice").await;
    let phone = b.login("alice", &alice.password, "phone").await;
    let mut on_b = b.events(&alice).await;
    let mut phone_on_b = b.events(&phone).await;
    let started = std::time::Instant::now();
    let clip = a.copy_text(&alice, "from instance A").await;
    let (event, _) = wait_for_event(&mut on_b, "clip.created").await;
    assert_eq!(event["clip"], clip);
    let (stats, _) = wait_for_event(&mut on_b, "stats").await;
    assert_eq!(stats["stats"]["clips"], 1);
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    // Revoking the phone on A closes its socket on B with 4001.
    let revoke = a
        .as_user(&alice, Method::DELETE, &format!("/api/v1/devices/{}", phone.device_id))
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), StatusCode::NO_CONTENT);
    // Within 2 s: well before any ping re-check.
    let closed = common::close_code(&mut phone_on_b, Duration::from_secs(2)).await;
    assert_eq!(closed, Some(4001));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_uploads_spread_over_both_keep_the_file_limit_exact() {
    let Some((a, b)) = pair(true, Some(5)).await else { return };
    let alice = a.register("alice").await;
    let uploads = (0..24).map(|i| {
        let server = if i % 2 == 0 { &a } else { &b };
        let alice = &alice;
        async move {
            let response = server
                .as_user(alice, Method::PUT, &format!("/api/v1/files/f{i}.bin"))
                .body(common::pseudo_random(20_000, i))
                .send()
                .await
                .unwrap();
            response.status()
        }
    });
    let statuses = futures_util::future::join_all(uploads).await;
    assert!(statuses.iter().all(|s| *s == StatusCode::CREATED), "{statuses:?}");
    assert_eq!(a.files(&alice).await.len(), 5);
    assert_eq!(b.files(&alice).await.len(), 5);
    assert_eq!(a.stored_blobs().len(), 5, "evicted blobs left the shared store");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_time_link_fetched_through_both_at_once_serves_exactly_once() {
    let Some((a, b)) = pair(true, None).await else { return };
    let alice = a.register("alice").await;
    let file = a.upload(&alice, "once.txt", "only once").await;
    for round in 0..5 {
        let share = a.share(&alice, serde_json::json!({"file_id": file["id"], "max_downloads": 1})).await;
        assert_eq!(share.status(), StatusCode::CREATED);
        let share: Value = share.json().await.unwrap();
        let raw = format!("/s/{}/raw", share["token"].as_str().unwrap());
        let fetches = (0..6).map(|i| {
            let server = if i % 2 == 0 { &a } else { &b };
            let raw = raw.clone();
            // Read to the end: a download is served (and counted) when its
            // last byte goes out; one dropped early gives its slot back.
            async move {
                let response = server.request(Method::GET, &raw).send().await.unwrap();
                let status = response.status();
                (status, response.bytes().await.unwrap_or_default())
            }
        });
        let results = futures_util::future::join_all(fetches).await;
        let served = results.iter().filter(|(s, body)| *s == StatusCode::OK && body == "only once").count();
        let statuses: Vec<_> = results.iter().map(|(s, _)| *s).collect();
        assert_eq!(served, 1, "round {round}: {statuses:?}");
        assert!(statuses.iter().all(|s| *s == StatusCode::OK || *s == StatusCode::GONE), "{statuses:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_with_both_sweepers_running_removes_everything_once() {
    let Some((a, b)) = pair_with(true, |s| {
        s.expiry_seconds = Some(1);
        s.sweep_interval_seconds = Some(1);
    })
    .await
    else {
        return;
    };
    let alice = a.register("alice").await;
    let mut watch = [a.events(&alice).await, b.events(&alice).await];
    let mut ids = Vec::new();
    for i in 0..6u64 {
        let server = if i % 2 == 0 { &a } else { &b };
        ids.push(server.upload(&alice, &format!("f{i}"), common::pseudo_random(1000, i)).await["id"].clone());
    }
    // Expiry after 1 s, a sweep each second, a lapsed lease after 2: all
    // gone within 6 s, each announced once on each socket.
    for ws in &mut watch {
        let mut deleted: HashMap<String, usize> = HashMap::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(8);
        while tokio::time::Instant::now() < deadline {
            let Some(event) = next_event(ws, Duration::from_millis(500)).await else {
                if deleted.len() == ids.len() {
                    break;
                }
                continue;
            };
            if event["type"] == "file.deleted" {
                assert_eq!(event["reason"], "expired");
                *deleted.entry(event["id"].as_str().unwrap().to_string()).or_default() += 1;
            }
        }
        assert_eq!(deleted.len(), ids.len(), "every file expired: {deleted:?}");
        assert!(deleted.values().all(|n| *n == 1), "announced once each: {deleted:?}");
    }
    assert!(a.files(&alice).await.is_empty() && b.files(&alice).await.is_empty());
    assert!(a.stored_blobs().is_empty(), "expired blobs left the shared store");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_an_instance_mid_upload_leaves_nothing_partial_and_it_restarts_clean() {
    if !postgres() {
        return;
    }
    // Two processes on one data dir: one database, one store.
    let data = tempfile::tempdir().unwrap();
    let mut a = support::Spawned::serve(data.path(), &[]).await;
    let b = support::Spawned::serve(data.path(), &[]).await;
    assert_eq!(a.register("kim", "kim-password").await.status(), StatusCode::CREATED);
    let token = b.token("kim", "kim-password").await;
    // 1 MiB of a declared 8 MiB, then A dies.
    let mut upload = tokio::net::TcpStream::connect(a.addr).await.unwrap();
    let head = format!(
        "PUT /api/v1/files/big.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Length: {}\r\n\r\n",
        8 << 20
    );
    use tokio::io::AsyncWriteExt;
    upload.write_all(head.as_bytes()).await.unwrap();
    upload.write_all(&vec![7u8; 1 << 20]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    a.kill();
    let list = |server: &support::Spawned| {
        let request = server.http.get(server.url("/api/v1/files")).bearer_auth(&token);
        async move { request.send().await.unwrap().json::<Vec<Value>>().await.unwrap() }
    };
    assert!(list(&b).await.is_empty(), "nothing of the cut upload is visible on B");
    // A comes back on the same dir and database and works; B still does.
    let a = support::Spawned::serve(data.path(), &[]).await;
    assert!(list(&a).await.is_empty());
    let put = a.http.put(a.url("/api/v1/files/after.txt")).bearer_auth(&token).body("after the crash");
    assert_eq!(put.send().await.unwrap().status(), StatusCode::CREATED);
    let files = list(&b).await;
    assert_eq!(files.len(), 1);
    let id = files[0]["id"].as_str().unwrap();
    let content = b.http.get(b.url(&format!("/api/v1/files/{id}/content"))).bearer_auth(&token).send().await;
    assert_eq!(content.unwrap().text().await.unwrap(), "after the crash");
}

#[tokio::test]
async fn one_instance_at_a_time_holds_the_sweeper_lease() {
    // Plain database logic: runs on SQLite too.
    let server = TestServer::start().await;
    let db = &server.state.db;
    let take = |holder: &'static str, now: i64| db.take_lease("test-job", holder, now, now + 2000);
    assert!(take("a", 1000).await.unwrap(), "free: A takes it");
    assert!(!take("b", 1500).await.unwrap(), "held by A: B waits");
    assert!(take("a", 2500).await.unwrap(), "A renews it before it lapses (until 4500)");
    assert!(!take("b", 4000).await.unwrap(), "still A's");
    assert!(take("b", 4500).await.unwrap(), "lapsed: B takes over");
    assert!(!take("a", 5000).await.unwrap(), "and A now waits");
}

#[tokio::test]
async fn password_guesses_spread_over_both_instances_share_one_budget() {
    let Some((a, b)) = pair_with(false, |s| s.auth_attempts_per_minute = Some(3)).await else { return };
    a.register("alice").await;
    let guess = |server: &TestServer| {
        let body = serde_json::json!({"username": "alice", "password": "not-her-password"});
        let request = server.request(Method::POST, "/api/v1/auth/login").json(&body);
        async move { request.send().await.unwrap() }
    };
    // Three per (name, address) per minute, counted across instances.
    for server in [&a, &b, &a] {
        assert_eq!(guess(server).await.status(), StatusCode::UNAUTHORIZED);
    }
    let refused = guess(&b).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS, "B knows what A counted");
    let wait: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    assert_eq!(guess(&a).await.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_reservation_of_a_dead_instance_lapses_with_its_lease() {
    // Plain database logic: runs on SQLite too.
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let file = server.upload(&alice, "once.txt", "only once").await;
    let share: Value = server
        .share(&alice, serde_json::json!({"file_id": file["id"], "max_downloads": 1}))
        .await
        .json()
        .await
        .unwrap();
    let token = share["token"].as_str().unwrap();
    let db = &server.state.db;
    let now = cloudbuffer_server::db::now_ms();
    // An instance reserved the only slot and died: its lease is not renewed.
    assert!(db.reserve_download(token, now, now + 60_000).await.unwrap().is_some());
    assert!(db.reserve_download(token, now + 500, now + 1500).await.unwrap().is_none(), "slot held");
    let raw = format!("/s/{token}/raw");
    let held = server.request(Method::GET, &raw).send().await.unwrap();
    assert_eq!(held.status(), StatusCode::GONE, "while the lease runs the link is busy");
    let later = db.reserve_download(token, now + 60_000, now + 61_000).await.unwrap();
    let id = later.expect("lapsed: the slot is free again");
    db.finish_download(&id, token, true).await.unwrap();
    assert!(db.reserve_download(token, now + 60_100, now + 61_100).await.unwrap().is_none(), "now spent");
}
