//! The web app (/app) in a real headless Chromium at a phone's viewport,
//! against a real server: signing in, the clipboard both ways with the
//! `cloudbuffer` CLI as the desktop, uploads with their progress bar, and
//! the Android share target's POST. (Pairing, revoking and hostile names:
//! `web_app_pairing.rs`.)
//!
//! Without Chromium and chromedriver these tests pass as skipped, except
//! under `CI` (see `cloudbuffer_tests::browser`).

mod common;

use cloudbuffer_tests::browser::Browser;
use cloudbuffer_tests::web_app::{noise, sign_in, wait_live, Account, PATIENCE};
use cloudbuffer_tests::TestServer;
use common::User;
use serde_json::{json, Value};

/// The CLI as another machine of `account`, signed in.
fn desktop(server: &TestServer, account: &Account) -> User {
    let user = User::existing(server, &account.username, &account.password);
    user.login();
    user
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signs_in_with_a_password_and_says_when_it_is_wrong() {
    let Some(browser) = Browser::start().await else { return };
    let server = TestServer::start().await;
    let alice = Account::new(&server, "alice").await;

    browser.goto(&format!("{}/app/", server.url)).await;
    browser
        .wait_until("the sign-in screen", PATIENCE, "!document.querySelector('#login-screen').hidden")
        .await;
    browser.send_keys("#login-username", "alice").await;
    browser.send_keys("#login-password", "not her password").await;
    browser.click("#login-submit").await;
    browser
        .wait_until("an error", PATIENCE, "document.querySelector('#login-error').textContent !== ''")
        .await;
    assert!(browser.shown("#login-screen").await && !browser.shown("#app-screen").await);
    let before = alice.devices().await.len();

    sign_in(&browser, &alice).await;
    assert_eq!(browser.text("#user-name").await, "alice");
    // The page is a device of its own, named after the browser.
    let devices = alice.devices().await;
    assert_eq!(devices.len(), before + 1, "{devices:?}");
    let id = cloudbuffer_tests::web_app::device_id(&browser).await;
    let mine = devices.iter().find(|d| d["id"] == id.as_str()).expect("the browser's device is listed");
    assert!(!mine["name"].as_str().unwrap_or_default().is_empty(), "{mine}");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clip_from_the_cli_appears_live_and_page_text_reaches_cli_paste() {
    let Some(browser) = Browser::start().await else { return };
    let server = TestServer::start().await;
    let alice = Account::new(&server, "alice").await;
    let laptop = desktop(&server, &alice);
    sign_in(&browser, &alice).await;
    browser
        .wait_until(
            "the empty list says so",
            PATIENCE,
            "document.querySelector('#clips-empty').textContent !== ''",
        )
        .await;

    // Desktop → phone: over the events socket, no reload.
    browser.js("window.__samePage = true", vec![]).await;
    laptop.run(["copy", "from the laptop: ünïcødé ✓"]);
    browser
        .wait_until(
            "the CLI's clip shows",
            PATIENCE,
            "[...document.querySelectorAll('#clip-list li .title')].some(e => e.textContent === 'from the laptop: ünïcødé ✓')",
        )
        .await;
    assert_eq!(browser.js("return window.__samePage === true", vec![]).await, json!(true), "no reload");

    // Phone → desktop: typed in the page, read by `cloudbuffer paste`.
    let text = "from the phone\nsecond line — ✓";
    browser.send_keys("#send-text", text).await;
    browser.click("#send-button").await;
    browser
        .wait_until("the page says it sent", PATIENCE, "document.querySelector('#send-text').value === ''")
        .await;
    assert_eq!(laptop.run(["paste"]), text);
    assert_eq!(alice.get("/buffer/clips").await[0]["preview"], text);
    browser.close().await;
}

/// Records every state of the upload box (shown, its height, the bar's
/// value), since on loopback a few MiB go up faster than anyone can poll.
const WATCH_UPLOAD: &str = r#"
    window.__upload = [];
    const box = document.querySelector('#upload'), bar = document.querySelector('#upload-progress');
    const note = () => window.__upload.push({ shown: !box.hidden, height: box.getBoundingClientRect().height, value: bar.value });
    new MutationObserver(note).observe(box, { attributes: true, childList: true, characterData: true, subtree: true });
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_picked_file_uploads_with_a_progress_bar_and_downloads_intact() {
    let Some(browser) = Browser::start().await else { return };
    let server = TestServer::start().await;
    let alice = Account::new(&server, "alice").await;
    let laptop = desktop(&server, &alice);
    sign_in(&browser, &alice).await;

    let bytes = noise(3 << 20, "a picked file");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("holiday photo.bin");
    std::fs::write(&path, &bytes).unwrap();
    browser.js(WATCH_UPLOAD, vec![]).await;
    browser.pick_file("#file-input", &path).await;
    browser
        .wait_until(
            "the file is in both lists",
            PATIENCE,
            "[...document.querySelectorAll('#clip-list li .title')].some(e => e.textContent === 'holiday photo.bin') \
             && [...document.querySelectorAll('#file-list li .title')].some(e => e.textContent === 'holiday photo.bin')",
        )
        .await;
    browser.wait_until("the upload box goes", PATIENCE, "document.querySelector('#upload').hidden").await;

    let seen = browser.js("return window.__upload", vec![]).await;
    let states = seen.as_array().expect("upload states");
    assert!(
        states.iter().any(|s| s["shown"] == true && s["height"].as_f64().unwrap_or(0.0) > 0.0),
        "the progress box was shown: {seen}"
    );
    let values: Vec<f64> =
        states.iter().filter(|s| s["shown"] == true).filter_map(|s| s["value"].as_f64()).collect();
    assert!(values.iter().any(|v| *v > 0.0), "the bar moved: {values:?}");
    assert!(values.windows(2).all(|w| w[0] <= w[1] || w[1] == 0.0), "the bar only goes forward: {values:?}");

    // The desktop side: the newest clip is the file, byte for byte.
    laptop.run(["paste", "-o", "got.bin"]);
    let got = std::fs::read(laptop.path("got.bin")).unwrap();
    assert!(got == bytes, "the download differs ({} bytes, sent {})", got.len(), bytes.len());
    let files = alice.get("/files").await;
    assert_eq!(files[0]["name"], "holiday photo.bin");
    assert_eq!(files[0]["size"], bytes.len());
    browser.close().await;
}

/// Builds the form Chromium posts when Android shares into the installed
/// app (the manifest's share_target), as a multipart POST navigation.
const SHARE_FORM: &str = r#"
    const form = document.createElement('form');
    form.method = 'post';
    form.enctype = 'multipart/form-data';
    form.action = '/app/share-target';
    for (const [name, value] of [['title', arguments[0]], ['text', arguments[1]], ['url', arguments[2]]]) {
        const input = document.createElement('input');
        input.name = name;
        input.value = value;
        form.append(input);
    }
    const file = document.createElement('input');
    file.type = 'file';
    file.name = 'file';
    file.id = 'shared-file';
    form.append(file);
    document.body.append(form);
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_share_target_post_lands_as_a_text_clip_and_a_file_clip() {
    let Some(browser) = Browser::start().await else { return };
    let server = TestServer::start().await;
    let alice = Account::new(&server, "alice").await;
    sign_in(&browser, &alice).await;
    browser
        .wait_until("the service worker controls the page", PATIENCE, "!!navigator.serviceWorker.controller")
        .await;

    let bytes = noise(200_000, "a shared file");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared scan.pdf");
    std::fs::write(&path, &bytes).unwrap();
    let args = vec![json!("A page"), json!("look at this"), json!("https://example.com/a?b=c")];
    browser.js(SHARE_FORM, args).await;
    browser.pick_file("#shared-file", &path).await;
    browser.js("document.querySelector('#shared-file').form.submit()", vec![]).await;

    // The worker keeps the parts and sends the browser to the app, which uploads them.
    wait_live(&browser).await;
    browser
        .wait_until(
            "both shared items are listed",
            PATIENCE,
            "[...document.querySelectorAll('#clip-list li .title')].map(e => e.textContent).join('|') \
             === 'shared scan.pdf|A page\\nlook at this\\nhttps://example.com/a?b=c'",
        )
        .await;
    assert!(!browser.js("return location.search", vec![]).await.as_str().unwrap().contains("share-target"));

    let clips = alice.get("/buffer/clips").await;
    let clips: &Vec<Value> = clips.as_array().unwrap();
    assert_eq!(clips.len(), 2, "{clips:?}");
    let text = clips.iter().find(|c| c["kind"] == "text").expect("a text clip");
    let id = text["id"].as_str().unwrap();
    let content = alice.bytes(&format!("/buffer/clips/{id}/content")).await;
    assert_eq!(String::from_utf8(content).unwrap(), "A page\nlook at this\nhttps://example.com/a?b=c");
    let file = clips.iter().find(|c| c["kind"] == "file").expect("a file clip");
    assert_eq!(file["file"]["name"], "shared scan.pdf");
    let id = file["file"]["id"].as_str().unwrap();
    assert!(alice.bytes(&format!("/files/{id}/content")).await == bytes, "the shared file arrived intact");
    // Nothing is left waiting in the browser to be sent twice.
    let left = browser
        .js_async(
            "const done = arguments[0]; caches.open('cb-share-target').then(c => c.keys()).then(k => done(k.length))",
            vec![],
        )
        .await;
    assert_eq!(left, json!(0));
    browser.close().await;
}

/// Shares `bytes` as `name` through the share target's POST, as Android would.
async fn share_file(browser: &Browser, dir: &std::path::Path, name: &str, bytes: &[u8]) {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    browser.js(SHARE_FORM, vec![json!(""), json!(""), json!("")]).await;
    browser.pick_file("#shared-file", &path).await;
    browser.js("document.querySelector('#shared-file').form.submit()", vec![]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_files_the_server_refuses_are_explained_in_the_page() {
    let Some(browser) = Browser::start().await else { return };
    let server = TestServer::start_with(|s| {
        s.max_file_bytes = Some(150_000);
        s.quota_bytes = Some(100_000);
    })
    .await;
    let alice = Account::new(&server, "alice").await;
    sign_in(&browser, &alice).await;
    browser
        .wait_until("the service worker controls the page", PATIENCE, "!!navigator.serviceWorker.controller")
        .await;
    let dir = tempfile::tempdir().unwrap();

    // Under the file limit, over the quota: the server's 507, in words.
    share_file(&browser, dir.path(), "scan.pdf", &noise(120_000, "over quota")).await;
    browser
        .wait_until(
            "the quota refusal is shown",
            PATIENCE,
            "document.querySelector('#alert').textContent.includes('storage is full')",
        )
        .await;
    // Over the file limit: refused before a byte is sent, saying the limit.
    share_file(&browser, dir.path(), "movie.mp4", &noise(200_000, "too big")).await;
    browser
        .wait_until(
            "the size refusal is shown",
            PATIENCE,
            "document.querySelector('#alert').textContent.includes('movie.mp4') \
             && document.querySelector('#alert').textContent.includes('up to')",
        )
        .await;
    assert_eq!(alice.get("/files").await, json!([]), "nothing was stored");
    let left = browser
        .js_async(
            "const done = arguments[0]; caches.open('cb-share-target').then(c => c.keys()).then(k => done(k.length))",
            vec![],
        )
        .await;
    assert_eq!(left, json!(0), "refused items are not retried forever");
    browser.close().await;
}
