//! Which database a test server uses. By default the server's own default,
//! an SQLite file in the test's data dir. With `CLOUDBUFFER_TEST_DATABASE_URL`
//! set to a PostgreSQL server the tests may create databases on (as
//! `scripts/test.sh` does), every data dir gets a fresh database of its own,
//! created on first use and remembered in the dir, so a restart over the
//! same dir finds the same database.
#![allow(dead_code)]

use std::path::Path;

/// The environment variable naming the PostgreSQL server for tests.
pub const ENV: &str = "CLOUDBUFFER_TEST_DATABASE_URL";

/// Where a data dir remembers its database.
const REMEMBERED: &str = "test-database-url";

/// True when the tests run against PostgreSQL.
pub fn is_postgres() -> bool {
    std::env::var(ENV).is_ok_and(|url| !url.is_empty())
}

/// The `--database-url` for `data_dir`, or `None` for the server's default.
pub fn database_url(data_dir: &Path) -> Option<String> {
    let admin_url = std::env::var(ENV).ok().filter(|url| !url.is_empty())?;
    let remembered = data_dir.join(REMEMBERED);
    if let Ok(url) = std::fs::read_to_string(&remembered) {
        return Some(url);
    }
    let name = format!("cb_test_{}", cloudbuffer_server::ids::random_hex(8));
    let url =
        format!("{}/{name}", admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(server, _)| server));
    // Called from sync and async code alike: a thread of its own with its
    // own runtime works under either.
    let admin = admin_url.clone();
    let create = name.clone();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async move {
            use sqlx::{Connection, Executor};
            let mut conn =
                sqlx::postgres::PgConnection::connect(&admin).await.expect("connect to the test PostgreSQL");
            conn.execute(format!("CREATE DATABASE \"{create}\"").as_str())
                .await
                .expect("create test database");
            conn.close().await.ok();
        })
    })
    .join()
    .expect("create test database");
    std::fs::create_dir_all(data_dir).expect("data dir");
    std::fs::write(&remembered, &url).expect("remember the test database");
    Some(url)
}

/// The environment variable naming the bucket for tests (`s3://BUCKET`).
pub const STORE_ENV: &str = "CLOUDBUFFER_TEST_STORE_URL";
/// The environment variable naming that bucket's endpoint.
pub const ENDPOINT_ENV: &str = "CLOUDBUFFER_TEST_S3_ENDPOINT";

/// Where a data dir remembers its store.
const REMEMBERED_STORE: &str = "test-store-url";

/// True when the tests keep blobs in an S3 bucket.
pub fn is_s3() -> bool {
    std::env::var(STORE_ENV).is_ok_and(|url| !url.is_empty())
}

/// The `--store-url` and `--s3-endpoint` for `data_dir`: with
/// `CLOUDBUFFER_TEST_STORE_URL` set, a prefix of its own in that bucket
/// (remembered in the dir, like the database), else the local default.
pub fn store_settings(data_dir: &Path) -> (Option<String>, Option<String>) {
    let Some(bucket_url) = std::env::var(STORE_ENV).ok().filter(|url| !url.is_empty()) else {
        return (None, None);
    };
    let endpoint = std::env::var(ENDPOINT_ENV).ok().filter(|url| !url.is_empty());
    let remembered = data_dir.join(REMEMBERED_STORE);
    if let Ok(url) = std::fs::read_to_string(&remembered) {
        return (Some(url), endpoint);
    }
    let url = format!("{}/t-{}", bucket_url.trim_end_matches('/'), cloudbuffer_server::ids::random_hex(8));
    std::fs::create_dir_all(data_dir).expect("data dir");
    std::fs::write(&remembered, &url).expect("remember the test store");
    (Some(url), endpoint)
}
