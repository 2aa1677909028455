//! The share page `GET /s/{token}` for phones: every state renders as an
//! HTML page with the right status and headers, the password form flow
//! works without JavaScript, previews never burn a limited link, and user
//! data is escaped.

mod common;

use std::time::Duration;

use common::{pseudo_random, TestServer, TestUser};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A rendered page.
struct Page {
    status: StatusCode,
    headers: HeaderMap,
    html: String,
}

impl Page {
    async fn from(response: reqwest::Response) -> Page {
        let status = response.status();
        let headers = response.headers().clone();
        let html = response.text().await.unwrap();
        Page { status, headers, html }
    }

    fn has(&self, needle: &str) -> bool {
        self.html.contains(needle)
    }

    /// Asserts the status, the HTML headers and the page's head.
    fn expect(&self, status: StatusCode) -> &Page {
        assert_eq!(self.status, status, "page: {}", self.html);
        assert_eq!(self.headers["content-type"], "text/html; charset=utf-8");
        assert_eq!(self.headers["cache-control"], "no-store");
        assert_eq!(self.headers["referrer-policy"], "no-referrer");
        assert_eq!(self.headers["x-content-type-options"], "nosniff");
        assert_eq!(
            self.headers["content-security-policy"],
            "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; \
             form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
        );
        assert!(self.html.starts_with("<!DOCTYPE html>"), "{}", self.html);
        assert!(self.has(r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#));
        assert!(self.has(r#"<meta name="robots" content="noindex">"#));
        self
    }
}

async fn get_page(server: &TestServer, token: &str) -> Page {
    Page::from(server.request(Method::GET, &format!("/s/{token}")).send().await.unwrap()).await
}

async fn post_page(server: &TestServer, token: &str, form: &[(&str, &str)]) -> Page {
    Page::from(server.request(Method::POST, &format!("/s/{token}")).form(form).send().await.unwrap()).await
}

/// Creates a share; returns its token.
async fn share(server: &TestServer, user: &TestUser, request: Value) -> String {
    let response = server.share(user, request).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let share: Value = response.json().await.unwrap();
    share["token"].as_str().unwrap().to_string()
}

/// The page once it answers `status` (downloads are counted just after
/// the last byte goes out, and expiry is a moment away).
async fn page_once(server: &TestServer, token: &str, status: StatusCode) -> Page {
    for _ in 0..150 {
        let page = get_page(server, token).await;
        if page.status == status {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the page of {token} never answered {status}");
}

/// A small real PNG.
fn png_bytes() -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, 4, 4);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&pseudo_random(4 * 4 * 3, 7)).unwrap();
    writer.finish().unwrap();
    out
}

#[tokio::test]
async fn a_file_share_shows_name_size_type_time_left_and_a_download_link() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let file = server.upload(&alice, "report.pdf", pseudo_random(1_572_864, 1)).await;
    let token = share(&server, &alice, json!({"file_id": file["id"], "expires_in": 300})).await;
    let page = get_page(&server, &token).await;
    page.expect(StatusCode::OK);
    assert!(page.has("<title>report.pdf · Cloud Buffer</title>"), "{}", page.html);
    assert!(page.has("<h1>report.<wbr>pdf</h1>"));
    assert!(page.has("<dd>1.5 MiB</dd>"));
    assert!(page.has(&format!("<dd>{}</dd>", file["content_type"].as_str().unwrap())));
    assert!(page.has("<dd>4 min</dd>"), "time left: {}", page.html);
    assert!(page.has(&format!(r#"<a class="button" href="{token}/raw">Download</a>"#)));
    assert!(!page.has("<img"), "no preview for a PDF");
    assert!(!page.has("<form"), "no form without a password");
    assert!(!page.has("downloads left"));

    // The link works, and HEAD gets the headers too.
    let raw = server.request(Method::GET, &format!("/s/{token}/raw")).send().await.unwrap();
    assert_eq!(raw.status(), StatusCode::OK);
    let head = server.request(Method::HEAD, &format!("/s/{token}")).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()["cache-control"], "no-store");

    // With a limit, the page says how many downloads are left.
    let limited = share(&server, &alice, json!({"file_id": file["id"], "max_downloads": 3})).await;
    let page = get_page(&server, &limited).await;
    page.expect(StatusCode::OK);
    assert!(page.has("<dd>3 downloads left</dd>"), "{}", page.html);
    assert!(page.has("<dd>1 h 59 min</dd>") || page.has("<dd>2 h</dd>"), "{}", page.html);
}

#[tokio::test]
async fn images_are_previewed_only_where_that_burns_nothing() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let file = server.upload(&alice, "photo.png", png_bytes()).await;
    assert_eq!(file["content_type"], "image/png");
    let open = share(&server, &alice, json!({"file_id": file["id"]})).await;
    let page = get_page(&server, &open).await;
    page.expect(StatusCode::OK);
    assert!(
        page.has(&format!(r#"<img class="preview" src="{open}/preview" alt="photo.png">"#)),
        "{}",
        page.html
    );
    // The preview is the image, inline, and not a download.
    let preview = server.request(Method::GET, &format!("/s/{open}/preview")).send().await.unwrap();
    assert_eq!(preview.status(), StatusCode::OK);
    assert!(preview.headers()["content-disposition"].to_str().unwrap().starts_with("inline"));
    assert_eq!(preview.bytes().await.unwrap(), png_bytes());
    let info: serde_json::Value = server
        .as_user(&alice, Method::GET, &format!("/api/v1/files/{}", file["id"].as_str().unwrap()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["downloads"], 0);

    // A one-time link: no preview, and viewing the page uses nothing.
    let once = share(&server, &alice, json!({"file_id": file["id"], "max_downloads": 1})).await;
    for _ in 0..3 {
        let page = get_page(&server, &once).await;
        page.expect(StatusCode::OK);
        assert!(!page.has("<img"), "{}", page.html);
        assert!(page.has("<dd>1 download left</dd>"));
    }
    let preview = server.request(Method::GET, &format!("/s/{once}/preview")).send().await.unwrap();
    assert_eq!(preview.status(), StatusCode::NOT_FOUND, "no preview can stand in for a counted download");
    let raw = server.request(Method::GET, &format!("/s/{once}/raw")).send().await.unwrap();
    assert_eq!(raw.bytes().await.unwrap(), png_bytes());

    // A protected link: no preview, even once unlocked.
    let locked = share(&server, &alice, json!({"file_id": file["id"], "password": "pw"})).await;
    let page = post_page(&server, &locked, &[("password", "pw")]).await;
    page.expect(StatusCode::OK);
    assert!(page.has("<h1>photo.<wbr>png</h1>"));
    assert!(!page.has("<img"), "{}", page.html);

    // SVG can carry scripts: never shown inline from this origin.
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#;
    let file = server.upload(&alice, "evil.svg", svg.to_vec()).await;
    assert_eq!(file["content_type"], "image/svg+xml");
    let open = share(&server, &alice, json!({"file_id": file["id"]})).await;
    let page = get_page(&server, &open).await;
    page.expect(StatusCode::OK);
    assert!(!page.has("<img"), "{}", page.html);
    let preview = server.request(Method::GET, &format!("/s/{open}/preview")).send().await.unwrap();
    assert_eq!(preview.status(), StatusCode::NOT_FOUND);
    let raw = server.request(Method::GET, &format!("/s/{open}/raw")).send().await.unwrap();
    assert!(raw.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
}

#[tokio::test]
async fn a_text_share_shows_the_text_with_copy_and_download() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let text = "\nfirst line after a blank one\nsecond line & more";
    let clip = server.copy_text(&alice, text).await;
    let token = share(&server, &alice, json!({"clip_id": clip["id"]})).await;
    let page = get_page(&server, &token).await;
    page.expect(StatusCode::OK);
    assert!(page.has("<title>Shared text · Cloud Buffer</title>"));
    assert!(page.has("<dd>Text</dd>"));
    // One newline for the parser to drop, then the text as it is.
    assert!(
        page.has("spellcheck=\"false\">\n\nfirst line after a blank one\nsecond line &amp; more</textarea>"),
        "{}",
        page.html
    );
    assert!(
        page.has(r#"<button class="button" id="copy" type="button" hidden>Copy</button>"#),
        "{}",
        page.html
    );
    assert!(page.has("navigator.clipboard"));
    assert!(page.has(&format!(r#"<a class="button secondary" href="{token}/raw">Download</a>"#)));
    let raw = server.request(Method::GET, &format!("/s/{token}/raw")).send().await.unwrap();
    assert_eq!(raw.text().await.unwrap(), text);
}

#[tokio::test]
async fn a_limited_text_is_shown_on_request_and_that_counts_as_a_download() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let clip = server.copy_text(&alice, "the one-time secret").await;
    let token = share(&server, &alice, json!({"clip_id": clip["id"], "max_downloads": 1})).await;
    // Viewing the page (a link previewer, a reload) shows no text and uses nothing.
    for _ in 0..2 {
        let page = get_page(&server, &token).await;
        page.expect(StatusCode::OK);
        assert!(!page.has("the one-time secret"), "{}", page.html);
        assert!(page.has(r#"<input type="hidden" name="reveal" value="1">"#), "{}", page.html);
        assert!(page.has("Show text"));
    }
    let shown = post_page(&server, &token, &[("reveal", "1")]).await;
    shown.expect(StatusCode::OK);
    assert!(shown.has("the one-time secret</textarea>"), "{}", shown.html);
    assert!(shown.has("<dd>0 downloads left</dd>"));
    assert!(!shown.has("Download"), "nothing left to download: {}", shown.html);
    let gone = page_once(&server, &token, StatusCode::GONE).await;
    assert!(gone.has("This link has been used up"));
    let again = post_page(&server, &token, &[("reveal", "1")]).await;
    again.expect(StatusCode::GONE);
    assert!(!again.has("the one-time secret"));

    // Protected too: unlocking shows the button, which posts the password again.
    let locked =
        share(&server, &alice, json!({"clip_id": clip["id"], "max_downloads": 2, "password": "pw"})).await;
    let unlocked = post_page(&server, &locked, &[("password", "pw")]).await;
    unlocked.expect(StatusCode::OK);
    assert!(!unlocked.has("the one-time secret"));
    assert!(
        unlocked.has(&format!(
            r#"<form method="post" action="{locked}"><input type="hidden" name="password" value="pw"><input type="hidden" name="reveal" value="1">"#
        )),
        "{}",
        unlocked.html
    );
    let wrong = post_page(&server, &locked, &[("password", "nope"), ("reveal", "1")]).await;
    wrong.expect(StatusCode::UNAUTHORIZED);
    assert!(!wrong.has("the one-time secret"));
    let shown = post_page(&server, &locked, &[("password", "pw"), ("reveal", "1")]).await;
    shown.expect(StatusCode::OK);
    assert!(shown.has("the one-time secret</textarea>"), "{}", shown.html);
    assert!(shown.has("<dd>1 download left</dd>"));
    assert!(
        shown.has(&format!(r#"<form method="post" action="{locked}/raw">"#)),
        "one download left to take"
    );
}

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
    let text = share(&server, &alice, json!({"clip_id": clip["id"], "password": "pw"})).await;
    let locked = get_page(&server, &text).await;
    assert!(!locked.has("text behind a password"));
    let unlocked = post_page(&server, &text, &[("password", "pw")]).await;
    unlocked.expect(StatusCode::OK);
    assert!(unlocked.has("text behind a password</textarea>"), "{}", unlocked.html);
    assert!(unlocked.has(r#"<input type="hidden" name="password" value="pw">"#));
}

#[tokio::test]
async fn a_flood_of_wrong_passwords_gets_a_429_page() {
    let server = TestServer::start_with(|s| s.auth_attempts_per_minute = Some(3)).await;
    let alice = server.register("alice").await;
    let file = server.upload(&alice, "a.txt", "a").await;
    let token = share(&server, &alice, json!({"file_id": file["id"], "password": "right"})).await;
    for _ in 0..3 {
        post_page(&server, &token, &[("password", "wrong")]).await.expect(StatusCode::UNAUTHORIZED);
    }
    let limited = post_page(&server, &token, &[("password", "right")]).await;
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

#[tokio::test]
async fn names_and_texts_are_escaped() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let file = server.upload(&alice, "<img src=x onerror=alert(1)>.txt", "boo").await;
    let token = share(&server, &alice, json!({"file_id": file["id"]})).await;
    let page = get_page(&server, &token).await;
    page.expect(StatusCode::OK);
    assert!(
        page.has("<title>&lt;img src=x onerror=alert(1)&gt;.txt · Cloud Buffer</title>"),
        "{}",
        page.html
    );
    assert!(page.has("<h1>&lt;img src=x onerror=alert(1)&gt;.<wbr>txt</h1>"), "{}", page.html);
    assert!(!page.has("<img src=x"), "{}", page.html);
    assert!(!page.has("<img"), "a text file has no preview at all");

    let clip = server.copy_text(&alice, r#"<script>alert("x")</script>"#).await;
    let token = share(&server, &alice, json!({"clip_id": clip["id"]})).await;
    let page = get_page(&server, &token).await;
    page.expect(StatusCode::OK);
    assert!(page.has("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"), "{}", page.html);
    assert!(!page.has("<script>alert"), "{}", page.html);
    assert!(!page.has("</script></textarea>"));
}

#[tokio::test]
async fn the_page_is_in_the_openapi_document() {
    let server = TestServer::start().await;
    let doc: Value =
        server.request(Method::GET, "/api/v1/openapi.json").send().await.unwrap().json().await.unwrap();
    let path = &doc["paths"]["/s/{token}"];
    assert!(path["get"]["responses"]["410"].is_object(), "{path}");
    assert!(path["post"]["responses"]["429"].is_object(), "{path}");
}
