//! Two instances on one PostgreSQL database behave as one server: tokens,
//! files, live events, sign-outs, limits and one-time links cross between
//! them. Needs `CLOUDBUFFER_TEST_DATABASE_URL` (scripts/test.sh sets it for
//! its PostgreSQL pass); on SQLite, which is one process, each test says it
//! was skipped.

mod common;

use std::time::Duration;

use common::{testdb, wait_for_event, TestServer};
use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Instance A and a sibling B; `None` (and a note) on SQLite. Each
/// instance takes up to 16 uploads of one user at once (the per-user cap
/// counts per instance).
async fn pair(share_store: bool, max_files: Option<u64>) -> Option<(TestServer, TestServer)> {
    if !testdb::is_postgres() {
        eprintln!("skipped: needs PostgreSQL ({} unset)", testdb::ENV);
        return None;
    }
    let adjust = |s: &mut cloudbuffer_server::config::Settings| {
        s.max_files = max_files;
        s.max_uploads_per_user = Some(16);
    };
    let a = TestServer::start_with(adjust).await;
    let b = a.start_sibling(share_store, adjust).await;
    Some((a, b))
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
    let bytes = common::pseudo_random(300_000, 7);
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
    let closed = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            match phone_on_b.next().await {
                Some(Ok(tokio_tungstenite::tungstenite::Message::Close(Some(frame)))) => {
                    break u16::from(frame.code)
                }
                Some(Ok(_)) => continue,
                other => panic!("socket ended without a close frame: {other:?}"),
            }
        }
    })
    .await
    .expect("the phone's socket on B closes within 2 s (well before any ping re-check)");
    assert_eq!(closed, 4001);
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
    assert_eq!(a.blobs_on_disk().len(), 5, "evicted blobs left the shared store");
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
            async move { server.request(Method::GET, &raw).send().await.unwrap().status() }
        });
        let statuses = futures_util::future::join_all(fetches).await;
        let served = statuses.iter().filter(|s| **s == StatusCode::OK).count();
        assert_eq!(served, 1, "round {round}: {statuses:?}");
    }
}
