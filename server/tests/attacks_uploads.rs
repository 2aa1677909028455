//! Uploads as an attacker sends them, over loopback: multipart part headers
//! that never end, oversized side fields, bodies that stall, hundreds of
//! stalled uploads from one account, and concurrent uploads racing the
//! quota. Each ends with a clear error and leaves nothing behind, and the
//! server keeps serving everyone else.

mod common;
mod support;

use std::time::{Duration, Instant};

use common::{expect_error, pseudo_random, TestServer, TestUser};
use reqwest::{Method, StatusCode};
use support::{host_of, raw_upload_reading_early, read_response};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

fn multipart_head(server_base: &str, user: &TestUser, length: Option<u64>) -> Vec<u8> {
    let length = length.map(|n| format!("Content-Length: {n}\r\n")).unwrap_or_default();
    format!(
        "POST /api/v1/files HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: multipart/form-data; boundary=XyZ\r\n{length}\r\n",
        host_of(server_base),
        user.access_token
    )
    .into_bytes()
}

/// Resident memory of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn endless_part_headers_get_400_and_are_not_buffered() {
    let data = tempfile::tempdir().unwrap();
    let server = support::Spawned::serve(data.path(), &[]).await;
    assert_eq!(server.register("mallory", "mallory-password").await.status(), 201);
    let token = server.token("mallory", "mallory-password").await;
    let before = rss_kib(server.pid());

    let total: u64 = 256 << 20;
    let head = format!(
        "POST /api/v1/files HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: {total}\r\n\r\n--XyZ\r\n",
        server.addr
    );
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    writer.write_all(head.as_bytes()).await.unwrap();
    let sender = tokio::spawn(async move {
        let chunk = vec![b'a'; 64 * 1024];
        let mut sent = 0u64;
        while sent < total {
            if writer.write_all(&chunk).await.is_err() {
                break;
            }
            sent += chunk.len() as u64;
        }
        sent
    });
    let response = tokio::time::timeout(Duration::from_secs(20), read_response(&mut reader)).await.unwrap();
    response.expect_error(400, "multipart_headers_too_large");
    let sent =
        tokio::time::timeout(Duration::from_secs(20), sender).await.expect("the server hung up").unwrap();
    assert!(sent < 64 << 20, "the server read {sent} bytes of headers before hanging up");
    let after = rss_kib(server.pid());
    assert!(after < before + 32 * 1024, "RSS grew from {before} KiB to {after} KiB");
    // And the server is fine.
    assert_eq!(server.me(&token).await["username"], "mallory");
}

#[tokio::test]
async fn a_huge_side_field_is_413_and_a_missing_file_part_400() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let form = reqwest::multipart::Form::new()
        .text("note", "n".repeat(100 * 1024))
        .part("file", reqwest::multipart::Part::bytes(b"data".to_vec()).file_name("a.txt"));
    let response =
        server.as_user(&alice, Method::POST, "/api/v1/files").multipart(form).send().await.unwrap();
    expect_error(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;

    // A small side field is fine.
    let form = reqwest::multipart::Form::new()
        .text("note", "hello")
        .part("file", reqwest::multipart::Part::bytes(b"data".to_vec()).file_name("a.txt"));
    let response =
        server.as_user(&alice, Method::POST, "/api/v1/files").multipart(form).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);

    let form = reqwest::multipart::Form::new().text("note", "no file here");
    let response =
        server.as_user(&alice, Method::POST, "/api/v1/files").multipart(form).send().await.unwrap();
    expect_error(response, StatusCode::BAD_REQUEST, "missing_file_field").await;
    assert_eq!(server.files(&alice).await.len(), 1);
    assert_eq!(server.pending_uploads(), 0);
}

#[tokio::test]
async fn uploads_that_stall_get_408_and_leave_nothing() {
    let server = TestServer::start_with(|s| s.idle_timeout_seconds = Some(1)).await;
    let alice = server.register("alice").await;
    let addr = host_of(&server.base).to_string();

    // Multipart: stalls inside the file part.
    let head = multipart_head(&server.base, &alice, Some(10_000));
    let body =
        b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\n\r\nabc".to_vec();
    let started = Instant::now();
    raw_upload_reading_early(&addr, &head, body).await.expect_error(408, "request_timeout");
    assert!(started.elapsed() < Duration::from_secs(5));

    // Multipart: stalls inside the part headers.
    let body = b"--XyZ\r\nContent-Disposition: form-da".to_vec();
    raw_upload_reading_early(&addr, &head, body).await.expect_error(408, "request_timeout");

    // Raw PUT: one byte, then nothing.
    let head = format!(
        "PUT /api/v1/files/stalled.bin HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Length: 1000\r\n\r\n",
        alice.access_token
    );
    raw_upload_reading_early(&addr, head.as_bytes(), b"x".to_vec())
        .await
        .expect_error(408, "request_timeout");

    assert!(server.files(&alice).await.is_empty());
    assert_eq!(server.pending_uploads(), 0);
    assert_eq!(server.state.uploads.of(&user_id(&server, &alice).await), (0, 0));
}

