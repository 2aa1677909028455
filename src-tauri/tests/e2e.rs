//! End-to-end encryption in the desktop app (issue 17), end to end: turned
//! on in Settings with a passphrase (showing it is busy while the key is
//! derived), after which a clip and a file the app sends reach the server
//! encrypted (`encrypted: true`, no plaintext in what it lists) and a second
//! client with the passphrase reads them; the app lists them decrypted; the
//! share dialog of an encrypted file shows a `#k=` link whose QR code (read
//! from a screenshot) carries the key and which opens whole; "Add a phone"
//! offers the account key in the pairing link; the key file is the CLI's
//! (`cloudbuffer e2e status` sees it, `forget` and `unlock` there show in
//! the app); locked, the app lists padlocked "locked" items and sends nothing; a
//! wrong passphrase is said to be wrong; the passphrase can be changed.
//!
//! Needs what `desktop.rs` needs (scripts/test.sh installs it).

mod desktop_support;

use cloudbuffer_client::crypto::WrappedAccountKey;
use cloudbuffer_client::pairing::pairing_code;
use cloudbuffer_client::transfer::no_progress;
use cloudbuffer_client::{Client, ClientError, LocalKeys, SessionStore};
use cloudbuffer_tests::cloudbuffer_bin;
use desktop_support::app::{start_signed_in, SignedIn};
use desktop_support::{decode_qr, eventually, save_screenshot, tools, xclip_copy, Session};
use serde_json::Value;

const PASSPHRASE: &str = "correct horse battery staple";
const NEW_PASSPHRASE: &str = "a whole new passphrase";
const CLIP: &str = "canary clip: the vault code is 4711";
const FILE_TEXT: &str = "canary file line\n";

