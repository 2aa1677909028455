//! Share links: creation rules, the four states, passwords and their rate
//! limit, exact one-time downloads under concurrency, text clip shares,
//! and QR codes decoded back to the link.

mod common;

use std::time::Duration;

use common::{expect_error, pseudo_random, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn share_of(server: &TestServer, user: &common::TestUser, request: Value) -> Value {
    let response = server.share(user, request).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

fn path_of(share: &Value) -> String {
    format!("/s/{}", share["token"].as_str().unwrap())
}

#[tokio::test]
async fn a_file_share_is_a_public_absolute_link() {
    let server = TestServer::start_with(|s| s.public_url = Some("https://buffer.example.net/".into())).await;
    let alice = server.register("alice").await;
    let bytes = pseudo_random(300_000, 1);
    let file = server.upload(&alice, "photo.jpg", bytes.clone()).await;
    let share = share_of(&server, &alice, json!({"file_id": file["id"]})).await;
    let token = share["token"].as_str().unwrap();
    assert!(token.len() >= 22 && token.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    assert_eq!(share["url"], format!("https://buffer.example.net/s/{token}"));
    assert_eq!(share["qr_png_url"], format!("https://buffer.example.net/s/{token}/qr.png"));
    assert_eq!(share["qr_svg_url"], format!("https://buffer.example.net/s/{token}/qr.svg"));
    assert_eq!(share["file"], file);
    assert_eq!(share["state"], "active");
    assert_eq!(share["password_protected"], false);
    assert_eq!(share["max_downloads"], Value::Null);
    assert_eq!(share["expires_at"], file["expires_at"], "defaults to the file's remaining life");
    assert!((7190..=7200).contains(&share["time_left"].as_u64().unwrap()));

    let raw = server.request(Method::GET, &format!("{}/raw", path_of(&share))).send().await.unwrap();
    assert_eq!(raw.status(), StatusCode::OK);
    assert!(raw.headers()["content-disposition"].to_str().unwrap().contains("photo.jpg"));
    assert_eq!(raw.bytes().await.unwrap(), bytes);
    // The download is counted once its body has gone out, just after the
    // client has it: wait for it (up to 10 s, for a loaded CI machine).
    let mut listed: Vec<Value> = Vec::new();
    for _ in 0..500 {
        listed =
            server.as_user(&alice, Method::GET, "/api/v1/shares").send().await.unwrap().json().await.unwrap();
        if listed[0]["downloads"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(listed[0]["downloads"], 1);
    let stats: Value =
        server.as_user(&alice, Method::GET, "/api/v1/stats").send().await.unwrap().json().await.unwrap();
    assert_eq!(stats["shares_active"], 1);
    assert_eq!(stats["downloads"], 1);
}

#[tokio::test]
async fn share_requests_are_validated() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let file = server.upload(&alice, "a.txt", "a").await;
    let id = file["id"].clone();
    for (request, code) in [
        (json!({"file_id": id, "expires_in": 7201}), "expires_in_too_long"),
        (json!({"file_id": id, "expires_in": 0}), "invalid_expires_in"),
        (json!({"file_id": id, "expires_in": -5}), "invalid_expires_in"),
        (json!({"file_id": id, "max_downloads": 0}), "invalid_max_downloads"),
        (json!({"file_id": id, "password": ""}), "weak_password"),
        (json!({"file_id": id, "password": "7 chars"}), "weak_password"),
        (json!({"file_id": id, "password": "x".repeat(1025)}), "invalid_password"),
        (json!({}), "invalid_share_target"),
        (json!({"file_id": id, "clip_id": "x"}), "invalid_share_target"),
    ] {
        expect_error(server.share(&alice, request).await, StatusCode::UNPROCESSABLE_ENTITY, code).await;
    }
    expect_error(server.share(&bob, json!({"file_id": id})).await, StatusCode::NOT_FOUND, "not_found").await;
    expect_error(server.share(&alice, json!({"clip_id": "nope"})).await, StatusCode::NOT_FOUND, "not_found")
        .await;
    let share = share_of(&server, &alice, json!({"file_id": id, "expires_in": 60})).await;
    assert_eq!(share["time_left"], 60);
    let revoke =
        server.as_user(&bob, Method::DELETE, &format!("/api/v1/shares/{}", share["token"].as_str().unwrap()));
    expect_error(revoke.send().await.unwrap(), StatusCode::NOT_FOUND, "not_found").await;
    let unknown = server.request(Method::GET, "/s/not-a-real-token/raw").send().await.unwrap();
    expect_error(unknown, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn passwords_are_required_checked_and_rate_limited() {
    let server = TestServer::start_with(|s| s.auth_attempts_per_minute = Some(4)).await;
    let alice = server.register("alice").await;
    let file = server.upload(&alice, "secret.txt", "the secret").await;
    let share = share_of(&server, &alice, json!({"file_id": file["id"], "password": "open sesame"})).await;
    assert_eq!(share["password_protected"], true);
    let raw = format!("{}/raw", path_of(&share));
    let get = |password: Option<&str>| {
        let request = server.request(Method::GET, &raw);
        match password {
            Some(p) => request.header("x-share-password", p),
            None => request,
        }
    };
    expect_error(get(None).send().await.unwrap(), StatusCode::UNAUTHORIZED, "password_required").await;
    expect_error(get(Some("wrong")).send().await.unwrap(), StatusCode::UNAUTHORIZED, "wrong_password").await;
    assert_eq!(get(Some("open sesame")).send().await.unwrap().text().await.unwrap(), "the secret");
    let form = server.request(Method::POST, &raw).form(&[("password", "open sesame")]).send().await.unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    assert_eq!(form.text().await.unwrap(), "the secret");
    let json =
        server.request(Method::POST, &raw).json(&json!({"password": "open sesame"})).send().await.unwrap();
    expect_error(json, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type").await;
    // Two attempts are left in the budget of four; the flood is then refused.
    let mut refused = None;
    for _ in 0..4 {
        let response = get(Some("guess")).send().await.unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            refused = Some(response);
            break;
        }
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let refused = refused.expect("429 after the flood");
    assert!(refused.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
    expect_error(refused, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn guesses_sent_all_at_once_cannot_outrun_the_password_budget() {
    let server = TestServer::start_with(|s| s.auth_attempts_per_minute = Some(4)).await;
    let alice = server.register("alice").await;
    let file = server.upload(&alice, "vault.txt", "the vault").await;
    let share = share_of(&server, &alice, json!({"file_id": file["id"], "password": "open sesame"})).await;
    let url = server.url(&format!("{}/raw", path_of(&share)));
    let http = reqwest::Client::new();
    let guesses = (0..40).map(|i| {
        let request = http.get(&url).header("x-share-password", format!("guess {i}"));
        tokio::spawn(async move { request.send().await.unwrap().status() })
    });
    let mut statuses = Vec::new();
    for guess in guesses.collect::<Vec<_>>() {
        statuses.push(guess.await.unwrap());
    }
    let checked = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    let refused = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!(checked + refused, 40, "{statuses:?}");
    assert!(checked <= 4, "{checked} guesses were checked against a budget of 4");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_one_time_link_serves_exactly_one_of_two_simultaneous_downloads() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let bytes = pseudo_random(4_000_000, 5);
    let file = server.upload(&alice, "once.bin", bytes.clone()).await;
    let share = share_of(&server, &alice, json!({"file_id": file["id"], "max_downloads": 1})).await;
    let url = server.url(&format!("{}/raw", path_of(&share)));
    let fetch = || {
        let http = reqwest::Client::new();
        let url = url.clone();
        async move {
            let response = http.get(url).send().await.unwrap();
            let status = response.status();
            (status, response.bytes().await.unwrap())
        }
    };
    let (a, b) = tokio::join!(tokio::spawn(fetch()), tokio::spawn(fetch()));
    let results = [a.unwrap(), b.unwrap()];
    let served: Vec<_> = results.iter().filter(|(s, _)| *s == StatusCode::OK).collect();
    assert_eq!(served.len(), 1, "statuses {:?}", results.iter().map(|r| r.0).collect::<Vec<_>>());
    assert_eq!(served[0].1, bytes);
    assert!(results.iter().any(|(s, _)| *s == StatusCode::GONE));

    let mut state = Value::Null;
    for _ in 0..500 {
        let listed: Vec<Value> =
            server.as_user(&alice, Method::GET, "/api/v1/shares").send().await.unwrap().json().await.unwrap();
        state = listed[0]["state"].clone();
        if state == "exhausted" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(state, "exhausted");
    let again = server.request(Method::GET, &format!("{}/raw", path_of(&share))).send().await.unwrap();
    expect_error(again, StatusCode::GONE, "exhausted").await;
}

#[tokio::test]
async fn an_interrupted_download_does_not_use_up_a_one_time_link() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let file = server.upload(&alice, "big.bin", pseudo_random(8_000_000, 6)).await;
    let share = share_of(&server, &alice, json!({"file_id": file["id"], "max_downloads": 1})).await;
    let raw = format!("{}/raw", path_of(&share));
    let response = server.request(Method::GET, &raw).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // Hang up before the body: the reservation is released, so the one download is still there.
    drop(response);
    let mut full = 0;
    for _ in 0..100 {
        let again = server.request(Method::GET, &raw).send().await.unwrap();
        if again.status() == StatusCode::OK {
            full = again.bytes().await.unwrap().len();
            break;
        }
        assert_eq!(again.status(), StatusCode::GONE, "only while the hung-up download is being released");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(full, 8_000_000, "the slot came back");
}

#[tokio::test]
async fn revoked_expired_and_orphaned_shares_are_gone() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let file = server.upload(&alice, "a.txt", "a").await;
    let revoked = share_of(&server, &alice, json!({"file_id": file["id"]})).await;
    let short = share_of(&server, &alice, json!({"file_id": file["id"], "expires_in": 1})).await;
    let token = revoked["token"].as_str().unwrap();
    let gone =
        server.as_user(&alice, Method::DELETE, &format!("/api/v1/shares/{token}")).send().await.unwrap();
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    let raw = server.request(Method::GET, &format!("{}/raw", path_of(&revoked))).send().await.unwrap();
    expect_error(raw, StatusCode::GONE, "revoked").await;
    let qr = server.request(Method::GET, &format!("{}/qr.png", path_of(&revoked))).send().await.unwrap();
    assert_eq!(qr.status(), StatusCode::GONE);

    tokio::time::sleep(Duration::from_millis(1050)).await;
    let raw = server.request(Method::GET, &format!("{}/raw", path_of(&short))).send().await.unwrap();
    expect_error(raw, StatusCode::GONE, "expired").await;

    let orphan = share_of(&server, &alice, json!({"file_id": file["id"]})).await;
    server
        .as_user(&alice, Method::DELETE, &format!("/api/v1/files/{}", file["id"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    let raw = server.request(Method::GET, &format!("{}/raw", path_of(&orphan))).send().await.unwrap();
    expect_error(raw, StatusCode::GONE, "expired").await;

    let listed: Vec<Value> =
        server.as_user(&alice, Method::GET, "/api/v1/shares").send().await.unwrap().json().await.unwrap();
    let state_of = |token: &Value| listed.iter().find(|s| s["token"] == *token).unwrap()["state"].clone();
    assert_eq!(state_of(&revoked["token"]), "revoked");
    assert_eq!(state_of(&short["token"]), "expired");
    assert_eq!(state_of(&orphan["token"]), "expired");
    let stats: Value =
        server.as_user(&alice, Method::GET, "/api/v1/stats").send().await.unwrap().json().await.unwrap();
    assert_eq!(stats["shares_active"], 0);
}

#[tokio::test]
async fn a_text_clip_can_be_shared() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let clip = server.copy_text(&alice, "shared words").await;
    let share = share_of(&server, &alice, json!({"clip_id": clip["id"]})).await;
    assert_eq!(share["clip"], clip);
    assert!(share.get("file").is_none());
    let raw = server.request(Method::GET, &format!("{}/raw", path_of(&share))).send().await.unwrap();
    assert!(raw.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    assert_eq!(raw.text().await.unwrap(), "shared words");
}

#[tokio::test]
async fn the_qr_code_decodes_to_exactly_the_share_url() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let file = server.upload(&alice, "a.txt", "a").await;
    let share = share_of(&server, &alice, json!({"file_id": file["id"]})).await;
    let png = server.request(Method::GET, &format!("{}/qr.png", path_of(&share))).send().await.unwrap();
    assert_eq!(png.headers()["content-type"], "image/png");
    let png = png.bytes().await.unwrap();
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png.to_vec())).read_info().unwrap();
    let mut pixels = vec![0; decoder.output_buffer_size()];
    let info = decoder.next_frame(&mut pixels).unwrap();
    let (width, height) = (info.width as usize, info.height as usize);
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| pixels[y * width + x]);
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1);
    let (_, content) = grids[0].decode().unwrap();
    assert_eq!(content, share["url"].as_str().unwrap());

    let svg = server.request(Method::GET, &format!("{}/qr.svg", path_of(&share))).send().await.unwrap();
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    assert!(svg.text().await.unwrap().contains("<svg"));
    let unknown = server.request(Method::GET, "/s/unknown-token/qr.svg").send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn head_and_ranges_cannot_get_around_a_download_limit() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let clip = server.copy_text(&alice, "read me once").await;
    let text_once = share_of(&server, &alice, json!({"clip_id": clip["id"], "max_downloads": 1})).await;
    let raw = format!("{}/raw", path_of(&text_once));
    for _ in 0..3 {
        let head = server.request(Method::HEAD, &raw).send().await.unwrap();
        assert_eq!(head.status(), StatusCode::OK);
    }
    assert_eq!(server.request(Method::GET, &raw).send().await.unwrap().text().await.unwrap(), "read me once");
    let mut status = StatusCode::OK;
    for _ in 0..500 {
        status = server.request(Method::GET, &raw).send().await.unwrap().status();
        if status == StatusCode::GONE {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status, StatusCode::GONE);

    // A limited file link answers ranges with the whole file, and counts it.
    let bytes = pseudo_random(1000, 8);
    let file = server.upload(&alice, "f.bin", bytes.clone()).await;
    let file_once = share_of(&server, &alice, json!({"file_id": file["id"], "max_downloads": 1})).await;
    let raw = format!("{}/raw", path_of(&file_once));
    let ranged = server.request(Method::GET, &raw).header("range", "bytes=0-998").send().await.unwrap();
    assert_eq!(ranged.status(), StatusCode::OK);
    assert_eq!(ranged.bytes().await.unwrap(), bytes);
    let mut status = StatusCode::OK;
    for _ in 0..500 {
        status =
            server.request(Method::GET, &raw).header("range", "bytes=0-10").send().await.unwrap().status();
        if status == StatusCode::GONE {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status, StatusCode::GONE);
}

#[tokio::test]
async fn right_passwords_are_never_rate_limited_and_no_login_dialog_is_asked_for() {
    let server = TestServer::start_with(|s| s.auth_attempts_per_minute = Some(2)).await;
    let alice = server.register("alice").await;
    let file = server.upload(&alice, "s.txt", "s").await;
    let share = share_of(&server, &alice, json!({"file_id": file["id"], "password": "pw-secret"})).await;
    let raw = format!("{}/raw", path_of(&share));
    for _ in 0..6 {
        let ok =
            server.request(Method::GET, &raw).header("x-share-password", "pw-secret").send().await.unwrap();
        assert_eq!(ok.status(), StatusCode::OK);
    }
    let wrong = server.request(Method::GET, &raw).header("x-share-password", "no").send().await.unwrap();
    assert!(!wrong.headers().contains_key("www-authenticate"));
    expect_error(wrong, StatusCode::UNAUTHORIZED, "wrong_password").await;
}
