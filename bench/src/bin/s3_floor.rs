//! `s3_floor FILE`: uploads FILE to an S3 server as a multipart upload of
//! 8 MiB parts, two in flight, then downloads it in one GET, and prints
//! `upload_MBps download_MBps`. The bucket, endpoint and credentials come
//! from `S3_BUCKET`, `S3_ENDPOINT` and the `AWS_*` variables
//! (`scripts/s3.sh` sets them all).
//!
//! Why: it is the ceiling of the server's S3 store, the same client and
//! part size with no server in between (no HTTP from curl, no hashing, no
//! copy to a content address). `bench/store.sh` reports the server's
//! figures against it.

use std::time::Instant;

use futures_util::StreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::{ObjectStoreExt, WriteMultipart};

const PART: usize = 8 << 20;

#[tokio::main]
async fn main() {
    let file = std::env::args().nth(1).unwrap_or_else(|| {
        eprintln!("usage: s3_floor FILE (with S3_BUCKET, S3_ENDPOINT and AWS_* set)");
        std::process::exit(2)
    });
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    let _ = rustls::crypto::ring::default_provider().install_default();
    let store = AmazonS3Builder::from_env()
        .with_bucket_name(var("S3_BUCKET"))
        .with_endpoint(var("S3_ENDPOINT"))
        .with_allow_http(true)
        .with_unsigned_payload(true)
        .build()
        .expect("S3 client");
    let key = object_store::path::Path::from("floor/test.bin");
    let data = std::fs::File::open(&file).expect("open FILE");
    let size = data.metadata().expect("stat FILE").len();

    let started = Instant::now();
    let mut upload =
        WriteMultipart::new_with_chunk_size(store.put_multipart(&key).await.expect("start"), PART);
    let mut reader = std::io::BufReader::with_capacity(PART, data);
    loop {
        let mut chunk = vec![0u8; PART];
        let n = std::io::Read::read(&mut reader, &mut chunk).expect("read FILE");
        if n == 0 {
            break;
        }
        chunk.truncate(n);
        upload.wait_for_capacity(2).await.expect("part upload");
        upload.put(chunk.into());
    }
    upload.finish().await.expect("complete");
    let up = size as f64 / 1e6 / started.elapsed().as_secs_f64();

    let started = Instant::now();
    let mut stream = store.get(&key).await.expect("get").into_stream();
    let mut got = 0u64;
    while let Some(chunk) = stream.next().await {
        got += chunk.expect("download").len() as u64;
    }
    assert_eq!(got, size, "downloaded size");
    let down = size as f64 / 1e6 / started.elapsed().as_secs_f64();
    store.delete(&key).await.expect("delete");
    println!("{up:.1} {down:.1}");
}
