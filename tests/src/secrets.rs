//! Checks that secrets never reach the server (issue 17): a recording TCP
//! proxy in front of it (every byte a client sends passes through it), the
//! usual text forms of a key, and a search of the server's whole data dir
//! (SQLite database with its WAL, blob store) and of the recorded traffic.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;

/// A TCP proxy to `target` that records every byte clients send through it
/// (request lines, headers and bodies). Runs for the life of the process.
pub struct RecordingProxy {
    /// `http://127.0.0.1:PORT` of the proxy.
    pub url: String,
    sent: Arc<Mutex<Vec<u8>>>,
}

impl RecordingProxy {
    /// Starts a proxy to `target` (`host:port`).
    pub fn start(target: std::net::SocketAddr) -> RecordingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let url = format!("http://{}", listener.local_addr().expect("proxy address"));
        let sent = Arc::new(Mutex::new(Vec::new()));
        let record = sent.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(target) else { continue };
                let (client_read, server_write) =
                    (client.try_clone().expect("clone"), server.try_clone().expect("clone"));
                let record = record.clone();
                // Client to server, recorded; server to client as it is.
                std::thread::spawn(move || pipe(client_read, server_write, Some(record)));
                std::thread::spawn(move || pipe(server, client, None));
            }
        });
        RecordingProxy { url, sent }
    }

    /// Everything clients sent so far.
    pub fn sent(&self) -> Vec<u8> {
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream, record: Option<Arc<Mutex<Vec<u8>>>>) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Some(record) = &record {
            record.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(&buf[..n]);
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Write);
}

/// A secret to look for, with a name for failure messages.
pub struct Needle {
    /// What it is ("the account key, hex").
    pub what: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// `text` as it is.
pub fn text_needle(what: &str, text: &str) -> Needle {
    Needle { what: what.into(), bytes: text.as_bytes().to_vec() }
}

/// A key raw, in hex (both cases) and in the four base64 alphabets.
pub fn key_needles(what: &str, key: &[u8]) -> Vec<Needle> {
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let mut forms = vec![
        ("raw", key.to_vec()),
        ("hex", hex.clone().into_bytes()),
        ("HEX", hex.to_uppercase().into_bytes()),
    ];
    for (name, engine) in [
        ("base64", STANDARD),
        ("base64 unpadded", STANDARD_NO_PAD),
        ("base64url", URL_SAFE),
        ("base64url unpadded", URL_SAFE_NO_PAD),
    ] {
        forms.push((name, engine.encode(key).into_bytes()));
    }
    forms.into_iter().map(|(form, bytes)| Needle { what: format!("{what} ({form})"), bytes }).collect()
}

/// Panics naming the first needle found in `haystack`.
pub fn assert_absent(place: &str, haystack: &[u8], needles: &[Needle]) {
    for needle in needles {
        assert!(
            !haystack.windows(needle.bytes.len()).any(|w| w == needle.bytes.as_slice()),
            "{place} contains {}",
            needle.what
        );
    }
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir").filter_map(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found
}

/// No file under the server's data dir holds any needle. Returns how many
/// files were searched (the database is required among them).
pub fn assert_data_dir_clean(data_dir: &Path, needles: &[Needle]) -> usize {
    let files = files_under(data_dir);
    assert!(files.iter().any(|f| f.extension().is_some_and(|e| e == "db")), "the database: {files:?}");
    for file in &files {
        let bytes = std::fs::read(file).unwrap_or_default();
        assert_absent(&file.display().to_string(), &bytes, needles);
    }
    files.len()
}
