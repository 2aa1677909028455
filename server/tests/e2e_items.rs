//! End-to-end encrypted items over real HTTP (issue 17): uploads are stored
//! byte for byte with their fields as sent and `encrypted: true`; bad
//! fields and non-items are refused with nothing stored; every download
//! is opaque (`application/octet-stream`, `X-Encrypted: 1`); shares serve
//! the ciphertext and a page that needs the browser's script, never a
//! preview. Real ciphertext from `cloudbuffer-crypto`.

mod common;

use cloudbuffer_crypto::{decrypt_all, decrypt_field, encrypt_field, AccountKey, Encryptor, FieldKind};
use common::{encode_segment, expect_error, pseudo_random, wait_for_event, TestServer, TestUser};
use reqwest::multipart::{Form, Part};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{json, Value};

/// One encrypted file: its content and its fields.
struct Item {
    content: Vec<u8>,
    name: String,
    content_type: String,
}

fn item(account: &AccountKey, plaintext: &[u8], name: &str, content_type: &str) -> Item {
    let encryptor = Encryptor::new(account).unwrap();
    let (key, salt) = (encryptor.item_key().clone(), *encryptor.salt());
    let name = encrypt_field(&key, &salt, FieldKind::Name, name.as_bytes()).unwrap();
    let content_type = encrypt_field(&key, &salt, FieldKind::ContentType, content_type.as_bytes()).unwrap();
    Item { content: encryptor.encrypt_all(plaintext).unwrap(), name, content_type }
}

fn encrypted(request: RequestBuilder) -> RequestBuilder {
    request.header("x-encrypted", "1")
}

async fn created(response: Response) -> Value {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

fn header<'a>(response: &'a Response, name: &str) -> &'a str {
    response.headers().get(name).map_or("", |v| v.to_str().unwrap())
}

/// Asserts an opaque download of `expected` bytes; returns the response headers.
async fn opaque(response: Response, expected: &[u8]) -> reqwest::header::HeaderMap {
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "content-type"), "application/octet-stream");
    assert_eq!(header(&response, "x-encrypted"), "1");
    let headers = response.headers().clone();
    assert_eq!(&response.bytes().await.unwrap()[..], expected);
    headers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_upload_route_stores_the_item_and_its_fields_as_sent() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let account = AccountKey::generate().unwrap();
    let mut events = server.events(&alice).await;

    // Raw PUT; the name field is the path segment.
    let photo = pseudo_random(200_000, 1);
    let raw = item(&account, &photo, "holiday.png", "image/png");
    let path = format!("/api/v1/files/{}", raw.name);
    let request = encrypted(server.as_user(&alice, Method::PUT, &path))
        .header("x-encrypted-content-type", &raw.content_type)
        .body(raw.content.clone());
    let info = created(request.send().await.unwrap()).await;
    assert_eq!(info["encrypted"], true);
    assert_eq!(
        (info["name"].as_str(), info["content_type"].as_str()),
        (Some(&*raw.name), Some(&*raw.content_type))
    );
    assert_eq!(info["size"], raw.content.len());
    let (event, _) = wait_for_event(&mut events, "file.created").await;
    assert_eq!(event["file"]["encrypted"], true);
    let content = server.as_user(&alice, Method::GET, &format!("{}/content", file_path(&info)));
    let headers = opaque(content.send().await.unwrap(), &raw.content).await;
    assert_eq!(headers["content-disposition"], format!("attachment; filename=\"{}\"", raw.name).as_str());
    assert_eq!(headers["x-encrypted-content-type"], raw.content_type.as_str());
    assert_eq!(decrypt_all(&account, &raw.content).unwrap(), photo);

    // Multipart: the part's filename is the name field; a long one (a
    // plaintext name would be cut at 255 bytes) survives whole.
    let long = item(&account, b"notes", &"n".repeat(630), "text/plain");
    assert!(long.name.len() > 850 && long.name.len() <= 1024, "{}", long.name.len());
    let form = Form::new().part("file", Part::bytes(long.content.clone()).file_name(long.name.clone()));
    let request = encrypted(server.as_user(&alice, Method::POST, "/api/v1/files")).multipart(form);
    let info = created(request.send().await.unwrap()).await;
    assert_eq!((info["encrypted"].as_bool(), info["name"].as_str()), (Some(true), Some(&*long.name)));
    assert_eq!(info["content_type"], "", "no header: stored empty, never sniffed");
    let content = server.as_user(&alice, Method::GET, &format!("{}/content", file_path(&info)));
    opaque(content.send().await.unwrap(), &long.content).await;
    let name = decrypt_field(&account, FieldKind::Name, info["name"].as_str().unwrap()).unwrap();
    assert_eq!(name, "n".repeat(630).into_bytes());

    // A file clip: X-Filename is the name field.
    let clip_item = item(&account, b"%PDF-1.7 plaintext that would be sniffed", "a.pdf", "application/pdf");
    let request = encrypted(server.as_user(&alice, Method::PUT, "/api/v1/buffer"))
        .header("x-data-type", "file")
        .header("x-filename", &clip_item.name)
        .body(clip_item.content.clone());
    let clip = created(request.send().await.unwrap()).await;
    assert_eq!((clip["encrypted"].as_bool(), clip["file"]["encrypted"].as_bool()), (Some(true), Some(true)));
    assert_eq!(clip["file"]["name"], clip_item.name.as_str());
    assert!(clip.get("preview").is_none());
    let newest = server.as_user(&alice, Method::GET, "/api/v1/buffer").send().await.unwrap();
    assert_eq!(header(&newest, "x-data-type"), "file");
    opaque(newest, &clip_item.content).await;
    let by_id = format!("/api/v1/buffer/clips/{}/content", clip["id"].as_str().unwrap());
    opaque(server.as_user(&alice, Method::GET, &by_id).send().await.unwrap(), &clip_item.content).await;
    assert_eq!(server.files(&alice).await.len(), 3);

    // Without the header nothing changes: sanitised name, sniffed type.
    let plain = server.upload(&alice, "../plain.txt", "hello").await;
    assert_eq!((plain["encrypted"].as_bool(), plain["name"].as_str()), (Some(false), Some("plain.txt")));
    assert_eq!(plain["content_type"], "text/plain");
    let content = server.as_user(&alice, Method::GET, &format!("{}/content", file_path(&plain)));
    let response = content.send().await.unwrap();
    assert!(response.headers().get("x-encrypted").is_none());
    assert_eq!(header(&response, "content-type"), "text/plain");
}

