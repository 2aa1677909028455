//! Adding a phone by QR code: one-time pairing codes over real HTTP, the
//! events the other devices see, revocation, and codes that are used,
//! expired, unknown, malformed or guessed too fast.

mod common;

use std::time::Duration;

use common::{close_code, expect_error, wait_for_event, TestServer, TestUser};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Asks for a pairing URL as `user`; returns the Pairing.
async fn create_pairing(server: &TestServer, user: &TestUser) -> Value {
    let response = server.as_user(user, Method::POST, "/api/v1/pairings").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

/// Sends `request` and reads its JSON answer.
async fn json_of(request: reqwest::RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}

fn code_of(pairing: &Value) -> String {
    let url = pairing["url"].as_str().unwrap();
    url.split_once("/app/#pair=").expect("a pairing URL").1.to_string()
}

async fn redeem(server: &TestServer, code: &str, name: &str) -> reqwest::Response {
    server
        .request(Method::POST, "/api/v1/auth/pair")
        .json(&json!({"code": code, "device_name": name}))
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_pairs_once_and_the_laptop_sees_it() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let mut laptop = server.events(&alice).await;
    let pairing = create_pairing(&server, &alice).await;
    assert!(pairing["url"].as_str().unwrap().starts_with(&format!("{}/app/#pair=", server.base)));
    assert_eq!(pairing["expires_in"], 300);
    assert!(pairing["qr_svg"].as_str().unwrap().contains("<svg"));
    let code = code_of(&pairing);
    assert_eq!(code.len(), 22);

    let response = redeem(&server, &code, "Chrome on Android").await;
    assert_eq!(response.status(), StatusCode::OK);
    let tokens: Value = response.json().await.unwrap();
    let phone_token = tokens["access_token"].as_str().unwrap().to_string();
    let me = json_of(server.request(Method::GET, "/api/v1/me").bearer_auth(&phone_token)).await;
    assert_eq!(me["username"], "alice");
    let (added, _) = wait_for_event(&mut laptop, "device.added").await;
    assert_eq!(added["device"]["name"], "Chrome on Android");
    assert_eq!(added["device"]["id"], tokens["device_id"]);

    // The code worked once; a replay, even right away, does not sign in.
    expect_error(redeem(&server, &code, "thief").await, StatusCode::GONE, "pairing_used").await;
    let devices = json_of(server.as_user(&alice, Method::GET, "/api/v1/devices")).await;
    let names: Vec<&str> = devices.as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["test", "Chrome on Android"]);

    // Revoking the phone signs it out: its live connection closes.
    let phone = TestUser {
        access_token: phone_token,
        device_id: tokens["device_id"].as_str().unwrap().into(),
        ..alice.clone()
    };
    let mut phone_events = server.events(&phone).await;
    let path = format!("/api/v1/devices/{}", phone.device_id);
    let response = server.as_user(&alice, Method::DELETE, &path).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(close_code(&mut phone_events, Duration::from_secs(5)).await, Some(4001));
    let (removed, _) = wait_for_event(&mut laptop, "device.removed").await;
    assert_eq!(removed["id"], phone.device_id.as_str());
    let response = server.as_user(&phone, Method::GET, "/api/v1/me").send().await.unwrap();
    expect_error(response, StatusCode::UNAUTHORIZED, "session_revoked").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_codes_never_sign_in() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    for code in ["AAAAAAAAAAAAAAAAAAAAAA", "short", "../../etc/passwd", "a\0b", &"x".repeat(4096), ""] {
        expect_error(redeem(&server, code, "guess").await, StatusCode::NOT_FOUND, "pairing_unknown").await;
    }
    for body in ["{", "[]", "{\"device_name\":\"x\"}", "{\"code\":7}"] {
        let response = server
            .request(Method::POST, "/api/v1/auth/pair")
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(matches!(response.status().as_u16(), 400 | 422), "{body}: {}", response.status());
    }
    let response = server.request(Method::POST, "/api/v1/pairings").send().await.unwrap();
    expect_error(response, StatusCode::UNAUTHORIZED, "missing_credentials").await;

    // A code whose five minutes are over.
    let me = json_of(server.as_user(&alice, Method::GET, "/api/v1/me")).await;
    let code = "BBBBBBBBBBBBBBBBBBBBBB";
    let past = cloudbuffer_server::db::now_ms() - 600_000;
    let hash = cloudbuffer_server::auth::pairing::code_hash(code);
    assert!(server
        .state
        .db
        .create_pairing(me["id"].as_str().unwrap(), &hash, past, past + 300_000, 10)
        .await
        .unwrap());
    expect_error(redeem(&server, code, "late").await, StatusCode::GONE, "pairing_expired").await;
    let devices = json_of(server.as_user(&alice, Method::GET, "/api/v1/devices")).await;
    assert_eq!(devices.as_array().unwrap().len(), 1, "no device was added by a bad code");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_is_rate_limited_and_codes_are_capped() {
    let server = TestServer::start_with(|s| s.auth_attempts_per_minute = Some(3)).await;
    let alice = server.register("alice").await;
    for _ in 0..3 {
        let response = redeem(&server, "CCCCCCCCCCCCCCCCCCCCCC", "guess").await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
    let response = redeem(&server, "CCCCCCCCCCCCCCCCCCCCCC", "guess").await;
    assert!(response.headers().contains_key("retry-after"));
    expect_error(response, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;

    for _ in 0..10 {
        create_pairing(&server, &alice).await;
    }
    let response = server.as_user(&alice, Method::POST, "/api/v1/pairings").send().await.unwrap();
    expect_error(response, StatusCode::TOO_MANY_REQUESTS, "too_many_pairings").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_use_the_address_the_request_came_in_through() {
    let server = TestServer::start_with(|s| {
        s.public_url = None;
        s.trusted_proxies = Some("127.0.0.1".into());
    })
    .await;
    let alice = server.register("alice").await;
    let clip = server.copy_text(&alice, "hello").await;
    let port = server.base.rsplit(':').next().unwrap().to_string();
    let lan = format!("192.168.1.7:{port}");
    let share = json_of(
        server
            .as_user(&alice, Method::POST, "/api/v1/shares")
            .header("host", &lan)
            .json(&json!({"clip_id": clip["id"]})),
    )
    .await;
    let token = share["token"].as_str().unwrap();
    assert_eq!(share["url"], format!("http://{lan}/s/{token}"));
    assert_eq!(share["qr_svg_url"], format!("http://{lan}/s/{token}/qr.svg"));
    let pairing =
        json_of(server.as_user(&alice, Method::POST, "/api/v1/pairings").header("host", &lan)).await;
    assert!(pairing["url"].as_str().unwrap().starts_with(&format!("http://{lan}/app/#pair=")));

    // The test client is 127.0.0.1, a trusted proxy here: its forwarded
    // headers name the address phones use.
    let listed = json_of(
        server
            .as_user(&alice, Method::GET, "/api/v1/shares")
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-host", "buffer.example"),
    )
    .await;
    assert_eq!(listed[0]["url"], format!("https://buffer.example/s/{token}"));

    // A Host header that is not a host never reaches a link.
    let listed =
        json_of(server.as_user(&alice, Method::GET, "/api/v1/shares").header("host", "evil.example/phish?"))
            .await;
    assert_eq!(listed[0]["url"], format!("http://127.0.0.1:8080/s/{token}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_app_is_served_with_a_strict_policy() {
    let server = TestServer::start().await;
    let app = server.request(Method::GET, "/app/").send().await.unwrap();
    assert_eq!(app.status(), StatusCode::OK);
    let csp = app.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.starts_with("default-src 'self'"), "{csp}");
    assert_eq!(app.headers()["cache-control"], "no-cache");
    let html = app.text().await.unwrap();
    assert!(!html.contains("__VERSION__"));
    // Every script comes from a file (the CSP would block inline ones).
    for script in html.split("<script").skip(1) {
        let tag = script.split('>').next().unwrap();
        assert!(tag.contains("src=\"/app/"), "inline script: {tag}");
    }
    let version =
        html.split("app.js?v=").nth(1).expect("a versioned app.js").split('"').next().unwrap().to_string();
    let js = server.request(Method::GET, &format!("/app/app.js?v={version}")).send().await.unwrap();
    assert_eq!(js.status(), StatusCode::OK);
    assert_eq!(js.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert!(js.headers()["content-type"].to_str().unwrap().starts_with("text/javascript"));
    let plain = js.bytes().await.unwrap();
    let gzipped = server
        .request(Method::GET, &format!("/app/app.js?v={version}"))
        .header("accept-encoding", "br, gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gzipped.headers()["content-encoding"], "gzip");
    assert_eq!(gzipped.headers()["vary"], "accept-encoding");
    let mut unzipped = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&gzipped.bytes().await.unwrap()[..]),
        &mut unzipped,
    )
    .unwrap();
    assert_eq!(unzipped, plain);
    let stale = server.request(Method::GET, "/app/app.js?v=old").send().await.unwrap();
    assert_eq!(stale.headers()["cache-control"], "no-cache");
    let worker = server.request(Method::GET, &format!("/app/sw.js?v={version}")).send().await.unwrap();
    assert_eq!(worker.headers()["cache-control"], "no-cache");

    for path in ["/app/nope.js", "/app/..%2FCargo.toml", "/app/.hidden", "/app/%00"] {
        let response = server.request(Method::GET, path).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let browser = server.request(Method::GET, "/").header("accept", "text/html,*/*").send().await.unwrap();
    assert_eq!(browser.url().path(), "/app/", "a browser at / lands in the app");
    let script = server.request(Method::GET, "/").send().await.unwrap();
    expect_error(script, StatusCode::NOT_FOUND, "not_found").await;

    let shared = server
        .request(Method::POST, "/app/share-target")
        .multipart(reqwest::multipart::Form::new().text("text", "hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(shared.url().query(), Some("share-target=unavailable"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_manifest_makes_an_installable_share_target() {
    let server = TestServer::start().await;
    let response = server.request(Method::GET, "/app/manifest.webmanifest").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/manifest+json");
    let manifest: Value = response.json().await.unwrap();
    assert!(manifest["name"].as_str().is_some_and(|n| !n.is_empty()));
    assert_eq!(manifest["start_url"], "/app/");
    assert_eq!(manifest["display"], "standalone");
    let icons = manifest["icons"].as_array().expect("icons");
    for size in ["192x192", "512x512"] {
        let icon = icons.iter().find(|i| i["sizes"] == size).unwrap_or_else(|| panic!("a {size} icon"));
        let src = icon["src"].as_str().unwrap();
        let image = server.request(Method::GET, src).send().await.unwrap();
        assert_eq!(image.status(), StatusCode::OK, "{src}");
        let bytes = image.bytes().await.unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let info = decoder.read_info().expect("a PNG").info().clone();
        assert_eq!(format!("{}x{}", info.width, info.height), size);
    }
    let target = &manifest["share_target"];
    assert_eq!(target["action"], "/app/share-target");
    assert_eq!(target["method"], "POST");
    assert_eq!(target["enctype"], "multipart/form-data");
    assert!(target["params"]["files"].as_array().is_some_and(|f| !f.is_empty()));
    assert!(target["params"]["text"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_download_links_carry_the_token_for_reads_only() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let file = server.upload(&alice, "photo.jpg", vec![7u8; 300_000]).await;
    let path = format!("/api/v1/files/{}/content", file["id"].as_str().unwrap());
    let link = |token: &str| format!("{path}?access_token={token}");

    let response = server.request(Method::GET, &link(&alice.access_token)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-disposition"].to_str().unwrap().contains("photo.jpg"));
    assert_eq!(response.bytes().await.unwrap().len(), 300_000);
    let response = server.request(Method::GET, &link(&bob.access_token)).send().await.unwrap();
    expect_error(response, StatusCode::NOT_FOUND, "not_found").await;
    let response = server.request(Method::GET, &link("not-a-token")).send().await.unwrap();
    expect_error(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
    let response = server.request(Method::GET, &format!("{path}?access_token=")).send().await.unwrap();
    expect_error(response, StatusCode::UNAUTHORIZED, "missing_credentials").await;
    // Writes never take a token from the query.
    let delete =
        format!("/api/v1/files/{}?access_token={}", file["id"].as_str().unwrap(), alice.access_token);
    let response = server.request(Method::DELETE, &delete).send().await.unwrap();
    expect_error(response, StatusCode::UNAUTHORIZED, "missing_credentials").await;
    assert_eq!(server.files(&alice).await.len(), 1);
}
