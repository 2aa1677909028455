//! `cloudbuffer e2e`: the account key of end-to-end encryption, set up on
//! one device, unlocked on another, re-wrapped under a new passphrase, and
//! never seen by the server in the clear (issue 17).

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use base64::Engine as _;
use cloudbuffer_tests::TestServer;
use common::{failed, ok, User};
use serde_json::Value;

const PASSPHRASE: &str = "correct horse battery staple";
const NEW_PASSPHRASE: &str = "a different and longer passphrase";

/// `cloudbuffer e2e ARGS…` with no passphrase in the environment.
fn e2e(user: &User, args: &[&str]) -> Command {
    let mut cmd = user.cmd(std::iter::once("e2e").chain(args.iter().copied()));
    cmd.env_remove("CLOUDBUFFER_E2E_PASSPHRASE").env_remove("CLOUDBUFFER_E2E_NEW_PASSPHRASE");
    cmd
}

/// `cloudbuffer e2e ARGS…` with `CLOUDBUFFER_E2E_PASSPHRASE` set.
fn with_passphrase(user: &User, args: &[&str], passphrase: &str) -> Output {
    e2e(user, args).env("CLOUDBUFFER_E2E_PASSPHRASE", passphrase).output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The device's key files (there is one per server and user).
fn key_files(user: &User) -> Vec<PathBuf> {
    std::fs::read_dir(user.config.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.file_name().unwrap().to_string_lossy().starts_with("e2e-key-"))
        .collect()
}

/// The one key file's bytes, checked to be private.
fn key_file(user: &User) -> Vec<u8> {
    let files = key_files(user);
    assert_eq!(files.len(), 1, "one key file and no temporary one: {files:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&files[0]).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", files[0].display());
    }
    std::fs::read(&files[0]).unwrap()
}

/// The raw account key a device holds.
fn raw_key(user: &User) -> Vec<u8> {
    let file: Value = serde_json::from_slice(&key_file(user)).unwrap();
    let text = file["account_key"].as_str().expect("account_key");
    let key = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).unwrap();
    assert_eq!(key.len(), 32);
    key
}

fn status(user: &User) -> Value {
    let out = e2e(user, &["status", "--json"]).output().unwrap();
    serde_json::from_str(&ok(&out)).unwrap()
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, found);
        } else {
            found.push(path);
        }
    }
}

