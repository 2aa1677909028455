//! `cloudbuffer send` and `get` as processes: a 50 MB round trip, share
//! links (one-time, password), and bad input: missing files, full or
//! missing destinations, a server answering garbage, Ctrl-C mid-transfer.

mod common;

use std::io::Write;
use std::time::Duration;

use cloudbuffer_tests::TestServer;
use common::{failed, fake_server, first_line, hash_file, noise, ok, User};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_and_get_50_mb_by_id_and_by_link() {
    let server = TestServer::start().await;
    let alice = User::new(&server, "alice").await;
    alice.login();
    let data = noise(50 * 1024 * 1024, "fifty");
    std::fs::write(alice.path("big.bin"), &data).unwrap();
    let sent = blake3::hash(&data).to_hex().to_string();
    drop(data);

    let out = alice.cmd(["send", "big.bin", "--expires", "1h"]).output().unwrap();
    let stdout = ok(&out);
    let url = first_line(&stdout).to_string();
    assert!(url.starts_with(&format!("{}/s/", server.url)), "{stdout}");
    assert!(!stdout.contains('█'), "no QR code when stdout is not a terminal");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("big.bin (50 MiB)") && stderr.contains("expires in 59 min"), "{stderr}");

    let files: serde_json::Value = serde_json::from_str(&alice.run(["ls", "--json"])).unwrap();
    assert_eq!(files[0]["hash"], sent.as_str());
    let id = files[0]["id"].as_str().unwrap().to_string();

    // By id, into a folder.
    std::fs::create_dir(alice.path("by-id")).unwrap();
    let out = alice.cmd(["get", &id, "-o", "by-id"]).output().unwrap();
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("Saved big.bin (50 MiB)"));
    assert_eq!(hash_file(&alice.path("by-id/big.bin")), sent);

    // By link, by someone without an account, into the current folder.
    let stranger = User::existing(&server, "nobody", "-");
    let out = stranger.cmd(["get", &url]).output().unwrap();
    ok(&out);
    assert_eq!(hash_file(&stranger.path("big.bin")), sent);
    // Again: the name is taken, so it becomes "big (1).bin".
    stranger.run(["get", &url]);
    assert_eq!(hash_file(&stranger.path("big (1).bin")), sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_download_is_continued() {
    let server = TestServer::start().await;
    let alice = User::new(&server, "alice").await;
    alice.login();
    let data = noise(3_000_000, "resume");
    std::fs::write(alice.path("r.bin"), &data).unwrap();
    let id = alice.run(["send", "--no-share", "r.bin"]).trim().to_string();
    std::fs::create_dir(alice.path("dl")).unwrap();
    // What an interrupted download leaves: the first megabyte in the .part.
    std::fs::write(alice.path("dl/r.bin.part"), &data[..1_000_000]).unwrap();
    let out = alice.cmd(["get", &id, "-o", "dl"]).output().unwrap();
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("Continued the earlier partial download"));
    assert_eq!(std::fs::read(alice.path("dl/r.bin")).unwrap(), data);
    assert!(!alice.path("dl/r.bin.part").exists());
    // A .part that is already whole (or longer) starts over instead of
    // being refused with 416 on every try.
    let mut too_long = data.clone();
    too_long.extend_from_slice(b"junk");
    std::fs::write(alice.path("dl/again.bin.part"), &too_long).unwrap();
    alice.run(["get", &id, "-o", "dl/again.bin"]);
    assert_eq!(std::fs::read(alice.path("dl/again.bin")).unwrap(), data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_time_link_works_once() {
    let server = TestServer::start().await;
    let alice = User::new(&server, "alice").await;
    alice.login();
    std::fs::write(alice.path("secret.txt"), "for your eyes only").unwrap();
    let url = first_line(&alice.run(["send", "secret.txt", "--once"])).to_string();
    let bob = User::existing(&server, "bob", "-");
    bob.run(["get", &url, "-o", "first.txt"]);
    assert_eq!(std::fs::read_to_string(bob.path("first.txt")).unwrap(), "for your eyes only");
    assert_eq!(bob.fail(["get", &url, "-o", "second.txt"]), "cloudbuffer: this link's downloads are used up");
    assert!(!bob.path("second.txt").exists() && !bob.path("second.txt.part").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_link_needs_its_password() {
    let server = TestServer::start().await;
    let alice = User::new(&server, "alice").await;
    alice.login();
    std::fs::write(alice.path("plan.txt"), "the plan").unwrap();
    let out = alice
        .cmd(["send", "plan.txt", "--password"])
        .env("CLOUDBUFFER_SHARE_PASSWORD", "open sesame")
        .output()
        .unwrap();
    let url = first_line(&ok(&out)).to_string();
    assert!(String::from_utf8_lossy(&out.stderr).contains("password protected"));

    let bob = User::existing(&server, "bob", "-");
    assert!(bob.fail(["get", &url]).contains("protected by a password: add --password"));
    let out = bob.cmd(["get", &url, "--password"]).write_stdin("wrong\n").output().unwrap();
    assert_eq!(failed(&out, 1), "cloudbuffer: wrong password for this link");
    let out = bob.cmd(["get", &url]).env("CLOUDBUFFER_SHARE_PASSWORD", "open sesame").output().unwrap();
    ok(&out);
    let out = bob.cmd(["get", &url, "--password", "-o", "-"]).write_stdin("open sesame\n").output().unwrap();
    assert_eq!(ok(&out), "the plan");
    assert_eq!(std::fs::read_to_string(bob.path("plan.txt")).unwrap(), "the plan");
    assert!(!bob.path("plan (1).txt").exists(), "-o - wrote nothing to disk");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_files_and_unwritable_destinations() {
    let server = TestServer::start().await;
    let alice = User::new(&server, "alice").await;
    alice.login();
    let line = alice.fail(["send", "nothere.bin"]);
    assert!(line.starts_with("cloudbuffer: nothere.bin: ") && line.contains("No such file"), "{line}");
    assert!(alice.fail(["send", "."]).contains("not a file"));
    assert!(alice.fail(["copy", "--file", "nothere.bin"]).contains("nothere.bin"));
    assert!(alice.fail(["get", "0123456789abcdef01234567"]).contains("no file 0123456789abcdef01234567"));
    assert!(alice.fail(["get", "http://127.0.0.1:1/files/x"]).contains("is not a share link"));

    std::fs::write(alice.path("f.bin"), noise(300_000, "f")).unwrap();
    let id = alice.run(["send", "--no-share", "f.bin"]).trim().to_string();
    let line = alice.fail(["get", &id, "-o", "no/such/dir/f.bin"]);
    assert_eq!(line, "cloudbuffer: no/such/dir: no such folder");
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::FileTypeExt;
        let line = alice.fail(["get", &id, "-o", "/dev/full"]);
        assert!(line.contains("/dev/full") && line.contains("No space left on device"), "{line}");
        // The device is written to, never replaced by a renamed file.
        assert!(std::fs::metadata("/dev/full").unwrap().file_type().is_char_device());
        assert!(!std::path::Path::new("/dev/full.part").exists());
        alice.run(["copy", "--file", "f.bin"]);
        alice.run(["paste", "-o", "/dev/null"]);
        assert!(std::fs::metadata("/dev/null").unwrap().file_type().is_char_device());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_answering_garbage_is_a_clear_error() {
    let server = TestServer::start().await;
    let alice = User::new(&server, "alice").await;
    let not_json = fake_server(|_, stream| {
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 14\r\nConnection: close\r\n\r\n<html>hi</html>");
    });
    let bad_gateway = fake_server(|_, stream| {
        let _ = stream
            .write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbad");
    });
    let not_http = fake_server(|_, stream| {
        let _ = stream.write_all(b"SSH-2.0-OpenSSH_9.2\r\n");
    });
    for (fake, expected) in [
        (&not_json, "answered something unexpected"),
        (&bad_gateway, "answered something unexpected"),
        (&not_http, "answered something unexpected"),
    ] {
        let out = alice
            .cmd(["login", "--server", fake, "--username", "alice"])
            .env("CLOUDBUFFER_PASSWORD", &alice.password)
            .output()
            .unwrap();
        let line = failed(&out, 1);
        assert!(line.contains(expected), "{fake}: {line}");
    }
    // A signed-in session pointed at garbage.
    alice.login();
    let out = alice.cmd(["--server", &not_json, "ls"]).output().unwrap();
    let line = failed(&out, 1);
    assert!(line.contains(&format!("the server at {not_json} answered something unexpected")), "{line}");
    let out = alice.cmd(["get", &format!("{bad_gateway}/s/token")]).output().unwrap();
    assert!(failed(&out, 1).contains("answered something unexpected"));
}

/// A share link served slowly: headers for `size` bytes, then a trickle.
#[cfg(unix)]
fn slow_link(size: usize) -> String {
    let base = fake_server(move |_, stream| {
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {size}\r\nContent-Disposition: attachment; filename=\"slow.bin\"\r\n\r\n"
        );
        if stream.write_all(head.as_bytes()).is_err() {
            return;
        }
        for _ in 0..size / 4096 {
            if stream.write_all(&[1u8; 4096]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    format!("{base}/s/slowtoken")
}

#[cfg(unix)]
fn interrupt_after(child: &std::process::Child, wait: Duration) {
    std::thread::sleep(wait);
    let status = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_mid_download_exits_130_and_leaves_no_partial_file() {
    let server = TestServer::start().await;
    let bob = User::existing(&server, "bob", "-");
    let url = slow_link(4 * 1024 * 1024);
    let child = std::process::Command::new(common::cloudbuffer_bin())
        .args(["get", &url])
        .current_dir(bob.work.path())
        .env("CLOUDBUFFER_CONFIG_DIR", bob.config.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the download has started.
    let part = bob.path("slow.bin.part");
    let started = std::time::Instant::now();
    while !part.exists() && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(part.exists(), "the download started");
    let begun = std::time::Instant::now();
    interrupt_after(&child, Duration::from_millis(300));
    let out = child.wait_with_output().unwrap();
    assert!(begun.elapsed() < Duration::from_secs(5), "Ctrl-C ends it promptly");
    assert_eq!(failed(&out, 130), "cloudbuffer: interrupted");
    assert!(!bob.path("slow.bin").exists(), "nothing under the final name");
    assert!(!part.exists(), "a link's partial download cannot resume, so it is removed");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_mid_download_of_a_stored_file_keeps_the_part_to_resume() {
    let server = TestServer::start().await;
    let alice = User::new(&server, "alice").await;
    alice.login();
    // A stand-in for the server: the file's metadata, then slow bytes.
    let size = 4 * 1024 * 1024;
    let fake = fake_server(move |head, stream| {
        if head.starts_with("GET /api/v1/files/abc/content") {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {size}\r\nETag: \"h\"\r\nConnection: close\r\n\r\n"
            );
            let _ = stream.write_all(head.as_bytes());
            for _ in 0..size / 4096 {
                if stream.write_all(&[2u8; 4096]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        } else {
            let body = format!(
                r#"{{"id":"abc","name":"stored.bin","size":{size},"hash":"h","content_type":"application/octet-stream","created_at":"2030-01-01T00:00:00Z","expires_at":"2030-01-01T02:00:00Z","downloads":0}}"#
            );
            let _ = stream.write_all(
                format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}", body.len())
                    .as_bytes(),
            );
        }
    });
    let child = std::process::Command::new(common::cloudbuffer_bin())
        .args(["--server", &fake, "get", "abc"])
        .current_dir(alice.work.path())
        .env("CLOUDBUFFER_CONFIG_DIR", alice.config.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let part = alice.path("stored.bin.part");
    let started = std::time::Instant::now();
    while !part.exists() && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    interrupt_after(&child, Duration::from_millis(300));
    let out = child.wait_with_output().unwrap();
    let line = failed(&out, 130);
    assert!(line.contains("interrupted; the partial download is kept in stored.bin.part"), "{line}");
    assert!(!alice.path("stored.bin").exists(), "nothing under the final name");
    assert!(part.exists() && std::fs::metadata(&part).unwrap().len() < size as u64);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_mid_upload_exits_130() {
    // A server that takes the upload very slowly (reads a little, then waits).
    let server = TestServer::start().await;
    let alice = User::new(&server, "alice").await;
    alice.login();
    let fake = fake_server(|head, stream| {
        use std::io::Read;
        if head.starts_with("GET /api/v1/me") {
            let body = r#"{"id":"u","username":"alice","is_admin":false,"created_at":"2030-01-01T00:00:00Z","limits":{"max_files":20,"max_file_bytes":536870912,"quota_bytes":2147483648,"expiry_seconds":7200,"clip_history":50}}"#;
            let _ = stream.write_all(
                format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}", body.len())
                    .as_bytes(),
            );
            return;
        }
        let mut buf = [0u8; 4096];
        while let Ok(n) = stream.read(&mut buf) {
            if n == 0 {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    std::fs::write(alice.path("up.bin"), noise(32 * 1024 * 1024, "up")).unwrap();
    let child = std::process::Command::new(common::cloudbuffer_bin())
        .args(["--server", &fake, "send", "up.bin"])
        .current_dir(alice.work.path())
        .env("CLOUDBUFFER_CONFIG_DIR", alice.config.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let begun = std::time::Instant::now();
    interrupt_after(&child, Duration::from_millis(1500));
    let out = child.wait_with_output().unwrap();
    assert!(begun.elapsed() < Duration::from_secs(6), "Ctrl-C ends it promptly");
    assert_eq!(failed(&out, 130), "cloudbuffer: interrupted; up.bin was not uploaded");
}
