//! Bad input gets a 4xx in the contract's shape `{"error":{"code","message"}}`,
//! never a 5xx: malformed, mistyped and oversized JSON; unknown routes and
//! methods; every way a credential can be wrong (missing, garbage, tampered,
//! `alg: none`, expired, foreign secret, odd schemes, bad Basic, revoked
//! device, non-UTF-8 header bytes); and other users' ids, which must look
//! exactly like unknown ones. Hostile file names, cut-off uploads and a full
//! disk are in `bad_input_files.rs`.

mod common;
mod support;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::{expect_error, TestServer, TestUser};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

/// POSTs `body` to `path` with an optional Content-Type.
async fn post_raw(server: &TestServer, path: &str, content_type: Option<&str>, body: &str) -> Response {
    let mut request = server.request(Method::POST, path).body(body.to_string());
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    request.send().await.unwrap()
}

/// GET /api/v1/me with this exact Authorization header value.
async fn me_with(server: &TestServer, authorization: &str) -> Response {
    server.request(Method::GET, "/api/v1/me").header("authorization", authorization).send().await.unwrap()
}

/// Asserts a 401 with this code and the `WWW-Authenticate` challenge.
async fn expect_401(response: Response, code: &str) {
    assert!(response.headers().contains_key("www-authenticate"), "401 without a challenge");
    expect_error(response, StatusCode::UNAUTHORIZED, code).await;
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn sign(claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(secret)).unwrap()
}

/// The server's real signing secret.
async fn server_secret(server: &TestServer) -> Vec<u8> {
    server.jwt_secret().await.into_bytes()
}

async fn user_id(server: &TestServer, user: &TestUser) -> String {
    let me: Value =
        server.as_user(user, Method::GET, "/api/v1/me").send().await.unwrap().json().await.unwrap();
    me["id"].as_str().expect("me.id").to_string()
}

