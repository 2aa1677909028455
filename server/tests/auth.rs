//! Accounts over real HTTP: register, login, refresh rotation and reuse
//! detection, logout, devices, HTTP Basic, closed registration, rate limits.

mod common;

use common::{expect_error, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn refresh(server: &TestServer, token: &str) -> reqwest::Response {
    server
        .request(Method::POST, "/api/v1/auth/refresh")
        .json(&json!({ "refresh_token": token }))
        .send()
        .await
        .unwrap()
}

async fn login(server: &TestServer, username: &str, password: &str) -> reqwest::Response {
    server
        .request(Method::POST, "/api/v1/auth/login")
        .json(&json!({ "username": username, "password": password, "device_name": "laptop" }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn register_then_me_and_the_first_user_is_admin() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let me: Value =
        server.as_user(&alice, Method::GET, "/api/v1/me").send().await.unwrap().json().await.unwrap();
    assert_eq!(me["username"], "alice");
    assert_eq!(me["is_admin"], true);
    assert_eq!(me["limits"]["max_files"], 20);
    assert_eq!(me["limits"]["max_file_bytes"], 536870912u64);
    assert_eq!(me["limits"]["quota_bytes"], 2147483648u64);
    assert_eq!(me["limits"]["expiry_seconds"], 7200);
    assert_eq!(me["limits"]["clip_history"], 50);
    let me: Value =
        server.as_user(&bob, Method::GET, "/api/v1/me").send().await.unwrap().json().await.unwrap();
    assert_eq!(me["is_admin"], false);

    let admin = server.as_user(&bob, Method::GET, "/api/v1/admin/stats").send().await.unwrap();
    expect_error(admin, StatusCode::FORBIDDEN, "admin_required").await;
    let admin: Value = server
        .as_user(&alice, Method::GET, "/api/v1/admin/stats")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(admin["users"], 2);
    let per_user = admin["per_user"].as_array().expect("per_user");
    let names: Vec<&str> = per_user.iter().map(|u| u["username"].as_str().unwrap()).collect();
    assert_eq!(names, ["alice", "bob"], "{admin}");
    assert!(admin.get("blobs").is_some() && admin.get("blob_bytes").is_some(), "{admin}");
}

#[tokio::test]
async fn register_refuses_taken_names_bad_names_and_weak_passwords() {
    let server = TestServer::start().await;
    server.register("alice").await;
    let post = |body: Value| server.request(Method::POST, "/api/v1/auth/register").json(&body).send();
    let taken = post(json!({"username": "alice", "password": "another-password"})).await.unwrap();
    expect_error(taken, StatusCode::CONFLICT, "username_taken").await;
    let weak = post(json!({"username": "carol", "password": "short"})).await.unwrap();
    expect_error(weak, StatusCode::UNPROCESSABLE_ENTITY, "weak_password").await;
    for name in ["", "has space", "slash/name", "ünïcode", &"x".repeat(65)] {
        let bad = post(json!({"username": name, "password": "long-enough-password"})).await.unwrap();
        expect_error(bad, StatusCode::UNPROCESSABLE_ENTITY, "invalid_username").await;
    }
}

#[tokio::test]
async fn login_gives_the_same_answer_for_unknown_users_and_wrong_passwords() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let ok = login(&server, "alice", &alice.password).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let tokens: Value = ok.json().await.unwrap();
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 900);
    let wrong = expect_error(
        login(&server, "alice", "wrong-password").await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    let unknown = expect_error(
        login(&server, "nobody", "wrong-password").await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    assert_eq!(wrong, unknown);
}

#[tokio::test]
async fn refresh_rotates_and_a_replay_signs_the_device_out() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let first = refresh(&server, &alice.refresh_token).await;
    assert_eq!(first.status(), StatusCode::OK);
    let first: Value = first.json().await.unwrap();
    assert_ne!(first["refresh_token"], alice.refresh_token.as_str());
    assert_eq!(first["device_id"], alice.device_id.as_str());
    let new_access = first["access_token"].as_str().unwrap();
    let me = server.request(Method::GET, "/api/v1/me").bearer_auth(new_access).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);

    // The spent token comes back: someone copied it. The device is revoked.
    expect_error(
        refresh(&server, &alice.refresh_token).await,
        StatusCode::UNAUTHORIZED,
        "refresh_token_reused",
    )
    .await;
    let newest = first["refresh_token"].as_str().unwrap();
    expect_error(refresh(&server, newest).await, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
    let me = server.request(Method::GET, "/api/v1/me").bearer_auth(new_access).send().await.unwrap();
    expect_error(me, StatusCode::UNAUTHORIZED, "session_revoked").await;
    expect_error(refresh(&server, "made-up").await, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_succeed_at_most_once() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let (a, b) = tokio::join!(refresh(&server, &alice.refresh_token), refresh(&server, &alice.refresh_token));
    let ok = [a.status(), b.status()].iter().filter(|s| **s == StatusCode::OK).count();
    assert!(ok <= 1, "{} and {}", a.status(), b.status());
}

#[tokio::test]
async fn logout_revokes_this_device_only() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let other: Value = login(&server, "alice", &alice.password).await.json().await.unwrap();
    let out = server.as_user(&alice, Method::POST, "/api/v1/auth/logout").send().await.unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    expect_error(
        refresh(&server, &alice.refresh_token).await,
        StatusCode::UNAUTHORIZED,
        "invalid_refresh_token",
    )
    .await;
    let me = server.as_user(&alice, Method::GET, "/api/v1/me").send().await.unwrap();
    expect_error(me, StatusCode::UNAUTHORIZED, "session_revoked").await;
    let still = server
        .request(Method::GET, "/api/v1/me")
        .bearer_auth(other["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(still.status(), StatusCode::OK);
}

#[tokio::test]
async fn devices_are_listed_and_can_be_signed_out() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let laptop: Value = login(&server, "alice", &alice.password).await.json().await.unwrap();
    let devices: Vec<Value> =
        server.as_user(&alice, Method::GET, "/api/v1/devices").send().await.unwrap().json().await.unwrap();
    assert_eq!(devices.len(), 2);
    let current: Vec<_> = devices.iter().filter(|d| d["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["id"], alice.device_id.as_str());
    assert!(devices.iter().any(|d| d["name"] == "laptop"));
    assert!(devices.iter().all(|d| d["created_at"].is_string() && d["last_seen_at"].is_string()));

    let laptop_id = laptop["device_id"].as_str().unwrap();
    let path = format!("/api/v1/devices/{laptop_id}");
    let theirs = server.as_user(&bob, Method::DELETE, &path).send().await.unwrap();
    expect_error(theirs, StatusCode::NOT_FOUND, "not_found").await;
    let gone = server.as_user(&alice, Method::DELETE, &path).send().await.unwrap();
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    let me = server
        .request(Method::GET, "/api/v1/me")
        .bearer_auth(laptop["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    expect_error(me, StatusCode::UNAUTHORIZED, "session_revoked").await;
}

#[tokio::test]
async fn http_basic_works_and_is_checked() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    for _ in 0..3 {
        let me = server
            .request(Method::GET, "/api/v1/me")
            .basic_auth("alice", Some(&alice.password))
            .send()
            .await
            .unwrap();
        assert_eq!(me.status(), StatusCode::OK);
    }
    let wrong = server
        .request(Method::GET, "/api/v1/me")
        .basic_auth("alice", Some("nope-nope"))
        .send()
        .await
        .unwrap();
    assert!(wrong.headers().contains_key("www-authenticate"));
    expect_error(wrong, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let unknown =
        server.request(Method::GET, "/api/v1/me").basic_auth("zed", Some("whatever1")).send().await.unwrap();
    expect_error(unknown, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
}

#[tokio::test]
async fn closed_registration_answers_403() {
    let server =
        TestServer::start_with(|s| s.registration = Some(cloudbuffer_server::config::Registration::Closed))
            .await;
    let response = server
        .request(Method::POST, "/api/v1/auth/register")
        .json(&json!({"username": "alice", "password": "long-enough-password"}))
        .send()
        .await
        .unwrap();
    expect_error(response, StatusCode::FORBIDDEN, "registration_closed").await;
}

#[tokio::test]
async fn login_floods_get_429_with_retry_after() {
    let server = TestServer::start_with(|s| s.auth_attempts_per_minute = Some(5)).await;
    let mut limited = None;
    for _ in 0..8 {
        let response = login(&server, "alice", "wrong-password").await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(response);
            break;
        }
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let limited = limited.expect("the sixth attempt is refused");
    let retry: u64 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    expect_error(limited, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
    // Wrong Basic credentials count too, so Basic is no way around the limit.
    let basic = server
        .request(Method::GET, "/api/v1/me")
        .basic_auth("alice", Some("guess-guess"))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn register_floods_get_429_too() {
    let server = TestServer::start_with(|s| s.auth_attempts_per_minute = Some(3)).await;
    let mut statuses = Vec::new();
    for i in 0..5 {
        let response = server
            .request(Method::POST, "/api/v1/auth/register")
            .json(&json!({"username": format!("user{i}"), "password": "long-enough-password"}))
            .send()
            .await
            .unwrap();
        statuses.push(response.status());
    }
    assert_eq!(&statuses[..3], &[StatusCode::CREATED; 3], "{statuses:?}");
    assert_eq!(&statuses[3..], &[StatusCode::TOO_MANY_REQUESTS; 2], "{statuses:?}");
}

/// Verified Basic credentials are cached: a script making many requests is
/// neither slowed by a password hash each time nor counted as attempts.
#[tokio::test]
async fn right_basic_credentials_are_cached_not_rate_limited() {
    let server = TestServer::start_with(|s| s.auth_attempts_per_minute = Some(3)).await;
    let alice = server.register("alice").await;
    for i in 0..12 {
        let response = server
            .request(Method::GET, "/api/v1/me")
            .basic_auth("alice", Some(&alice.password))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "request {i}");
    }
}
