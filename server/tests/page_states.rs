//! The share page `GET /s/{token}` in each state of its link: the password
//! form flow works without JavaScript, a flood of wrong passwords gets a
//! 429 page, and unknown, expired, revoked and used-up links get 404 and
//! 410 pages with the right status and headers.

mod common;
mod page_support;

use common::{pseudo_random, TestServer};
use page_support::{get_page, page_once, post_page, share, Page};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn a_protected_share_asks_for_its_password_without_javascript() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let password = r#"pa"ss <word> & more"#;
    let file = server.upload(&alice, "secret-plans.txt", "the plans").await;
    let token = share(&server, &alice, json!({"file_id": file["id"], "password": password})).await;

    let form = get_page(&server, &token).await;
    form.expect(StatusCode::OK);
    assert!(form.has(&format!(r#"<form method="post" action="{token}">"#)), "{}", form.html);
    assert!(form.has(r#"type="password" name="password""#));
    assert!(!form.has("secret-plans"), "nothing about the file before the password");
    assert!(!form.has("Wrong password"));

    let wrong = post_page(&server, &token, &[("password", "guess")]).await;
    wrong.expect(StatusCode::UNAUTHORIZED);
    assert!(wrong.has("Wrong password") && wrong.has(r#"name="password""#), "{}", wrong.html);
    assert!(!wrong.has("secret-plans"));
    assert!(wrong.headers.get("www-authenticate").is_none(), "no browser login dialog");
    let empty = post_page(&server, &token, &[("password", "")]).await;
    empty.expect(StatusCode::UNAUTHORIZED);
    assert!(empty.has("Enter the password"));

    let unlocked = post_page(&server, &token, &[("password", password)]).await;
    unlocked.expect(StatusCode::OK);
    assert!(unlocked.has("<h1>secret-<wbr>plans.<wbr>txt</h1>"));
    let escaped = "pa&quot;ss &lt;word&gt; &amp; more";
    assert!(
        unlocked.has(&format!(
            r#"<form method="post" action="{token}/raw"><input type="hidden" name="password" value="{escaped}"><button class="button" type="submit">Download</button></form>"#
        )),
        "{}",
        unlocked.html
    );
    assert!(!unlocked.has(&format!("href=\"{token}/raw")), "no password-less link");
    // What that form posts gets the bytes.
    let raw = server.request(Method::POST, &format!("/s/{token}/raw")).form(&[("password", password)]);
    assert_eq!(raw.send().await.unwrap().text().await.unwrap(), "the plans");

    // A protected text clip shows its text once unlocked.
    let clip = server.copy_text(&alice, "text behind a password").await;
    let text = share(&server, &alice, json!({"clip_id": clip["id"], "password": "pw-secret"})).await;
    let locked = get_page(&server, &text).await;
    assert!(!locked.has("text behind a password"));
    let unlocked = post_page(&server, &text, &[("password", "pw-secret")]).await;
    unlocked.expect(StatusCode::OK);
    assert!(unlocked.has("text behind a password</textarea>"), "{}", unlocked.html);
    assert!(unlocked.has(r#"<input type="hidden" name="password" value="pw-secret">"#));
}

#[tokio::test]
async fn a_flood_of_wrong_passwords_gets_a_429_page() {
    let server = TestServer::start_with(|s| s.auth_attempts_per_minute = Some(3)).await;
    let alice = server.register("alice").await;
    let file = server.upload(&alice, "a.txt", "a").await;
    let token = share(&server, &alice, json!({"file_id": file["id"], "password": "right-one"})).await;
    for _ in 0..3 {
        post_page(&server, &token, &[("password", "wrong")]).await.expect(StatusCode::UNAUTHORIZED);
    }
    let limited = post_page(&server, &token, &[("password", "right-one")]).await;
    limited.expect(StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = limited.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "retry after {retry}");
    assert!(limited.has(&format!("Too many attempts, try again in {retry} s")), "{}", limited.html);
    assert!(!limited.has("a.txt"));
}

#[tokio::test]
async fn unknown_links_get_a_404_page() {
    let server = TestServer::start().await;
    let page = get_page(&server, "no-such-link-at-all").await;
    page.expect(StatusCode::NOT_FOUND);
    assert!(page.has("Link not found"));
    post_page(&server, "no-such-link-at-all", &[("password", "x")]).await.expect(StatusCode::NOT_FOUND);
    // Not valid UTF-8 once decoded: still the friendly page.
    let bad = Page::from(server.request(Method::GET, "/s/%FF%FE").send().await.unwrap()).await;
    bad.expect(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn expired_links_get_a_410_page() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let file = server.upload(&alice, "soon.txt", "soon").await;
    let token = share(&server, &alice, json!({"file_id": file["id"], "expires_in": 1})).await;
    let page = page_once(&server, &token, StatusCode::GONE).await;
    page.expect(StatusCode::GONE);
    assert!(page.has("This link has expired"), "{}", page.html);
    assert!(!page.has("soon.txt"));
    post_page(&server, &token, &[("password", "x")]).await.expect(StatusCode::GONE);
}

#[tokio::test]
async fn revoked_links_get_a_410_page() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let file = server.upload(&alice, "a.txt", "a").await;
    let token = share(&server, &alice, json!({"file_id": file["id"]})).await;
    get_page(&server, &token).await.expect(StatusCode::OK);
    let revoke = server.as_user(&alice, Method::DELETE, &format!("/api/v1/shares/{token}"));
    assert_eq!(revoke.send().await.unwrap().status(), StatusCode::NO_CONTENT);
    let page = get_page(&server, &token).await;
    page.expect(StatusCode::GONE);
    assert!(page.has("This link was revoked"), "{}", page.html);
}

#[tokio::test]
async fn used_up_links_get_a_410_page() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let file = server.upload(&alice, "once.bin", pseudo_random(1000, 3)).await;
    let token = share(&server, &alice, json!({"file_id": file["id"], "max_downloads": 1})).await;
    let raw = server.request(Method::GET, &format!("/s/{token}/raw")).send().await.unwrap();
    assert_eq!(raw.bytes().await.unwrap().len(), 1000);
    let page = page_once(&server, &token, StatusCode::GONE).await;
    page.expect(StatusCode::GONE);
    assert!(page.has("This link has been used up"), "{}", page.html);
}
