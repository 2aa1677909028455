//! The share page `GET /s/{token}` for phones, what it shows: files (with
//! image previews where they burn nothing), texts (a limited one only on
//! request), user data escaped, and its place in the OpenAPI document.
//! The link states (password, 404, 410, 429) are in `page_states.rs`.

mod common;
mod page_support;

use common::{pseudo_random, TestServer};
use page_support::{get_page, page_once, png_bytes, post_page, share};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

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
    let locked = share(&server, &alice, json!({"file_id": file["id"], "password": "pw-secret"})).await;
    let page = post_page(&server, &locked, &[("password", "pw-secret")]).await;
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
        share(&server, &alice, json!({"clip_id": clip["id"], "max_downloads": 2, "password": "pw-secret"}))
            .await;
    let unlocked = post_page(&server, &locked, &[("password", "pw-secret")]).await;
    unlocked.expect(StatusCode::OK);
    assert!(!unlocked.has("the one-time secret"));
    assert!(
        unlocked.has(&format!(
            r#"<form method="post" action="{locked}"><input type="hidden" name="password" value="pw-secret"><input type="hidden" name="reveal" value="1">"#
        )),
        "{}",
        unlocked.html
    );
    let wrong = post_page(&server, &locked, &[("password", "nope"), ("reveal", "1")]).await;
    wrong.expect(StatusCode::UNAUTHORIZED);
    assert!(!wrong.has("the one-time secret"));
    let shown = post_page(&server, &locked, &[("password", "pw-secret"), ("reveal", "1")]).await;
    shown.expect(StatusCode::OK);
    assert!(shown.has("the one-time secret</textarea>"), "{}", shown.html);
    assert!(shown.has("<dd>1 download left</dd>"));
    assert!(
        shown.has(&format!(r#"<form method="post" action="{locked}/raw">"#)),
        "one download left to take"
    );
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
