//! The end-to-end encryption format, across languages: the Rust crate's
//! fixed vectors (`crypto/tests/vectors.json`, checked on the Rust side by
//! `crypto/tests/vectors.rs`) decrypted and re-encrypted by the WebCrypto
//! module the phone will use (`server/web/e2e.js`, through its
//! `e2e-selftest.js`), in headless Chromium, served by a real server.
//!
//! Without Chromium and chromedriver this passes as skipped, except under
//! `CI` (see `cloudbuffer_tests::browser`).

use cloudbuffer_tests::browser::Browser;
use cloudbuffer_tests::TestServer;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_browser_agrees_with_the_rust_vectors() {
    let Some(browser) = Browser::start().await else { return };
    let server = TestServer::start().await;
    let vectors: Value =
        serde_json::from_str(include_str!("../../crypto/tests/vectors.json")).expect("the vectors are JSON");
    // A page of this origin, so the module loads under the app's own policy.
    browser.goto(&format!("{}/app/", server.url)).await;
    let result = browser
        .js_async(
            "const done = arguments[arguments.length - 1]; \
             import('/app/e2e-selftest.js').then(m => m.selfTest(arguments[0])) \
               .then(done, e => done({passed: 0, failed: ['import: ' + e]}))",
            vec![vectors],
        )
        .await;
    let failed = result["failed"].as_array().expect("a result");
    assert!(failed.is_empty(), "WebCrypto disagrees with the Rust vectors: {failed:?}");
    assert!(result["passed"].as_u64().unwrap_or(0) >= 20, "too few checks ran: {result}");
    browser.close().await;
}
