//! End-to-end encrypted content through the real `cloudbuffer` CLI and a
//! real server (issue 17): two devices of one account exchange text and a
//! multi-record file both ways, a third without the key sends nothing and
//! writes nothing, the server's data dir and every byte a device sent hold
//! no canary, passphrase or key, share links carry their key after `#k=`,
//! and a tampered blob or a wrong key leaves no file behind.

mod common;

use std::path::Path;

use base64::Engine as _;
use cloudbuffer_tests::secrets::{
    assert_absent, assert_data_dir_clean, key_needles, text_needle, RecordingProxy,
};
use cloudbuffer_tests::TestServer;
use common::{failed, first_line, noise, ok, User};
use serde_json::Value;

const PASSPHRASE: &str = "an encryption passphrase for tests";
const PASSPHRASE_ENV: &str = "CLOUDBUFFER_E2E_PASSPHRASE";
const LOCKED_LIST: &str = "encrypted — run `cloudbuffer e2e unlock`";
const REFUSED: &str =
    "cloudbuffer: end-to-end encryption is on for this account: run `cloudbuffer e2e unlock`";

/// A random string that must never reach the server in the clear.
fn canary() -> String {
    let seed = format!("{:?}{}", std::time::SystemTime::now(), std::process::id());
    format!("CANARY{}", &blake3::hash(seed.as_bytes()).to_hex()[..20])
}

/// Turns encryption on from `first` and unlocks it on `others`.
fn enable(first: &User, others: &[&User]) {
    ok(&first.cmd(["e2e", "enable"]).env(PASSPHRASE_ENV, PASSPHRASE).output().unwrap());
    for other in others {
        ok(&other.cmd(["e2e", "unlock"]).env(PASSPHRASE_ENV, PASSPHRASE).output().unwrap());
    }
}

/// The raw account key a device holds.
fn raw_key(user: &User) -> Vec<u8> {
    let file = std::fs::read_dir(user.config.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("e2e-key-"))
        .expect("a key file");
    let json: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(json["account_key"].as_str().unwrap()).unwrap()
}

