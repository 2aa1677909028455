//! "Add a phone" in the desktop app, end to end: Settings lists the
//! account's devices; the dialog's QR code is the pairing link (read from a
//! screenshot of the window), with the loopback warning the test server's
//! 127.0.0.1 links deserve; a phone redeeming the code makes the dialog say
//! "Paired: NAME" and the list show the phone; the code does not work
//! twice; Revoke signs the phone out on the server. The share dialog warns
//! about loopback links too.
//!
//! Needs what `desktop.rs` needs (scripts/test.sh installs it).

mod desktop_support;

use cloudbuffer_client::pairing::pairing_code;
use cloudbuffer_client::{Client, ClientError};
use desktop_support::app::{start_signed_in, SignedIn};
use desktop_support::{decode_qr, eventually, save_screenshot, tools};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_is_added_by_scanning_and_revoked_from_the_list() {
    let Some(tools) = tools() else { return };
    let running = start_signed_in(&tools, &[]).await;
    let SignedIn { app, server, password, display, .. } = &running;
    let laptop = Client::new(&server.url).unwrap();
    laptop.login("alice", password, "laptop").await.unwrap();

    // Settings lists this computer (no Revoke on it) and the laptop.
    app.click(".nav[data-view=settings]").await;
    app.wait("the laptop is listed", 10, "document.querySelector('#devices').textContent.includes('laptop')")
        .await;
    let listed = app.js("return document.querySelectorAll('#devices .device').length", vec![]).await;
    assert_eq!(listed, laptop.devices().await.unwrap().len(), "every device is listed");
    let this = app
        .js("return document.querySelector('#devices .device:not(:has(.revoke)) .title').textContent", vec![])
        .await;
    assert!(this.as_str().unwrap_or_default().ends_with("· this computer"), "{this}");

    // Add a phone: a QR code of a one-time link, counting down, with the warning.
    app.click("#add-phone").await;
    app.wait("the pairing link shows", 10, "!document.querySelector('#pair-result').hidden").await;
    let url = app.js("return document.querySelector('#pair-url').value", vec![]).await;
    let url = url.as_str().expect("a link").to_string();
    assert!(url.starts_with(&format!("{}/app/#pair=", server.url)), "{url}");
    app.wait(
        "the countdown runs",
        5,
        "/for [45] min \\d+ s more/.test(document.querySelector('#pair-help').textContent)",
    )
    .await;
    let warning = app.js("return document.querySelector('#pair-warning').textContent", vec![]).await;
    let warning = warning.as_str().unwrap_or_default();
    assert!(
        warning.starts_with("Phones can't open 127.0.0.1 — start the server with --bind 0.0.0.0"),
        "{warning}"
    );
    let hidden = app.js("return document.querySelector('#pair-warning').hidden", vec![]).await;
    assert_eq!(hidden, false, "the warning is shown");
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let window = app.screenshot(display).await;
    save_screenshot("pair-light", &window);
    assert_eq!(decode_qr(&window), url, "the QR code is the pairing link");

    // The phone scans it.
    let code = pairing_code(&url).expect("a code").to_string();
    let phone = Client::new(&server.url).unwrap();
    let tokens = phone.pair(&code, "Pixel 8 (scanned)").await.expect("the code is redeemed");
    app.wait(
        "the dialog says paired",
        10,
        "document.querySelector('#pair-status').textContent === 'Paired: Pixel 8 (scanned)'",
    )
    .await;
    assert_eq!(
        app.js("return document.querySelector('#pair-qr').hidden", vec![]).await,
        true,
        "the spent code goes"
    );
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    save_screenshot("paired-light", &app.screenshot(display).await);
    app.click("#pair-done").await;
    app.wait("the dialog closes", 5, "!document.querySelector('#pair-dialog').open").await;
    let phone_row = format!("#devices .device[data-id={:?}]", tokens.device_id);
    app.wait(
        "the phone is in the list",
        10,
        &format!("document.querySelector({phone_row:?})?.textContent.includes('Pixel 8 (scanned)')"),
    )
    .await;
    match phone.pair(&code, "again").await {
        Err(ClientError::Gone(_)) => {}
        other => panic!("a used code: {other:?}"),
    }
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    save_screenshot("devices-light", &app.screenshot(display).await);

    // Revoke: the phone is signed out on the server and leaves the list.
    app.click(&format!("{phone_row} .revoke")).await;
    app.wait("the phone leaves the list", 10, &format!("!document.querySelector({phone_row:?})")).await;
    eventually("the phone is signed out", 10, || async {
        let devices = laptop.devices().await.unwrap();
        devices.iter().all(|d| d.id != tokens.device_id)
    })
    .await;
    let refused = reqwest::Client::new()
        .get(format!("{}/api/v1/me", server.url))
        .bearer_auth(&tokens.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401, "the revoked phone's token no longer works");

    // A share link on loopback gets the same warning.
    let clip = laptop.copy_text("for the phone").await.unwrap();
    app.click(".nav[data-view=clipboard]").await;
    app.wait(
        "the clip shows",
        10,
        "document.querySelector('#current-body')?.textContent === 'for the phone'",
    )
    .await;
    app.click("#current .share").await;
    app.click("#share-create").await;
    app.wait("the link shows", 10, "!document.querySelector('#share-result').hidden").await;
    app.wait(
        "the share dialog warns",
        5,
        "!document.querySelector('#share-warning').hidden && \
         document.querySelector('#share-warning').textContent.startsWith(\"Phones can't open 127.0.0.1\")",
    )
    .await;
    assert_eq!(laptop.shares().await.unwrap()[0].clip.as_ref().map(|c| c.id.clone()), Some(clip.id));
}
