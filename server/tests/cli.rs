//! Black-box tests of the `cloudbuffer-server` binary (rustypaste style:
//! spawn the process, talk HTTP): `--help`/`--version`/bad flags, the `user`
//! subcommands (add with the password from the environment or stdin, list,
//! admin rights, passwd, remove, and their errors), serving with
//! registration closed, configuration precedence (flag > env > file >
//! default) and bad config files, JSON logs, SIGTERM, and the clean-up of
//! a crash's leftovers at start.

mod support;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use support::{binary, run, Spawned};

/// `cloudbuffer-server --data-dir DIR user ARGS…` with an optional
/// `CLOUDBUFFER_PASSWORD`; (success, stdout, stderr).
fn user_cmd(data_dir: &Path, args: &[&str], password: Option<&str>) -> (bool, String, String) {
    let mut command = binary();
    command.args(support::data_dir_args(data_dir)).arg("user").args(args);
    if let Some(password) = password {
        command.env("CLOUDBUFFER_PASSWORD", password);
    }
    let (status, stdout, stderr) = run(&mut command);
    (status.success(), stdout, stderr)
}

/// `user list` as (name, is_admin) pairs.
fn list_users(data_dir: &Path) -> Vec<(String, bool)> {
    let (ok, stdout, stderr) = user_cmd(data_dir, &["list"], None);
    assert!(ok, "user list failed: {stderr}");
    let mut lines = stdout.lines();
    assert!(lines.next().is_some_and(|h| h.starts_with("USERNAME")), "header: {stdout}");
    lines
        .map(|line| {
            let columns: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(columns.len(), 3, "row {line:?}");
            assert!(matches!(columns[1], "yes" | "no"), "admin column in {line:?}");
            (columns[0].to_string(), columns[1] == "yes")
        })
        .collect()
}

/// A failed command: non-zero exit, one line on stderr naming the binary,
/// no panic or backtrace.
fn assert_clean_failure((ok, _stdout, stderr): (bool, String, String), mentions: &str) {
    assert!(!ok, "expected a failure, stderr: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line on stderr, got: {stderr}");
    assert!(lines[0].starts_with("cloudbuffer-server: "), "{stderr}");
    assert!(lines[0].contains(mentions), "{stderr:?} should mention {mentions:?}");
    assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"), "{stderr}");
}

#[test]
fn help_lists_every_documented_flag() {
    let (status, stdout, stderr) = run(binary().arg("--help"));
    assert!(status.success(), "--help failed: {stderr}");
    let flags = [
        ("--bind", "CLOUDBUFFER_BIND"),
        ("--data-dir", "CLOUDBUFFER_DATA_DIR"),
        ("--database-url", "CLOUDBUFFER_DATABASE_URL"),
        ("--public-url", "CLOUDBUFFER_PUBLIC_URL"),
        ("--expiry-seconds", "CLOUDBUFFER_EXPIRY_SECONDS"),
        ("--max-files", "CLOUDBUFFER_MAX_FILES"),
        ("--max-file-bytes", "CLOUDBUFFER_MAX_FILE_BYTES"),
        ("--quota-bytes", "CLOUDBUFFER_QUOTA_BYTES"),
        ("--clip-history", "CLOUDBUFFER_CLIP_HISTORY"),
        ("--registration", "CLOUDBUFFER_REGISTRATION"),
        ("--sweep-interval-seconds", "CLOUDBUFFER_SWEEP_INTERVAL_SECONDS"),
        ("--idle-timeout-seconds", "CLOUDBUFFER_IDLE_TIMEOUT_SECONDS"),
        ("--max-connections-per-address", "CLOUDBUFFER_MAX_CONNECTIONS_PER_ADDRESS"),
        ("--max-uploads-per-user", "CLOUDBUFFER_MAX_UPLOADS_PER_USER"),
        ("--max-event-sockets-per-user", "CLOUDBUFFER_MAX_EVENT_SOCKETS_PER_USER"),
        ("--config", "CLOUDBUFFER_CONFIG"),
    ];
    for (flag, env) in flags {
        assert!(stdout.contains(&format!("{flag} <")), "--help lacks {flag}:\n{stdout}");
        assert!(stdout.contains(env), "--help lacks {env}:\n{stdout}");
    }
    assert!(stdout.lines().any(|l| l.trim_start().starts_with("user ")), "--help lacks `user`:\n{stdout}");
    let (status, user_help, _) = run(binary().args(["user", "--help"]));
    assert!(status.success());
    for command in ["add", "list", "remove", "passwd", "set-admin"] {
        assert!(
            user_help.lines().any(|l| l.trim_start().starts_with(command)),
            "user {command}:\n{user_help}"
        );
    }
}

