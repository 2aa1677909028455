//! The `cloudbuffer` command line, driven as a process against a real
//! server: signing in and out, the clipboard, listings, shares, devices.
//! (Big transfers, links and bad input: `cli_transfers.rs`.)

mod common;

use cloudbuffer_tests::TestServer;
use common::{dead_address, failed, first_line, ok, User};
use serde_json::Value;

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_then_logout_then_commands_ask_to_sign_in() {
    let server = TestServer::start().await;
    let alice = User::new(&server, "alice").await;
    let out = alice.cmd(["ls"]).output().unwrap();
    assert!(failed(&out, 1).contains("not signed in"), "before login");

    alice.login();
    let session = std::fs::read_to_string(alice.config.path().join("session.json")).unwrap();
    assert!(session.contains(&server.url));
    assert_eq!(alice.run(["ls", "--json"]).trim(), "[]");

    let out = alice.cmd(["logout"]).output().unwrap();
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("Signed out"));
    let line = alice.fail(["ls"]);
    assert_eq!(line, "cloudbuffer: not signed in: run `cloudbuffer login --server URL --username NAME`");
    // Signing out twice is fine.
    alice.run(["logout"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_one_clear_line() {
    let server = TestServer::start().await;
    let alice = User::new(&server, "alice").await;
    let out = alice
        .cmd(["login", "--server", &server.url, "--username", "alice"])
        .env("CLOUDBUFFER_PASSWORD", "not-the-password")
        .output()
        .unwrap();
    assert_eq!(
        failed(&out, 1),
        "cloudbuffer: wrong user name or password (no account yet? `cloudbuffer login --register` creates one)"
    );
    assert!(!alice.config.path().join("session.json").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_with_the_password_on_stdin_and_a_device_name() {
    let server = TestServer::start().await;
    let bob = User::existing(&server, "bob", "bobs-long-password");
    let out = bob
        .cmd(["login", "--register", "--server", &server.url, "-u", "bob", "--device-name", "ci-box"])
        .write_stdin("bobs-long-password\nrest of stdin\n")
        .output()
        .unwrap();
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("Created the account bob"));
    let devices = json(&bob.run(["devices", "--json"]));
    assert_eq!(devices[0]["name"], "ci-box");
    assert_eq!(devices[0]["current"], true);
    // The human list marks this device.
    let table = bob.run(["devices"]);
    assert!(table.lines().any(|l| l.starts_with('*') && l.contains("ci-box")), "{table}");
    // Taken names are refused by the server, in words.
    let out = bob
        .cmd(["login", "--register", "--server", &server.url, "-u", "bob"])
        .write_stdin("another-password\n")
        .output()
        .unwrap();
    assert!(failed(&out, 1).contains("username_taken"));
    // Signing in again (login reuses the saved server and user) replaces
    // the old device instead of leaving it behind.
    let out = bob.cmd(["login"]).write_stdin("bobs-long-password\n").output().unwrap();
    ok(&out);
    assert_eq!(json(&bob.run(["devices", "--json"])).as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_named() {
    let server = TestServer::start().await;
    let alice = User::new(&server, "alice").await;
    let dead = dead_address();
    let out = alice
        .cmd(["login", "--server", &dead, "--username", "alice"])
        .env("CLOUDBUFFER_PASSWORD", &alice.password)
        .output()
        .unwrap();
    let line = failed(&out, 1);
    assert!(line.starts_with(&format!("cloudbuffer: cannot reach the server at {dead}")), "{line}");
    // CLOUDBUFFER_SERVER overrides the saved server the same way.
    alice.login();
    let out = alice.cmd(["ls"]).env("CLOUDBUFFER_SERVER", &dead).output().unwrap();
    assert!(failed(&out, 1).contains(&format!("cannot reach the server at {dead}")));
    // A login without any server is a usage error.
    let fresh = User::existing(&server, "alice", &alice.password);
    let out = fresh.cmd(["login", "-u", "alice"]).env("CLOUDBUFFER_PASSWORD", "x").output().unwrap();
    assert!(failed(&out, 2).contains("--server"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_from_a_pipe_and_paste() {
    let server = TestServer::start().await;
    let alice = User::new(&server, "alice").await;
    alice.login();
    // echo hi | cloudbuffer copy; cloudbuffer paste
    ok(&alice.cmd(["copy"]).write_stdin("hi\n").output().unwrap());
    assert_eq!(alice.run(["paste"]), "hi\n");
    // Text from the arguments.
    alice.run(["copy", "hello", "world"]);
    assert_eq!(alice.run(["paste"]), "hello world");
    // Into a file, then the history.
    alice.run(["paste", "-o", "clip.txt"]);
    assert_eq!(std::fs::read_to_string(alice.path("clip.txt")).unwrap(), "hello world");
    let clips = json(&alice.run(["ls", "--clips", "--json"]));
    assert_eq!(clips.as_array().unwrap().len(), 2);
    assert_eq!(clips[0]["preview"], "hello world");
    let table = alice.run(["ls", "--clips"]);
    assert!(first_line(&table).starts_with("ID"), "{table}");
    assert!(table.contains("\"hello world\"") && table.contains("text"), "{table}");
    // Binary stdin is refused with a hint.
    let out = alice.cmd(["copy"]).write_stdin(vec![0xff, 0xfe, 0x00]).output().unwrap();
    assert!(failed(&out, 1).contains("--file"));
    // Removing clips, then an empty clipboard.
    let id = clips[0]["id"].as_str().unwrap().to_string();
    alice.run(["rm", "--clip", &id]);
    assert_eq!(alice.run(["paste"]), "hi\n");
    let id = clips[1]["id"].as_str().unwrap().to_string();
    alice.run(["rm", "--clip", &id]);
    assert_eq!(alice.fail(["paste"]), "cloudbuffer: the clipboard is empty");
    assert!(alice.fail(["rm", "--clip", &id]).contains(&format!("no clip {id}")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_clips_are_pasted_without_overwriting() {
    let server = TestServer::start().await;
    let alice = User::new(&server, "alice").await;
    alice.login();
    std::fs::create_dir(alice.path("src")).unwrap();
    std::fs::write(alice.path("src/notes.txt"), "new notes").unwrap();
    std::fs::write(alice.path("notes.txt"), "old notes").unwrap();
    alice.run(["copy", "--file", "src/notes.txt"]);

    let out = alice.cmd(["paste"]).output().unwrap();
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("notes (1).txt"), "says where");
    assert_eq!(std::fs::read_to_string(alice.path("notes.txt")).unwrap(), "old notes");
    assert_eq!(std::fs::read_to_string(alice.path("notes (1).txt")).unwrap(), "new notes");
    alice.run(["paste"]);
    assert_eq!(std::fs::read_to_string(alice.path("notes (2).txt")).unwrap(), "new notes");
    // -o: a named file, a folder, standard output.
    alice.run(["paste", "-o", "exact.txt"]);
    assert_eq!(std::fs::read_to_string(alice.path("exact.txt")).unwrap(), "new notes");
    std::fs::create_dir(alice.path("inbox")).unwrap();
    alice.run(["paste", "-o", "inbox"]);
    assert_eq!(std::fs::read_to_string(alice.path("inbox/notes.txt")).unwrap(), "new notes");
    assert_eq!(alice.run(["paste", "-o", "-"]), "new notes");
    // A file clip is a file too.
    let files = json(&alice.run(["ls", "--json"]));
    assert_eq!(files[0]["name"], "notes.txt");
    // No partial files were left anywhere.
    for entry in std::fs::read_dir(alice.work.path()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.ends_with(".part"), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listings_removal_shares_stats_and_devices() {
    let server = TestServer::start().await;
    let alice = User::new(&server, "alice").await;
    alice.login();
    std::fs::write(alice.path("a.txt"), "alpha").unwrap();
    std::fs::write(alice.path("b.bin"), vec![7u8; 3000]).unwrap();
    let ids = alice.run(["send", "--no-share", "a.txt", "b.bin"]);
    let ids: Vec<&str> = ids.lines().collect();
    assert_eq!(ids.len(), 2);

    let files = json(&alice.run(["ls", "--json"]));
    assert_eq!(files.as_array().unwrap().len(), 2);
    assert_eq!(files[0]["name"], "b.bin");
    assert_eq!(files[0]["id"], ids[1]);
    let table = alice.run(["ls"]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("ID") && lines[0].contains("SIZE") && lines[0].contains("EXPIRES"));
    assert!(
        lines[1].contains("2.9 KiB") && lines[1].contains("in 1 h 59 min") && lines[1].ends_with("b.bin")
    );
    // Columns line up.
    let column = lines[0].find("SIZE").unwrap();
    assert!(lines[1..].iter().all(|l| l[column - 2..column] == *"  "), "{table}");

    // share ID --expires 10m --once
    let out = alice.cmd(["share", ids[0], "--expires", "10m", "--once", "--qr"]).output().unwrap();
    let stdout = ok(&out);
    let url = first_line(&stdout).to_string();
    assert!(url.starts_with(&format!("{}/s/", server.url)), "{url}");
    assert!(stdout.contains('█'), "a QR code is drawn");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("a.txt") && stderr.contains("in 9 min") && stderr.contains("one download"),
        "{stderr}"
    );
    let shares = json(&alice.run(["shares", "--json"]));
    assert_eq!(shares[0]["url"], url.as_str());
    assert_eq!(shares[0]["max_downloads"], 1);
    assert!(alice.run(["shares"]).contains(&url));
    alice.run(["shares", "revoke", &url]);
    assert_eq!(json(&alice.run(["shares", "--json"]))[0]["state"], "revoked");
    assert!(alice.fail(["share", "nope"]).contains("no file nope"));
    assert!(alice.fail(["share", ids[0], "--expires", "99d"]).contains("expires_in_too_long"));

    let stats = json(&alice.run(["stats", "--json"]));
    assert_eq!(stats["files"], 2);
    assert_eq!(stats["bytes_used"], 3005);
    let human = alice.run(["stats"]);
    assert!(
        human.contains("2 of 20") && human.contains("Next expiry") && human.contains("in 1 h"),
        "{human}"
    );

    alice.run(["rm", ids[0], ids[1]]);
    assert_eq!(alice.run(["ls", "--json"]).trim(), "[]");
    assert!(alice.fail(["rm", ids[0]]).contains(&format!("no file {}", ids[0])));

    // The account's devices: the one that registered, and this one.
    let devices = json(&alice.run(["devices", "--json"]));
    let devices = devices.as_array().unwrap();
    assert_eq!(devices.len(), 2);
    assert_eq!(devices.iter().filter(|d| d["current"] == true).count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_out_session_says_to_log_in_again() {
    let server = TestServer::start().await;
    let laptop = User::new(&server, "alice").await;
    laptop.login();
    let phone = User::existing(&server, "alice", &laptop.password);
    phone.login();
    // From the phone, sign the laptop out.
    let session = std::fs::read_to_string(laptop.config.path().join("session.json")).unwrap();
    let laptop_id = json(&session)["device_id"].as_str().unwrap().to_string();
    let devices = json(&phone.run(["devices", "--json"]));
    assert!(devices
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["id"] == laptop_id.as_str() && d["current"] == false));
    phone.run(["devices", "revoke", &laptop_id]);
    let line = laptop.fail(["ls"]);
    assert_eq!(
        line,
        "cloudbuffer: your session has expired or was signed out: run `cloudbuffer login` again"
    );
    // ... and then it is simply signed out.
    assert!(laptop.fail(["ls"]).contains("not signed in"));
    // Revoking this device from itself signs it out.
    let session = std::fs::read_to_string(phone.config.path().join("session.json")).unwrap();
    phone.run(["devices", "revoke", json(&session)["device_id"].as_str().unwrap()]);
    assert!(phone.fail(["stats"]).contains("not signed in"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_exit_2() {
    let server = TestServer::start().await;
    let alice = User::new(&server, "alice").await;
    for args in [
        vec!["ls", "extra"],
        vec!["share", "x", "--expires", "soon"],
        vec!["share", "x", "--expires", "10"],
        vec!["send"],
        vec!["frobnicate"],
        vec!["completions", "klingon"],
    ] {
        let out = alice.cmd(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        common::no_panic(&String::from_utf8_lossy(&out.stderr));
    }
    ok(&alice.cmd(["--help"]).output().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_are_printed() {
    let server = TestServer::start().await;
    let alice = User::new(&server, "alice").await;
    let bash = alice.run(["completions", "bash"]);
    assert!(bash.contains("_cloudbuffer()") && bash.contains("paste"), "{bash}");
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        assert!(alice.run(["completions", shell]).contains("cloudbuffer"));
    }
}
