//! The S3 store against a real S3 server of the test's own (s3s-fs, which
//! checks request signatures): uploads in parts, aborts, a crashed
//! instance's leftovers, expiry, and the server going away under traffic.
//! Needs `CLOUDBUFFER_TEST_S3FS` (the binary; `scripts/test.sh` installs
//! it) and the `AWS_*` credentials it is started with; skipped without.

mod common;
mod support;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{blake3_hex, expect_error, pseudo_random, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::io::AsyncWriteExt;

/// One s3s-fs process over a temp dir; killed on drop.
struct S3Fs {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

const BUCKET: &str = "cb-test";

impl S3Fs {
    /// Starts one, or None (test skipped) without the binary or credentials.
    async fn start() -> Option<S3Fs> {
        let bin = std::env::var_os("CLOUDBUFFER_TEST_S3FS").map(PathBuf::from);
        let creds =
            std::env::var("AWS_ACCESS_KEY_ID").is_ok() && std::env::var("AWS_SECRET_ACCESS_KEY").is_ok();
        let Some(bin) = bin.filter(|_| creds) else {
            eprintln!(
                "skipped: needs CLOUDBUFFER_TEST_S3FS and AWS_* credentials (scripts/test.sh sets them)"
            );
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(BUCKET)).unwrap();
        let mut s3 = S3Fs { bin, dir, port: support::free_port(), child: None };
        s3.resume().await;
        Some(s3)
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The `--store-url` of a fresh prefix.
    fn store_url(&self) -> String {
        format!("s3://{BUCKET}/t-{}", cloudbuffer_server::ids::random_hex(4))
    }

    /// Starts it (again) on the same port and folder.
    async fn resume(&mut self) {
        let child = Command::new(&self.bin)
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--access-key", &std::env::var("AWS_ACCESS_KEY_ID").unwrap()])
            .args(["--secret-key", &std::env::var("AWS_SECRET_ACCESS_KEY").unwrap()])
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start s3s-fs");
        self.child = Some(child);
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("s3s-fs did not start");
    }

    /// Stops it (SIGKILL: the store vanishes, as a crash or partition would).
    fn halt(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().ok();
            child.wait().ok();
        }
    }

    /// Parts of multipart uploads neither completed nor aborted.
    fn open_parts(&self) -> usize {
        std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with(".upload_id-"))
            .count()
    }

