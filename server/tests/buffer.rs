//! The clipboard buffer: seed-compatible PUT/POST/GET with X-Data-Type,
//! the clip history, file clips as stored files, the history cap, expiry.

mod common;

use std::time::Duration;

use common::{encode_segment, expect_error, pseudo_random, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::Value;

#[tokio::test]
async fn a_text_clip_round_trips_like_the_seed_api() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let empty = server.as_user(&alice, Method::GET, "/api/v1/buffer").send().await.unwrap();
    assert_eq!(empty.status(), StatusCode::NO_CONTENT);

    let long = "é".repeat(300);
    let clip = server.copy_text(&alice, &long).await;
    assert_eq!(clip["kind"], "text");
    assert_eq!(clip["size"], long.len());
    assert_eq!(clip["preview"].as_str().unwrap().chars().count(), 200);
    assert_eq!(clip["origin_device_id"], alice.device_id.as_str());
    assert!(clip.get("file").is_none());

    let got = server.as_user(&alice, Method::GET, "/api/v1/buffer").send().await.unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(got.headers()["x-data-type"], "text");
    assert_eq!(got.headers()["x-clip-id"], clip["id"].as_str().unwrap());
    assert!(got.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    assert_eq!(got.text().await.unwrap(), long);

    // POST works too, and Basic clients have no device.
    let posted = server
        .request(Method::POST, "/api/v1/buffer")
        .basic_auth("alice", Some(&alice.password))
        .header("x-data-type", "text")
        .body("second")
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::CREATED);
    let posted: Value = posted.json().await.unwrap();
    assert_eq!(posted["origin_device_id"], Value::Null);
    let newest =
        server.as_user(&alice, Method::GET, "/api/v1/buffer").send().await.unwrap().text().await.unwrap();
    assert_eq!(newest, "second");
    let with_basic = server.request(Method::GET, "/api/v1/buffer").basic_auth("alice", Some(&alice.password));
    let with_basic = with_basic.send().await.unwrap();
    assert_eq!(with_basic.headers()["x-clip-id"], posted["id"].as_str().unwrap());
    assert_eq!(with_basic.text().await.unwrap(), "second", "Basic finds the newest clip too");
    let bob = server.register("bob").await;
    let theirs = server.as_user(&bob, Method::GET, "/api/v1/buffer").send().await.unwrap();
    assert_eq!(theirs.status(), StatusCode::NO_CONTENT, "another user's buffer is not yours");

    let clips: Vec<Value> = server.clips(&alice).await;
    assert_eq!(clips.len(), 2);
    assert_eq!(clips[0]["id"], posted["id"]);
    let one = server.as_user(
        &alice,
        Method::GET,
        &format!("/api/v1/buffer/clips/{}", clip["id"].as_str().unwrap()),
    );
    assert_eq!(one.send().await.unwrap().json::<Value>().await.unwrap(), clip);
    let content = server
        .as_user(
            &alice,
            Method::GET,
            &format!("/api/v1/buffer/clips/{}/content", clip["id"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(content.text().await.unwrap(), long);
}

#[tokio::test]
async fn a_file_clip_is_a_stored_file() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let bytes = pseudo_random(123_456, 7);
    let response = server
        .as_user(&alice, Method::PUT, "/api/v1/buffer")
        .header("x-data-type", "file")
        .header("x-filename", encode_segment("photo été.png"))
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let clip: Value = response.json().await.unwrap();
    assert_eq!(clip["kind"], "file");
    assert_eq!(clip["size"], 123_456);
    assert_eq!(clip["file"]["name"], "photo été.png");
    assert_eq!(clip["file"]["content_type"], "image/png");
    assert_eq!(clip["expires_at"], clip["file"]["expires_at"]);
    let files = server.files(&alice).await;
    assert_eq!(files.len(), 1);
    assert_eq!(files[0], clip["file"]);

    let got = server.as_user(&alice, Method::GET, "/api/v1/buffer").send().await.unwrap();
    assert_eq!(got.headers()["x-data-type"], "file");
    assert!(got.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("UTF-8''photo%20%C3%A9t%C3%A9.png"));
    assert_eq!(got.bytes().await.unwrap(), bytes);

    // The name may come in Content-Disposition instead.
    let response = server
        .as_user(&alice, Method::PUT, "/api/v1/buffer")
        .header("x-data-type", "file")
        .header("content-disposition", "attachment; filename=\"notes.txt\"")
        .body("notes")
        .send()
        .await
        .unwrap();
    let clip: Value = response.json().await.unwrap();
    assert_eq!(clip["file"]["name"], "notes.txt");

    // Deleting the clip keeps the file; deleting the file takes the clip.
    let id = clip["id"].as_str().unwrap();
    let gone =
        server.as_user(&alice, Method::DELETE, &format!("/api/v1/buffer/clips/{id}")).send().await.unwrap();
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    assert_eq!(server.files(&alice).await.len(), 2);
    let first_file = files[0]["id"].as_str().unwrap();
    server.as_user(&alice, Method::DELETE, &format!("/api/v1/files/{first_file}")).send().await.unwrap();
    let clips: Vec<Value> = server.clips(&alice).await;
    assert!(clips.is_empty(), "{clips:?}");
}

#[tokio::test]
async fn file_clips_count_against_max_files() {
    let server = TestServer::start_with(|s| s.max_files = Some(2)).await;
    let alice = server.register("alice").await;
    for i in 0..3 {
        let response = server
            .as_user(&alice, Method::PUT, "/api/v1/buffer")
            .header("x-data-type", "file")
            .header("x-filename", format!("{i}.bin"))
            .body(pseudo_random(1000, i))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    assert_eq!(server.files(&alice).await.len(), 2);
    let clips: Vec<Value> = server.clips(&alice).await;
    assert_eq!(clips.len(), 2, "the evicted file's clip went with it");
}

#[tokio::test]
async fn bad_buffer_requests_get_clear_errors() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let put = |data_type: Option<&str>| {
        let request = server.as_user(&alice, Method::PUT, "/api/v1/buffer");
        match data_type {
            Some(t) => request.header("x-data-type", t),
            None => request,
        }
    };
    expect_error(put(None).body("x").send().await.unwrap(), StatusCode::BAD_REQUEST, "data_type_required")
        .await;
    expect_error(
        put(Some("image")).body("x").send().await.unwrap(),
        StatusCode::BAD_REQUEST,
        "unknown_data_type",
    )
    .await;
    expect_error(
        put(Some("file")).body("x").send().await.unwrap(),
        StatusCode::BAD_REQUEST,
        "filename_required",
    )
    .await;
    let big = "a".repeat((1 << 20) + 1);
    expect_error(
        put(Some("text")).body(big).send().await.unwrap(),
        StatusCode::PAYLOAD_TOO_LARGE,
        "clip_too_large",
    )
    .await;
    expect_error(
        put(Some("text")).body(vec![0xff, 0xfe, 0x00]).send().await.unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_text",
    )
    .await;
    let clips: Vec<Value> = server.clips(&alice).await;
    assert!(clips.is_empty());
    assert!(server.files(&alice).await.is_empty());
}

#[tokio::test]
async fn the_history_keeps_clip_history_clips_and_can_be_cleared() {
    let server = TestServer::start_with(|s| s.clip_history = Some(3)).await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(server.copy_text(&alice, &format!("clip {i}")).await["id"].as_str().unwrap().to_string());
    }
    let clips: Vec<Value> = server.clips(&alice).await;
    let listed: Vec<&str> = clips.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(listed, vec![ids[3].as_str(), ids[2].as_str(), ids[1].as_str()]);
    let stats: Value =
        server.as_user(&alice, Method::GET, "/api/v1/stats").send().await.unwrap().json().await.unwrap();
    assert_eq!(stats["clips"], 3);

    let theirs =
        server.as_user(&bob, Method::GET, &format!("/api/v1/buffer/clips/{}", ids[3])).send().await.unwrap();
    expect_error(theirs, StatusCode::NOT_FOUND, "not_found").await;
    let theirs = server
        .as_user(&bob, Method::DELETE, &format!("/api/v1/buffer/clips/{}", ids[3]))
        .send()
        .await
        .unwrap();
    expect_error(theirs, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(
        server.as_user(&bob, Method::GET, "/api/v1/buffer").send().await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    let theirs = server.share(&bob, serde_json::json!({"clip_id": ids[3]})).await;
    expect_error(theirs, StatusCode::NOT_FOUND, "not_found").await;

    let cleared = server.as_user(&alice, Method::DELETE, "/api/v1/buffer").send().await.unwrap();
    assert_eq!(cleared.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        server.as_user(&alice, Method::GET, "/api/v1/buffer").send().await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn clips_expire_410_then_are_swept() {
    let server = TestServer::start_with(|s| {
        s.expiry_seconds = Some(1);
        s.sweep_interval_seconds = Some(3600);
    })
    .await;
    let alice = server.register("alice").await;
    let clip = server.copy_text(&alice, "short-lived").await;
    let path = format!("/api/v1/buffer/clips/{}", clip["id"].as_str().unwrap());
    tokio::time::sleep(Duration::from_millis(1050)).await;
    expect_error(
        server.as_user(&alice, Method::GET, &path).send().await.unwrap(),
        StatusCode::GONE,
        "expired",
    )
    .await;
    assert_eq!(
        server.as_user(&alice, Method::GET, "/api/v1/buffer").send().await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    cloudbuffer_server::sweeper::sweep_once(&server.state).await.unwrap();
    expect_error(
        server.as_user(&alice, Method::GET, &path).send().await.unwrap(),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_clips_all_succeed_though_they_trim_each_other() {
    // History of one: every clip may be trimmed by the next before its
    // response is written; each was stored, so each gets 201 and its clip.
    let server = TestServer::start_with(|s| s.clip_history = Some(1)).await;
    let alice = server.register("alice").await;
    let puts = (0..24).map(|i| {
        let request = server
            .as_user(&alice, Method::PUT, "/api/v1/buffer")
            .header("x-data-type", "text")
            .body(format!("clip {i}"));
        async move {
            let response = request.send().await.unwrap();
            (response.status(), response.json::<Value>().await.unwrap_or_default())
        }
    });
    for (i, (status, clip)) in futures_util::future::join_all(puts).await.into_iter().enumerate() {
        assert_eq!(status, StatusCode::CREATED, "clip {i}: {clip}");
        assert_eq!(clip["preview"], format!("clip {i}"));
    }
    assert_eq!(server.clips(&alice).await.len(), 1);
}
