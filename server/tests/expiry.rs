//! Expiry: files answer 410 once expired, until the sweeper purges rows
//! and unreferenced blobs; start-up removes what a crash left behind.

mod common;

use std::time::Duration;

use common::{expect_error, TestServer};
use reqwest::{Method, StatusCode};

#[tokio::test]
async fn expired_files_answer_410_until_swept_then_404() {
    // A long sweep interval so the 410 window is ours to observe.
    let server = TestServer::start_with(|s| {
        s.expiry_seconds = Some(1);
        s.sweep_interval_seconds = Some(3600);
    })
    .await;
    let alice = server.register("alice").await;
    let file = server.upload(&alice, "soon.txt", "gone soon").await;
    let id = file["id"].as_str().unwrap();
    assert_eq!(server.files(&alice).await.len(), 1);
    let expires = time::OffsetDateTime::parse(
        file["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let wait = expires - time::OffsetDateTime::now_utc();
    tokio::time::sleep(Duration::try_from(wait).unwrap_or_default() + Duration::from_millis(50)).await;

    for (method, path) in [
        (Method::GET, format!("/api/v1/files/{id}")),
        (Method::GET, format!("/api/v1/files/{id}/content")),
        (Method::DELETE, format!("/api/v1/files/{id}")),
    ] {
        let response = server.as_user(&alice, method, &path).send().await.unwrap();
        expect_error(response, StatusCode::GONE, "expired").await;
    }
    assert!(server.files(&alice).await.is_empty());
    assert_eq!(server.stored_blobs().len(), 1);

    let purged = cloudbuffer_server::sweeper::sweep_once(&server.state).await.unwrap();
    assert_eq!(purged, 1);
    let response = server.as_user(&alice, Method::GET, &format!("/api/v1/files/{id}")).send().await.unwrap();
    expect_error(response, StatusCode::NOT_FOUND, "not_found").await;
    assert!(server.stored_blobs().is_empty());
}

#[tokio::test]
async fn the_background_sweeper_purges_on_its_interval() {
    let server = TestServer::start_with(|s| {
        s.expiry_seconds = Some(1);
        s.sweep_interval_seconds = Some(1);
    })
    .await;
    let alice = server.register("alice").await;
    let file = server.upload(&alice, "soon.txt", "gone soon").await;
    let path = format!("/api/v1/files/{}", file["id"].as_str().unwrap());
    let started = std::time::Instant::now();
    loop {
        let status = server.as_user(&alice, Method::GET, &path).send().await.unwrap().status();
        if status == StatusCode::NOT_FOUND {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "not purged after 5 s (last {status})");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The sweep unlinks the blob just after the row goes: 404 can come first.
    while !server.stored_blobs().is_empty() {
        assert!(started.elapsed() < Duration::from_secs(5), "blob still stored 5 s on");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_new_upload_of_expired_content_survives_the_purge() {
    let server = TestServer::start_with(|s| {
        s.expiry_seconds = Some(1);
        s.sweep_interval_seconds = Some(3600);
    })
    .await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    server.upload(&alice, "same.txt", "same bytes").await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let fresh = server.upload(&bob, "same.txt", "same bytes").await;
    cloudbuffer_server::sweeper::sweep_once(&server.state).await.unwrap();
    let body = server
        .as_user(&bob, Method::GET, &format!("/api/v1/files/{}/content", fresh["id"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(body.status(), StatusCode::OK);
    assert_eq!(body.text().await.unwrap(), "same bytes");
}

#[tokio::test]
async fn start_up_removes_temp_files_and_unreferenced_blobs() {
    if common::testdb::is_s3() {
        return eprintln!("skipped: plants leftovers on the local disk (store_s3.rs covers the bucket)");
    }
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let kept = server.upload(&alice, "kept.txt", "kept").await;
    let dir = server.stop().await;
    let store = dir.path().join("store");
    std::fs::write(store.join("tmp").join("crashed.part"), b"half an upload").unwrap();
    let orphan = format!("ab{}", "0".repeat(62));
    std::fs::create_dir_all(store.join("ab")).unwrap();
    std::fs::write(store.join("ab").join(&orphan), b"nobody's").unwrap();
    if common::testdb::is_postgres() {
        // Shared stores keep young leftovers (maybe another instance's):
        // make these an hour old.
        let an_hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
        for old in [store.join("tmp").join("crashed.part"), store.join("ab").join(&orphan)] {
            std::fs::File::options().write(true).open(old).unwrap().set_modified(an_hour_ago).unwrap();
        }
    }

    let server = TestServer::start_in(dir, |_| {}).await;
    assert_eq!(server.pending_uploads(), 0);
    assert_eq!(server.stored_blobs(), vec![kept["hash"].as_str().unwrap().to_string()]);
    // Accounts and tokens survive the restart (same secret, same database).
    assert_eq!(server.files(&alice).await.len(), 1);
}
