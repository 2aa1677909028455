//! The file store over real HTTP: multipart and raw uploads, listing,
//! download headers, HEAD, ranges, ETags, dedup with reference counts,
//! ownership, and download counts.

mod common;

use common::{blake3_hex, expect_error, pseudo_random, TestServer};
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::Value;

#[tokio::test]
async fn multipart_and_raw_uploads_are_listed_newest_first() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let bytes = pseudo_random(300_000, 1);
    let form =
        Form::new().text("note", "ignored").part("file", Part::bytes(bytes.clone()).file_name("photo.png"));
    let response =
        server.as_user(&alice, Method::POST, "/api/v1/files").multipart(form).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let first: Value = response.json().await.unwrap();
    assert_eq!(first["name"], "photo.png");
    assert_eq!(first["size"], 300_000);
    assert_eq!(first["hash"], blake3_hex(&bytes));
    assert_eq!(first["content_type"], "image/png");
    assert_eq!(first["downloads"], 0);

    let second = server.upload(&alice, "notes été.txt", "hello").await;
    assert_eq!(second["name"], "notes été.txt");
    assert_eq!(second["content_type"], "text/plain");

    let files = server.files(&alice).await;
    let ids: Vec<_> = files.iter().map(|f| f["id"].clone()).collect();
    assert_eq!(ids, vec![second["id"].clone(), first["id"].clone()]);
    let info: Value = server
        .as_user(&alice, Method::GET, &format!("/api/v1/files/{}", first["id"].as_str().unwrap()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info, first);
    let created = time::OffsetDateTime::parse(
        first["created_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let expires = time::OffsetDateTime::parse(
        first["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!((expires - created).whole_seconds(), 7200);
}

#[tokio::test]
async fn multipart_without_a_file_part_or_with_another_type_is_refused() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let form = Form::new().text("other", "x");
    let response =
        server.as_user(&alice, Method::POST, "/api/v1/files").multipart(form).send().await.unwrap();
    expect_error(response, StatusCode::BAD_REQUEST, "missing_file_field").await;
    let response = server.as_user(&alice, Method::POST, "/api/v1/files").body("raw").send().await.unwrap();
    expect_error(response, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type").await;
    assert!(server.files(&alice).await.is_empty());
}

#[tokio::test]
async fn download_headers_head_ranges_and_etag() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let bytes = pseudo_random(1_000_000, 2);
    let file = server.upload(&alice, "Résumé \"final\".pdf", bytes.clone()).await;
    let path = format!("/api/v1/files/{}/content", file["id"].as_str().unwrap());

    let full = server.as_user(&alice, Method::GET, &path).send().await.unwrap();
    assert_eq!(full.status(), StatusCode::OK);
    let headers = full.headers().clone();
    assert_eq!(headers["content-type"], "application/pdf");
    assert_eq!(headers["content-length"], "1000000");
    assert_eq!(headers["accept-ranges"], "bytes");
    let etag = headers["etag"].to_str().unwrap().to_string();
    assert_eq!(etag, format!("\"{}\"", blake3_hex(&bytes)));
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"R_sum_ _final_.pdf\"; filename*=UTF-8''R%C3%A9sum%C3%A9%20%22final%22.pdf"
    );
    assert_eq!(full.bytes().await.unwrap(), bytes);

    let head = server.as_user(&alice, Method::HEAD, &path).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()["content-length"], "1000000");
    assert!(head.bytes().await.unwrap().is_empty());

    let part =
        server.as_user(&alice, Method::GET, &path).header("range", "bytes=1000-1999").send().await.unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.headers()["content-range"], "bytes 1000-1999/1000000");
    assert_eq!(part.headers()["content-length"], "1000");
    assert_eq!(part.bytes().await.unwrap(), &bytes[1000..2000]);

    let tail = server.as_user(&alice, Method::GET, &path).header("range", "bytes=-10").send().await.unwrap();
    assert_eq!(tail.bytes().await.unwrap(), &bytes[bytes.len() - 10..]);

    let outside =
        server.as_user(&alice, Method::GET, &path).header("range", "bytes=2000000-").send().await.unwrap();
    assert_eq!(outside.headers()["content-range"], "bytes */1000000");
    expect_error(outside, StatusCode::RANGE_NOT_SATISFIABLE, "range_not_satisfiable").await;

    let cached =
        server.as_user(&alice, Method::GET, &path).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);

    // A stale If-Range means the client's partial copy is of other content.
    let stale = server
        .as_user(&alice, Method::GET, &path)
        .header("range", "bytes=10-")
        .header("if-range", "\"something-else\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::OK);
}