/// Replaces the character at `index` with a different base64url character.
fn flip_char(s: &str, index: usize) -> String {
    let mut bytes = s.as_bytes().to_vec();
    bytes[index] = if bytes[index] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

#[tokio::test]
async fn malformed_json_is_400() {
    let server = TestServer::start().await;
    for body in [r#"{"username": "a", "password": "#, "not json at all", r#"{"username": "a",}"#, ""] {
        let response = post_raw(&server, "/api/v1/auth/login", Some("application/json"), body).await;
        expect_error(response, StatusCode::BAD_REQUEST, "malformed_json").await;
    }
}

#[tokio::test]
async fn json_without_a_json_content_type_is_415() {
    let server = TestServer::start().await;
    let body = r#"{"username": "someone", "password": "long enough password"}"#;
    for content_type in [Some("text/plain"), Some("application/x-www-form-urlencoded"), None] {
        let response = post_raw(&server, "/api/v1/auth/register", content_type, body).await;
        expect_error(response, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type").await;
    }
    // Nothing was registered by the refused requests.
    let response = server
        .request(Method::POST, "/api/v1/auth/login")
        .json(&json!({"username": "someone", "password": "long enough password"}))
        .send()
        .await
        .unwrap();
    expect_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
}

#[tokio::test]
async fn well_formed_json_of_the_wrong_shape_is_422() {
    let server = TestServer::start().await;
    let cases = [
        ("/api/v1/auth/register", json!({"username": "a"})),
        ("/api/v1/auth/register", json!({"password": "long enough password"})),
        ("/api/v1/auth/login", json!({"username": 5, "password": true})),
        ("/api/v1/auth/login", json!("username:password")),
        ("/api/v1/auth/login", json!(["only-a-username"])),
        ("/api/v1/auth/login", json!(null)),
        ("/api/v1/auth/refresh", json!({"refresh_token": 42})),
        ("/api/v1/auth/refresh", json!({})),
    ];
    for (path, body) in cases {
        let response = server.request(Method::POST, path).json(&body).send().await.unwrap();
        expect_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    }
}

#[tokio::test]
async fn json_over_64_kib_is_413_and_just_under_is_read() {
    let server = TestServer::start().await;
    let big = json!({"username": "u".repeat(70 * 1024), "password": "long enough password"});
    let response = server.request(Method::POST, "/api/v1/auth/register").json(&big).send().await.unwrap();
    expect_error(response, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large").await;
    // 60 KiB is parsed, then refused for what it says (the name is too long).
    let under = json!({"username": "u".repeat(60 * 1024), "password": "long enough password"});
    let response = server.request(Method::POST, "/api/v1/auth/register").json(&under).send().await.unwrap();
    expect_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_username").await;
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405() {
    let server = TestServer::start().await;
    let user = server.register("router").await;
    for path in ["/nope", "/api/v1/nope", "/api/v2/files", "/api/v1/files/a/b/c", "/api/v1/me/extra"] {
        let response = server.as_user(&user, Method::GET, path).send().await.unwrap();
        expect_error(response, StatusCode::NOT_FOUND, "not_found").await;
    }
    let cases = [
        (Method::DELETE, "/api/v1/me"),
        (Method::PATCH, "/api/v1/files"),
        (Method::GET, "/api/v1/auth/login"),
        (Method::PUT, "/api/v1/devices"),
        (Method::POST, "/healthz"),
    ];
    for (method, path) in cases {
        let response = server.as_user(&user, method.clone(), path).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        expect_error(response, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
    }
}

#[tokio::test]
async fn missing_garbage_and_odd_credentials_are_401() {
    let server = TestServer::start().await;
    let response = server.request(Method::GET, "/api/v1/me").send().await.unwrap();
    expect_401(response, "missing_credentials").await;
    for garbage in ["Bearer garbage", "Bearer a.b.c", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.", "bearer x.y.z"] {
        expect_401(me_with(&server, garbage).await, "invalid_token").await;
    }
    expect_401(me_with(&server, "Digest x").await, "unsupported_auth_scheme").await;
    expect_401(me_with(&server, "Token abc").await, "unsupported_auth_scheme").await;
    // Basic: not base64, base64 without a colon, base64 of non-UTF-8 bytes.
    for basic in [
        "Basic !!!not*base64%%%".to_string(),
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("nocolon")),
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode([0xff, b':', 0xfe])),
    ] {
        expect_401(me_with(&server, &basic).await, "invalid_credentials").await;
    }
    // A scheme with nothing after it.
    let response = me_with(&server, "Bearer").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    expect_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
}

#[tokio::test]
async fn tampered_tokens_are_401() {
    let server = TestServer::start().await;
    let user = server.register("tamper").await;
    let victim = server.register("victim").await;
    assert_eq!(me_with(&server, &format!("Bearer {}", user.access_token)).await.status(), StatusCode::OK);
    let parts: Vec<&str> = user.access_token.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWT has three parts");
    let (header, payload, signature) = (parts[0], parts[1], parts[2]);
    // A flipped character in the middle of the signature (the last one may
    // only carry padding bits), and in the middle of the payload.
    let bad_signature = format!("{header}.{payload}.{}", flip_char(signature, signature.len() / 2));
    let bad_payload = format!("{header}.{}.{signature}", flip_char(payload, payload.len() / 2));
    // A payload rewritten to claim another user, with the original signature.
    let mut claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["sub"] = json!(user_id(&server, &victim).await);
    claims["did"] = json!(victim.device_id);
    let forged = format!("{header}.{}.{signature}", URL_SAFE_NO_PAD.encode(claims.to_string()));
    for token in [bad_signature, bad_payload, forged] {
        expect_401(me_with(&server, &format!("Bearer {token}")).await, "invalid_token").await;
    }
}

#[tokio::test]
async fn alg_none_tokens_are_401() {
    let server = TestServer::start().await;
    let user = server.register("nonealg").await;
    let claims = json!({"sub": user_id(&server, &user).await, "did": user.device_id, "iat": now(), "exp": now() + 600});
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    for alg in ["none", "None", "NONE"] {
        let head = URL_SAFE_NO_PAD.encode(json!({"alg": alg, "typ": "JWT"}).to_string());
        for token in [format!("{head}.{body}."), format!("{head}.{body}")] {
            expect_401(me_with(&server, &format!("Bearer {token}")).await, "invalid_token").await;
        }
    }
}

#[tokio::test]
async fn expired_and_foreign_tokens_are_401() {
    let server = TestServer::start().await;
    let user = server.register("expiry").await;
    let id = user_id(&server, &user).await;
    let secret = server_secret(&server).await;
    // Control: these claims signed with the real secret are accepted, so
    // the refusals below are due to expiry and to the key alone.
    let live = sign(&json!({"sub": id, "did": user.device_id, "iat": now(), "exp": now() + 300}), &secret);
    let response = me_with(&server, &format!("Bearer {live}")).await;
    assert_eq!(response.status(), StatusCode::OK, "a token signed with jwt_secret works");
    let expired =
        sign(&json!({"sub": id, "did": user.device_id, "iat": now() - 600, "exp": now() - 300}), &secret);
    expect_401(me_with(&server, &format!("Bearer {expired}")).await, "token_expired").await;
    let foreign = sign(
        &json!({"sub": id, "did": user.device_id, "iat": now(), "exp": now() + 300}),
        b"not the server's secret",
    );
    expect_401(me_with(&server, &format!("Bearer {foreign}")).await, "invalid_token").await;
    // Well signed but missing the required `exp`.
    let endless = sign(&json!({"sub": id, "did": user.device_id, "iat": now()}), &secret);
    expect_401(me_with(&server, &format!("Bearer {endless}")).await, "invalid_token").await;
}

#[tokio::test]
async fn a_revoked_devices_token_is_401() {
    let server = TestServer::start().await;
    let first = server.register("twodevices").await;
    let login: Value = server
        .request(Method::POST, "/api/v1/auth/login")
        .json(&json!({"username": first.username, "password": first.password, "device_name": "second"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let second = TestUser {
        access_token: login["access_token"].as_str().unwrap().to_string(),
        device_id: login["device_id"].as_str().unwrap().to_string(),
        ..first.clone()
    };
    let path = format!("/api/v1/devices/{}", first.device_id);
    let response = server.as_user(&second, Method::DELETE, &path).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = server.as_user(&first, Method::GET, "/api/v1/me").send().await.unwrap();
    expect_401(response, "session_revoked").await;
    let response = server.as_user(&second, Method::GET, "/api/v1/me").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "the other session lives on");
}

#[tokio::test]
async fn non_utf8_authorization_bytes_are_401_and_the_server_stays_healthy() {
    let server = TestServer::start().await;
    let user = server.register("rawbytes").await;
    let addr = support::host_of(&server.base).to_string();
    for value in [&b"Bearer \xff\xfe\xfd"[..], b"Basic \xc3\x28", b"\x80\x81 token"] {
        let mut request =
            b"GET /api/v1/me HTTP/1.1\r\nHost: test\r\nConnection: close\r\nAuthorization: ".to_vec();
        request.extend_from_slice(value);
        request.extend_from_slice(b"\r\n\r\n");
        let response = support::raw_exchange(&addr, &request).await;
        response.expect_error(401, "invalid_credentials");
    }
    let health = server.request(Method::GET, "/healthz").send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let me = server.as_user(&user, Method::GET, "/api/v1/me").send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);
}

#[tokio::test]
async fn another_users_file_is_404_and_untouched() {
    let server = TestServer::start().await;
    let owner = server.register("owner").await;
    let other = server.register("other").await;
    let info = server.upload(&owner, "mine.txt", b"owner's bytes".to_vec()).await;
    let id = info["id"].as_str().unwrap();
    let unknown = "0".repeat(id.len());
    for target in [id, unknown.as_str()] {
        for (method, path) in [
            (Method::GET, format!("/api/v1/files/{target}")),
            (Method::GET, format!("/api/v1/files/{target}/content")),
            (Method::DELETE, format!("/api/v1/files/{target}")),
        ] {
            let response = server.as_user(&other, method.clone(), &path).send().await.unwrap();
            let body = expect_error(response, StatusCode::NOT_FOUND, "not_found").await;
            // The answer for someone else's file is the answer for no file.
            assert_eq!(body["error"]["message"], "file not found", "{method} {path}");
        }
    }
    assert!(server.files(&other).await.is_empty());
    let files = server.files(&owner).await;
    assert_eq!(files.len(), 1);
    assert_eq!(files[0]["id"], info["id"]);
    let content =
        server.as_user(&owner, Method::GET, &format!("/api/v1/files/{id}/content")).send().await.unwrap();
    assert_eq!(content.status(), StatusCode::OK);
    assert_eq!(content.bytes().await.unwrap().as_ref(), b"owner's bytes");
}

#[tokio::test]
async fn revoking_another_users_device_is_404() {
    let server = TestServer::start().await;
    let owner = server.register("deviceowner").await;
    let other = server.register("intruder").await;
    for target in [owner.device_id.as_str(), "no-such-device"] {
        let response = server
            .as_user(&other, Method::DELETE, &format!("/api/v1/devices/{target}"))
            .send()
            .await
            .unwrap();
        expect_error(response, StatusCode::NOT_FOUND, "not_found").await;
    }
    let response = server.as_user(&owner, Method::GET, "/api/v1/me").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "the owner's device is still signed in");
    let devices: Vec<Value> =
        server.as_user(&owner, Method::GET, "/api/v1/devices").send().await.unwrap().json().await.unwrap();
    assert_eq!(devices.len(), 1);
}
