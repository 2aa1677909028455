//! Per-user limits: the oldest file is evicted past max_files (atomically,
//! under 50 concurrent uploads), 413 while streaming past max_file_bytes
//! without writing more than the limit, 507 past the quota.

mod common;

use common::{expect_error, pseudo_random, TestServer};
use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::Value;

#[tokio::test]
async fn one_file_past_the_limit_evicts_the_oldest() {
    let server = TestServer::start_with(|s| s.max_files = Some(3)).await;
    let alice = server.register("alice").await;
    let mut ids = Vec::new();
    for i in 0..4 {
        let file = server.upload(&alice, &format!("{i}.txt"), format!("content {i}")).await;
        ids.push(file["id"].as_str().unwrap().to_string());
    }
    let listed: Vec<String> =
        server.files(&alice).await.iter().map(|f| f["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(listed, vec![ids[3].clone(), ids[2].clone(), ids[1].clone()]);
    let evicted =
        server.as_user(&alice, Method::GET, &format!("/api/v1/files/{}", ids[0])).send().await.unwrap();
    expect_error(evicted, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(server.stored_blobs().len(), 3, "the evicted file's blob is gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_uploads_leave_exactly_max_files() {
    let server = TestServer::start_with(|s| {
        s.max_files = Some(20);
        s.max_uploads_per_user = Some(64);
    })
    .await;
    let alice = server.register("alice").await;
    let uploads = (0..50).map(|i| {
        let request = server
            .as_user(&alice, Method::PUT, &format!("/api/v1/files/f{i}.bin"))
            .body(pseudo_random(20_000 + i, i as u64));
        async move { request.send().await.unwrap().status() }
    });
    let statuses = futures_util::future::join_all(uploads).await;
    assert!(statuses.iter().all(|s| *s == StatusCode::CREATED), "{statuses:?}");
    let files = server.files(&alice).await;
    assert_eq!(files.len(), 20);
    let stats: Value =
        server.as_user(&alice, Method::GET, "/api/v1/stats").send().await.unwrap().json().await.unwrap();
    assert_eq!(stats["files"], 20);
    let bytes: u64 = files.iter().map(|f| f["size"].as_u64().unwrap()).sum();
    assert_eq!(stats["bytes_used"], bytes);
    assert_eq!(server.stored_blobs().len(), 20, "evicted blobs are unlinked");
    assert_eq!(server.pending_uploads(), 0);
}

#[tokio::test]
async fn declared_oversize_is_refused_before_reading() {
    let server = TestServer::start_with(|s| s.max_file_bytes = Some(100_000)).await;
    let alice = server.register("alice").await;
    let response = server
        .as_user(&alice, Method::PUT, "/api/v1/files/big.bin")
        .body(pseudo_random(100_001, 1))
        .send()
        .await
        .unwrap();
    let body = expect_error(response, StatusCode::PAYLOAD_TOO_LARGE, "file_too_large").await;
    assert!(body["error"]["message"].as_str().unwrap().contains("97.7 KiB"), "{body}");
    let exact = server
        .as_user(&alice, Method::PUT, "/api/v1/files/ok.bin")
        .body(pseudo_random(100_000, 2))
        .send()
        .await
        .unwrap();
    assert_eq!(exact.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn streamed_oversize_gets_413_and_leaves_nothing() {
    let limit = 1_000_000u64;
    let server = TestServer::start_with(|s| s.max_file_bytes = Some(limit)).await;
    let alice = server.register("alice").await;
    // No Content-Length: chunked, so only counting while streaming can catch it.
    // The body would go on for 64 MiB; the server must stop reading early.
    let chunks = futures_util::stream::iter(0..1024u64)
        .map(|i| Ok::<_, std::io::Error>(bytes::Bytes::from(pseudo_random(65_536, i))));
    let response = server
        .as_user(&alice, Method::PUT, "/api/v1/files/stream.bin")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await;
    match response {
        Ok(response) => {
            expect_error(response, StatusCode::PAYLOAD_TOO_LARGE, "file_too_large").await;
        }
        // The server may close the connection while the client still sends.
        Err(e) => assert!(e.is_request() || e.is_body(), "{e}"),
    }
    assert!(server.files(&alice).await.is_empty());
    assert!(server.stored_blobs().is_empty());
    let mut temps = server.pending_uploads();
    for _ in 0..100 {
        if temps == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        temps = server.pending_uploads();
    }
    assert_eq!(temps, 0);
}

#[tokio::test]
async fn multipart_oversize_gets_413() {
    let server = TestServer::start_with(|s| s.max_file_bytes = Some(50_000)).await;
    let alice = server.register("alice").await;
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(pseudo_random(60_000, 9)).file_name("x.bin"));
    let response =
        server.as_user(&alice, Method::POST, "/api/v1/files").multipart(form).send().await.unwrap();
    expect_error(response, StatusCode::PAYLOAD_TOO_LARGE, "file_too_large").await;
    assert!(server.files(&alice).await.is_empty());
}

#[tokio::test]
async fn over_quota_gets_507_and_stores_nothing() {
    let server = TestServer::start_with(|s| s.quota_bytes = Some(250_000)).await;
    let alice = server.register("alice").await;
    server.upload(&alice, "a.bin", pseudo_random(200_000, 1)).await;
    let response = server
        .as_user(&alice, Method::PUT, "/api/v1/files/b.bin")
        .body(pseudo_random(100_000, 2))
        .send()
        .await
        .unwrap();
    expect_error(response, StatusCode::INSUFFICIENT_STORAGE, "quota_exceeded").await;
    assert_eq!(server.files(&alice).await.len(), 1);
    assert_eq!(server.stored_blobs().len(), 1, "the refused content is not kept");
    let whole = server
        .as_user(&alice, Method::PUT, "/api/v1/files/c.bin")
        .body(pseudo_random(300_000, 3))
        .send()
        .await
        .unwrap();
    expect_error(whole, StatusCode::INSUFFICIENT_STORAGE, "quota_exceeded").await;
    // Another user is unaffected.
    let bob = server.register("bob").await;
    server.upload(&bob, "b.bin", pseudo_random(100_000, 2)).await;
}