#[tokio::test]
async fn completed_downloads_are_counted_once_each() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let file = server.upload(&alice, "a.bin", pseudo_random(500_000, 3)).await;
    let id = file["id"].as_str().unwrap();
    let path = format!("/api/v1/files/{id}/content");
    for _ in 0..2 {
        let body = server.as_user(&alice, Method::GET, &path).send().await.unwrap().bytes().await.unwrap();
        assert_eq!(body.len(), 500_000);
    }
    // HEAD and a range that stops short of the end are not downloads.
    server.as_user(&alice, Method::HEAD, &path).send().await.unwrap();
    server
        .as_user(&alice, Method::GET, &path)
        .header("range", "bytes=0-9")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let mut stats = Value::Null;
    for _ in 0..500 {
        stats =
            server.as_user(&alice, Method::GET, "/api/v1/stats").send().await.unwrap().json().await.unwrap();
        if stats["downloads"] == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(stats["downloads"], 2, "{stats}");
    assert_eq!(stats["bytes_downloaded"], 1_000_000);
    let info: Value = server
        .as_user(&alice, Method::GET, &format!("/api/v1/files/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["downloads"], 2);
    // The next expiry is this file's, the only one.
    assert_eq!(stats["files"], 1);
    assert_eq!(stats["next_expiry_at"], info["expires_at"], "{stats}");
}

#[tokio::test]
async fn identical_content_is_stored_once_and_freed_with_its_last_reference() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let bytes = pseudo_random(200_000, 4);
    let a = server.upload(&alice, "one.bin", bytes.clone()).await;
    let b = server.upload(&bob, "two.bin", bytes.clone()).await;
    let a2 = server.upload(&alice, "again.bin", bytes.clone()).await;
    assert_eq!(a["hash"], b["hash"]);
    let hash = a["hash"].as_str().unwrap().to_string();
    assert_eq!(server.stored_blobs(), vec![hash.clone()]);
    assert_eq!(server.blob_bytes(&hash, bytes.len() as u64), bytes, "the blob holds the content");

    for (user, file) in [(&alice, &a), (&bob, &b)] {
        let path = format!("/api/v1/files/{}", file["id"].as_str().unwrap());
        let gone = server.as_user(user, Method::DELETE, &path).send().await.unwrap();
        assert_eq!(gone.status(), StatusCode::NO_CONTENT);
        assert_eq!(server.stored_blobs(), vec![hash.clone()], "still referenced by another file");
    }
    let path = format!("/api/v1/files/{}", a2["id"].as_str().unwrap());
    assert_eq!(
        server.as_user(&alice, Method::DELETE, &path).send().await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    assert!(server.stored_blobs().is_empty());
    let again = server.as_user(&alice, Method::DELETE, &path).send().await.unwrap();
    expect_error(again, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn files_are_their_owners_alone() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let file = server.upload(&alice, "private.txt", "secret").await;
    let id = file["id"].as_str().unwrap();
    for (method, path) in [
        (Method::GET, format!("/api/v1/files/{id}")),
        (Method::GET, format!("/api/v1/files/{id}/content")),
        (Method::DELETE, format!("/api/v1/files/{id}")),
    ] {
        let response = server.as_user(&bob, method, &path).send().await.unwrap();
        expect_error(response, StatusCode::NOT_FOUND, "not_found").await;
    }
    assert!(server.files(&bob).await.is_empty());
    assert_eq!(server.files(&alice).await.len(), 1);
    let anonymous = server.request(Method::GET, &format!("/api/v1/files/{id}/content")).send().await.unwrap();
    expect_error(anonymous, StatusCode::UNAUTHORIZED, "missing_credentials").await;
}

#[tokio::test]
async fn empty_files_work() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let file = server.upload(&alice, "empty", Vec::new()).await;
    assert_eq!(file["size"], 0);
    assert_eq!(file["hash"], blake3_hex(b""));
    let body = server
        .as_user(&alice, Method::GET, &format!("/api/v1/files/{}/content", file["id"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(body.status(), StatusCode::OK);
    assert!(body.bytes().await.unwrap().is_empty());
}
