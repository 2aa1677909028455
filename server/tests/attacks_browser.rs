//! What a hostile web page can make a browser do: use cached Basic
//! credentials for a write from another site (403), or open a downloaded
//! HTML file in a tab as if this origin served a page (sandboxed, never
//! sniffed). And a server never starts with a guessable signing secret.

mod common;
mod support;

use common::{expect_error, TestServer};
use reqwest::{Method, StatusCode};

fn basic(
    server: &TestServer,
    user: &common::TestUser,
    method: Method,
    path: &str,
) -> reqwest::RequestBuilder {
    server.request(method, path).basic_auth(&user.username, Some(&user.password))
}

#[tokio::test]
async fn basic_credentials_cannot_be_used_for_writes_from_another_site() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let put = |origin: Option<&str>, fetch_site: Option<&str>| {
        let mut request = basic(&server, &alice, Method::PUT, "/api/v1/buffer")
            .header("x-data-type", "text")
            .body("from a form");
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        if let Some(site) = fetch_site {
            request = request.header("sec-fetch-site", site);
        }
        request.send()
    };
    for (origin, site) in
        [(Some("https://evil.example"), None), (Some("null"), None), (None, Some("cross-site"))]
    {
        let response = put(origin, site).await.unwrap();
        expect_error(response, StatusCode::FORBIDDEN, "cross_origin").await;
    }
    assert!(server.clips(&alice).await.is_empty(), "nothing was written");

    // The same origin, curl (no Origin) and reads from anywhere still work.
    let same = put(Some(&server.base), Some("same-origin")).await.unwrap();
    assert!(same.status().is_success(), "{:?}", same.text().await);
    assert!(put(None, None).await.unwrap().status().is_success());
    let read = basic(&server, &alice, Method::GET, "/api/v1/buffer").header("origin", "https://evil.example");
    assert_eq!(read.send().await.unwrap().status(), StatusCode::OK);
    // Bearer tokens are never sent by a browser on its own: no check.
    let bearer = server.as_user(&alice, Method::PUT, "/api/v1/buffer").header("x-data-type", "text");
    let bearer = bearer.header("origin", "https://evil.example");
    assert!(bearer.body("app").send().await.unwrap().status().is_success());
    assert_eq!(server.clips(&alice).await.len(), 3);
}

#[tokio::test]
async fn downloads_are_sandboxed_and_never_sniffed() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let file = server.upload(&alice, "page.html", "<script>alert(document.cookie)</script>").await;
    let content = format!("/api/v1/files/{}/content", file["id"].as_str().unwrap());
    let response = server.as_user(&alice, Method::GET, &content).send().await.unwrap();
    assert_eq!(response.headers()["content-security-policy"], "sandbox");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");

    let share = server.share(&alice, serde_json::json!({"file_id": file["id"]})).await;
    let token = share.json::<serde_json::Value>().await.unwrap()["token"].as_str().unwrap().to_string();
    let raw = server.request(Method::GET, &format!("/s/{token}/raw")).send().await.unwrap();
    assert_eq!(raw.headers()["content-security-policy"], "sandbox");
    assert_eq!(raw.headers()["x-content-type-options"], "nosniff");
    // The share page keeps its own, stricter policy.
    let page = server.request(Method::GET, &format!("/s/{token}")).send().await.unwrap();
    let policy = page.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(policy.starts_with("default-src 'none'"), "{policy}");
    // Errors too.
    let missing = server.request(Method::GET, "/api/v1/nothing").send().await.unwrap();
    assert_eq!(missing.headers()["x-content-type-options"], "nosniff");
}

#[test]
fn a_short_jwt_secret_is_refused_at_start() {
    let data = tempfile::tempdir().unwrap();
    let mut command = support::binary();
    command.args(support::serve_args(support::free_port(), data.path())).args(["--jwt-secret", "hunter2"]);
    let (status, _, stderr) = support::run(&mut command);
    assert!(!status.success(), "started with a 7-byte secret");
    assert!(stderr.contains("jwt_secret") && stderr.contains("32"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "the secret is not echoed: {stderr}");
}
