//! The phone page of end-to-end encrypted shares (`server/web/share-e2e.js`,
//! issue 17): Rust encrypts with the `cloudbuffer-crypto` crate and uploads
//! over the API with `X-Encrypted: 1`, makes a share, and headless Chromium
//! (360 × 740) opens `share.url#k=<item key>`:
//!
//! - a text clip shows its decrypted text;
//! - a file downloads through the page and its service worker, byte for byte;
//! - an image shows a preview (from a Blob);
//! - no fragment, a damaged one or a wrong key: "This link is incomplete",
//!   and no plaintext anywhere in the page;
//! - a protected link asks for the password (a wrong one is said so);
//! - a record changed in the stored blob ends the download with an error,
//!   and no file under the item's name.
//!
//! Without Chromium and chromedriver this passes as skipped, except under
//! `CI` (see `cloudbuffer_tests::browser`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cloudbuffer_crypto::{encrypt_field, AccountKey, Encryptor, FieldKind, ItemKey, ItemSalt};
use cloudbuffer_tests::browser::Browser;
use cloudbuffer_tests::web_app::{noise, Account, PATIENCE};
use cloudbuffer_tests::TestServer;
use serde_json::{json, Value};

/// An account with E2E on: its key, and what it uploads.
struct Sender {
    account: Account,
    key: AccountKey,
}

/// An encrypted item on the server.
struct Uploaded {
    /// `{"file_id": …}` or `{"clip_id": …}`.
    target: Value,
    /// The item (= share) key.
    item_key: ItemKey,
    /// The bytes the server stores.
    ciphertext: Vec<u8>,
}

impl Sender {
    async fn new(server: &TestServer) -> Sender {
        Sender { account: Account::new(server, "alice").await, key: AccountKey::generate().expect("a key") }
    }

    /// `PUT /files/{name field}` of an encrypted file.
    async fn file(&self, name: &str, content_type: &str, plaintext: &[u8]) -> Uploaded {
        let encryptor = Encryptor::new(&self.key).expect("encryptor");
        let (salt, item_key) = (*encryptor.salt(), encryptor.item_key().clone());
        let name_field = encrypt_field(&item_key, &salt, FieldKind::Name, name.as_bytes()).expect("name");
        let type_field =
            encrypt_field(&item_key, &salt, FieldKind::ContentType, content_type.as_bytes()).expect("type");
        let ciphertext = encryptor.encrypt_all(plaintext).expect("encrypt");
        let response = self
            .account
            .request(reqwest::Method::PUT, &format!("/files/{name_field}"))
            .header("x-encrypted", "1")
            .header("x-encrypted-content-type", type_field)
            .body(ciphertext.clone())
            .send()
            .await
            .expect("PUT /files");
        assert_eq!(response.status(), 201, "PUT /files (encrypted)");
        let info: Value = response.json().await.expect("FileInfo");
        assert_eq!(info["encrypted"], true, "the server marks it encrypted: {info}");
        Uploaded { target: json!({"file_id": info["id"]}), item_key, ciphertext }
    }

    /// `PUT /buffer` of an encrypted text clip (the body is its `text` field).
    async fn text(&self, text: &str) -> Uploaded {
        let salt = ItemSalt::random().expect("salt");
        let item_key = ItemKey::derive(&self.key, &salt);
        let field = encrypt_field(&item_key, &salt, FieldKind::Text, text.as_bytes()).expect("text");
        let response = self
            .account
            .request(reqwest::Method::PUT, "/buffer")
            .header("x-data-type", "text")
            .header("x-encrypted", "1")
            .body(field.clone())
            .send()
            .await
            .expect("PUT /buffer");
        assert_eq!(response.status(), 201, "PUT /buffer (encrypted text)");
        let clip: Value = response.json().await.expect("Clip");
        assert_eq!(clip["encrypted"], true, "the server marks it encrypted: {clip}");
        Uploaded { target: json!({"clip_id": clip["id"]}), item_key, ciphertext: field.into_bytes() }
    }

    /// A share of `item` (`extra`: password, max_downloads…); its URL without the fragment.
    async fn share(&self, item: &Uploaded, extra: Value) -> String {
        let mut body = item.target.clone();
        body.as_object_mut().expect("object").extend(extra.as_object().cloned().unwrap_or_default());
        let response = self
            .account
            .request(reqwest::Method::POST, "/shares")
            .json(&body)
            .send()
            .await
            .expect("POST /shares");
        assert_eq!(response.status(), 201, "POST /shares {body}");
        let share: Value = response.json().await.expect("Share");
        share["url"].as_str().expect("url").to_string()
    }
}

/// The link with the item's key, as a sender's device makes it.
fn with_key(url: &str, item: &Uploaded) -> String {
    format!("{url}#{}", item.item_key.to_share_fragment())
}

/// A JS string literal.
fn js_str(s: &str) -> String {
    serde_json::to_string(s).expect("JSON string")
}