fn file_path(info: &Value) -> String {
    format!("/api/v1/files/{}", info["id"].as_str().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_fields_and_non_items_are_refused_with_nothing_stored() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let account = AccountKey::generate().unwrap();
    let good = item(&account, b"content", "a.txt", "text/plain");
    let put = |name: &str| {
        let path = format!("/api/v1/files/{}", encode_segment(name));
        encrypted(server.as_user(&alice, Method::PUT, &path))
    };

    for bad_name in ["../x", "a\0b", &"a".repeat(2048), "not base64!", "a+b/c", "=="] {
        let response = put(bad_name).body(good.content.clone()).send().await.unwrap();
        expect_error(response, StatusCode::BAD_REQUEST, "invalid_encrypted_field").await;
    }
    let response =
        put(&good.name).header("x-encrypted-content-type", "text/plain").body(good.content.clone());
    expect_error(response.send().await.unwrap(), StatusCode::BAD_REQUEST, "invalid_encrypted_field").await;
    let response = server.as_user(&alice, Method::PUT, &format!("/api/v1/files/{}", good.name));
    let response = response.header("x-encrypted", "yes").body(good.content.clone()).send().await.unwrap();
    expect_error(response, StatusCode::BAD_REQUEST, "invalid_header").await;
    // A multipart part without a filename has no name field.
    let form = Form::new().part("file", Part::bytes(good.content.clone()));
    let request = encrypted(server.as_user(&alice, Method::POST, "/api/v1/files")).multipart(form);
    expect_error(request.send().await.unwrap(), StatusCode::BAD_REQUEST, "invalid_encrypted_field").await;
    let request = encrypted(server.as_user(&alice, Method::PUT, "/api/v1/buffer"))
        .header("x-data-type", "file")
        .header("x-filename", "../x")
        .body(good.content.clone());
    expect_error(request.send().await.unwrap(), StatusCode::BAD_REQUEST, "invalid_encrypted_field").await;

    // Not an item: wrong magic, another version, plaintext, too short, empty.
    let mut version_2 = good.content.clone();
    version_2[4] = 2;
    let mut big_plain = pseudo_random(16_000, 2);
    big_plain[..4].copy_from_slice(b"CBEF");
    for body in [version_2, b"hello world".to_vec(), big_plain, b"CBEE".to_vec(), Vec::new()] {
        let response = put(&good.name).body(body.clone()).send().await.unwrap();
        assert_eq!(header(&response, "connection"), "close", "the rest is not read");
        expect_error(response, StatusCode::BAD_REQUEST, "invalid_ciphertext").await;
        let form = Form::new().part("file", Part::bytes(body.clone()).file_name(good.name.clone()));
        let request = encrypted(server.as_user(&alice, Method::POST, "/api/v1/files")).multipart(form);
        expect_error(request.send().await.unwrap(), StatusCode::BAD_REQUEST, "invalid_ciphertext").await;
        let request = encrypted(server.as_user(&alice, Method::PUT, "/api/v1/buffer"))
            .header("x-data-type", "file")
            .header("x-filename", &good.name)
            .body(body);
        expect_error(request.send().await.unwrap(), StatusCode::BAD_REQUEST, "invalid_ciphertext").await;
    }

    // Encrypted text must be one field; its preview too.
    let text = |body: &str| {
        encrypted(server.as_user(&alice, Method::PUT, "/api/v1/buffer"))
            .header("x-data-type", "text")
            .body(body.to_string())
    };
    for body in ["plain text", "", "a=b", "é"] {
        expect_error(text(body).send().await.unwrap(), StatusCode::BAD_REQUEST, "invalid_encrypted_field")
            .await;
    }
    let response = text("QUJD").header("x-encrypted-preview", "a".repeat(1025)).send().await.unwrap();
    expect_error(response, StatusCode::BAD_REQUEST, "invalid_encrypted_field").await;
    let response = text(&"a".repeat((1 << 20) + 1)).send().await.unwrap();
    expect_error(response, StatusCode::PAYLOAD_TOO_LARGE, "clip_too_large").await;

    assert!(server.files(&alice).await.is_empty());
    assert!(server.clips(&alice).await.is_empty());
    assert!(server.stored_blobs().is_empty(), "no blob left behind");
    assert_eq!(server.pending_uploads(), 0, "no temp file left behind");
}

async fn copy_encrypted_text(
    server: &TestServer,
    user: &TestUser,
    field: &str,
    preview: Option<&str>,
) -> Value {
    let mut request = encrypted(server.as_user(user, Method::PUT, "/api/v1/buffer"))
        .header("x-data-type", "text")
        .body(field.to_string());
    if let Some(preview) = preview {
        request = request.header("x-encrypted-preview", preview);
    }
    created(request.send().await.unwrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encrypted_text_clips_keep_the_clients_preview_and_no_other() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let account = AccountKey::generate().unwrap();
    let encryptor = Encryptor::new(&account).unwrap();
    let (key, salt) = (encryptor.item_key(), encryptor.salt());
    let secret = "the launch code is 0000 ".repeat(20);
    let field = encrypt_field(key, salt, FieldKind::Text, secret.as_bytes()).unwrap();
    let preview = encrypt_field(key, salt, FieldKind::Preview, &secret.as_bytes()[..40]).unwrap();

    let with = copy_encrypted_text(&server, &alice, &field, Some(&preview)).await;
    assert_eq!((with["encrypted"].as_bool(), with["kind"].as_str()), (Some(true), Some("text")));
    assert_eq!(with["preview"], preview.as_str());
    assert_eq!(with["size"], field.len());
    let without = copy_encrypted_text(&server, &alice, &field, None).await;
    assert!(without.get("preview").is_none(), "never a preview of the ciphertext: {without}");
    let plain = server.copy_text(&alice, "plain").await;
    assert_eq!((plain["encrypted"].as_bool(), plain["preview"].as_str()), (Some(false), Some("plain")));

    let clips = server.clips(&alice).await;
    assert_eq!(clips.len(), 3);
    assert!(clips[1].get("preview").is_none() && clips[1]["encrypted"] == true);
    assert_eq!(
        (clips[2]["preview"].as_str(), clips[2]["encrypted"].as_bool()),
        (Some(&*preview), Some(true))
    );

    // GET /buffer sends a text field as text; the clip's content route as bytes.
    let delete = format!("/api/v1/buffer/clips/{}", plain["id"].as_str().unwrap());
    assert_eq!(server.as_user(&alice, Method::DELETE, &delete).send().await.unwrap().status(), 204);
    let newest = server.as_user(&alice, Method::GET, "/api/v1/buffer").send().await.unwrap();
    assert_eq!(header(&newest, "content-type"), "text/plain; charset=utf-8");
    assert_eq!((header(&newest, "x-data-type"), header(&newest, "x-encrypted")), ("text", "1"));
    assert_eq!(newest.text().await.unwrap(), field);
    let by_id = format!("/api/v1/buffer/clips/{}/content", with["id"].as_str().unwrap());
    let content = server.as_user(&alice, Method::GET, &by_id).send().await.unwrap();
    assert_eq!(header(&content, "x-data-type"), "text");
    opaque(content, field.as_bytes()).await;
    assert_eq!(decrypt_field(&account, FieldKind::Text, &field).unwrap(), secret.as_bytes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shares_serve_ciphertext_and_a_page_for_the_browser_to_decrypt() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let account = AccountKey::generate().unwrap();
    let photo = item(&account, &pseudo_random(5000, 3), "secret-photo.png", "image/png");
    let path = format!("/api/v1/files/{}", photo.name);
    let request = encrypted(server.as_user(&alice, Method::PUT, &path))
        .header("x-encrypted-content-type", &photo.content_type)
        .body(photo.content.clone());
    let file = created(request.send().await.unwrap()).await;
    let share: Value = server.share(&alice, json!({"file_id": file["id"]})).await.json().await.unwrap();
    let token = share["token"].as_str().unwrap();
    assert_eq!(share["file"]["encrypted"], true);

    let raw = server.request(Method::GET, &format!("/s/{token}/raw")).send().await.unwrap();
    let headers = opaque(raw, &photo.content).await;
    assert_eq!(headers["content-disposition"], format!("attachment; filename=\"{}\"", photo.name).as_str());
    let preview = server.request(Method::GET, &format!("/s/{token}/preview")).send().await.unwrap();
    expect_error(preview, StatusCode::NOT_FOUND, "no_preview").await;

    let page = server.request(Method::GET, &format!("/s/{token}")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csp = header(&page, "content-security-policy").to_string();
    assert!(csp.contains("script-src 'self'") && csp.contains("connect-src 'self'"), "{csp}");
    assert!(!csp.contains("script-src 'unsafe-inline'"), "no inline script on this page: {csp}");
    let html = page.text().await.unwrap();
    let script = format!(
        r#"<script type="module" src="/app/share-e2e.js?v={}"></script>"#,
        server.state.web.version()
    );
    assert!(html.contains(&script), "{html}");
    let main = format!(
        r#"<main id="e2e-share" data-raw-url="/s/{token}/raw" data-kind="file" data-size="{}" data-name="{}" data-content-type="{}" data-password="0">"#,
        photo.content.len(),
        photo.name,
        photo.content_type
    );
    assert!(html.contains(&main), "{html}");
    assert!(html.contains("<noscript>") && html.contains("JavaScript"));
    assert!(!html.contains("secret-photo") && !html.contains("/preview"), "{html}");

    // A text clip's link, protected: nothing but its kind until the password.
    let encryptor = Encryptor::new(&account).unwrap();
    let field =
        encrypt_field(encryptor.item_key(), encryptor.salt(), FieldKind::Text, b"top secret").unwrap();
    let preview = encrypt_field(encryptor.item_key(), encryptor.salt(), FieldKind::Preview, b"top").unwrap();
    let clip = copy_encrypted_text(&server, &alice, &field, Some(&preview)).await;
    let request = json!({"clip_id": clip["id"], "password": "correct horse"});
    let share: Value = server.share(&alice, request).await.json().await.unwrap();
    let token = share["token"].as_str().unwrap();
    let html =
        server.request(Method::GET, &format!("/s/{token}")).send().await.unwrap().text().await.unwrap();
    let main = format!(
        r#"<main id="e2e-share" data-raw-url="/s/{token}/raw" data-kind="text" data-size="" data-name="" data-content-type="" data-password="1">"#
    );
    assert!(html.contains(&main), "{html}");
    assert!(!html.contains(&field) && !html.contains(&preview) && !html.contains("top secret"));
    let locked = server.request(Method::GET, &format!("/s/{token}/raw")).send().await.unwrap();
    expect_error(locked, StatusCode::UNAUTHORIZED, "password_required").await;
    let form = [("password", "correct horse")];
    let raw = server.request(Method::POST, &format!("/s/{token}/raw")).form(&form).send().await.unwrap();
    opaque(raw, field.as_bytes()).await;
    let preview = server.request(Method::GET, &format!("/s/{token}/preview")).send().await.unwrap();
    expect_error(preview, StatusCode::NOT_FOUND, "no_preview").await;

    // A plaintext link's page is as before.
    let plain = server.upload(&alice, "plain.txt", "hello").await;
    let share: Value = server.share(&alice, json!({"file_id": plain["id"]})).await.json().await.unwrap();
    let page = server.request(Method::GET, &format!("/s/{}", share["token"].as_str().unwrap())).send().await;
    let page = page.unwrap();
    assert!(header(&page, "content-security-policy").contains("script-src 'unsafe-inline'"));
    assert!(!page.text().await.unwrap().contains("e2e-share"));
}