async fn user_id(server: &TestServer, user: &TestUser) -> String {
    let me: serde_json::Value =
        server.as_user(user, Method::GET, "/api/v1/me").send().await.unwrap().json().await.unwrap();
    me["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn hundreds_of_stalled_uploads_get_429_and_logins_stay_fast() {
    let server = TestServer::start().await;
    let mallory = server.register("mallory").await;
    let alice = server.register("alice").await;
    let file = server.upload(&alice, "keep.txt", "kept").await;
    let addr = host_of(&server.base).to_string();
    let head = format!(
        "PUT /api/v1/files/stall.bin HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Length: 1000000\r\n\r\nx",
        mallory.access_token
    );
    // 8 (the default cap) hold a slot; the rest are told to come back later.
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..200 {
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        stream.write_all(head.as_bytes()).await.unwrap();
        let read = tokio::time::timeout(Duration::from_millis(300), read_response(&mut stream)).await;
        match read {
            Ok(response) => {
                response.expect_error(429, "too_many_uploads");
                assert_eq!(response.header_values("retry-after"), [b"2"]);
                refused += 1;
            }
            Err(_) => held.push(stream),
        }
    }
    assert_eq!(held.len(), 8, "uploads held at once");
    assert_eq!(refused, 192);

    // Everyone else is served at once: logins (argon2) and downloads.
    for _ in 0..3 {
        let started = Instant::now();
        let body = serde_json::json!({"username": "alice", "password": alice.password});
        let login = server.request(Method::POST, "/api/v1/auth/login").json(&body).send().await.unwrap();
        assert_eq!(login.status(), StatusCode::OK);
        let content = format!("/api/v1/files/{}/content", file["id"].as_str().unwrap());
        let download = server.as_user(&alice, Method::GET, &content).send().await.unwrap();
        assert_eq!(download.text().await.unwrap(), "kept");
        assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    }
    drop(held);
    assert!(server.files(&mallory).await.is_empty());
}

#[tokio::test]
async fn concurrent_uploads_cannot_overshoot_the_quota_in_flight() {
    let quota: u64 = 4 << 20;
    let server = TestServer::start_with(|s| s.quota_bytes = Some(quota)).await;
    let alice = server.register("alice").await;
    let alice_id = user_id(&server, &alice).await;
    let size = 1536 * 1024;
    let (statuses, peak) = upload_concurrently(&server, &alice, &alice_id, size, 0..8).await;
    // Together they need 12 MiB: whatever order they arrive in, no more
    // than the quota is ever in flight, and those refused get a clear 507.
    assert!(peak <= quota, "{peak} bytes reserved in flight, quota {quota}");
    assert!(statuses.iter().all(|s| *s == 201 || *s == 507), "{statuses:?}");
    let stored: u64 = server.files(&alice).await.iter().map(|f| f["size"].as_u64().unwrap()).sum();
    assert!(stored <= quota);
    assert_eq!(server.pending_uploads(), 0);
    assert_eq!(server.state.uploads.of(&alice_id), (0, 0));

    // Uploads that fit together all succeed, even at once.
    for file in server.files(&alice).await {
        let delete = server.as_user(
            &alice,
            Method::DELETE,
            &format!("/api/v1/files/{}", file["id"].as_str().unwrap()),
        );
        assert!(delete.send().await.unwrap().status().is_success());
    }
    let (statuses, _) = upload_concurrently(&server, &alice, &alice_id, size, 10..12).await;
    assert_eq!(statuses, [201, 201]);
}

/// PUTs files of `size` bytes, one per seed, all at once and streamed
/// without a Content-Length; their statuses and the peak of bytes in flight.
async fn upload_concurrently(
    server: &TestServer,
    user: &TestUser,
    user_id: &str,
    size: usize,
    seeds: std::ops::Range<u64>,
) -> (Vec<u16>, u64) {
    let uploads = seeds.map(|i| {
        let request = server.as_user(user, Method::PUT, &format!("/api/v1/files/part-{i}.bin"));
        let chunks = pseudo_random(size, i).chunks(64 * 1024).map(|c| c.to_vec()).collect::<Vec<_>>();
        let stream = futures_util::stream::iter(chunks).then(|chunk| async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            Ok::<_, std::io::Error>(chunk)
        });
        request.body(reqwest::Body::wrap_stream(stream)).send()
    });
    let done = std::sync::atomic::AtomicBool::new(false);
    let sampler = async {
        let mut peak = 0;
        while !done.load(std::sync::atomic::Ordering::Relaxed) {
            peak = peak.max(server.state.uploads.of(user_id).1);
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        peak
    };
    let uploads = async {
        let responses = futures_util::future::join_all(uploads).await;
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        responses
    };
    let (responses, peak) = tokio::join!(uploads, sampler);
    let mut statuses = Vec::new();
    for response in responses {
        let response = response.unwrap();
        let status = response.status().as_u16();
        if status != 201 {
            expect_error(response, StatusCode::INSUFFICIENT_STORAGE, "quota_exceeded").await;
        }
        statuses.push(status);
    }
    (statuses, peak)
}

use futures_util::StreamExt;