#[test]
fn version_and_unknown_flags() {
    let (status, stdout, _) = run(binary().arg("--version"));
    assert!(status.success());
    assert!(stdout.contains(env!("CARGO_PKG_VERSION")), "{stdout}");
    let (status, _, stderr) = run(binary().arg("--no-such-flag"));
    assert_eq!(status.code(), Some(2), "usage errors exit 2; stderr: {stderr}");
    assert!(stderr.contains("--no-such-flag"), "{stderr}");
    let (status, _, stderr) = run(binary().args(["--max-files", "many"]));
    assert_eq!(status.code(), Some(2), "{stderr}");
}

#[tokio::test]
async fn user_add_list_and_admin_rights() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    let (ok, stdout, stderr) = user_cmd(dir, &["add", "alice"], Some("alice-password"));
    assert!(ok && stderr.is_empty(), "add from env: {stderr}");
    assert!(stdout.contains("alice"), "{stdout}");
    // The password from stdin (no CLOUDBUFFER_PASSWORD, stdin not a terminal).
    let mut command = binary();
    command.args(support::data_dir_args(dir)).args(["user", "add", "bob"]).stdin(Stdio::piped());
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"bob-password\n").unwrap();
    }
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "add from stdin: {}", String::from_utf8_lossy(&output.stderr));
    let (ok, _, stderr) = user_cmd(dir, &["add", "--admin", "carol"], Some("carol-password"));
    assert!(ok, "{stderr}");

    let mut users = list_users(dir);
    users.sort();
    let expected = [("alice", false), ("bob", false), ("carol", true)];
    assert_eq!(users, expected.map(|(n, a)| (n.to_string(), a)));

    assert!(user_cmd(dir, &["set-admin", "alice"], None).0);
    assert!(user_cmd(dir, &["set-admin", "--revoke", "carol"], None).0);
    let admins: Vec<(String, bool)> = list_users(dir).into_iter().filter(|(_, admin)| *admin).collect();
    assert_eq!(admins, vec![("alice".to_string(), true)]);

    // Each password is the one given (stdin's line ending is not part of it).
    let server = Spawned::serve(dir, &[]).await;
    for (name, password, admin) in [("alice", "alice-password", true), ("bob", "bob-password", false)] {
        let me = server.me(&server.token(name, password).await).await;
        assert_eq!(me["is_admin"], admin, "{me}");
    }
    assert_eq!(server.login("bob", "bob-password\n").await.status(), StatusCode::UNAUTHORIZED);
}

#[test]
fn user_command_errors_are_one_clean_line() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    assert!(user_cmd(dir, &["add", "dave"], Some("dave-password")).0);
    assert_clean_failure(user_cmd(dir, &["remove", "nobody"], None), "nobody");
    assert_clean_failure(user_cmd(dir, &["add", "dave"], Some("another-password")), "already exists");
    assert_clean_failure(user_cmd(dir, &["add", "erin"], Some("short")), "8 characters");
    assert_clean_failure(user_cmd(dir, &["add", "bad name!"], Some("long enough password")), "user names");
    assert_clean_failure(user_cmd(dir, &["passwd", "nobody"], Some("long enough password")), "nobody");
    assert_clean_failure(user_cmd(dir, &["set-admin", "nobody"], None), "nobody");
    // The failures changed nothing.
    assert_eq!(list_users(dir), vec![("dave".to_string(), false)]);
}

#[tokio::test]
async fn closed_registration_and_command_line_accounts() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    assert!(user_cmd(dir, &["add", "--admin", "root"], Some("root-password")).0);
    let server = Spawned::serve(dir, &["--registration", "closed"]).await;
    let response = server.register("mallory", "mallory-password").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "registration_closed", "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));

    let token = server.token("root", "root-password").await;
    let me = server.me(&token).await;
    assert_eq!((me["username"].as_str(), me["is_admin"].as_bool()), (Some("root"), Some(true)), "{me}");

    // Added beside the running server, usable at once.
    assert!(user_cmd(dir, &["add", "frank"], Some("frank-password")).0);
    let frank = server.token("frank", "frank-password").await;
    assert_eq!(server.me(&frank).await["is_admin"], false);

    // passwd: the old password stops working, the new one works, and the
    // devices signed in before are signed out.
    let (ok, _, stderr) = user_cmd(dir, &["passwd", "frank"], Some("frank-new-password"));
    assert!(ok, "{stderr}");
    assert_eq!(server.login("frank", "frank-password").await.status(), StatusCode::UNAUTHORIZED);
    let stale = server.http.get(server.url("/api/v1/me")).bearer_auth(&frank).send().await.unwrap();
    assert_eq!(stale.status(), StatusCode::UNAUTHORIZED, "old sessions end with passwd");
    let frank = server.token("frank", "frank-new-password").await;
    assert_eq!(server.me(&frank).await["username"], "frank");

    // remove: no more logins, no more sessions.
    assert!(user_cmd(dir, &["remove", "frank"], None).0);
    assert_eq!(server.login("frank", "frank-new-password").await.status(), StatusCode::UNAUTHORIZED);
    let gone = server.http.get(server.url("/api/v1/me")).bearer_auth(&frank).send().await.unwrap();
    assert_eq!(gone.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(list_users(dir), vec![("root".to_string(), true)]);
}

