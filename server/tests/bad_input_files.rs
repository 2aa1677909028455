//! Hostile uploads: path traversal, NUL, over-long, dot-only, HTML and
//! header-injecting file names (through `PUT /api/v1/files/{name}` and
//! through a multipart filename, including non-UTF-8 bytes) end up as one
//! safe name with one safe `Content-Disposition`, and nothing is written
//! outside `<data_dir>/store`; a body cut off mid-upload and a full disk
//! (the real binary under `ulimit -f`) leave no file, temp file or blob.

mod common;
mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{blake3_hex, expect_error, pseudo_random, TestServer, TestUser};
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::io::AsyncWriteExt;

/// Asserts a stored name is one printable path component of at most 255 bytes.
fn assert_safe_name(name: &str) {
    assert!(!name.is_empty() && name.len() <= 255, "name length {}", name.len());
    assert!(!name.contains(['/', '\\']), "separator in {name:?}");
    assert!(!name.chars().any(char::is_control), "control character in {name:?}");
    assert!(!name.chars().all(|c| c == '.'), "dot-only name {name:?}");
}

/// Downloads the file and checks its `Content-Disposition` is one header of
/// printable ASCII, an attachment, and that no header was injected.
async fn assert_safe_download(server: &TestServer, user: &TestUser, info: &Value, bytes: &[u8]) {
    let path = format!("/api/v1/files/{}/content", info["id"].as_str().unwrap());
    let response = server.as_user(user, Method::GET, &path).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let dispositions: Vec<_> = response.headers().get_all("content-disposition").iter().collect();
    assert_eq!(dispositions.len(), 1, "one Content-Disposition");
    let value = dispositions[0].as_bytes();
    assert!(value.iter().all(|&b| (0x20..0x7f).contains(&b)), "non-printable header {value:?}");
    assert!(value.starts_with(b"attachment;"), "{}", String::from_utf8_lossy(value));
    assert!(!response.headers().contains_key("x-injected"), "a header was injected");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(response.bytes().await.unwrap().as_ref(), bytes);
}

/// Nothing outside the store's layout: top level holds only the database,
/// the secret and `store/`; the store only `tmp/` and `xx/` folders of blobs
/// named by their 64-hex hash that starts with `xx`.
fn assert_store_layout(data_dir: &Path) {
    // (`test-database-url`: where the harness remembers a PostgreSQL database.)
    let allowed = [
        "store",
        "jwt_secret",
        "cloudbuffer.db",
        "cloudbuffer.db-wal",
        "cloudbuffer.db-shm",
        "test-database-url",
        "test-store-url",
    ];
    for entry in std::fs::read_dir(data_dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(allowed.contains(&name.as_str()), "unexpected {name:?} in the data dir");
    }
    let is_hex = |s: &str| s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if common::testdb::is_s3() {
        // Blobs are in the bucket (their names are checked by the callers'
        // stored_blobs); nothing of them may be on the disk.
        assert!(!data_dir.join("store").exists(), "an S3 server wrote a local store");
        return;
    }
    for dir in std::fs::read_dir(data_dir.join("store")).unwrap() {
        let dir = dir.unwrap();
        let name = dir.file_name().to_string_lossy().into_owned();
        assert!(dir.file_type().unwrap().is_dir(), "stray file store/{name}");
        if name == "tmp" {
            continue;
        }
        assert!(name.len() == 2 && is_hex(&name), "unexpected folder store/{name}");
        for blob in std::fs::read_dir(dir.path()).unwrap() {
            let blob = blob.unwrap();
            let blob_name = blob.file_name().to_string_lossy().into_owned();
            assert!(blob.file_type().unwrap().is_file(), "not a file: store/{name}/{blob_name}");
            assert!(
                blob_name.len() == 64 && is_hex(&blob_name) && blob_name.starts_with(&name),
                "bad blob {blob_name:?}"
            );
        }
    }
}

/// Waits until the one upload in flight shows in the store: a temp file on
/// disk. In a bucket an upload below one part (these) stays in memory and
/// shows nowhere, so there is nothing to wait for but its arrival.
async fn upload_under_way(server: &TestServer) -> bool {
    if common::testdb::is_s3() {
        tokio::time::sleep(Duration::from_millis(300)).await;
        return server.pending_uploads() == 0;
    }
    eventually(Duration::from_secs(2), || server.pending_uploads() == 1).await
}

