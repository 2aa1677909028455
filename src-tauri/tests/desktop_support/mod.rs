//! What the desktop end-to-end tests need around the app: a private Xvfb
//! display, `tauri-driver` (with Debian's `WebKitWebDriver`) started with
//! the app's environment, and a small W3C WebDriver client over plain HTTP.
//!
//! Without the tools the tests say so and pass, except under `CI`, where
//! a skip would hide a broken setup: there they fail.

#![allow(dead_code)]

pub mod app;
pub mod bus;
pub mod tray;
pub mod webdriver;
pub mod x11;
pub mod xdnd;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use webdriver::Session;

/// A child process killed (and reaped) on drop.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Where `scripts/test.sh` installs tauri-driver (`cargo install --root`).
fn tools_bin() -> PathBuf {
    match std::env::var_os("CLOUDBUFFER_TOOLS") {
        Some(dir) => PathBuf::from(dir).join("bin"),
        None => {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/cloudbuffer/tools/bin")
        }
    }
}

/// `program` from `PATH` or the tools folder.
fn find(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([tools_bin()])
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// The paths of the tools, or `None` (printed) when one is missing outside CI.
pub struct Tools {
    /// `tauri-driver`.
    pub tauri_driver: PathBuf,
    /// `WebKitWebDriver`.
    pub webkit_driver: PathBuf,
}

/// Finds Xvfb, xclip, ImageMagick, WebKitWebDriver, dbus-daemon and tauri-driver.
pub fn tools() -> Option<Tools> {
    let hints = [
        ("Xvfb", "apt-get install xvfb"),
        ("xclip", "apt-get install xclip"),
        ("import", "apt-get install imagemagick"),
        ("dbus-daemon", "apt-get install dbus-daemon"),
        ("WebKitWebDriver", "apt-get install webkit2gtk-driver"),
        ("tauri-driver", "cargo install tauri-driver --locked (scripts/test.sh does)"),
    ];
    let mut found = Vec::new();
    for (program, hint) in hints {
        match find(program) {
            Some(path) => found.push(path),
            None => {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "{program} is missing ({hint}), and CI must run the desktop tests"
                );
                eprintln!("SKIPPED: {program} is missing ({hint})");
                return None;
            }
        }
    }
    // The last two, by name.
    let webkit_driver = found[found.len() - 2].clone();
    Some(Tools { tauri_driver: found[found.len() - 1].clone(), webkit_driver })
}