/// Opens `url` afresh (a new document, even when only the fragment differs).
async fn open(browser: &Browser, url: &str) {
    browser.goto("about:blank").await;
    browser.goto(url).await;
}

/// Waits for the page's state (`data-state` on `<html>`: text, file, password, incomplete…).
async fn wait_state(browser: &Browser, state: &str) {
    let condition = format!("document.documentElement.dataset.state === {}", js_str(state));
    browser.wait_until(&format!("the page shows state {state}"), PATIENCE, &condition).await;
}

/// Everything the page holds: its HTML and every form value.
async fn page_content(browser: &Browser) -> String {
    let script = "return document.documentElement.outerHTML + [...document.querySelectorAll('input, textarea')].map(e => e.value).join('\\n')";
    browser.js(script, vec![]).await.as_str().unwrap_or_default().to_string()
}

/// The file named `name` in `dir` once complete (no `.crdownload` left), within `PATIENCE`.
async fn downloaded(dir: &Path, name: &str) -> Vec<u8> {
    let deadline = Instant::now() + PATIENCE;
    let path = dir.join(name);
    loop {
        let partial = std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .any(|e| e.file_name().to_string_lossy().ends_with(".crdownload"))
            })
            .unwrap_or(false);
        if path.is_file() && !partial {
            return std::fs::read(&path).expect("the downloaded file");
        }
        let names: Vec<_> = std::fs::read_dir(dir)
            .map(|entries| entries.filter_map(Result::ok).map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(Instant::now() < deadline, "no download {name} in {}: {names:?}", dir.display());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The stored blob holding exactly `bytes` under the server's data dir.
fn stored_blob(dir: &Path, bytes: &[u8]) -> PathBuf {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("data dir").filter_map(Result::ok) {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(path);
            } else if meta.len() == bytes.len() as u64 && std::fs::read(&path).is_ok_and(|b| b == bytes) {
                return path;
            }
        }
    }
    panic!("no stored blob of {} bytes under {}", bytes.len(), dir.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_clip_opens_with_its_key_and_an_incomplete_link_shows_nothing() {
    let Some(browser) = Browser::start().await else { return };
    let server = TestServer::start().await;
    let sender = Sender::new(&server).await;
    let secret = "Wi-Fi: Lakeside-5G\npassword: correct horse battery staple <b>not bold</b> — ü ✓";
    let clip = sender.text(secret).await;
    let url = sender.share(&clip, json!({})).await;
    let file = sender.file("plans for the cabin.txt", "text/plain", secret.as_bytes()).await;
    let file_url = sender.share(&file, json!({})).await;

    // (a) The key opens it: the text, decrypted, with a Copy button.
    open(&browser, &with_key(&url, &clip)).await;
    wait_state(&browser, "text").await;
    let value = browser.js("return document.querySelector('#text').value", vec![]).await;
    assert_eq!(value, secret, "the decrypted text");
    assert!(browser.shown("#copy").await, "a Copy button");
    assert_eq!(browser.text("#e2e-title").await, "Shared text");

    // (d) No fragment, a damaged one, another item's key: incomplete, nothing decrypted.
    let other = ItemKey::from_bytes([7; 32]).to_share_fragment();
    let cases = [
        (url.clone(), "no fragment"),
        (format!("{url}#"), "an empty fragment"),
        (format!("{url}#k=abc"), "a cut key"),
        (format!("{url}#k={}", "!".repeat(43)), "a key that is not base64url"),
        (format!("{url}#{other}"), "a wrong key (text)"),
        (format!("{file_url}#{other}"), "a wrong key (file)"),
        (file_url.clone(), "no fragment (file)"),
    ];
    for (link, what) in cases {
        open(&browser, &link).await;
        wait_state(&browser, "incomplete").await;
        assert_eq!(browser.text("#e2e-title").await, "This link is incomplete", "{what}");
        let page = page_content(&browser).await;
        assert!(page.contains("after the “#”"), "{what}: the page says what is missing");
        for needle in ["Lakeside", "correct horse", "plans for the cabin"] {
            assert!(!page.contains(needle), "{what}: plaintext {needle:?} in the page");
        }
    }
    // Other fragment parameters are ignored.
    open(&browser, &format!("{url}#from=alice&{}&x=1", clip.item_key.to_share_fragment())).await;
    wait_state(&browser, "text").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_downloads_decrypted_through_the_service_worker_and_a_changed_record_fails() {
    let Some(browser) = Browser::start().await else { return };
    let downloads = tempfile::tempdir().expect("download dir");
    browser.download_to(downloads.path()).await;
    let server = TestServer::start().await;
    let sender = Sender::new(&server).await;

    // (b) 49 records (the last one short): the page shows name and size, and
    // the download, decrypted through the service worker, is the plaintext.
    let plaintext = noise(3 * 1024 * 1024 + 123, "measurements");
    let name = "measurements ü 2025.bin";
    let file = sender.file(name, "application/octet-stream", &plaintext).await;
    let url = sender.share(&file, json!({})).await;
    open(&browser, &with_key(&url, &file)).await;
    wait_state(&browser, "file").await;
    assert_eq!(browser.text("#e2e-name").await, name);
    assert_eq!(browser.text("#e2e-size").await, "3.0 MiB");
    browser.click("#e2e-download").await;
    let got = downloaded(downloads.path(), name).await;
    assert!(
        got == plaintext,
        "the downloaded file is the plaintext ({} bytes, want {})",
        got.len(),
        plaintext.len()
    );
    browser
        .wait_until(
            "the page says the download is complete",
            PATIENCE,
            "document.querySelector('#e2e-status').textContent.startsWith('Downloaded and decrypted')",
        )
        .await;
    let via = browser.js("return document.documentElement.dataset.download", vec![]).await;
    assert_eq!(via, "worker", "the download went through the service worker");

    // (f) A byte flipped in the third record of the stored blob: the page
    // says so, and no file appears under the item's name.
    let plaintext = noise(400 * 1024, "tampered");
    let name = "ledger.bin";
    let file = sender.file(name, "application/octet-stream", &plaintext).await;
    let blob = stored_blob(server.data_dir(), &file.ciphertext);
    let mut bytes = std::fs::read(&blob).expect("blob");
    let mut permissions = std::fs::metadata(&blob).expect("blob metadata").permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    permissions.set_readonly(false);
    std::fs::set_permissions(&blob, permissions).expect("blob writable");
    bytes[28 + 2 * (65536 + 16) + 100] ^= 0x01;
    std::fs::write(&blob, &bytes).expect("write blob");
    let url = sender.share(&file, json!({})).await;
    open(&browser, &with_key(&url, &file)).await;
    wait_state(&browser, "file").await;
    browser.click("#e2e-download").await;
    browser
        .wait_until(
            "the page says decryption failed",
            PATIENCE,
            "!document.querySelector('#e2e-error').hidden \
             && document.querySelector('#e2e-error').textContent.includes('could not be decrypted')",
        )
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!downloads.path().join(name).exists(), "a tampered file was saved under its name");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_shows_a_preview() {
    let Some(browser) = Browser::start().await else { return };
    let server = TestServer::start().await;
    let sender = Sender::new(&server).await;
    let png = include_bytes!("../../server/web/icon-192.png");
    let image = sender.file("sunset over the harbour.png", "image/png", png).await;
    let url = sender.share(&image, json!({})).await;
    open(&browser, &with_key(&url, &image)).await;
    wait_state(&browser, "file").await;
    browser
        .wait_until(
            "the preview has loaded",
            PATIENCE,
            "document.querySelector('#e2e-preview') && document.querySelector('#e2e-preview').complete \
             && document.querySelector('#e2e-preview').naturalWidth === 192",
        )
        .await;
    let href = browser.js("return document.querySelector('#e2e-download').href", vec![]).await;
    assert!(
        href.as_str().is_some_and(|h| h.starts_with("blob:")),
        "Download saves the decrypted Blob: {href}"
    );
    assert_eq!(browser.text("#e2e-name").await, "sunset over the harbour.png");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_protected_link_asks_for_the_password() {
    let Some(browser) = Browser::start().await else { return };
    let downloads = tempfile::tempdir().expect("download dir");
    browser.download_to(downloads.path()).await;
    let server = TestServer::start().await;
    let sender = Sender::new(&server).await;
    let secret = "the door code is 4711";
    let clip = sender.text(secret).await;
    let url = sender.share(&clip, json!({"password": "open sesame 123"})).await;

    open(&browser, &with_key(&url, &clip)).await;
    wait_state(&browser, "password").await;
    assert!(!page_content(&browser).await.contains("4711"));
    browser.send_keys("#password", "not the password").await;
    browser.click("#e2e-password button[type=submit]").await;
    browser
        .wait_until(
            "the page says the password is wrong",
            PATIENCE,
            "!document.querySelector('#e2e-error').hidden \
             && document.querySelector('#e2e-error').textContent === 'Wrong password.'",
        )
        .await;
    browser.js("document.querySelector('#password').value = ''", vec![]).await;
    browser.send_keys("#password", "open sesame 123").await;
    browser.click("#e2e-password button[type=submit]").await;
    wait_state(&browser, "text").await;
    assert_eq!(browser.js("return document.querySelector('#text').value", vec![]).await, secret);

    // A protected file: the password opens it and the download starts.
    let plaintext = noise(200 * 1024, "protected");
    let name = "contract (signed).pdf";
    let file = sender.file(name, "application/pdf", &plaintext).await;
    let url = sender.share(&file, json!({"password": "open sesame 123"})).await;
    open(&browser, &with_key(&url, &file)).await;
    wait_state(&browser, "password").await;
    browser.send_keys("#password", "open sesame 123").await;
    browser.click("#e2e-password button[type=submit]").await;
    wait_state(&browser, "file").await;
    assert_eq!(browser.text("#e2e-name").await, name);
    let got = downloaded(downloads.path(), name).await;
    assert!(got == plaintext, "the protected file downloads decrypted");
    browser.close().await;
}
