//! The sync engine across outages: clips made while the server is down are
//! queued on disk and delivered exactly once when it is back; a crash
//! between sending and dequeuing does not send twice; an engine that was
//! away catches up from the history, and only once.

mod sync_common;

use std::sync::Arc;
use std::time::Duration;

use cloudbuffer_client::sync::{Connection, MemoryClipboard};
use sync_common::{assert_quiet_count, eventually, server_clips, start, two_devices};

const QUIET: Duration = Duration::from_millis(1500);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clips_made_while_the_server_is_down_are_delivered_exactly_once() {
    let (mut server, a, b) = two_devices().await;
    let (clip_a, clip_b) = (MemoryClipboard::new(), MemoryClipboard::new());
    let engine_a = start(a.engine(Arc::new(clip_a.clone()))).await;
    let engine_b = start(b.engine(Arc::new(clip_b.clone()))).await;
    clip_a.set_text("before the outage");
    eventually("B gets the first text", 15, || async {
        clip_b.text().as_deref() == Some("before the outage")
    })
    .await;

    server.stop().await;
    engine_a.wait_for(|s| matches!(s.connection, Connection::Offline { .. })).await;
    for (i, text) in ["offline 1", "offline 2", "offline 3"].iter().enumerate() {
        clip_a.set_text(text);
        engine_a.wait_for(|s| s.queued == i + 1).await;
    }
    let queued = std::fs::read_dir(a.queue_dir()).unwrap().count();
    assert_eq!(queued, 3, "three clips wait on disk");
    // Let a few reconnection attempts fail while the clips wait.
    tokio::time::sleep(Duration::from_millis(1200)).await;

    server.restart().await;
    eventually("B gets the last offline text", 15, || async {
        clip_b.text().as_deref() == Some("offline 3")
    })
    .await;
    assert_quiet_count(&a.client, QUIET, 4).await;
    assert_eq!(
        server_clips(&a.client).await,
        vec!["offline 3", "offline 2", "offline 1", "before the outage"],
        "each offline clip once, in order"
    );
    assert_eq!(std::fs::read_dir(a.queue_dir()).unwrap().count(), 0, "queue emptied");
    let status_a = engine_a.status().borrow().clone();
    assert_eq!((status_a.queued, status_a.sent), (0, 4), "{status_a:?}");
    assert!(status_a.connects >= 2, "{status_a:?}");
    // A keeps its last copy; B took the others and sent nothing.
    assert_eq!(clip_a.text().as_deref(), Some("offline 3"));
    assert_eq!(engine_b.status().borrow().sent, 0);

    // Still live after the restart, both ways.
    clip_b.set_text("after the outage");
    eventually("A gets B's text", 15, || async { clip_a.text().as_deref() == Some("after the outage") })
        .await;
    assert_quiet_count(&a.client, QUIET, 5).await;
    engine_a.stop().await.unwrap();
    engine_b.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clip_sent_just_before_a_crash_is_not_sent_again() {
    let (_server, a, _b) = two_devices().await;
    // The previous run sent "sent, then crashed" but died before removing
    // it from the queue; "never sent" was queued after it.
    a.client.copy_text("sent, then crashed").await.unwrap();
    std::fs::create_dir_all(a.queue_dir()).unwrap();
    std::fs::write(a.queue_dir().join("000000000000000000000001.txt"), "sent, then crashed").unwrap();
    std::fs::write(a.queue_dir().join("000000000000000000000002.txt"), "never sent").unwrap();

    let clip_a = MemoryClipboard::new();
    clip_a.set_text("never sent");
    let engine_a = start(a.engine(Arc::new(clip_a.clone()))).await;
    eventually("the queue is empty", 15, || async { engine_a.status().borrow().queued == 0 }).await;
    assert_quiet_count(&a.client, QUIET, 2).await;
    assert_eq!(server_clips(&a.client).await, vec!["never sent", "sent, then crashed"]);
    engine_a.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_that_was_away_catches_up_once() {
    let (server, a, b) = two_devices().await;
    let (clip_a, clip_b) = (MemoryClipboard::new(), MemoryClipboard::new());
    let engine_a = start(a.engine(Arc::new(clip_a.clone()))).await;

    // B is not running while A copies.
    clip_b.set_text("B's own old text");
    clip_a.set_text("copied while B was away");
    eventually("A sent it", 15, || async { engine_a.status().borrow().sent == 1 }).await;

    let engine_b = start(b.engine(Arc::new(clip_b.clone()))).await;
    eventually("B catches up", 15, || async { clip_b.text().as_deref() == Some("copied while B was away") })
        .await;
    engine_b.stop().await.unwrap();

    // Away again, with something else on B's clipboard: the clip B already
    // applied is not applied a second time, and B's local text is not sent
    // (it was there before the engine started).
    clip_b.set_text("B's newer local text");
    let engine_b = start(b.engine(Arc::new(clip_b.clone()))).await;
    tokio::time::sleep(QUIET).await;
    assert_eq!(clip_b.text().as_deref(), Some("B's newer local text"));
    assert_quiet_count(&a.client, Duration::ZERO, 1).await;

    // A clip made by a script (HTTP Basic, no device) while B's socket is
    // down reaches B after it reconnects.
    engine_b.stop().await.unwrap();
    let response = reqwest::Client::new()
        .put(format!("{}/api/v1/buffer", server.url))
        .basic_auth("alice", Some("password-of-alice"))
        .header("x-data-type", "text")
        .body("from a script")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let engine_b = start(b.engine(Arc::new(clip_b.clone()))).await;
    eventually("B catches up", 15, || async { clip_b.text().as_deref() == Some("from a script") }).await;
    eventually("A got it live", 15, || async { clip_a.text().as_deref() == Some("from a script") }).await;
    assert_quiet_count(&a.client, QUIET, 2).await;
    engine_a.stop().await.unwrap();
    engine_b.stop().await.unwrap();
}