/// `n` bytes of noise with `canary` at its start and in a later record.
fn file_with(canary: &str, n: usize, seed: &str) -> Vec<u8> {
    let mut bytes = noise(n, seed);
    for at in [0, n * 2 / 3] {
        bytes[at..at + canary.len()].copy_from_slice(canary.as_bytes());
    }
    bytes
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Two devices, A through a recording proxy, B directly; encryption on.
async fn alice_on_two_devices(server: &TestServer, proxy: &RecordingProxy) -> (User, User) {
    let mut a = User::new(server, "alice").await;
    a.server = proxy.url.clone();
    a.login();
    let b = User::existing(server, "alice", &a.password);
    b.login();
    enable(&a, &[&b]);
    (a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_devices_exchange_encrypted_text_and_files_and_the_server_learns_nothing() {
    let server = TestServer::start().await;
    let proxy = RecordingProxy::start(server.addr);
    let (a, b) = alice_on_two_devices(&server, &proxy).await;
    let canary = canary();

    // Text both ways.
    let text = format!("the secret text {canary} ünïcødé");
    let said = String::from_utf8_lossy(&a.cmd(["copy", &text]).output().unwrap().stderr).into_owned();
    assert!(said.contains("end-to-end encrypted"), "{said}");
    assert_eq!(b.run(["paste"]), text);
    let reply = format!("a reply {canary}");
    b.run(["copy", &reply]);
    assert_eq!(a.run(["paste"]), reply);
    // 300 emoji: a 200-character preview would be 800 bytes, over the server's cap once encrypted.
    let emoji = "😀".repeat(300);
    a.run(["copy", &emoji]);
    assert_eq!(b.run(["paste"]), emoji);
    b.run(["copy", &reply]);
    let history = a.run(["ls", "--clips"]);
    assert!(history.contains(&format!("\"{reply}\"")), "previews are decrypted: {history}");

    // A 300 KiB file (five records) A → B by id, and another B → A as a clip.
    let name = format!("notes-{canary}.bin");
    let content = file_with(&canary, 300 * 1024, "a to b");
    std::fs::write(a.path(&name), &content).unwrap();
    let id = first_line(&a.run(["send", &name, "--no-share"])).to_string();
    b.run(["get", &id]);
    assert_eq!(std::fs::read(b.path(&name)).unwrap(), content, "byte-identical, under its decrypted name");
    let back_name = format!("back-{canary}.txt");
    let back = file_with(&canary, 200_001, "b to a");
    std::fs::write(b.path(&back_name), &back).unwrap();
    b.run(["copy", "--file", &back_name]);
    a.run(["paste"]);
    assert_eq!(std::fs::read(a.path(&back_name)).unwrap(), back);
    let listing = b.run(["ls"]);
    assert!(listing.contains(&name) && listing.contains("300 KiB"), "{listing}");

    // The server keeps ciphertext: encrypted flags, no name, no sniffed type.
    let files: Value = serde_json::from_str(&a.run(["ls", "--json"])).unwrap();
    let stored = files.as_array().unwrap().iter().find(|f| f["id"] == id.as_str()).unwrap();
    assert_eq!(stored["encrypted"], true);
    assert_eq!(stored["size"], cloudbuffer_client::crypto::ciphertext_len(300 * 1024));

    // A third device without the key: sees locked items, sends nothing, writes nothing.
    let c = User::existing(&server, "alice", &a.password);
    c.login();
    assert!(c.run(["ls"]).contains(LOCKED_LIST));
    assert!(c.run(["ls", "--clips"]).contains(LOCKED_LIST));
    assert_eq!(c.fail(["copy", "plain words"]), REFUSED);
    std::fs::write(c.path("plain.txt"), "plain file").unwrap();
    assert_eq!(c.fail(["send", "plain.txt", "--no-share"]), REFUSED);
    assert!(c.fail(["paste"]).contains("encrypted (locked)"));
    assert!(c.fail(["get", &id]).contains("run `cloudbuffer e2e unlock`"));
    assert_eq!(names_in(c.work.path()), vec!["plain.txt"], "nothing written");

    // Neither the data dir (database, WAL, blobs) nor any request holds a secret.
    let mut needles = key_needles("the account key", &raw_key(&a));
    needles.push(text_needle("the passphrase", PASSPHRASE));
    needles.push(text_needle("the canary", &canary));
    needles.push(text_needle("a text", "the secret text"));
    assert!(assert_data_dir_clean(server.data_dir(), &needles) >= 3);
    let sent = proxy.sent();
    assert!(sent.len() > 300 * 1024, "A's uploads went through the proxy ({} bytes)", sent.len());
    assert!(String::from_utf8_lossy(&sent).to_ascii_lowercase().contains("x-encrypted: 1"));
    assert_absent("what device A sent", &sent, &needles);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn share_links_carry_the_key_and_open_only_whole() {
    let server = TestServer::start().await;
    let proxy = RecordingProxy::start(server.addr);
    let (a, _b) = alice_on_two_devices(&server, &proxy).await;
    // Anyone with the link: no account, no session.
    let friend = User::existing(&server, "nobody", "none");
    let content = file_with("shared", 150_000, "shared");
    std::fs::write(a.path("report.pdf"), &content).unwrap();

    let out = a.cmd(["send", "report.pdf", "--qr"]).output().unwrap();
    let stdout = ok(&out);
    let link = first_line(&stdout).to_string();
    let (bare, fragment) = link.split_once('#').expect("the link carries a fragment");
    assert!(fragment.starts_with("k=") && fragment.len() == 45, "{link}");
    assert!(stdout.lines().count() > 10, "a QR code is drawn: {stdout}");
    assert!(!proxy.sent().windows(fragment.len()).any(|w| w == fragment.as_bytes()), "the key stays home");

    let dir = friend.path("whole");
    std::fs::create_dir(&dir).unwrap();
    friend.run(["get", &link, "-o", dir.to_str().unwrap()]);
    assert_eq!(std::fs::read(dir.join("report.pdf")).unwrap(), content, "decrypted, under its own name");

    // Without the key, with a cut key, with another key: a clear error, no file.
    let empty = friend.path("empty");
    std::fs::create_dir(&empty).unwrap();
    let to = empty.to_str().unwrap();
    let line = friend.fail(["get", bare, "-o", to]);
    assert!(line.contains("this link is incomplete"), "{line}");
    let line = friend.fail(["get", &link[..link.len() - 4], "-o", to]);
    assert!(line.contains("this link is incomplete"), "{line}");
    let wrong = format!("{bare}#k={}", "A".repeat(43));
    let line = friend.fail(["get", &wrong, "-o", to]);
    assert!(line.contains("could not be decrypted"), "{line}");
    let line = friend.fail(["get", &wrong, "-o", &format!("{to}/named.pdf")]);
    assert!(line.contains("could not be decrypted"), "{line}");
    assert!(names_in(&empty).is_empty(), "nothing written: {:?}", names_in(&empty));

    // A text clip's link, and `share` of an existing file.
    a.run(["copy", "a shared text"]);
    let clips: Value = serde_json::from_str(&a.run(["ls", "--clips", "--json"])).unwrap();
    let clip_id = clips[0]["id"].as_str().unwrap().to_string();
    let text_link = first_line(&a.run(["share", "--clip", &clip_id])).to_string();
    assert!(text_link.contains("#k="), "{text_link}");
    assert_eq!(friend.run(["get", &text_link, "-o", "-"]), "a shared text");
    let files: Value = serde_json::from_str(&a.run(["ls", "--json"])).unwrap();
    let again = first_line(&a.run(["share", files[0]["id"].as_str().unwrap()])).to_string();
    assert_eq!(again.split_once('#').unwrap().1, fragment, "one item, one key");
    assert!(a.run(["shares"]).contains(&link), "listed with its key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_or_cut_blob_fails_and_leaves_no_file() {
    let server = TestServer::start().await;
    let proxy = RecordingProxy::start(server.addr);
    let (a, b) = alice_on_two_devices(&server, &proxy).await;
    // Over the server's in-memory cache of small blobs: read from disk each time.
    let content = file_with("tamper", 300 * 1024, "tamper");
    std::fs::write(a.path("photo.jpg"), &content).unwrap();
    let id = first_line(&a.run(["send", "photo.jpg", "--no-share"])).to_string();
    let files: Value = serde_json::from_str(&a.run(["ls", "--json"])).unwrap();
    let hash = files[0]["hash"].as_str().unwrap().to_string();
    let blob = server.data_dir().join("store").join(&hash[..2]).join(&hash);
    let stored = std::fs::read(&blob).expect("the blob");

    let mut flipped = stored.clone();
    flipped[200_000] ^= 0x20;
    std::fs::write(&blob, &flipped).unwrap();
    let line = b.fail(["get", &id]);
    assert!(line.contains("could not be decrypted") && line.contains("modified or damaged"), "{line}");
    assert!(names_in(b.work.path()).is_empty(), "no file, no .part: {:?}", names_in(b.work.path()));
    let out = b.cmd(["get", &id, "-o", "-"]).output().unwrap();
    failed(&out, 1);
    assert!(out.stdout.len() < 200_000, "only records before the damage went out");

    // Cut after a whole record: the server may notice the short blob, or
    // the client does; either way nothing is kept.
    std::fs::write(&blob, &stored[..28 + 65_552 * 2]).unwrap();
    let out = b.cmd(["get", &id]).output().unwrap();
    failed(&out, 1);
    assert!(names_in(b.work.path()).is_empty(), "{:?}", names_in(b.work.path()));

    std::fs::write(&blob, &stored).unwrap();
    b.run(["get", &id]);
    assert_eq!(std::fs::read(b.path("photo.jpg")).unwrap(), content);
}
