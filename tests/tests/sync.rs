//! Two sync engines ("devices" A and B of one user, each with its own
//! in-memory clipboard) against a real server: clips travel both ways,
//! nothing echoes back, secrets stay home, images travel as PNG.

mod sync_common;

use std::sync::Arc;
use std::time::Duration;

use cloudbuffer_client::sync::{Image, MemoryClipboard};
use cloudbuffer_protocol::ClipKind;
use sync_common::{assert_quiet_count, eventually, server_clips, start, two_devices};

const QUIET: Duration = Duration::from_millis(1500);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_devices_exchange_text_both_ways_without_echo() {
    let (_server, a, b) = two_devices().await;
    let (clip_a, clip_b) = (MemoryClipboard::new(), MemoryClipboard::new());
    let engine_a = start(a.engine(Arc::new(clip_a.clone()))).await;
    let engine_b = start(b.engine(Arc::new(clip_b.clone()))).await;

    clip_a.set_text("hello from A");
    eventually("B gets A's text", 5, || async { clip_b.text().as_deref() == Some("hello from A") }).await;
    clip_b.set_text("reply from B");
    eventually("A gets B's text", 5, || async { clip_a.text().as_deref() == Some("reply from B") }).await;

    // Line endings differ between platforms: still the same content, no echo.
    clip_a.set_text("line 1\r\nline 2\r\n");
    eventually("B gets the CRLF text", 5, || async {
        clip_b.text().as_deref() == Some("line 1\r\nline 2\r\n")
    })
    .await;

    // Longer than the 200-character preview: B fetches the whole text.
    let long: String = (0..300).map(|i| char::from(b'a' + (i % 26) as u8)).collect::<String>() + " ünïcødé";
    clip_b.set_text(&long);
    eventually("A gets the long text", 5, || async { clip_a.text().as_deref() == Some(long.as_str()) }).await;

    assert_quiet_count(&a.client, QUIET, 4).await;
    assert_eq!(
        server_clips(&a.client).await,
        vec![long.clone(), "line 1\r\nline 2\r\n".into(), "reply from B".into(), "hello from A".into()]
    );
    let (status_a, status_b) = (engine_a.status().borrow().clone(), engine_b.status().borrow().clone());
    assert_eq!((status_a.sent, status_a.received), (2, 2), "{status_a:?}");
    assert_eq!((status_b.sent, status_b.received), (2, 2), "{status_b:?}");
    assert_eq!((status_a.connects, status_b.connects), (1, 1));
    engine_a.stop().await.unwrap();
    engine_b.stop().await.unwrap();
}

fn gradient(width: usize, height: usize) -> Image {
    let mut rgba = Vec::with_capacity(width * height * 4);
    for y in 0..height {
        for x in 0..width {
            rgba.extend_from_slice(&[(x * 255 / width) as u8, (y * 255 / height) as u8, 128, (x + y) as u8]);
        }
    }
    Image { width, height, rgba }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_travel_as_png_and_do_not_echo() {
    let (_server, a, b) = two_devices().await;
    let (clip_a, clip_b) = (MemoryClipboard::new(), MemoryClipboard::new());
    let engine_a = start(a.engine(Arc::new(clip_a.clone()))).await;
    let engine_b = start(b.engine(Arc::new(clip_b.clone()))).await;

    let image = gradient(120, 80);
    clip_a.set_image(image.clone());
    eventually("B gets the image", 5, || async { clip_b.image().is_some() }).await;
    assert_eq!(clip_b.image().unwrap(), image, "same pixels");
    assert_eq!(clip_b.text(), None);

    // B's engine set the image itself: re-reading it is not a change.
    assert_quiet_count(&a.client, QUIET, 1).await;
    let clip = a.client.clips().await.unwrap().remove(0);
    assert_eq!(clip.kind, ClipKind::File);
    let file = clip.file.unwrap();
    assert!(file.name.starts_with("clipboard-") && file.name.ends_with(".png"), "{}", file.name);
    assert_eq!(file.content_type, "image/png");

    // And back: an image copied on B reaches A, a text after it too.
    let other = gradient(33, 7);
    clip_b.set_image(other.clone());
    eventually("A gets B's image", 5, || async { clip_a.image().as_ref() == Some(&other) }).await;
    clip_a.set_text("text after images");
    eventually("B gets the text", 5, || async { clip_b.text().as_deref() == Some("text after images") })
        .await;
    assert_quiet_count(&a.client, QUIET, 3).await;
    engine_a.stop().await.unwrap();
    engine_b.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concealed_content_is_never_sent() {
    let (_server, a, b) = two_devices().await;
    let (clip_a, clip_b) = (MemoryClipboard::new(), MemoryClipboard::new());
    let engine_a = start(a.engine(Arc::new(clip_a.clone()))).await;
    let engine_b = start(b.engine(Arc::new(clip_b.clone()))).await;

    clip_a.set_concealed_text("hunter2-the-password");
    engine_a.wait_for(|s| s.concealed_skipped == 1).await;
    clip_a.set_text("an ordinary text");
    eventually("B gets the ordinary text", 5, || async {
        clip_b.text().as_deref() == Some("an ordinary text")
    })
    .await;
    assert_quiet_count(&a.client, QUIET, 1).await;
    assert_eq!(server_clips(&a.client).await, vec!["an ordinary text".to_string()]);
    assert_eq!(engine_a.status().borrow().concealed_skipped, 1);
    let queued: Vec<_> = std::fs::read_dir(a.queue_dir()).unwrap().collect();
    assert!(queued.is_empty(), "nothing secret was ever written to the queue: {queued:?}");
    engine_a.stop().await.unwrap();
    engine_b.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_polling_engine_picks_up_changes_within_the_poll_interval() {
    let (_server, a, b) = two_devices().await;
    let (clip_a, clip_b) = (MemoryClipboard::polling(), MemoryClipboard::polling());
    let engine_a = start(a.engine(Arc::new(clip_a.clone())).poll_interval(Duration::from_millis(250))).await;
    let engine_b = start(b.engine(Arc::new(clip_b.clone())).poll_interval(Duration::from_millis(250))).await;
    let started = std::time::Instant::now();
    clip_a.set_text("polled");
    eventually("B gets the polled text", 5, || async { clip_b.text().as_deref() == Some("polled") }).await;
    let took = started.elapsed();
    assert!(took < Duration::from_millis(1000), "took {took:?}");
    clip_b.set_image(gradient(10, 10));
    eventually("A gets the polled image", 5, || async { clip_a.image().is_some() }).await;
    assert_quiet_count(&a.client, QUIET, 2).await;
    // Idle polling reads text 4 times a second, the unchanged image less and less often.
    let reads = clip_b.reads();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let per_second = (clip_b.reads() - reads) as f64 / 2.0;
    assert!(per_second <= 6.0, "{per_second} reads per second");
    engine_a.stop().await.unwrap();
    engine_b.stop().await.unwrap();
}
