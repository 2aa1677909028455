//! Download counts are batched (`tally`): none is lost, this instance's
//! listings include its own downloads at once, the rest reach the database
//! within a moment and at shutdown; limited links still count exactly.
mod common;

use std::time::Duration;

use common::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn share(server: &TestServer, user: &common::TestUser, body: Value) -> String {
    let created = server.as_user(user, Method::POST, "/api/v1/shares").json(&body).send().await.unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    created.json::<Value>().await.unwrap()["url"].as_str().unwrap().to_string()
}

async fn get(server: &TestServer, user: &common::TestUser, path: &str) -> Value {
    let response = server.as_user(user, Method::GET, path).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_downloads_are_all_counted_for_file_owner_and_link() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let file = server.upload(&alice, "note.txt", "counted").await;
    let id = file["id"].as_str().unwrap().to_string();
    let url = share(&server, &alice, json!({"file_id": id})).await;
    let mut downloads = Vec::new();
    for i in 0..40 {
        let request = if i % 2 == 0 {
            server.http.get(format!("{url}/raw"))
        } else {
            server.as_user(&alice, Method::GET, &format!("/api/v1/files/{id}/content"))
        };
        downloads.push(tokio::spawn(async move { request.send().await.unwrap().text().await.unwrap() }));
    }
    for download in downloads {
        assert_eq!(download.await.unwrap(), "counted");
    }
    let info = get(&server, &alice, &format!("/api/v1/files/{id}")).await;
    assert_eq!(info["downloads"], 40, "{info}");
    let shares = get(&server, &alice, "/api/v1/shares").await;
    assert_eq!(shares[0]["downloads"], 20);
    let stats = get(&server, &alice, "/api/v1/stats").await;
    assert_eq!(stats["downloads"], 40, "{stats}");
    assert_eq!(stats["bytes_downloaded"], 40 * "counted".len());
}

#[tokio::test]
async fn counts_reach_the_database_by_themselves_and_survive_a_restart() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let file = server.upload(&alice, "a.txt", "abc").await;
    let id = file["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/files/{id}/content");
    assert_eq!(server.as_user(&alice, Method::GET, &path).send().await.unwrap().text().await.unwrap(), "abc");
    // No read asks for it: the periodic flush writes it.
    let mut written = false;
    for _ in 0..50 {
        let rows = server.state.db.files_by_ids(std::slice::from_ref(&id)).await.unwrap();
        if rows[0].downloads == 1 {
            written = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(written, "the count reached the database within a second");
    // One more, and stop at once: shutdown writes what is pending.
    assert_eq!(server.as_user(&alice, Method::GET, &path).send().await.unwrap().text().await.unwrap(), "abc");
    let dir = server.stop().await;
    let server = TestServer::start_in(dir, |_| {}).await;
    let info = get(&server, &alice, &format!("/api/v1/files/{id}")).await;
    assert_eq!(info["downloads"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limited_link_still_counts_exactly_under_concurrency() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let file = server.upload(&alice, "once.txt", "once").await;
    let url = share(&server, &alice, json!({"file_id": file["id"], "max_downloads": 3})).await;
    let mut downloads = Vec::new();
    for _ in 0..12 {
        let request = server.http.get(format!("{url}/raw"));
        // Read whole: a download cut off before its end does not count, and
        // gives its slot back.
        downloads.push(tokio::spawn(async move {
            let response = request.send().await.unwrap();
            (response.status(), response.text().await.unwrap())
        }));
    }
    let mut ok = 0;
    for download in downloads {
        match download.await.unwrap() {
            (StatusCode::OK, body) => {
                assert_eq!(body, "once");
                ok += 1;
            }
            (StatusCode::GONE, _) => {}
            (other, _) => panic!("unexpected {other}"),
        }
    }
    assert_eq!(ok, 3, "downloads of a 3-download link");
    // The exact count is written just after the last byte goes out.
    let mut counted = Value::Null;
    for _ in 0..50 {
        counted = get(&server, &alice, "/api/v1/shares").await[0]["downloads"].clone();
        if counted == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(counted, 3);
}
