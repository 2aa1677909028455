//! The account's wrapped end-to-end key: stored opaque, turned on once,
//! replaced only by a writer that saw the current version, never shown to
//! another account; bad bodies get clear errors.

mod common;

use common::{expect_error, TestServer, TestUser};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn wrapped(salt: &str) -> Value {
    json!({"v": 1, "kdf": "argon2id", "m": 65536, "t": 3, "p": 1, "salt": salt, "nonce": "AAAA", "key": "BBBB"})
}

async fn put(server: &TestServer, user: &TestUser, body: Value) -> reqwest::Response {
    server.as_user(user, Method::PUT, "/api/v1/e2e").json(&body).send().await.unwrap()
}

async fn get(server: &TestServer, user: &TestUser) -> Value {
    server.as_user(user, Method::GET, "/api/v1/e2e").send().await.unwrap().json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_is_turned_on_once_and_replaced_by_version() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    assert_eq!(get(&server, &alice).await, json!({"enabled": false, "version": 0}));

    let response = put(&server, &alice, json!({"wrapped_key": wrapped("first"), "version": 0})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let on = get(&server, &alice).await;
    assert_eq!(on["enabled"], true);
    assert_eq!(on["version"], 1);
    assert_eq!(on["wrapped_key"], wrapped("first"));
    assert!(on["updated_at"].is_string());
    // Another account sees nothing of it.
    assert_eq!(get(&server, &bob).await["enabled"], false);

    // A second device turning it on must unlock the existing key instead.
    let again = put(&server, &alice, json!({"wrapped_key": wrapped("other"), "version": 0})).await;
    expect_error(again, StatusCode::CONFLICT, "e2e_already_enabled").await;
    // A passphrase change replaces the version it saw, once.
    let changed = put(&server, &alice, json!({"wrapped_key": wrapped("second"), "version": 1})).await;
    assert_eq!(changed.status(), StatusCode::OK);
    let stale = put(&server, &alice, json!({"wrapped_key": wrapped("third"), "version": 1})).await;
    expect_error(stale, StatusCode::CONFLICT, "e2e_version_mismatch").await;
    let now = get(&server, &alice).await;
    assert_eq!((now["version"].clone(), now["wrapped_key"].clone()), (json!(2), wrapped("second")));
    let off = put(&server, &bob, json!({"wrapped_key": wrapped("x"), "version": 3})).await;
    expect_error(off, StatusCode::CONFLICT, "e2e_version_mismatch").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_devices_turning_it_on_at_once_cannot_both_win() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let (a, b) = tokio::join!(
        put(&server, &alice, json!({"wrapped_key": wrapped("laptop"), "version": 0})),
        put(&server, &alice, json!({"wrapped_key": wrapped("desktop"), "version": 0})),
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 409]);
    assert_eq!(get(&server, &alice).await["version"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_get_clear_errors() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    for body in [
        json!({"wrapped_key": "a string", "version": 0}),
        json!({"wrapped_key": [1, 2], "version": 0}),
        json!({"wrapped_key": {"pad": "x".repeat(5000)}, "version": 0}),
    ] {
        expect_error(
            put(&server, &alice, body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_wrapped_key",
        )
        .await;
    }
    for body in [json!({"wrapped_key": {}, "version": -1}), json!({"version": 0}), json!([])] {
        let status = put(&server, &alice, body.clone()).await.status();
        assert!(matches!(status.as_u16(), 400 | 422), "{body}: {status}");
    }
    let malformed = server
        .as_user(&alice, Method::PUT, "/api/v1/e2e")
        .header("content-type", "application/json")
        .body("{\"wrapped_key\":")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let anonymous = server.request(Method::GET, "/api/v1/e2e").send().await.unwrap();
    expect_error(anonymous, StatusCode::UNAUTHORIZED, "missing_credentials").await;
    assert_eq!(get(&server, &alice).await["enabled"], false, "nothing was stored");
}