/// Starts the binary with `args` and `env`, registers, returns `/me` limits.
async fn limits_with(args: &[&str], env: &[(&str, &str)]) -> Value {
    let data = tempfile::tempdir().unwrap();
    let port = support::free_port();
    let mut command = binary();
    command.args(support::serve_args(port, data.path())).args(args);
    for (key, value) in env {
        command.env(key, value);
    }
    let server = Spawned::start(command, port).await;
    let response = server.register("limits", "limits-password").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let tokens: Value = response.json().await.unwrap();
    let me = server.me(tokens["access_token"].as_str().unwrap()).await;
    me["limits"].clone()
}

#[tokio::test]
async fn configuration_precedence_is_flag_env_file_default() {
    let files = tempfile::tempdir().unwrap();
    let config = files.path().join("cloudbuffer.toml");
    std::fs::write(&config, "max_files = 7\nexpiry_seconds = 100\nclip_history = 5\n").unwrap();
    let config = config.to_str().unwrap();
    let env = [("CLOUDBUFFER_MAX_FILES", "8"), ("CLOUDBUFFER_CLIP_HISTORY", "6")];
    let with_file = ["--config", config];
    let with_flag = ["--config", config, "--max-files", "9"];
    let (defaults, file, file_env, all) = tokio::join!(
        limits_with(&[], &[]),
        limits_with(&with_file, &[]),
        limits_with(&with_file, &env),
        limits_with(&with_flag, &env),
    );
    let pick =
        |l: &Value| (l["max_files"].as_u64(), l["expiry_seconds"].as_u64(), l["clip_history"].as_u64());
    assert_eq!(pick(&defaults), (Some(20), Some(7200), Some(50)), "defaults: {defaults}");
    assert_eq!(pick(&file), (Some(7), Some(100), Some(5)), "file over defaults: {file}");
    assert_eq!(pick(&file_env), (Some(8), Some(100), Some(6)), "env over file: {file_env}");
    assert_eq!(pick(&all), (Some(9), Some(100), Some(6)), "flag over env: {all}");
    // The config file may also come from CLOUDBUFFER_CONFIG.
    let by_env = limits_with(&[], &[("CLOUDBUFFER_CONFIG", config)]).await;
    assert_eq!(pick(&by_env), (Some(7), Some(100), Some(5)), "{by_env}");
}