/// Polls `condition` every 10 ms for up to `limit`.
async fn eventually(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `(raw name, expected stored name)`; `None`: only check it is safe (and its extension).
fn hostile_names() -> Vec<(String, Option<String>)> {
    let long = format!("{}.txt", "x".repeat(4096));
    vec![
        ("../../etc/passwd".into(), Some("passwd".into())),
        ("..\\..\\windows\\win.ini".into(), Some("win.ini".into())),
        ("...".into(), Some("file".into())),
        ("..".into(), Some("file".into())),
        (long, None),
        ("<script>alert(1)</script>.txt".into(), None),
    ]
}

#[tokio::test]
async fn hostile_names_via_put_are_sanitized() {
    let server = TestServer::start().await;
    let user = server.register("putnames").await;
    let mut cases = hostile_names();
    cases.push(("a\0b.txt".into(), Some("ab.txt".into())));
    cases.push(("evil\"\r\nX-Injected: yes.txt".into(), None));
    for (i, (raw, expected)) in cases.iter().enumerate() {
        let bytes = format!("content number {i}\n").into_bytes();
        // `..` must not become a dot-segment the URL parser would resolve away.
        let info = if raw == ".." {
            let path = "/api/v1/files/%2E%2E";
            let head = format!(
                "PUT {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\nAuthorization: Bearer {}\r\nContent-Length: {}\r\n\r\n",
                user.access_token,
                bytes.len()
            );
            let mut request = head.into_bytes();
            request.extend_from_slice(&bytes);
            let response = support::raw_exchange(support::host_of(&server.base), &request).await;
            assert_eq!(response.status, 201, "{:?}", String::from_utf8_lossy(&response.body));
            response.json()
        } else {
            server.upload(&user, raw, bytes.clone()).await
        };
        let name = info["name"].as_str().unwrap();
        assert_safe_name(name);
        match expected {
            Some(expected) => assert_eq!(name, expected, "stored name of {raw:?}"),
            None => assert!(name.ends_with(".txt"), "{name:?} keeps its extension"),
        }
        if raw.contains("<script>") {
            assert!(info["content_type"].as_str().unwrap().starts_with("text/plain"), "{info}");
        }
        assert_eq!(info["hash"], blake3_hex(&bytes));
        assert_safe_download(&server, &user, &info, &bytes).await;
    }
    assert_eq!(server.files(&user).await.len(), cases.len());
    assert_store_layout(&server.data_dir());
    assert_eq!(server.stored_blobs().len(), cases.len());
}

#[tokio::test]
async fn hostile_names_via_multipart_are_sanitized() {
    let server = TestServer::start().await;
    let user = server.register("formnames").await;
    let cases = hostile_names();
    for (i, (raw, expected)) in cases.iter().enumerate() {
        let bytes = format!("multipart content {i}\n").into_bytes();
        let part = Part::bytes(bytes.clone()).file_name(raw.clone());
        let form = Form::new().percent_encode_noop().part("file", part);
        let response =
            server.as_user(&user, Method::POST, "/api/v1/files").multipart(form).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "upload of {raw:?}");
        let info: Value = response.json().await.unwrap();
        let name = info["name"].as_str().unwrap();
        assert_safe_name(name);
        match expected {
            Some(expected) => assert_eq!(name, expected, "stored name of {raw:?}"),
            None => assert!(name.ends_with(".txt"), "{name:?} keeps its extension"),
        }
        assert_safe_download(&server, &user, &info, &bytes).await;
    }
    assert_store_layout(&server.data_dir());
    assert_eq!(server.stored_blobs().len(), cases.len());
}

