//! Drag and drop onto the desktop app, end to end: the real app under
//! Xvfb, and another X client dragging files onto its window over XDND,
//! the way a file manager does. The drop overlay shows while the files
//! hover, naming them; dropped, each file uploads (a name with a space and
//! non-ASCII letters among them) and is listed with its size, and a folder
//! is refused with a message saying why.
//!
//! Needs what `desktop.rs` needs (scripts/test.sh installs it).

mod desktop_support;

use cloudbuffer_client::Client;
use desktop_support::app::{start_signed_in, SignedIn};
use desktop_support::x11::AppWindow;
use desktop_support::xdnd::Drag;
use desktop_support::{save_screenshot, tools};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_dragged_onto_the_window_upload() {
    let Some(tools) = tools() else { return };
    let files = tempfile::tempdir().expect("files");
    let notes = files.path().join("meeting notes – März.txt");
    std::fs::write(&notes, "agenda\n".repeat(3000)).unwrap();
    let photo = files.path().join("photo.jpg");
    std::fs::write(&photo, vec![0xA5u8; 3 << 20]).unwrap();
    let folder = files.path().join("holiday");
    std::fs::create_dir(&folder).unwrap();

    let running = start_signed_in(&tools, &[("GTK_THEME", "Adwaita".into())]).await;
    let SignedIn { app, server, password, display, .. } = &running;
    app.click(".nav[data-view=files]").await;

    // Hovering: the window says what it is about to upload.
    let window = AppWindow::find(display, "Cloud Buffer");
    let one = tokio::task::block_in_place(|| Drag::over(display, window.id, &[&notes]));
    app.wait("the drop overlay shows", 10, "!document.querySelector('#drop-overlay').hidden").await;
    let what = app.js("return document.querySelector('#drop-overlay').textContent", vec![]).await;
    assert_eq!(what, "Drop “meeting notes – März.txt” to upload");
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    save_screenshot("drop-light", &app.screenshot(display).await);
    // Dragged away again: nothing happens.
    one.leave();
    app.wait(
        "the overlay hides when the files are dragged away",
        10,
        "document.querySelector('#drop-overlay').hidden",
    )
    .await;
    drop(one);

    let drag = tokio::task::block_in_place(|| Drag::over(display, window.id, &[&notes, &photo, &folder]));
    app.wait(
        "the overlay counts the files",
        10,
        "document.querySelector('#drop-overlay').textContent === 'Drop 3 files to upload'",
    )
    .await;

    // Dropped: both upload, the overlay goes.
    tokio::task::block_in_place(|| drag.drop());
    app.wait("the drop overlay hides", 10, "document.querySelector('#drop-overlay').hidden").await;
    for name in ["meeting notes – März.txt", "photo.jpg"] {
        app.wait(
            &format!("{name} is listed"),
            20,
            &format!("document.querySelector('.file[data-name={:?}]')", name),
        )
        .await;
    }
    app.wait(
        "the folder is refused, saying why",
        10,
        "document.querySelector('#transfers').textContent.includes('a folder: only files can be uploaded')",
    )
    .await;
    let phone = Client::new(&server.url).unwrap();
    phone.login("alice", password, "phone").await.unwrap();
    let mut listed: Vec<(String, u64)> =
        phone.files().await.unwrap().into_iter().map(|f| (f.name, f.size)).collect();
    listed.sort();
    assert_eq!(
        listed,
        [("meeting notes – März.txt".to_string(), 21000), ("photo.jpg".to_string(), 3 << 20)],
        "both files uploaded whole"
    );
}
