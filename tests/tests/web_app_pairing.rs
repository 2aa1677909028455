//! The web app (/app) in a real headless Chromium: pairing links (a code
//! works once, in one browser), revoking the browser's device signs the
//! page out, and hostile clip texts and file names stay text.
//!
//! Without Chromium and chromedriver these tests pass as skipped, except
//! under `CI` (see `cloudbuffer_tests::browser`).

use cloudbuffer_tests::browser::{self, Browser, Options};
use cloudbuffer_tests::web_app::{device_id, sign_in, wait_live, Account, PATIENCE};
use cloudbuffer_tests::TestServer;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pairing_link_signs_the_browser_in_once() {
    let Some(tools) = browser::tools() else { return };
    let server = TestServer::start().await;
    let alice = Account::new(&server, "alice").await;
    let before = alice.devices().await.len();
    let url = alice.pairing_url().await;
    assert!(url.starts_with(&format!("{}/app/#pair=", server.url)), "{url}");

    let phone = Browser::launch(&tools, Options::default()).await;
    phone.goto(&url).await;
    wait_live(&phone).await;
    assert_eq!(phone.text("#user-name").await, "alice");
    // The code is gone from the address bar (and so from the history).
    let address = phone.js("return location.href", vec![]).await;
    assert!(!address.as_str().unwrap().contains("pair="), "{address}");
    let id = device_id(&phone).await;
    let devices = alice.devices().await;
    assert_eq!(devices.len(), before + 1, "{devices:?}");
    assert!(devices.iter().any(|d| d["id"] == id.as_str()), "the phone is a device: {devices:?}");

    // The same link in another browser: a clear page, not a sign-in.
    let thief = Browser::launch(&tools, Options::default()).await;
    thief.goto(&url).await;
    thief
        .wait_until(
            "the used-code page",
            PATIENCE,
            "!document.querySelector('#pair-screen').hidden && !document.querySelector('#pair-login').hidden",
        )
        .await;
    assert_eq!(thief.text("#pair-title").await, "This code was already used");
    assert!(!thief.shown("#app-screen").await);
    assert_eq!(thief.js("return localStorage.getItem('cb.session')", vec![]).await, json!(null));
    assert_eq!(alice.devices().await.len(), before + 1);
    // Its way out is the password form.
    thief.click("#pair-login").await;
    thief.wait_until("the sign-in screen", PATIENCE, "!document.querySelector('#login-screen').hidden").await;
    thief.close().await;
    phone.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_the_browsers_device_signs_the_page_out() {
    let Some(browser) = Browser::start().await else { return };
    let server = TestServer::start().await;
    let alice = Account::new(&server, "alice").await;
    sign_in(&browser, &alice).await;
    let id = device_id(&browser).await;

    let response = alice.request(reqwest::Method::DELETE, &format!("/devices/{id}")).send().await.unwrap();
    assert_eq!(response.status(), 204, "DELETE /devices/{id}");
    // The socket closes with 4001; the page goes back to its sign-in screen and says why.
    browser
        .wait_until(
            "the signed-out screen",
            PATIENCE,
            "!document.querySelector('#login-screen').hidden && !document.querySelector('#signed-out-message').hidden",
        )
        .await;
    assert!(browser.text("#signed-out-message").await.contains("signed out"));
    assert!(!browser.shown("#app-screen").await);
    assert_eq!(browser.js("return localStorage.getItem('cb.session')", vec![]).await, json!(null));
    assert_eq!(
        browser.js("return document.querySelectorAll('#clip-list li').length", vec![]).await,
        json!(0)
    );
    browser.close().await;
}

const XSS: &str = "<img src=x onerror=window.__xss=1>";

/// Titles in a list, as text.
async fn titles(browser: &Browser, list: &str) -> Vec<String> {
    let script = "return [...document.querySelectorAll(arguments[0] + ' li .title')].map(e => e.textContent)";
    let value = browser.js(script, vec![json!(list)]).await;
    value.as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_clip_texts_and_file_names_render_as_text() {
    let Some(browser) = Browser::start().await else { return };
    let server = TestServer::start().await;
    let alice = Account::new(&server, "alice").await;
    // Some there at sign-in (the lists' first load), some arriving live (events).
    alice.copy_text(XSS).await;
    alice.copy_file(XSS, b"hostile name".to_vec()).await;
    sign_in(&browser, &alice).await;
    browser
        .wait_until("the lists load", PATIENCE, "document.querySelectorAll('#clip-list li').length === 2")
        .await;
    alice.copy_text(&format!("{XSS} live")).await;
    alice.copy_file(&format!("{XSS} live"), b"hostile name, live".to_vec()).await;
    browser
        .wait_until(
            "the live ones arrive",
            PATIENCE,
            "document.querySelectorAll('#clip-list li').length === 4",
        )
        .await;

    let live = format!("{XSS} live");
    assert_eq!(titles(&browser, "#clip-list").await, [live.as_str(), &live, XSS, XSS]);
    assert_eq!(titles(&browser, "#file-list").await, [live.as_str(), XSS]);
    // Labels, the share dialog's name and the toasts are text too.
    let images = browser.js("return document.querySelectorAll('img[src=x], [onerror]').length", vec![]).await;
    assert_eq!(images, json!(0));
    browser.click("#file-list li button:nth-child(2)").await;
    browser.wait_until("the share dialog", PATIENCE, "document.querySelector('#share-dialog').open").await;
    assert_eq!(browser.text("#share-name").await, live);
    browser.wait_until("a link", PATIENCE, "document.querySelector('#share-url').value !== ''").await;
    let images = browser.js("return document.querySelectorAll('img[src=x], [onerror]').length", vec![]).await;
    assert_eq!(images, json!(0));
    assert_eq!(browser.js("return typeof window.__xss", vec![]).await, json!("undefined"));
    browser.close().await;
}