    /// A test server on a fresh prefix of this store.
    async fn server(&self, adjust: impl FnOnce(&mut cloudbuffer_server::config::Settings)) -> TestServer {
        let (url, endpoint) = (self.store_url(), self.endpoint());
        TestServer::start_with(move |s| {
            s.store_url = Some(url);
            s.s3_endpoint = Some(endpoint);
            adjust(s);
        })
        .await
    }
}

impl Drop for S3Fs {
    fn drop(&mut self) {
        self.halt();
    }
}

/// Every key under the server's prefix, whatever it is for.
async fn all_keys(server: &TestServer) -> Vec<String> {
    use futures_util::TryStreamExt;
    use object_store::ObjectStore;
    let cloudbuffer_server::store::StoreLocation::S3 { bucket, prefix, endpoint } =
        &server.state.config.store
    else {
        panic!("not an S3 store");
    };
    let client = object_store::aws::AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_endpoint(endpoint.clone().unwrap())
        .with_allow_http(true)
        .with_region("us-east-1")
        .build()
        .unwrap();
    let listed: Vec<_> = client.list(Some(&prefix.as_str().into())).try_collect().await.unwrap();
    listed.into_iter().map(|meta| meta.location.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_big_upload_goes_up_in_parts_and_comes_back_whole_in_ranges_and_deduplicated() {
    let Some(s3) = S3Fs::start().await else { return };
    let server = s3.server(|_| {}).await;
    let alice = server.register("alice").await;
    let bytes = pseudo_random(20 << 20, 1);
    let file = server.upload(&alice, "big.bin", bytes.clone()).await;
    assert_eq!(file["hash"], blake3_hex(&bytes));
    let path = format!("/api/v1/files/{}/content", file["id"].as_str().unwrap());
    let whole = server.as_user(&alice, Method::GET, &path).send().await.unwrap();
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(whole.headers()["content-length"], (20 << 20).to_string().as_str());
    assert!(whole.bytes().await.unwrap() == bytes, "the download is the upload");
    // Resume from a byte in the middle of a part boundary's neighbourhood.
    let from = (8 << 20) - 10;
    let rest = server.as_user(&alice, Method::GET, &path).header("range", format!("bytes={from}-")).send();
    let rest = rest.await.unwrap();
    assert_eq!(rest.status(), StatusCode::PARTIAL_CONTENT);
    assert!(rest.bytes().await.unwrap() == bytes[from..], "the range is the upload's tail");
    // The same content again is the same blob.
    server.upload(&alice, "again.bin", bytes.clone()).await;
    assert_eq!(server.stored_blobs(), vec![blake3_hex(&bytes)]);
    assert_eq!(server.pending_uploads(), 0, "no upload record left");
    assert_eq!(s3.open_parts(), 0, "no multipart upload left open");
    let keys = all_keys(&server).await;
    assert_eq!(keys.len(), 1, "only the blob is in the bucket: {keys:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_big_upload_cut_off_after_some_parts_is_aborted_and_leaves_nothing() {
    let Some(s3) = S3Fs::start().await else { return };
    let server = s3.server(|_| {}).await;
    let user = server.register("cutoff").await;
    let mut stream = tokio::net::TcpStream::connect(support::host_of(&server.base)).await.unwrap();
    let head = format!(
        "PUT /api/v1/files/cut.bin HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {}\r\n\
         Content-Length: {}\r\n\r\n",
        user.access_token,
        40 << 20
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&pseudo_random(20 << 20, 2)).await.unwrap();
    stream.flush().await.unwrap();
    let mut recorded = false;
    for _ in 0..100 {
        if server.pending_uploads() == 1 && s3.open_parts() > 0 {
            recorded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(recorded, "parts were sent and the upload recorded while it ran");
    drop(stream);
    let mut clean = false;
    for _ in 0..100 {
        if server.pending_uploads() == 0 && s3.open_parts() == 0 {
            clean = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(clean, "the multipart upload was aborted and its record removed");
    assert!(server.files(&user).await.is_empty());
    assert!(all_keys(&server).await.is_empty(), "nothing in the bucket");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_empties_the_bucket() {
    let Some(s3) = S3Fs::start().await else { return };
    let server = s3.server(|s| s.expiry_seconds = Some(1)).await;
    let alice = server.register("alice").await;
    server.upload(&alice, "small.txt", "small").await;
    server.upload(&alice, "big.bin", pseudo_random(9 << 20, 3)).await;
    assert_eq!(server.stored_blobs().len(), 2);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let purged = cloudbuffer_server::sweeper::sweep_once(&server.state).await.unwrap();
    assert_eq!(purged, 2);
    assert!(all_keys(&server).await.is_empty(), "the expired blobs left the bucket");
}

/// An instance of the binary on PostgreSQL (the database of `data`) and
/// `store_url`, with a 3 s orphan grace and a sweep every second.
fn sibling(data: &std::path::Path, store_url: &str, endpoint: &str) -> (Command, u16) {
    let port = support::free_port();
    let mut command = support::binary();
    command.args(["--bind", &format!("127.0.0.1:{port}"), "--auth-attempts-per-minute", "1000"]);
    command.arg("--data-dir").arg(data);
    command.args(["--database-url", &common::testdb::database_url(data).unwrap()]);
    command.args(["--store-url", store_url, "--s3-endpoint", endpoint]);
    command.args(["--orphan-grace-seconds", "3", "--sweep-interval-seconds", "1"]);
    (command, port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_instance_leaves_nothing_referenced_and_its_leftovers_go_after_the_grace() {
    if !common::testdb::is_postgres() {
        return eprintln!("skipped: two live instances need PostgreSQL");
    }
    let Some(s3) = S3Fs::start().await else { return };
    let data = tempfile::tempdir().unwrap();
    let (store_url, endpoint) = (s3.store_url(), s3.endpoint());
    let instance = || sibling(data.path(), &store_url, &endpoint);
    let (command, port) = instance();
    let mut a = support::Spawned::start(command, port).await;
    let (command, port) = instance();
    let b = support::Spawned::start(command, port).await;
    assert_eq!(a.register("kim", "kim-password").await.status(), StatusCode::CREATED);
    let token = b.token("kim", "kim-password").await;
    let mut upload = tokio::net::TcpStream::connect(a.addr).await.unwrap();
    let head = format!(
        "PUT /api/v1/files/big.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\n\r\n",
        40 << 20
    );
    upload.write_all(head.as_bytes()).await.unwrap();
    upload.write_all(&pseudo_random(20 << 20, 4)).await.unwrap();
    for _ in 0..100 {
        if s3.open_parts() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    a.kill();
    assert!(s3.open_parts() > 0, "the crash left parts behind");
    let files = b.http.get(b.url("/api/v1/files")).bearer_auth(&token).send().await.unwrap();
    assert!(
        files.json::<Vec<Value>>().await.unwrap().is_empty(),
        "nothing of the cut upload is visible on B"
    );
    // B's sweep aborts the upload once its record is older than the grace.
    let mut cleaned = false;
    for _ in 0..400 {
        if s3.open_parts() == 0 {
            cleaned = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(cleaned, "the crashed instance's parts were aborted after the grace period");
    // B still works on the same bucket.
    let put = b.http.put(b.url("/api/v1/files/after.txt")).bearer_auth(&token).body("after the crash");
    assert_eq!(put.send().await.unwrap().status(), StatusCode::CREATED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_slower_than_the_grace_survive_the_siblings_sweeps_and_complete() {
    if !common::testdb::is_postgres() {
        return eprintln!("skipped: two live instances need PostgreSQL");
    }
    let Some(s3) = S3Fs::start().await else { return };
    let data = tempfile::tempdir().unwrap();
    let (store_url, endpoint) = (s3.store_url(), s3.endpoint());
    let (command, port) = sibling(data.path(), &store_url, &endpoint);
    let a = support::Spawned::start(command, port).await;
    let (command, port) = sibling(data.path(), &store_url, &endpoint);
    let b = support::Spawned::start(command, port).await;
    assert_eq!(a.register("kim", "kim-password").await.status(), StatusCode::CREATED);
    let token = b.token("kim", "kim-password").await;
    // One upload into each instance, so that whichever holds the sweeper
    // lease, the other's upload is a sibling's: 24 MiB at 2 MiB/s, its
    // record (written with the first 8 MiB part) 8 s old at the end, while
    // the sweeps abort records older than 3 s.
    let slow_upload = |addr: std::net::SocketAddr, name: &'static str, seed: u64| {
        let token = token.clone();
        tokio::spawn(async move {
            let bytes = pseudo_random(24 << 20, seed);
            let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            let head = format!(
                "PUT /api/v1/files/{name} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
                 Content-Length: {}\r\n\r\n",
                bytes.len()
            );
            stream.write_all(head.as_bytes()).await.unwrap();
            for chunk in bytes.chunks(1 << 20) {
                stream.write_all(chunk).await.unwrap();
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            (support::read_response(&mut stream).await, blake3_hex(&bytes))
        })
    };
    let into_a = slow_upload(a.addr, "into-a.bin", 6);
    let into_b = slow_upload(b.addr, "into-b.bin", 7);
    for (upload, other) in [(into_a, &b), (into_b, &a)] {
        let (response, hash) = upload.await.unwrap();
        if response.status != 201 {
            panic!("not stored: {:?}\nA: {}\nB: {}", response.json(), a.stderr(), b.stderr());
        }
        let file = response.json();
        assert_eq!(file["hash"], hash);
        let path = format!("/api/v1/files/{}/content", file["id"].as_str().unwrap());
        let body = other.http.get(other.url(&path)).bearer_auth(&token).send().await.unwrap();
        assert_eq!(blake3_hex(&body.bytes().await.unwrap()), hash, "it downloads whole from the other");
    }
    assert_eq!(s3.open_parts(), 0, "no multipart upload left open");
    // Settled: no temp object or record is left for a sweep to find.
    let prefix = s3.dir.path().join(BUCKET).join(store_url.rsplit('/').next().unwrap());
    let empty = |dir: &str| std::fs::read_dir(prefix.join(dir)).map_or(true, |mut d| d.next().is_none());
    let mut settled = false;
    for _ in 0..100 {
        if empty("tmp") && empty("uploads") {
            settled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(settled, "the uploads' temp objects and records were removed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_going_away_under_traffic_is_503_and_everything_recovers() {
    let Some(mut s3) = S3Fs::start().await else { return };
    // Room for all the traffic's files: the first one must not be evicted.
    let server = s3.server(|s| s.max_files = Some(100_000)).await;
    let alice = server.register("alice").await;
    let before = pseudo_random(100_000, 5);
    let kept = server.upload(&alice, "before.bin", before.clone()).await;
    let kept_path = format!("/api/v1/files/{}/content", kept["id"].as_str().unwrap());

    // Traffic throughout: uploads and downloads, every status recorded.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let traffic = {
        let (http, base, token, path, stop) = (
            server.http.clone(),
            server.base.clone(),
            alice.access_token.clone(),
            kept_path.clone(),
            stop.clone(),
        );
        tokio::spawn(async move {
            let mut statuses = Vec::new();
            let mut i = 0u64;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                i += 1;
                let put = http.put(format!("{base}/api/v1/files/t{i}.bin")).bearer_auth(&token);
                if let Ok(r) = put.body(pseudo_random(50_000, i)).send().await {
                    statuses.push(r.status().as_u16());
                }
                if let Ok(r) = http.get(format!("{base}{path}")).bearer_auth(&token).send().await {
                    statuses.push(r.status().as_u16());
                }
            }
            statuses
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    s3.halt();
    let response =
        server.as_user(&alice, Method::PUT, "/api/v1/files/during.bin").body("x".repeat(1000)).send();
    let response = response.await.unwrap();
    assert_eq!(response.headers()["retry-after"], "5");
    expect_error(response, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    let download = server.as_user(&alice, Method::GET, &kept_path).send().await.unwrap();
    expect_error(download, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    let health = server.request(Method::GET, "/healthz").send().await.unwrap();
    assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(health.json::<Value>().await.unwrap()["store"]["status"], "unavailable");

    s3.resume().await;
    let mut healthy = false;
    for _ in 0..100 {
        if server.request(Method::GET, "/healthz").send().await.unwrap().status() == StatusCode::OK {
            healthy = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(healthy, "/healthz recovers with the store");
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let statuses = traffic.await.unwrap();
    assert!(statuses.iter().all(|s| [200, 201, 503].contains(s)), "only successes and 503s: {statuses:?}");
    assert!(statuses.contains(&503), "the outage was seen");
    assert!(statuses.iter().rev().take(2).all(|s| *s != 503), "the last requests succeeded");

    // Nothing half-visible: every listed file downloads whole.
    let files = server.files(&alice).await;
    for file in &files {
        let path = format!("/api/v1/files/{}/content", file["id"].as_str().unwrap());
        let body = server.as_user(&alice, Method::GET, &path).send().await.unwrap().bytes().await.unwrap();
        assert_eq!(blake3_hex(&body), file["hash"], "{} downloads whole", file["name"]);
    }
    let after = server.as_user(&alice, Method::GET, &kept_path).send().await.unwrap();
    assert!(after.bytes().await.unwrap() == before);
}
