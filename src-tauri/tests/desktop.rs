//! The desktop app end to end: the real app binary under Xvfb, driven by
//! tauri-driver/WebKitWebDriver over W3C WebDriver, against a real server
//! on a random port.
//!
//! One scenario, in order: sign in; a clip sent from another device with
//! the `cloudbuffer` CLI appears in the history, on the X clipboard of the
//! app's display and as a desktop notification (a notification server on a
//! private D-Bus session bus records them); a file picked in the UI uploads
//! and its share dialog's QR code decodes to its link; with notifications
//! turned off nothing is announced; the app restarted in a dark theme is
//! still signed in; a password link made with Enter; sign out. Screenshots of every view, light and
//! dark, are saved on the way (`CLOUDBUFFER_SCREENSHOTS`, else the target's
//! tmp dir).
//!
//! Needs `xvfb xclip imagemagick webkit2gtk-driver dbus-daemon` and `tauri-driver` (scripts/test.sh
//! installs them); missing tools skip the test, except under `CI`.

mod desktop_support;

use cloudbuffer_client::Client;
use cloudbuffer_tests::TestServer;
use desktop_support::app::Cli;
use desktop_support::bus::SessionBus;
use desktop_support::{
    app_env, decode_qr, driver, eventually, save_screenshot, tools, xclip_paste, xvfb, Session,
};

const APP: &str = env!("CARGO_BIN_EXE_cloudbuffer-desktop");