/// Starts Xvfb on a free display; returns it and `:N`.
pub fn xvfb() -> (Guard, String) {
    let mut child = Command::new("Xvfb")
        .args(["-displayfd", "1", "-nolisten", "tcp", "-screen", "0", "1280x800x24"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb starts");
    let stdout = child.stdout.take().expect("stdout");
    let guard = Guard(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let display = rx.recv_timeout(Duration::from_secs(10)).expect("Xvfb reports its display");
    let display = display.trim();
    assert!(!display.is_empty() && display.chars().all(|c| c.is_ascii_digit()), "display {display:?}");
    (guard, format!(":{display}"))
}

/// A free TCP port on loopback (released at once; good enough for tests).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address").port()
}

/// A running tauri-driver and its base URL.
pub struct Driver {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Drop for Driver {
    /// Kills its whole process group: tauri-driver, WebKitWebDriver and the app.
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

/// Starts tauri-driver with `env` (the app it launches inherits it) and
/// waits for its `/status` to say ready.
pub async fn driver(tools: &Tools, env: &[(String, String)]) -> Driver {
    start_driver(tools, env, Stdio::inherit()).await
}

/// [`driver`], with its and the app's standard error written to `log`.
pub async fn driver_logging_to(tools: &Tools, env: &[(String, String)], log: &Path) -> Driver {
    let file = std::fs::File::create(log).expect("driver log");
    start_driver(tools, env, Stdio::from(file)).await
}

async fn start_driver(tools: &Tools, env: &[(String, String)], stderr: Stdio) -> Driver {
    let (port, native) = (free_port(), free_port());
    let mut command = Command::new(&tools.tauri_driver);
    command
        .args(["--port", &port.to_string(), "--native-port", &native.to_string(), "--native-driver"])
        .arg(&tools.webkit_driver)
        .stdout(Stdio::null())
        .stderr(stderr)
        .process_group(0);
    for (key, value) in env {
        command.env(key, value);
    }
    let child = command.spawn().expect("tauri-driver starts");
    let url = format!("http://127.0.0.1:{port}");
    let driver = Driver { child, url: url.clone() };
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(response) = http.get(format!("{url}/status")).send().await {
            if let Ok(body) = response.json::<serde_json::Value>().await {
                if body["value"]["ready"] == true {
                    break;
                }
            }
        }
        assert!(Instant::now() < deadline, "tauri-driver did not become ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    driver
}

/// The environment of one "user" of the app: a display and private folders.
pub fn app_env(display: &str, home: &Path) -> Vec<(String, String)> {
    let dir = |name: &str| home.join(name).to_string_lossy().into_owned();
    vec![
        ("DISPLAY".into(), display.into()),
        ("HOME".into(), dir("")),
        ("XDG_CONFIG_HOME".into(), dir(".config")),
        ("XDG_DATA_HOME".into(), dir(".local/share")),
        ("XDG_CACHE_HOME".into(), dir(".cache")),
        ("CLOUDBUFFER_CONFIG_DIR".into(), dir("cloudbuffer")),
        // No accessibility bus or dbus-launch under Xvfb: keep GTK quiet.
        ("NO_AT_BRIDGE".into(), "1".into()),
    ]
}

/// Polls `check` every 100 ms for up to `seconds`, panicking with `what`.
pub async fn eventually<F, Fut>(what: &str, seconds: u64, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Puts `text` on the X clipboard of `display` the way another program
/// does: xclip keeps owning the selection (in the background) until
/// something else takes it or the display goes away.
pub fn xclip_copy(display: &str, text: &str) {
    use std::io::Write;
    let mut child = Command::new("xclip")
        .args(["-i", "-selection", "clipboard"])
        .env("DISPLAY", display)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("xclip runs");
    child.stdin.take().expect("stdin").write_all(text.as_bytes()).expect("xclip takes the text");
    // xclip forks to serve the selection; the parent exits once it has it.
    assert!(child.wait().expect("xclip").success(), "xclip could not take the clipboard");
}

/// The text on the X clipboard of `display`, read with xclip.
pub fn xclip_paste(display: &str) -> Option<String> {
    let out = Command::new("xclip")
        .args(["-o", "-selection", "clipboard"])
        .env("DISPLAY", display)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A PNG of the top-left `width`×`height` of `display` (where the window
/// sits without a window manager), taken by the X server with ImageMagick:
/// WebKitWebDriver's own screenshots need WebKit's compositing mode, which
/// the app turns off to save memory.
pub fn x_screenshot(display: &str, width: u64, height: u64) -> Vec<u8> {
    let out = Command::new("import")
        .args(["-display", display, "-window", "root", "-crop", &format!("{width}x{height}+0+0"), "png:-"])
        .stderr(Stdio::inherit())
        .output()
        .expect("ImageMagick's import runs");
    assert!(out.status.success() && !out.stdout.is_empty(), "import took no screenshot");
    out.stdout
}

/// Decodes the QR code in a PNG screenshot.
pub fn decode_qr(png_bytes: &[u8]) -> String {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buffer = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buffer).expect("PNG pixels");
    let channels = info.color_type.samples();
    let (width, height) = (info.width as usize, info.height as usize);
    let luma = |x: usize, y: usize| {
        let i = (y * width + x) * channels;
        if channels >= 3 {
            ((buffer[i] as u32 * 299 + buffer[i + 1] as u32 * 587 + buffer[i + 2] as u32 * 114) / 1000) as u8
        } else {
            buffer[i]
        }
    };
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, height, luma);
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the {width}x{height} screenshot");
    grids[0].decode().expect("the QR code decodes").1
}

/// Saves a screenshot under `CLOUDBUFFER_SCREENSHOTS` (or the target's tmp dir).
pub fn save_screenshot(name: &str, png_bytes: &[u8]) -> PathBuf {
    let dir = std::env::var_os("CLOUDBUFFER_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("desktop-screenshots"));
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    let path = dir.join(format!("desktop-{name}.png"));
    std::fs::write(&path, png_bytes).expect("screenshot written");
    path
}