#[test]
fn invalid_config_files_fail_clearly() {
    let files = tempfile::tempdir().unwrap();
    let data = files.path().join("data");
    let cases = [
        ("unknown.toml", "max_files = 7\nmax_filez = 8\n", "max_filez"),
        ("syntax.toml", "max_files = = 7\n", "syntax.toml"),
        ("type.toml", "max_files = \"lots\"\n", "max_files"),
        ("zero.toml", "max_files = 0\n", "max_files"),
    ];
    for (name, text, mentions) in cases {
        let path = files.path().join(name);
        std::fs::write(&path, text).unwrap();
        let mut command = binary();
        // Not serve_args: on PostgreSQL it would create the data dir to
        // remember its database in.
        let bind = format!("127.0.0.1:{}", support::free_port());
        command.args(["--bind", &bind]).arg("--data-dir").arg(&data).arg("--config").arg(&path);
        let (status, _, stderr) = run(&mut command);
        assert!(!status.success(), "{name} was accepted");
        assert!(stderr.starts_with("cloudbuffer-server: "), "{name}: {stderr}");
        assert!(stderr.contains(mentions), "{name}: {stderr:?} should mention {mentions:?}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let missing = files.path().join("missing.toml");
    let (status, _, stderr) = run(binary().arg("--config").arg(&missing).args(["user", "list"]));
    assert!(!status.success() && stderr.contains("missing.toml"), "{stderr}");
    assert!(!data.exists(), "a refused configuration created the data dir");
}

#[tokio::test]
async fn json_log_format_writes_one_json_object_per_line() {
    let data = tempfile::tempdir().unwrap();
    let mut server = Spawned::serve(data.path(), &["--log-format", "json"]).await;
    assert_eq!(server.register("logger", "logger-password").await.status(), StatusCode::CREATED);
    let status = server.terminate(Duration::from_secs(10));
    assert!(status.success());
    let log = server.stderr();
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 3, "serving, registering and stopping are logged: {log}");
    for line in &lines {
        let value: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(value.is_object() && value["level"].is_string(), "{line}");
    }
    assert!(log.contains("user registered"), "{log}");
}

#[tokio::test]
async fn sigterm_stops_cleanly_and_the_data_survives_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let mut first = Spawned::serve(data.path(), &[]).await;
    let response = first.register("persist", "persist-password").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let token = response.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_string();
    let upload = first
        .http
        .put(first.url("/api/v1/files/kept.txt"))
        .bearer_auth(&token)
        .body("kept across restarts")
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), StatusCode::CREATED);
    let status = first.terminate(Duration::from_secs(5));
    assert_eq!(status.code(), Some(0), "SIGTERM exit; stderr: {}", first.stderr());
    assert!(first.stderr().contains("stopped"), "{}", first.stderr());

    let second = Spawned::serve(data.path(), &[]).await;
    let token = second.token("persist", "persist-password").await;
    let files: Vec<Value> = second
        .http
        .get(second.url("/api/v1/files"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(files.len(), 1);
    let id = files[0]["id"].as_str().unwrap();
    let content = second
        .http
        .get(second.url(&format!("/api/v1/files/{id}/content")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(content.text().await.unwrap(), "kept across restarts");
}

#[tokio::test]
async fn crash_leftovers_are_removed_at_start() {
    if support::testdb::is_s3() {
        return eprintln!("skipped: plants leftovers on the local disk (store_s3.rs covers the bucket)");
    }
    let data = tempfile::tempdir().unwrap();
    let store = data.path().join("store");
    // A first run stores one real file, so a referenced blob exists.
    let kept_hash = blake3::hash(b"referenced").to_hex().to_string();
    {
        let mut server = Spawned::serve(data.path(), &[]).await;
        let response = server.register("crash", "crash-password").await;
        let token = response.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_string();
        let put = server.http.put(server.url("/api/v1/files/r.txt")).bearer_auth(&token).body("referenced");
        assert_eq!(put.send().await.unwrap().status(), StatusCode::CREATED);
        assert!(server.terminate(Duration::from_secs(5)).success());
    }
    let kept = store.join(&kept_hash[..2]).join(&kept_hash);
    assert!(kept.is_file(), "the stored blob is at its address");
    // What a crash leaves: a temp file and a blob no row knows.
    let part = store.join("tmp").join("x.part");
    std::fs::write(&part, b"half an upload").unwrap();
    let orphan_hash = format!("ab{}", "0".repeat(62));
    std::fs::create_dir_all(store.join("ab")).unwrap();
    let orphan = store.join("ab").join(&orphan_hash);
    std::fs::write(&orphan, b"nobody refers to me").unwrap();
    // On PostgreSQL other instances may share the store: leftovers younger
    // than 15 minutes may be their uploads in flight and stay.
    let shared = support::testdb::is_postgres();
    let young_part = store.join("tmp").join("young.part");
    if shared {
        std::fs::write(&young_part, b"another instance's upload").unwrap();
        let an_hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
        for old in [&part, &orphan] {
            std::fs::File::options().write(true).open(old).unwrap().set_modified(an_hour_ago).unwrap();
        }
    }

    let _server = Spawned::serve(data.path(), &[]).await;
    assert!(!part.exists(), "the temp file survived the start");
    assert!(!orphan.exists(), "the unreferenced blob survived the start");
    assert!(kept.is_file(), "a referenced blob was removed");
    if shared {
        assert!(young_part.exists(), "a young temp file (maybe another instance's) was removed");
    }
}

/// A log that goes to a file (or the journal) is plain text: no colour
/// escape codes, which would arrive there as text.
#[tokio::test]
async fn logs_to_a_file_carry_no_colour_codes() {
    let data = tempfile::tempdir().unwrap();
    let server = Spawned::serve(data.path(), &[]).await;
    let log = server.stderr();
    assert!(log.contains("serving") && log.contains("address="), "the start-up line: {log}");
    assert!(!log.contains('\u{1b}'), "escape codes in a log file: {log:?}");
}
