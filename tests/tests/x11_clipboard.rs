//! The real clipboard backend (arboard, plus x11rb for change events and
//! the password-manager hint) on a private Xvfb server: text copied with
//! xclip reaches the server, a clip from the server can be pasted with
//! xclip, an image copied as PNG travels with the same pixels, and text a
//! password manager marks secret is never sent.
//!
//! Needs the Debian packages `xvfb` and `xclip` (scripts/system-deps.sh
//! installs them); without Xvfb the tests say so and pass, except under CI.

mod sync_common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use cloudbuffer_client::sync::{content, ArboardClipboard, Clipboard, Image};
use sync_common::{assert_quiet_count, eventually, server_clips, start, two_devices};

/// The X clipboard is one per display and arboard keeps one connection per
/// process: the tests take turns, each with its own Xvfb.
static X: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Xvfb {
    child: Child,
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn installed(program: &str) -> bool {
    Command::new(program).arg("-version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
}

/// Starts Xvfb on a free display (it picks one and tells us through
/// `-displayfd`) and points `DISPLAY` at it. `None` (with the reason
/// printed) when Xvfb or xclip is not installed.
fn xvfb() -> Option<Xvfb> {
    for program in ["Xvfb", "xclip"] {
        if !installed(program) {
            // CI installs them (scripts/test.sh): there, a skip would hide a broken setup.
            assert!(
                std::env::var_os("CI").is_none(),
                "{program} is not installed, and CI must run these tests"
            );
            eprintln!("SKIPPED: {program} is not installed (Debian: apt-get install xvfb xclip)");
            return None;
        }
    }
    let mut child = Command::new("Xvfb")
        .args(["-displayfd", "1", "-nolisten", "tcp", "-screen", "0", "320x240x24"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb starts");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let xvfb = Xvfb { child };
    let display = rx.recv_timeout(Duration::from_secs(10)).expect("Xvfb reports its display");
    let display = display.trim();
    assert!(!display.is_empty() && display.chars().all(|c| c.is_ascii_digit()), "display {display:?}");
    std::env::set_var("DISPLAY", format!(":{display}"));
    std::env::remove_var("WAYLAND_DISPLAY");
    Some(xvfb)
}

/// `xclip` owning the clipboard with `data` as `target`, in the foreground
/// (X11 content lives only as long as its owner).
fn xclip_copy(data: &[u8], target: &str) -> Child {
    let mut child = Command::new("xclip")
        .args(["-selection", "clipboard", "-quiet", "-t", target])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("xclip runs");
    child.stdin.take().unwrap().write_all(data).unwrap();
    child
}

fn xclip_paste() -> Option<String> {
    let out = Command::new("xclip").args(["-o", "-selection", "clipboard"]).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn kill(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_copied_with_xclip_reaches_the_server() {
    let _turn = X.lock().await;
    let Some(_xvfb) = xvfb() else { return };
    let (_server, a, b) = two_devices().await;
    let clipboard: Arc<dyn Clipboard> = Arc::new(ArboardClipboard::new().expect("X clipboard"));
    assert!(clipboard.changes().is_some(), "XFixes change events on X11");
    let engine = start(a.engine(clipboard)).await;

    let xclip = xclip_copy("copied on X11 ✓".as_bytes(), "UTF8_STRING");
    eventually("the server has the X11 text", 5, || async {
        server_clips(&b.client).await == vec!["copied on X11 ✓".to_string()]
    })
    .await;
    assert_quiet_count(&b.client, Duration::from_secs(1), 1).await;
    engine.stop().await.unwrap();
    kill(xclip);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clip_from_the_server_can_be_pasted_with_xclip() {
    let _turn = X.lock().await;
    let Some(_xvfb) = xvfb() else { return };
    let (_server, a, b) = two_devices().await;
    let engine = start(a.engine(Arc::new(ArboardClipboard::new().expect("X clipboard")))).await;

    b.client.copy_text("sent from B, pasted on X11").await.unwrap();
    eventually("xclip -o reads the clip", 5, || async {
        tokio::task::spawn_blocking(xclip_paste).await.unwrap().as_deref()
            == Some("sent from B, pasted on X11")
    })
    .await;
    // The engine put it there itself: no echo.
    assert_quiet_count(&b.client, Duration::from_secs(1), 1).await;
    engine.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_copied_as_png_travels_with_the_same_pixels() {
    let _turn = X.lock().await;
    let Some(_xvfb) = xvfb() else { return };
    let (_server, a, b) = two_devices().await;
    let engine = start(a.engine(Arc::new(ArboardClipboard::new().expect("X clipboard")))).await;

    let rgba: Vec<u8> = (0..40 * 30).flat_map(|i: u32| [(i % 251) as u8, (i / 40) as u8, 200, 255]).collect();
    let image = Image { width: 40, height: 30, rgba };
    let xclip = xclip_copy(&content::encode_png(&image).unwrap(), "image/png");
    eventually("the server has an image clip", 5, || async { b.client.clips().await.unwrap().len() == 1 })
        .await;
    let clip = b.client.clips().await.unwrap().remove(0);
    let png = b.client.clip_bytes(&clip.id, 1 << 20).await.unwrap();
    assert_eq!(content::decode_png(&png, 1 << 20).unwrap(), image);
    assert_quiet_count(&b.client, Duration::from_secs(1), 1).await;
    engine.stop().await.unwrap();
    kill(xclip);
}

/// Owns the clipboard like a password manager does: the text as
/// UTF8_STRING and text/plain;charset=utf-8, plus the target
/// `x-kde-passwordManagerHint` = `secret`. Serves until another owner
/// takes the clipboard.
fn offer_secret(secret: &'static str) -> std::thread::JoinHandle<u32> {
    use x11rb::connection::Connection;
    use x11rb::protocol::xproto::*;
    use x11rb::protocol::Event;
    use x11rb::wrapper::ConnectionExt as _;

    let (conn, screen) = x11rb::connect(None).expect("X connection");
    let root = conn.setup().roots[screen].root;
    let window = conn.generate_id().unwrap();
    conn.create_window(0, window, root, 0, 0, 1, 1, 0, WindowClass::INPUT_ONLY, 0, &CreateWindowAux::new())
        .unwrap();
    let atom = |name: &str| conn.intern_atom(false, name.as_bytes()).unwrap().reply().unwrap().atom;
    let (clipboard, targets, utf8, plain, hint) = (
        atom("CLIPBOARD"),
        atom("TARGETS"),
        atom("UTF8_STRING"),
        atom("text/plain;charset=utf-8"),
        atom("x-kde-passwordManagerHint"),
    );
    conn.set_selection_owner(window, clipboard, x11rb::CURRENT_TIME).unwrap();
    let owner = conn.get_selection_owner(clipboard).unwrap().reply().unwrap().owner;
    assert_eq!(owner, window, "we own the clipboard");
    std::thread::spawn(move || {
        let mut served = 0;
        loop {
            let request = match conn.wait_for_event() {
                Ok(Event::SelectionRequest(request)) => request,
                Ok(Event::SelectionClear(_)) | Err(_) => return served,
                Ok(_) => continue,
            };
            let property = if request.property == x11rb::NONE { request.target } else { request.property };
            let (requestor, target) = (request.requestor, request.target);
            let stored = if target == targets {
                let list = [targets, utf8, plain, hint];
                conn.change_property32(PropMode::REPLACE, requestor, property, AtomEnum::ATOM, &list).is_ok()
            } else if target == utf8 || target == plain {
                conn.change_property8(PropMode::REPLACE, requestor, property, target, secret.as_bytes())
                    .is_ok()
            } else if target == hint {
                conn.change_property8(PropMode::REPLACE, requestor, property, utf8, b"secret").is_ok()
            } else {
                false
            };
            served += 1;
            let notify = SelectionNotifyEvent {
                response_type: SELECTION_NOTIFY_EVENT,
                sequence: 0,
                time: request.time,
                requestor,
                selection: request.selection,
                target,
                property: if stored { property } else { x11rb::NONE },
            };
            let _ = conn.send_event(false, requestor, EventMask::NO_EVENT, notify);
            let _ = conn.flush();
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_managers_secret_is_not_sent() {
    let _turn = X.lock().await;
    let Some(_xvfb) = xvfb() else { return };
    let (_server, a, b) = two_devices().await;
    let clipboard = ArboardClipboard::new().expect("X clipboard");
    let engine = start(a.engine(Arc::new(clipboard))).await;

    let owner = offer_secret("hunter2-from-the-vault");
    engine.wait_for(|s| s.concealed_skipped == 1).await;
    // Something ordinary afterwards is sent: the engine is alive, it only
    // kept the secret home.
    let xclip = xclip_copy(b"an ordinary X11 text", "UTF8_STRING");
    eventually("the ordinary text is sent", 5, || async {
        server_clips(&b.client).await == vec!["an ordinary X11 text".to_string()]
    })
    .await;
    let served = tokio::task::spawn_blocking(move || owner.join().unwrap()).await.unwrap();
    assert!(served >= 2, "the engine asked the secret's owner (TARGETS, the hint): {served} requests");
    assert_quiet_count(&b.client, Duration::from_secs(1), 1).await;
    assert!(std::fs::read_dir(a.queue_dir()).unwrap().next().is_none());
    engine.stop().await.unwrap();
    kill(xclip);
}
