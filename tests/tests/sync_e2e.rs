//! Two sync engines of one account with end-to-end encryption on (issue
//! 17): text and images travel both ways encrypted and land decrypted on
//! the other clipboard, nothing echoes back, the server keeps only
//! ciphertext, and a third device without the key neither applies nor
//! sends anything.

mod sync_common;

use std::sync::Arc;
use std::time::Duration;

use cloudbuffer_client::crypto::{AccountKey, KdfParams};
use cloudbuffer_client::sync::{Image, MemoryClipboard};
use cloudbuffer_tests::secrets::{assert_data_dir_clean, key_needles, text_needle};
use sync_common::{assert_quiet_count, eventually, start, two_devices, Device};
use tokio::time::sleep;

const QUIET: Duration = Duration::from_millis(1500);

fn gradient(width: usize, height: usize) -> Image {
    let mut rgba = Vec::with_capacity(width * height * 4);
    for y in 0..height {
        for x in 0..width {
            rgba.extend_from_slice(&[(x * 255 / width) as u8, (y * 255 / height) as u8, 77, 255]);
        }
    }
    Image { width, height, rgba }
}

/// Encryption on for the account (as `cloudbuffer e2e enable` does), and
/// both devices holding the key.
async fn keyed(a: Device, b: Device) -> (Device, Device, AccountKey) {
    let key = AccountKey::generate().unwrap();
    let wrapped = key.wrap(b"a sync passphrase", KdfParams::INSECURE_FOR_TESTS).unwrap();
    a.client.put_e2e_key(serde_json::to_value(&wrapped).unwrap(), 0).await.unwrap();
    let a = Device { client: a.client.with_account_key(key.clone()), dir: a.dir };
    let b = Device { client: b.client.with_account_key(key.clone()), dir: b.dir };
    (a, b, key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_engines_exchange_encrypted_clips_both_ways() {
    let (server, a, b) = two_devices().await;
    let (a, b, key) = keyed(a, b).await;
    let (clip_a, clip_b) = (MemoryClipboard::new(), MemoryClipboard::new());
    let engine_a = start(a.engine(Arc::new(clip_a.clone()))).await;
    let engine_b = start(b.engine(Arc::new(clip_b.clone()))).await;

    let canary = format!("CANARY-sync-{}", std::process::id());
    let hello = format!("hello from A {canary}");
    clip_a.set_text(&hello);
    eventually("B gets A's text", 10, || async { clip_b.text().as_deref() == Some(hello.as_str()) }).await;
    // Longer than the preview: B reads the whole (encrypted) text.
    let reply = format!("{} reply from B {canary}", "long ".repeat(60));
    clip_b.set_text(&reply);
    eventually("A gets B's text", 10, || async { clip_a.text().as_deref() == Some(reply.as_str()) }).await;
    let image = gradient(90, 60);
    clip_a.set_image(image.clone());
    eventually("B gets A's image", 10, || async { clip_b.image().as_ref() == Some(&image) }).await;

    // Our own clips came back as events and were not applied or sent again.
    assert_quiet_count(&a.client, QUIET, 3).await;
    let clips = a.client.clips().await.unwrap();
    assert!(clips.iter().all(|c| c.encrypted), "the server holds encrypted clips: {clips:?}");
    let preview = clips[1].preview.clone().expect("an encrypted preview");
    assert!(!preview.contains("reply from B"), "{preview}");
    assert_eq!(a.client.reveal_clip(&clips[1]).unwrap().preview.unwrap(), reply[..200]);
    let file = a.client.reveal_file(clips[0].file.as_ref().unwrap()).unwrap();
    assert!(file.name.starts_with("clipboard-") && file.name.ends_with(".png"), "{}", file.name);
    assert_eq!(file.content_type, "image/png");
    let (status_a, status_b) = (engine_a.status().borrow().clone(), engine_b.status().borrow().clone());
    assert_eq!((status_a.sent, status_a.received), (2, 1), "{status_a:?}");
    assert_eq!((status_b.sent, status_b.received), (1, 2), "{status_b:?}");

    // A third device without the key: it reports the clips it cannot open,
    // writes none of them, and drops what it would have sent in the clear.
    let password = "password-of-alice";
    let c = Device::login(&server, "alice", password, "device C").await;
    let clip_c = MemoryClipboard::new();
    clip_c.set_text("already here");
    let engine_c = start(c.engine(Arc::new(clip_c.clone()))).await;
    clip_a.set_text("one more from A");
    eventually("B gets the next text", 10, || async { clip_b.text().as_deref() == Some("one more from A") })
        .await;
    eventually("C reports a locked clip", 10, || async {
        engine_c.status().borrow().last_error.as_deref().is_some_and(|e| e.contains("encrypted (locked)"))
    })
    .await;
    assert_eq!(clip_c.text().as_deref(), Some("already here"));
    clip_c.set_text("plaintext that must not go out");
    eventually("C refuses to send", 10, || async {
        engine_c.status().borrow().last_error.as_deref().is_some_and(|e| e.contains("cloudbuffer e2e unlock"))
            && engine_c.status().borrow().queued == 0
    })
    .await;
    assert_quiet_count(&a.client, QUIET, 4).await;
    assert_eq!(engine_c.status().borrow().sent, 0);

    let mut needles = key_needles("the account key", key.as_bytes());
    needles.push(text_needle("the canary", &canary));
    needles.push(text_needle("C's plaintext", "plaintext that must not go out"));
    assert_data_dir_clean(server.data_dir(), &needles);
    for engine in [engine_a, engine_b, engine_c] {
        engine.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_files_reach_the_other_inbox_decrypted_and_are_sent_once() {
    let (server, a, b) = two_devices().await;
    let (a, b, key) = keyed(a, b).await;
    let (outbox, inbox) = (a.dir.path().join("outbox"), b.dir.path().join("inbox"));
    std::fs::create_dir_all(&outbox).unwrap();
    let content: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(outbox.join("secret-plan.txt"), &content).unwrap();
    let engine_a = start(a.engine(Arc::new(MemoryClipboard::new())).outbox(&outbox)).await;
    let engine_b = start(b.engine(Arc::new(MemoryClipboard::new())).inbox(&inbox)).await;
    eventually("the file reaches B's inbox under its name", 10, || async {
        std::fs::read(inbox.join("secret-plan.txt")).is_ok_and(|got| got == content)
    })
    .await;
    let clips = a.client.clips().await.unwrap();
    assert_eq!(clips.len(), 1);
    assert!(clips[0].file.as_ref().unwrap().encrypted);
    engine_a.stop().await.unwrap();

    // A crash between the upload and the move to .sent: the file is back in
    // the outbox at start. Its encrypted clip matches nothing by hash, so it
    // is recognised by its decrypted content, and not sent again.
    std::fs::rename(outbox.join(".sent").join("secret-plan.txt"), outbox.join("secret-plan.txt")).unwrap();
    let engine_a = start(a.engine(Arc::new(MemoryClipboard::new())).outbox(&outbox)).await;
    eventually("the file is moved to .sent again", 10, || async {
        outbox.join(".sent").join("secret-plan.txt").exists()
    })
    .await;
    sleep(QUIET).await;
    assert_eq!(a.client.clips().await.unwrap().len(), 1, "not sent twice");
    let names: Vec<_> = std::fs::read_dir(&inbox).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec!["secret-plan.txt"]);

    let mut needles = key_needles("the account key", key.as_bytes());
    needles.push(text_needle("the name", "secret-plan"));
    assert_data_dir_clean(server.data_dir(), &needles);
    engine_a.stop().await.unwrap();
    engine_b.stop().await.unwrap();
}
