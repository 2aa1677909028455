//! Folder watch through the sync engine: a file dropped in A's outbox is
//! uploaded once it stops changing and lands in B's inbox with the same
//! bytes; a second file of the same name does not overwrite the first.

mod sync_common;

use std::sync::Arc;
use std::time::Duration;

use cloudbuffer_client::sync::MemoryClipboard;
use sync_common::{assert_quiet_count, eventually, server_clips, start, two_devices};

fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map(|entries| entries.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_files_arrive_in_the_other_inbox_without_overwriting() {
    let (_server, a, b) = two_devices().await;
    let outbox = a.dir.path().join("outbox");
    let inbox = b.dir.path().join("inbox");
    std::fs::create_dir_all(&outbox).unwrap();
    // A file already waiting when the engine starts is sent too.
    let first = bytes(1, 300_000);
    std::fs::write(outbox.join("report.bin"), &first).unwrap();

    let (clip_a, clip_b) = (MemoryClipboard::new(), MemoryClipboard::new());
    let engine_a = start(a.engine(Arc::new(clip_a.clone())).outbox(&outbox)).await;
    let engine_b = start(b.engine(Arc::new(clip_b.clone())).inbox(&inbox)).await;

    eventually("report.bin reaches B's inbox", 10, || async {
        std::fs::read(inbox.join("report.bin")).is_ok_and(|got| got == first)
    })
    .await;
    assert_eq!(names(&outbox), vec![".sent"], "sent files leave the outbox");
    assert_eq!(names(&outbox.join(".sent")), vec!["report.bin"]);

    // Written in pieces, slowly: sent only once it stops changing.
    let second = bytes(2, 200_000);
    let started = std::time::Instant::now();
    {
        use std::io::Write;
        let mut file = std::fs::File::create(outbox.join("report.bin")).unwrap();
        for chunk in second.chunks(50_000) {
            file.write_all(chunk).unwrap();
            file.flush().unwrap();
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
    eventually("the second report.bin reaches B's inbox", 10, || async {
        std::fs::read(inbox.join("report (1).bin")).is_ok_and(|got| got == second)
    })
    .await;
    assert!(started.elapsed() >= Duration::from_millis(2000), "sent only after settling");
    assert_eq!(std::fs::read(inbox.join("report.bin")).unwrap(), first, "the first is untouched");
    assert_eq!(names(&inbox), vec!["report (1).bin", "report.bin"], "no .part left");
    assert_eq!(names(&outbox.join(".sent")), vec!["report (1).bin", "report.bin"]);

    // Each once; nothing reached the clipboards; nothing came back to A.
    assert_quiet_count(&a.client, Duration::from_millis(1500), 2).await;
    assert_eq!(server_clips(&a.client).await, vec!["file:report.bin", "file:report.bin"]);
    assert_eq!((clip_a.text(), clip_b.text()), (None, None));
    assert_eq!(engine_b.status().borrow().received, 2);
    engine_a.stop().await.unwrap();
    engine_b.stop().await.unwrap();
}

#[tokio::test]
async fn the_outbox_and_the_inbox_must_differ() {
    let (_server, a, _b) = two_devices().await;
    let dir = a.dir.path().join("both");
    std::fs::create_dir_all(&dir).unwrap();
    let result = a.engine(Arc::new(MemoryClipboard::new())).outbox(&dir).inbox(&dir).build();
    assert!(result.is_err());
}