/// `GET path` on the server as `client`, raw JSON: what the server keeps.
async fn server_json(client: &Client, path: &str) -> Value {
    let token = client.access_token().await.expect("a token");
    let response = reqwest::Client::new()
        .get(client.url(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("the server answers");
    assert!(response.status().is_success(), "GET {path}: {}", response.status());
    response.json().await.expect("JSON")
}

/// `cloudbuffer ARGS` over the app's own config folder (its session and key
/// file), as a CLI on the same computer; its standard output.
fn cli_here(running: &SignedIn, args: &[&str], passphrase: Option<&str>) -> String {
    let mut command = std::process::Command::new(cloudbuffer_bin());
    command.args(args).env("CLOUDBUFFER_CONFIG_DIR", running.config_dir()).env_remove("DISPLAY");
    if let Some(passphrase) = passphrase {
        command.env("CLOUDBUFFER_E2E_PASSPHRASE", passphrase);
    }
    let out = command.output().expect("cloudbuffer runs");
    assert!(out.status.success(), "cloudbuffer {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Opens the Settings view (once the dialogs have closed: a passphrase
/// dialog stays until its key is derived) and waits until its encryption
/// card is `state`.
async fn settings_say(app: &Session, state: &str) {
    app.wait("no dialog is open", 20, "!document.querySelector('dialog[open]')").await;
    app.click(".nav[data-view=clipboard]").await;
    app.click(".nav[data-view=settings]").await;
    app.wait(
        &format!("Settings says {state}"),
        10,
        &format!("document.querySelector('#e2e').dataset.state === {state:?}"),
    )
    .await;
}

/// Fills the encryption dialog's visible fields and submits it.
async fn submit_dialog(app: &Session, fields: &[(&str, &str)]) {
    app.wait("the dialog is open", 5, "document.querySelector('#e2e-dialog').open").await;
    for (field, value) in fields {
        app.type_into(field, value).await;
    }
    app.click("#e2e-submit").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_to_end_encryption_from_settings() {
    let Some(tools) = tools() else { return };
    let files = tempfile::tempdir().expect("files");
    let notes = files.path().join("secret-notes.txt");
    let file_text = FILE_TEXT.repeat(6000);
    std::fs::write(&notes, &file_text).unwrap();
    let running = start_signed_in(&tools, &[("CLOUDBUFFER_DESKTOP_PICK", notes.display().to_string())]).await;
    let SignedIn { app, server, password, display, .. } = &running;
    let other = Client::new(&server.url).unwrap();
    other.login("alice", password, "other device").await.unwrap();

    // Off; turned on with a passphrase typed twice (a mismatch is caught first).
    settings_say(app, "off").await;
    app.click("#e2e-enable").await;
    submit_dialog(app, &[("#e2e-pass", PASSPHRASE), ("#e2e-again", "something else")]).await;
    app.wait(
        "a mismatch is explained",
        5,
        "document.querySelector('#e2e-error').textContent.includes('differ')",
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    save_screenshot("e2e-enable-light", &app.screenshot(display).await);
    app.js(
        "window.busySeen = false; new MutationObserver(() => { \
           if (document.querySelector('#e2e-form').getAttribute('aria-busy') === 'true') window.busySeen = true; \
         }).observe(document.querySelector('#e2e-form'), {attributes: true}); return true",
        vec![],
    )
    .await;
    submit_dialog(app, &[("#e2e-again", PASSPHRASE)]).await;
    settings_say(app, "unlocked").await;
    assert_eq!(app.js("return window.busySeen", vec![]).await, true, "the dialog showed it was busy");
    assert_eq!(app.js("return document.querySelector('#e2e-dialog').open", vec![]).await, false);
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    save_screenshot("e2e-settings-light", &app.screenshot(display).await);

    // The same key as the CLI sees in this config folder, and as the passphrase opens.
    let state = other.e2e_key().await.unwrap();
    assert!(state.enabled);
    let wrapped: WrappedAccountKey = serde_json::from_value(state.wrapped_key.unwrap()).unwrap();
    let key = wrapped.unwrap(PASSPHRASE.as_bytes()).expect("the passphrase opens the server's key");
    let local = LocalKeys::of(&SessionStore::at(running.config_dir())).load(&server.url, "alice").unwrap();
    assert_eq!(local.expect("the app keeps the key").key.as_bytes(), key.as_bytes());
    let status: Value =
        serde_json::from_str(&cli_here(&running, &["e2e", "status", "--json"], None)).unwrap();
    assert_eq!(status["this_device"]["current"], true, "{status}");

    // A clip the app syncs and a file it uploads arrive encrypted.
    xclip_copy(display, CLIP);
    eventually("the clip reaches the server", 15, || async {
        server_json(&other, "/api/v1/buffer/clips").await.as_array().is_some_and(|c| !c.is_empty())
    })
    .await;
    app.click(".nav[data-view=files]").await;
    app.click("#pick").await;
    app.wait(
        "the file is listed by its name",
        15,
        "[...document.querySelectorAll('#files .file .title')].some(t => t.textContent === 'secret-notes.txt')",
    )
    .await;
    let clips = server_json(&other, "/api/v1/buffer/clips").await;
    let listed = server_json(&other, "/api/v1/files").await;
    for item in clips.as_array().unwrap().iter().chain(listed.as_array().unwrap()) {
        assert_eq!(item["encrypted"], true, "{item}");
    }
    let raw = format!("{clips}{listed}");
    for plain in ["canary", "secret-notes", "text/plain"] {
        assert!(!raw.contains(plain), "{plain:?} in what the server lists: {raw}");
    }
    let clip_id = clips[0]["id"].as_str().unwrap().to_string();
    let file_id = listed[0]["id"].as_str().unwrap().to_string();

    // A second client with the key reads the plaintext; the app lists it decrypted.
    let reader = other.clone().with_account_key(key.clone());
    assert_eq!(reader.clip_text(&clip_id).await.unwrap(), CLIP);
    let got = files.path().join("got.txt");
    reader.download_file(&file_id, &got, no_progress()).await.unwrap();
    assert_eq!(std::fs::read_to_string(&got).unwrap(), file_text);
    app.click(".nav[data-view=clipboard]").await;
    app.wait(
        "the clip shows decrypted",
        10,
        &format!("document.querySelector('#current-body')?.textContent === {CLIP:?}"),
    )
    .await;

    // The share dialog of the encrypted file: a #k= link, and its QR code carries it.
    app.click(".nav[data-view=files]").await;
    // Clicked in the page: the list may be redrawn (a late file event)
    // between WebDriver finding the button and clicking it.
    let share = format!("#files .file[data-id={file_id:?}] .share");
    app.wait("the file can be shared", 10, &format!("document.querySelector({share:?})")).await;
    app.js(&format!("document.querySelector({share:?}).click(); return true"), vec![]).await;
    app.click("#share-create").await;
    app.wait("the link shows", 10, "!document.querySelector('#share-result').hidden").await;
    let link = app.js("return document.querySelector('#share-url').value", vec![]).await;
    let link = link.as_str().expect("a link").to_string();
    assert!(link.contains("/s/") && link.contains("#k="), "{link}");
    assert_eq!(app.js("return document.querySelector('#share-key-note').hidden", vec![]).await, false);
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let window = app.screenshot(display).await;
    save_screenshot("e2e-share-light", &window);
    assert_eq!(decode_qr(&window), link, "the QR code is the whole link, key included");
    let stranger = Client::new(&server.url).unwrap();
    let opened = files.path().join("opened.txt");
    stranger.download_share(&link, None, &opened, no_progress()).await.expect("the link opens");
    assert_eq!(std::fs::read_to_string(&opened).unwrap(), file_text);
    let cut = link.split('#').next().unwrap();
    match stranger.download_share(cut, None, &files.path().join("cut.txt"), no_progress()).await {
        Err(ClientError::IncompleteLink) => {}
        other => panic!("a link without its key: {other:?}"),
    }
    app.click("#share-result button[value=done]").await;

    // Add a phone: the pairing link carries the account key unless unticked.
    settings_say(app, "unlocked").await;
    app.click("#add-phone").await;
    app.wait("the pairing link shows", 10, "!document.querySelector('#pair-result').hidden").await;
    assert_eq!(app.js("return document.querySelector('#pair-key-row').hidden", vec![]).await, false);
    let url = app.js("return document.querySelector('#pair-url').value", vec![]).await;
    let url = url.as_str().expect("a link").to_string();
    assert!(url.ends_with(&format!("&k={}", key.to_base64url())), "{url}");
    assert!(pairing_code(&url).is_some(), "{url}");
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let window = app.screenshot(display).await;
    save_screenshot("e2e-pair-light", &window);
    assert_eq!(decode_qr(&window), url, "the QR code carries the key");
    app.click("#pair-key").await;
    let plain = app.js("return document.querySelector('#pair-url').value", vec![]).await;
    assert_eq!(plain.as_str(), url.split("&k=").next(), "unticked, the link has no key");
    app.click("#pair-done").await;

    // Forgotten by the CLI in the same folder: the app is locked, lists
    // items as (padlock) "locked" and sends nothing.
    cli_here(&running, &["e2e", "forget"], None);
    settings_say(app, "locked").await;
    app.click(".nav[data-view=clipboard]").await;
    app.wait(
        "the clip is listed as locked",
        10,
        "document.querySelector('#current-body')?.textContent === 'locked'",
    )
    .await;
    app.click(".nav[data-view=files]").await;
    app.wait(
        "the file is listed as locked",
        10,
        "document.querySelector('#files .file.locked .title')?.textContent === 'locked'",
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    save_screenshot("e2e-locked-light", &app.screenshot(display).await);
    let files_text = app.js("return document.querySelector('#files').textContent", vec![]).await;
    assert!(!files_text.as_str().unwrap_or_default().contains("secret-notes"), "{files_text}");
    xclip_copy(display, "canary sent while locked");
    app.click(".nav[data-view=clipboard]").await;
    app.click("#send-now").await;
    app.wait(
        "sending while locked is refused",
        10,
        "document.querySelector('#toasts').textContent.includes('unlock it on this computer')",
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let clips = server_json(&other, "/api/v1/buffer/clips").await;
    assert_eq!(clips.as_array().unwrap().len(), 1, "nothing was sent while locked: {clips}");

    // A wrong passphrase is said to be wrong; the right one unlocks.
    settings_say(app, "locked").await;
    app.click("#e2e-unlock").await;
    submit_dialog(app, &[("#e2e-pass", "not the passphrase")]).await;
    app.wait(
        "a wrong passphrase is explained",
        10,
        "document.querySelector('#e2e-error').textContent.startsWith('Wrong passphrase')",
    )
    .await;
    assert_eq!(app.js("return document.querySelector('#e2e').dataset.state", vec![]).await, "locked");
    submit_dialog(app, &[("#e2e-pass", PASSPHRASE)]).await;
    settings_say(app, "unlocked").await;
    app.click(".nav[data-view=files]").await;
    app.wait(
        "the file's name is back",
        10,
        "document.querySelector('#files .file .title')?.textContent === 'secret-notes.txt'",
    )
    .await;

    // Locked from the app, unlocked by the CLI.
    settings_say(app, "unlocked").await;
    app.click("#e2e-lock").await;
    app.wait("locked", 10, "document.querySelector('#e2e').dataset.state === 'locked'").await;
    assert!(LocalKeys::of(&SessionStore::at(running.config_dir()))
        .load(&server.url, "alice")
        .unwrap()
        .is_none());
    cli_here(&running, &["e2e", "unlock"], Some(PASSPHRASE));
    settings_say(app, "unlocked").await;

    // A new passphrase: the same key, a new wrap.
    app.click("#e2e-passwd").await;
    submit_dialog(
        app,
        &[("#e2e-current", PASSPHRASE), ("#e2e-pass", NEW_PASSPHRASE), ("#e2e-again", NEW_PASSPHRASE)],
    )
    .await;
    app.wait("the dialog closes", 10, "!document.querySelector('#e2e-dialog').open").await;
    let state = other.e2e_key().await.unwrap();
    let wrapped: WrappedAccountKey = serde_json::from_value(state.wrapped_key.unwrap()).unwrap();
    let same = wrapped.unwrap(NEW_PASSPHRASE.as_bytes()).expect("the new passphrase opens it");
    assert_eq!(same.as_bytes(), key.as_bytes(), "the key stays");
    assert!(wrapped.unwrap(PASSPHRASE.as_bytes()).is_err(), "the old passphrase no longer does");
}