#[tokio::test]
async fn non_utf8_names_are_refused_or_sanitized() {
    let server = TestServer::start().await;
    let user = server.register("rawnames").await;
    // Percent-encoding that is not UTF-8, in the PUT path.
    let response =
        server.as_user(&user, Method::PUT, "/api/v1/files/%FF%FE.txt").body("x").send().await.unwrap();
    expect_error(response, StatusCode::BAD_REQUEST, "invalid_path").await;
    // Raw non-UTF-8 bytes in a multipart filename.
    let body_bytes = b"bytes behind a broken name";
    let mut body = b"--XBOUNDARYX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\xff\xfe\xc3(.txt\"\r\nContent-Type: application/octet-stream\r\n\r\n".to_vec();
    body.extend_from_slice(body_bytes);
    body.extend_from_slice(b"\r\n--XBOUNDARYX--\r\n");
    let mut request = format!(
        "POST /api/v1/files HTTP/1.1\r\nHost: test\r\nConnection: close\r\nAuthorization: Bearer {}\r\nContent-Type: multipart/form-data; boundary=XBOUNDARYX\r\nContent-Length: {}\r\n\r\n",
        user.access_token,
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    let response = support::raw_exchange(support::host_of(&server.base), &request).await;
    match response.status {
        201 => {
            let info = response.json();
            assert_safe_name(info["name"].as_str().unwrap());
            assert_eq!(info["hash"], blake3_hex(body_bytes));
            assert_eq!(server.files(&user).await.len(), 1);
        }
        400 => {
            assert!(response.json()["error"]["code"].is_string());
            assert!(server.files(&user).await.is_empty());
        }
        status => panic!("status {status}: {:?}", String::from_utf8_lossy(&response.body)),
    }
    assert_store_layout(&server.data_dir());
    assert_eq!(server.request(Method::GET, "/healthz").send().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_cut_off_mid_upload_leaves_nothing() {
    let server = TestServer::start().await;
    let user = server.register("cutoff").await;
    let mut stream = tokio::net::TcpStream::connect(support::host_of(&server.base)).await.unwrap();
    let head = format!(
        "PUT /api/v1/files/cut.bin HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {}\r\nContent-Type: application/octet-stream\r\nContent-Length: 1048576\r\n\r\n",
        user.access_token
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&pseudo_random(100 * 1024, 11)).await.unwrap();
    stream.flush().await.unwrap();
    // The upload is under way: its temp file exists.
    assert!(upload_under_way(&server).await, "no temp file mid-upload");
    drop(stream);
    assert!(
        eventually(Duration::from_secs(2), || server.pending_uploads() == 0).await,
        "temp file left behind"
    );
    assert!(server.files(&user).await.is_empty(), "a cut-off upload became a file");
    assert!(server.stored_blobs().is_empty(), "a cut-off upload left a blob");
    assert_store_layout(&server.data_dir());
    // And the server carries on.
    let info = server.upload(&user, "whole.bin", pseudo_random(1000, 12)).await;
    assert_eq!(info["size"], 1000);
}

/// The same for the other two ways a file arrives: a multipart upload and a
/// file clip PUT on the buffer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_off_multipart_uploads_and_file_clips_leave_nothing() {
    let server = TestServer::start().await;
    let user = server.register("cutoff2").await;
    let multipart = format!(
        "POST /api/v1/files HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {}\r\n\
         Content-Type: multipart/form-data; boundary=XB\r\nContent-Length: 1048700\r\n\r\n\
         --XB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"cut.bin\"\r\n\r\n",
        user.access_token
    );
    let clip = format!(
        "PUT /api/v1/buffer HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {}\r\nX-Data-Type: file\r\n\
         X-Filename: cut.bin\r\nContent-Length: 1048576\r\n\r\n",
        user.access_token
    );
    for (what, head) in [("multipart", multipart), ("file clip", clip)] {
        let mut stream = tokio::net::TcpStream::connect(support::host_of(&server.base)).await.unwrap();
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(&pseudo_random(300 * 1024, 13)).await.unwrap();
        stream.flush().await.unwrap();
        assert!(upload_under_way(&server).await, "{what}: no temp file mid-upload");
        drop(stream);
        assert!(
            eventually(Duration::from_secs(2), || server.pending_uploads() == 0).await,
            "{what}: temp file left behind"
        );
        assert!(server.files(&user).await.is_empty(), "{what}: a cut-off upload became a file");
        assert!(server.stored_blobs().is_empty(), "{what}: a cut-off upload left a blob");
    }
    let clips = server.as_user(&user, Method::GET, "/api/v1/buffer").send().await.unwrap();
    assert_eq!(clips.status(), StatusCode::NO_CONTENT, "no clip was made");
    assert_store_layout(&server.data_dir());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_507_and_leaves_nothing() {
    if support::testdb::is_s3() {
        return eprintln!("skipped: fills the local disk, which an S3 store does not use");
    }
    let data = tempfile::tempdir().unwrap();
    let port = support::free_port();
    // Writes past the file size limit fail with EFBIG instead of killing the
    // process (SIGXFSZ ignored). dash counts 512-byte blocks: 1 MiB; bash 2 MiB.
    let mut command = support::clean_command("sh");
    command
        .args(["-c", r#"trap "" XFSZ; ulimit -f 2048; exec "$0" "$@""#, support::BIN])
        .args(support::serve_args(port, data.path()));
    let server = support::Spawned::start(command, port).await;
    let response = server.register("fulldisk", "password-of-fulldisk").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let token = response.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_string();

    let big = pseudo_random(4 << 20, 21);
    let head = format!(
        "PUT /api/v1/files/big.bin HTTP/1.1\r\nHost: test\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        big.len()
    );
    let response = support::raw_upload_reading_early(&server.addr.to_string(), head.as_bytes(), big).await;
    response.expect_error(507, "storage_full");

    let list = server.http.get(server.url("/api/v1/files")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(list.json::<Vec<Value>>().await.unwrap().len(), 0, "no file listed");
    assert_eq!(std::fs::read_dir(data.path().join("store/tmp")).unwrap().count(), 0, "temp files left");
    assert_store_layout(data.path());
    let blobs: usize = std::fs::read_dir(data.path().join("store"))
        .unwrap()
        .map(|d| d.unwrap())
        .filter(|d| d.file_name() != "tmp")
        .map(|d| std::fs::read_dir(d.path()).unwrap().count())
        .sum();
    assert_eq!(blobs, 0, "a blob of the failed upload was left");

    // A small upload still works, byte for byte.
    let small = pseudo_random(100 * 1024, 22);
    let response = server
        .http
        .put(server.url("/api/v1/files/small.bin"))
        .bearer_auth(&token)
        .body(small.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let info: Value = response.json().await.unwrap();
    let content = server
        .http
        .get(server.url(&format!("/api/v1/files/{}/content", info["id"].as_str().unwrap())))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(content.status(), StatusCode::OK);
    assert!(content.bytes().await.unwrap().as_ref() == small.as_slice(), "downloaded bytes differ");
    let health = server.http.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let log = server.stderr();
    assert!(log.contains("request failed"), "the failure is logged: {log}");
    assert!(!log.contains("panicked"), "the server panicked: {log}");
}