/// Shows `view` and waits for the UI to settle before a screenshot (the
/// first frame after a click can be stale).
async fn shoot(app: &Session, display: &str, view: &str, name: &str) {
    app.click(&format!(".nav[data-view={view}]")).await;
    app.wait(
        &format!("the {view} view shows"),
        5,
        &format!("!document.querySelector('#view-{view}').hidden"),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    save_screenshot(name, &app.screenshot(display).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desktop_app_end_to_end() {
    let Some(tools) = tools() else { return };
    let mut server = TestServer::start().await;
    let password = server.register("alice").await;
    let (_xvfb, display) = xvfb();
    let home = tempfile::tempdir().expect("home");
    let files = tempfile::tempdir().expect("files");
    let report = files.path().join("report.txt");
    std::fs::write(&report, "quarterly numbers\n".repeat(2000)).unwrap();

    let bus = SessionBus::start();
    let mut env = app_env(&display, home.path());
    env.push(("DBUS_SESSION_BUS_ADDRESS".into(), bus.address.clone()));
    env.push(("GTK_THEME".into(), "Adwaita".into()));
    env.push(("CLOUDBUFFER_DESKTOP_PICK".into(), report.to_string_lossy().into_owned()));
    let saved = tempfile::tempdir().expect("downloads");
    env.push(("CLOUDBUFFER_DESKTOP_SAVE_DIR".into(), saved.path().to_string_lossy().into_owned()));
    let driver_light = driver(&tools, &env).await;
    let app = Session::start(&driver_light.url, APP).await;

    // Sign in.
    app.wait("the sign-in form shows", 20, "!document.querySelector('#signin').hidden").await;
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    save_screenshot("signin-light", &app.screenshot(&display).await);
    app.type_into("#server", &server.url).await;
    app.type_into("#username", "alice").await;
    app.type_into("#password", "not the password").await;
    app.click("#sign-in").await;
    app.wait(
        "a wrong password is explained",
        10,
        "document.querySelector('#signin-error').textContent.includes('Wrong user name or password')",
    )
    .await;
    app.type_into("#password", &password).await;
    app.click("#sign-in").await;
    app.wait("the app shows", 10, "!document.querySelector('#app').hidden").await;
    app.wait("sync is online", 15, "document.querySelector('#status').textContent.includes('syncing')").await;
    let who = app.js("return document.querySelector('#who-server').textContent", vec![]).await;
    assert_eq!(who, server.url.as_str(), "the header shows the server");

    // A clip sent with the CLI from another device: in the history and on
    // this display's X clipboard.
    let phone = Client::new(&server.url).unwrap();
    phone.login("alice", &password, "phone").await.unwrap();
    let cli = Cli::login(&server.url, "alice", &password);
    cli.run(&["copy", "an older clip"]);
    let text = "hello from the phone ✓";
    cli.run(&["copy", text]);
    app.wait(
        "the clip shows as current",
        10,
        &format!("document.querySelector('#current-body')?.textContent === {text:?}"),
    )
    .await;
    app.wait(
        "the older clip is in the history",
        5,
        "document.querySelector('#history').textContent.includes('an older clip')",
    )
    .await;
    eventually("the clip is on the X clipboard", 10, || async {
        xclip_paste(&display).as_deref() == Some(text)
    })
    .await;
    eventually("a notification tells of the new clip", 10, || async {
        bus.notifications().contains(&("New clip".to_string(), text.to_string()))
    })
    .await;
    shoot(&app, &display, "clipboard", "clipboard-light").await;

    // Clicking a past clip puts it on the clipboard (and, syncing, makes it current).
    app.click(".clip .main").await;
    eventually("the older clip is on the X clipboard", 10, || async {
        xclip_paste(&display).as_deref() == Some("an older clip")
    })
    .await;
    app.wait(
        "it is current again",
        10,
        "document.querySelector('#current-body')?.textContent === 'an older clip'",
    )
    .await;

    // The server goes away: the offline state is shown, then it reconnects by itself.
    server.stop().await;
    app.wait("the offline banner shows", 15, "!document.querySelector('#offline').hidden").await;
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    save_screenshot("offline-light", &app.screenshot(&display).await);
    server.restart().await;
    app.wait("the app is back online", 30, "document.querySelector('#offline').hidden").await;

    // A file picked in the UI uploads; its share dialog's QR code is its link.
    app.click(".nav[data-view=files]").await;
    app.click("#pick").await;
    app.wait("the file is listed", 15, "document.querySelector('.file[data-name=\"report.txt\"]')").await;
    let listed = phone.files().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].size, std::fs::metadata(&report).unwrap().len());
    app.wait(
        "the countdown runs",
        5,
        "document.querySelector('.file .expiry').textContent.startsWith('expires in')",
    )
    .await;
    shoot(&app, &display, "files", "files-light").await;
    app.click(".file[data-name=\"report.txt\"] .actions button").await;
    let copy = saved.path().join("report.txt");
    eventually("the download is saved", 10, || async {
        std::fs::read(&copy).ok() == std::fs::read(&report).ok()
    })
    .await;
    app.click(".file[data-name=\"report.txt\"] .share").await;
    app.click("#share-once").await;
    app.click("#share-create").await;
    app.wait("the link shows", 10, "!document.querySelector('#share-result').hidden").await;
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let url = app.js("return document.querySelector('#share-url').value", vec![]).await;
    let url = url.as_str().expect("a link").to_string();
    let shares = phone.shares().await.unwrap();
    assert_eq!(shares.len(), 1);
    assert_eq!(shares[0].url, url);
    assert_eq!(shares[0].max_downloads, Some(1), "one download only");
    // The whole window, where the QR code is the only one.
    let window = app.screenshot(&display).await;
    save_screenshot("share-light", &window);
    assert_eq!(decode_qr(&window), url, "the QR code is the link");
    app.click("#share-result button[value=done]").await;
    shoot(&app, &display, "stats", "stats-light").await;
    app.wait(
        "the stats show the file",
        5,
        "document.querySelector('#stats').textContent.includes('1 of 20')",
    )
    .await;
    shoot(&app, &display, "settings", "settings-light").await;
    // Its own upload was not announced; with notifications off, nothing is.
    let shown = bus.notifications();
    assert!(shown.iter().all(|(_, body)| body != "report.txt"), "own upload announced: {shown:?}");
    // (The checkbox is drawn as a switch over it: click the switch's label.)
    app.click("label:has(#set-notify)").await;
    app.wait("notifications are off", 5, "!document.querySelector('#set-notify').checked").await;
    cli.run(&["copy", "quiet please"]);
    app.wait(
        "the quiet clip shows",
        10,
        "document.querySelector('#current-body')?.textContent === 'quiet please'",
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    let shown = bus.notifications();
    assert!(shown.iter().all(|(_, body)| body != "quiet please"), "announced while off: {shown:?}");
    app.end().await;
    drop(driver_light);

    // Restarted (dark theme): still signed in, no form.
    env.retain(|(key, _)| key != "GTK_THEME");
    env.push(("GTK_THEME".into(), "Adwaita:dark".into()));
    let driver_dark = driver(&tools, &env).await;
    let app = Session::start(&driver_dark.url, APP).await;
    app.wait("the app shows signed in", 20, "!document.querySelector('#app').hidden").await;
    let dark = app.js("return matchMedia('(prefers-color-scheme: dark)').matches", vec![]).await;
    assert_eq!(dark, true, "the UI follows the system's dark theme");
    app.wait("the history loads", 10, "document.querySelector('#current-body')").await;
    shoot(&app, &display, "clipboard", "clipboard-dark").await;
    shoot(&app, &display, "files", "files-dark").await;
    // A link for ten minutes with a password: Enter in the password field creates it.
    app.click(".file[data-name=\"report.txt\"] .share").await;
    app.js("const s = document.querySelector('#share-expiry'); s.value = '600'; s.dispatchEvent(new Event('change'))", vec![])
        .await;
    app.type_into("#share-password", "for bob only\u{E007}").await;
    app.wait("the link shows", 10, "!document.querySelector('#share-result').hidden").await;
    let made =
        phone.shares().await.unwrap().into_iter().find(|s| s.password_protected).expect("a password share");
    let left = (made.expires_at - time::OffsetDateTime::now_utc()).whole_seconds();
    assert!((540..=600).contains(&left), "expires in ten minutes, not {left} s");
    assert_eq!(made.max_downloads, None);
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    save_screenshot("share-dark", &app.screenshot(&display).await);
    app.click("#share-result button[value=done]").await;
    shoot(&app, &display, "stats", "stats-dark").await;
    shoot(&app, &display, "settings", "settings-dark").await;

    // Sign out: back to the form, the session forgotten here and on the server.
    app.click("#sign-out").await;
    app.wait("the sign-in form is back", 10, "!document.querySelector('#signin').hidden").await;
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    save_screenshot("signin-dark", &app.screenshot(&display).await);
    assert!(!home.path().join("cloudbuffer/session.json").exists(), "the session is forgotten");
    let devices = phone.devices().await.unwrap();
    assert!(devices.iter().all(|d| !d.name.ends_with("(desktop)")), "signed out on the server: {devices:?}");
    app.end().await;
}