/// The server's data dir (its SQLite database with WAL, its store) holds
/// none of the secrets in any usual text form.
fn assert_server_never_saw(server: &TestServer, passphrases: &[&str], key: &[u8]) {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let mut needles: Vec<Vec<u8>> = passphrases.iter().map(|p| p.as_bytes().to_vec()).collect();
    needles.push(key.to_vec());
    needles.push(hex.as_bytes().to_vec());
    needles.push(hex.to_uppercase().into_bytes());
    for engine in [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD] {
        needles.push(engine.encode(key).into_bytes());
    }
    let mut files = Vec::new();
    files_under(server.data_dir(), &mut files);
    assert!(files.iter().any(|f| f.extension().is_some_and(|e| e == "db")), "the database: {files:?}");
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        for needle in &needles {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_slice()),
                "{} contains a secret ({} bytes)",
                file.display(),
                needle.len()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_devices_share_the_key_and_the_passphrase_changes() {
    let server = TestServer::start().await;
    let a = User::new(&server, "alice").await;
    a.login();
    let b = User::existing(&server, "alice", &a.password);
    b.login();
    assert_eq!(status(&a)["enabled"], false);

    // Device A turns it on, the passphrase from the environment.
    let out = with_passphrase(&a, &["enable"], PASSPHRASE);
    ok(&out);
    let said = stderr(&out);
    assert!(said.contains("End-to-end encryption is on"), "{said}");
    assert!(said.contains("cannot recover it"), "{said}");
    let text = ok(&e2e(&a, &["status"]).output().unwrap());
    assert!(text.contains("End-to-end encryption: on (key version 1"), "{text}");
    assert!(text.contains("This device: holds the current key"), "{text}");
    let state = status(&a);
    assert_eq!(state["version"], 1);
    assert_eq!(state["this_device"]["current"], true);
    let key = raw_key(&a);

    // Device B: not unlocked yet, and cannot turn it on a second time.
    let text = ok(&e2e(&b, &["status"]).output().unwrap());
    assert!(text.contains("does not hold the key: run `cloudbuffer e2e unlock`"), "{text}");
    let line = failed(&with_passphrase(&b, &["enable"], "another passphrase"), 1);
    assert_eq!(
        line,
        "cloudbuffer: end-to-end encryption is already on for this account: run `cloudbuffer e2e unlock`"
    );

    // A wrong passphrase stores nothing; the right one (on stdin) gives A's key.
    let line = failed(&with_passphrase(&b, &["unlock"], "not the passphrase"), 1);
    assert!(line.contains("wrong encryption passphrase"), "{line}");
    assert!(key_files(&b).is_empty(), "nothing stored after a wrong passphrase");
    let out = e2e(&b, &["unlock", "--passphrase-stdin"]).write_stdin(format!("{PASSPHRASE}\n")).output();
    ok(&out.unwrap());
    assert_eq!(key_file(&b), key_file(&a), "B holds A's key file");
    assert_eq!(status(&b)["this_device"]["current"], true);

    // A changes the passphrase: the same key, a new version; B is told its copy is older.
    let out = e2e(&a, &["passwd"])
        .env("CLOUDBUFFER_E2E_PASSPHRASE", PASSPHRASE)
        .env("CLOUDBUFFER_E2E_NEW_PASSPHRASE", NEW_PASSPHRASE)
        .output()
        .unwrap();
    ok(&out);
    assert!(stderr(&out).contains("Changed the encryption passphrase (key version 2)"), "{}", stderr(&out));
    assert_eq!(raw_key(&a), key, "the same key, re-wrapped");
    assert_eq!(status(&a)["this_device"]["current"], true);
    let text = ok(&e2e(&b, &["status"]).output().unwrap());
    assert!(text.contains("holds the key of version 1, the server's is version 2"), "{text}");

    // B: the old passphrase no longer opens it (its key file is untouched), the new one does.
    let before = key_file(&b);
    let line = failed(&with_passphrase(&b, &["unlock"], PASSPHRASE), 1);
    assert!(line.contains("wrong encryption passphrase"), "{line}");
    assert_eq!(key_file(&b), before);
    ok(&with_passphrase(&b, &["unlock"], NEW_PASSPHRASE));
    assert_eq!(key_file(&b), key_file(&a));
    assert_eq!(raw_key(&b), key);

    // Forgetting is this device's business only.
    let out = e2e(&b, &["forget"]).output().unwrap();
    ok(&out);
    assert!(stderr(&out).contains("Deleted the account key from this device"), "{}", stderr(&out));
    assert!(key_files(&b).is_empty());
    assert!(stderr(&e2e(&b, &["forget"]).output().unwrap()).contains("holds no account key"));
    assert_eq!(status(&b)["this_device"]["has_key"], false);
    assert_eq!(status(&a)["this_device"]["current"], true);

    assert_server_never_saw(&server, &[PASSPHRASE, NEW_PASSPHRASE, "not the passphrase"], &key);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passphrases_from_stdin_and_clear_refusals() {
    let server = TestServer::start().await;
    let bob = User::new(&server, "bob").await;

    let line = failed(&e2e(&bob, &["status"]).output().unwrap(), 1);
    assert!(line.contains("not signed in"), "{line}");
    bob.login();

    // Off: nothing to unlock or change.
    let not_on =
        "cloudbuffer: end-to-end encryption is not on for this account: run `cloudbuffer e2e enable`";
    assert_eq!(failed(&with_passphrase(&bob, &["unlock"], PASSPHRASE), 1), not_on);
    assert_eq!(failed(&with_passphrase(&bob, &["passwd"], PASSPHRASE), 1), not_on);

    // No passphrase source at all (standard input is no terminal here): a usage error.
    let line = failed(&e2e(&bob, &["enable"]).output().unwrap(), 2);
    assert!(line.contains("--passphrase-stdin"), "{line}");
    // Too short, counted in characters: refused before anything is sent.
    let line = failed(&with_passphrase(&bob, &["enable"], "ééééééé"), 1);
    assert!(line.contains("at least 8 characters"), "{line}");
    let line = failed(&e2e(&bob, &["enable", "--passphrase-stdin"]).write_stdin("\n").output().unwrap(), 1);
    assert!(line.contains("empty"), "{line}");
    assert_eq!(status(&bob)["enabled"], false);
    assert!(key_files(&bob).is_empty());

    // --passphrase-stdin wins over the environment.
    let out = e2e(&bob, &["enable", "--passphrase-stdin"])
        .env("CLOUDBUFFER_E2E_PASSPHRASE", "ignored passphrase")
        .write_stdin(format!("{PASSPHRASE}\nrest\n"))
        .output()
        .unwrap();
    ok(&out);
    let key = raw_key(&bob);

    // passwd: a wrong current passphrase changes nothing; then current and new on stdin.
    let line = failed(
        &e2e(&bob, &["passwd", "--passphrase-stdin"])
            .write_stdin(format!("wrong passphrase\n{NEW_PASSPHRASE}\n"))
            .output()
            .unwrap(),
        1,
    );
    assert!(line.contains("wrong encryption passphrase"), "{line}");
    assert_eq!(status(&bob)["version"], 1);
    let line = failed(&with_passphrase(&bob, &["passwd"], PASSPHRASE), 2);
    assert!(line.contains("CLOUDBUFFER_E2E_NEW_PASSPHRASE"), "{line}");
    let out = e2e(&bob, &["passwd", "--passphrase-stdin"])
        .write_stdin(format!("{PASSPHRASE}\n{NEW_PASSPHRASE}\n"))
        .output()
        .unwrap();
    ok(&out);
    assert_eq!(status(&bob)["version"], 2);

    // Another device of bob's, unlocking with the new passphrase from the environment.
    let other = User::existing(&server, "bob", &bob.password);
    other.login();
    ok(&with_passphrase(&other, &["unlock"], NEW_PASSPHRASE));
    assert_eq!(raw_key(&other), key);
    assert_server_never_saw(&server, &[PASSPHRASE, NEW_PASSPHRASE, "ignored passphrase"], &key);
}
