//! The desktop app's everyday actions, end to end, each checked on the
//! server: "Send clipboard now" with auto-sync off; a file clip shown with
//! its size; deleting a clip; sharing a clip (the link serves its text) and
//! copying the link; an upload's progress bar moving; deleting a file;
//! Alt+1…4 switching views; restarted, the app shows sync as it left it
//! (paused).
//!
//! Needs what `desktop.rs` needs (scripts/test.sh installs it).

mod desktop_support;

use std::time::Duration;

use cloudbuffer_client::Client;
use desktop_support::app::{start_signed_in, Cli, SignedIn};
use desktop_support::{eventually, tools, xclip_copy, xclip_paste};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clips_and_files_can_be_sent_shared_and_deleted() {
    let Some(tools) = tools() else { return };
    let files = tempfile::tempdir().expect("files");
    // Big enough that its upload reports progress several times.
    let big = files.path().join("disk image.iso");
    std::fs::File::create(&big).unwrap().set_len(256 << 20).unwrap();
    let running =
        start_signed_in(&tools, &[("CLOUDBUFFER_DESKTOP_PICK", big.to_string_lossy().into_owned())]).await;
    let mut running = running;
    let SignedIn { app, server, password, display, .. } = &running;
    let phone = Client::new(&server.url).unwrap();
    phone.login("alice", password, "phone").await.unwrap();

    // Auto-sync off: copying here stays here until "Send clipboard now".
    app.click("label:has(#auto-sync)").await;
    app.wait("auto-sync is off", 5, "!document.querySelector('#auto-sync').checked").await;
    xclip_copy(display, "copied on this desktop");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(phone.clips().await.unwrap().is_empty(), "nothing is sent while auto-sync is off");
    app.click("#send-now").await;
    eventually("the clip reaches the server", 10, || async {
        let clips = phone.clips().await.unwrap();
        clips.first().and_then(|c| c.preview.clone()).as_deref() == Some("copied on this desktop")
    })
    .await;

    // A file clip from another device: its name and size, not a text preview.
    let notes = files.path().join("notes.pdf");
    std::fs::write(&notes, vec![7u8; 150 * 1024]).unwrap();
    let cli = Cli::login(&server.url, "alice", password);
    cli.run(&["copy", "--file", &notes.to_string_lossy()]);
    app.wait(
        "the file clip is current",
        10,
        "document.querySelector('#current-body')?.textContent === 'notes.pdf'",
    )
    .await;
    let meta = app.js("return document.querySelector('#current .muted').textContent", vec![]).await;
    assert!(meta.as_str().unwrap_or_default().contains("150 KiB"), "the file clip's size shows: {meta}");

    // Deleting the text clip (now in the history) deletes it on the server.
    let text_clip =
        phone.clips().await.unwrap().into_iter().find(|c| c.file.is_none()).expect("the text clip");
    app.click(&format!(".clip[data-id=\"{}\"] .danger", text_clip.id)).await;
    eventually("the clip is gone from the server", 10, || async {
        phone.clips().await.unwrap().iter().all(|c| c.id != text_clip.id)
    })
    .await;
    app.wait(
        "and from the history",
        5,
        &format!("!document.querySelector('.clip[data-id=\"{}\"]')", text_clip.id),
    )
    .await;

    // Sharing a clip: the link serves it; Copy puts the link on the clipboard.
    cli.run(&["copy", "a note for the phone"]);
    app.wait(
        "the new clip is current",
        10,
        "document.querySelector('#current-body')?.textContent === 'a note for the phone'",
    )
    .await;
    app.click("#current .share").await;
    app.click("#share-create").await;
    app.wait("the link shows", 10, "!document.querySelector('#share-result').hidden").await;
    let url = app.js("return document.querySelector('#share-url').value", vec![]).await;
    let url = url.as_str().expect("a link").to_string();
    let served = reqwest::get(format!("{url}/raw")).await.unwrap();
    assert!(served.status().is_success(), "GET {url}/raw: {}", served.status());
    assert_eq!(served.text().await.unwrap(), "a note for the phone");
    app.click("#share-copy").await;
    eventually("the link is on the X clipboard", 10, || async {
        xclip_paste(display).as_deref() == Some(url.as_str())
    })
    .await;
    app.click("#share-result button[value=done]").await;

    // An upload's progress bar moves before it is done.
    app.click(".nav[data-view=files]").await;
    app.js(
        "window.seen = []; new MutationObserver(() => { for (const p of document.querySelectorAll('#transfers progress')) window.seen.push(p.value); })\
         .observe(document.querySelector('#transfers'), { subtree: true, childList: true, characterData: true })",
        vec![],
    )
    .await;
    app.click("#pick").await;
    app.wait("the upload is listed", 60, "document.querySelector('.file[data-name=\"disk image.iso\"]')")
        .await;
    let seen = app.js("return window.seen", vec![]).await;
    let seen: Vec<f64> =
        seen.as_array().expect("progress values").iter().filter_map(|v| v.as_f64()).collect();
    assert!(seen.iter().any(|&v| v > 0.0 && v < 1.0), "the bar moved between 0 and 1: {seen:?}");
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "the bar never went back: {seen:?}");
    let uploaded = phone.files().await.unwrap();
    assert_eq!(uploaded.iter().find(|f| f.name == "disk image.iso").map(|f| f.size), Some(256 << 20));

    // Deleting a file deletes it on the server.
    app.click(".file[data-name=\"disk image.iso\"] .danger").await;
    eventually("the file is gone from the server", 10, || async {
        phone.files().await.unwrap().iter().all(|f| f.name != "disk image.iso")
    })
    .await;
    app.wait("and from the list", 5, "!document.querySelector('.file[data-name=\"disk image.iso\"]')").await;

    // The views are a keystroke away: Alt+1…4.
    for (key, view) in [('3', "stats"), ('4', "settings"), ('1', "clipboard"), ('2', "files")] {
        app.press_alt(key).await;
        app.wait(
            &format!("Alt+{key} shows {view}"),
            5,
            &format!("!document.querySelector('#view-{view}').hidden"),
        )
        .await;
    }

    // Restarted, the saved session comes back with sync still off, and the
    // status says so (its events were sent before the page had loaded).
    running.restart().await;
    let app = &running.app;
    app.wait("the switch shows sync off", 10, "!document.querySelector('#auto-sync').checked").await;
    app.wait(
        "the status says paused",
        10,
        "document.querySelector('#status').textContent.includes('paused')",
    )
    .await;
}
