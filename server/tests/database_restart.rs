//! PostgreSQL itself stopped and started again under traffic: a cluster of
//! this test's own (`scripts/postgres.sh`), uploads streaming in all along.
//! While it is down every request is 503, never a panic or a 500; after it
//! is back the server serves again without a restart, and every upload that
//! was answered 201 is there, whole, and no other. Runs in the PostgreSQL
//! pass of `scripts/test.sh`; skipped (with a note) on SQLite.

mod common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{testdb, TestServer};
use reqwest::{Method, StatusCode};

/// A cluster of our own, stopped and removed on drop.
struct OwnPostgres {
    url: String,
    pid: String,
    dir: String,
    port: String,
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/postgres.sh")
}

/// Runs `body` in bash with scripts/postgres.sh sourced; its stdout.
fn sh(body: &str) -> String {
    let output = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!("source '{}' && {body}", script().display()))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run bash");
    assert!(output.status.success(), "{body}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

impl OwnPostgres {
    fn start() -> OwnPostgres {
        let out = sh(r#"pg_start >&2 && echo "$PG_URL $PG_PID $PG_DIR $PG_PORT""#);
        let parts: Vec<&str> = out.split_whitespace().collect();
        let [url, pid, dir, port] = parts[..] else { panic!("pg_start printed {out:?}") };
        OwnPostgres { url: url.into(), pid: pid.into(), dir: dir.into(), port: port.into() }
    }

    fn halt(&mut self) {
        sh(&format!("PG_PID={} && pg_halt", self.pid));
    }

    fn resume(&mut self) {
        self.pid =
            sh(&format!("PG_DIR='{}' && PG_PORT={} && pg_resume >&2 && echo $PG_PID", self.dir, self.port));
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let _ = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!(
                "source '{}' && PG_PID={} PG_DIR='{}' pg_stop",
                script().display(),
                self.pid,
                self.dir
            ))
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_and_started_under_traffic_loses_nothing() {
    if !testdb::is_postgres() {
        eprintln!("skipped: needs PostgreSQL ({} unset)", testdb::ENV);
        return;
    }
    let mut postgres = OwnPostgres::start();
    let url = postgres.url.clone();
    let server = Arc::new(
        TestServer::start_with(move |s| {
            s.database_url = Some(url);
            s.max_files = Some(100_000);
        })
        .await,
    );
    let alice = server.register("alice").await;

    let running = Arc::new(AtomicBool::new(true));
    let traffic = {
        let (server, alice, running) = (server.clone(), alice.clone(), running.clone());
        tokio::spawn(async move {
            let mut answers = Vec::new();
            let mut i = 0u32;
            while running.load(Ordering::SeqCst) {
                let name = format!("t{i}.txt");
                let body = format!("upload number {i}");
                let path = format!("/api/v1/files/{name}");
                let request = server.as_user(&alice, Method::PUT, &path).body(body.clone());
                let status = match request.timeout(Duration::from_secs(20)).send().await {
                    Ok(response) => response.status(),
                    Err(e) => panic!("upload {i}: no answer: {e}"),
                };
                answers.push((status, name, body));
                i += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            answers
        })
    };
    tokio::time::sleep(Duration::from_millis(800)).await;
    postgres.halt();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let down = server.as_user(&alice, Method::GET, "/api/v1/me").send().await.unwrap();
    assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
    postgres.resume();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let me = server.as_user(&alice, Method::GET, "/api/v1/me").send().await.unwrap();
        if me.status() == StatusCode::OK {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "not serving 20 s after PostgreSQL came back");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    running.store(false, Ordering::SeqCst);
    let answers = traffic.await.unwrap();

    let statuses: std::collections::BTreeMap<u16, usize> =
        answers.iter().fold(Default::default(), |mut m, (s, _, _)| {
            *m.entry(s.as_u16()).or_default() += 1;
            m
        });
    assert!(statuses.keys().all(|s| *s == 201 || *s == 503), "only 201 or 503 under an outage: {statuses:?}");
    assert!(statuses.get(&503).is_some_and(|n| *n > 0), "the outage was seen: {statuses:?}");
    let stored: Vec<_> = answers.iter().filter(|(s, _, _)| *s == StatusCode::CREATED).collect();
    let last = answers.last().unwrap();
    assert_eq!(last.0, StatusCode::CREATED, "uploads succeed again after: {statuses:?}");
    let files = server.files(&alice).await;
    assert_eq!(files.len(), stored.len(), "exactly the acknowledged uploads are recorded: {statuses:?}");
    for file in &files {
        let name = file["name"].as_str().unwrap();
        let (_, _, body) = stored.iter().find(|(_, n, _)| n == name).expect("an acknowledged name");
        let id = file["id"].as_str().unwrap();
        let content =
            server.as_user(&alice, Method::GET, &format!("/api/v1/files/{id}/content")).send().await;
        assert_eq!(&content.unwrap().text().await.unwrap(), body);
    }
    assert_eq!(server.pending_uploads(), 0, "no temp file left");
}
