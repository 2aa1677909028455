//! Streaming a range of a local blob for a download.
//!
//! Each piece is read on a blocking thread straight into the buffer that
//! goes to the socket (tokio's `File` reads into its own buffer and copies
//! out of it: one more pass over every byte), and the next piece is already
//! being read while hyper writes this one, so on two cores the page cache
//! copy and the socket copy run side by side instead of taking turns. The
//! buffers are reused (see `recycle`): a download holds at most four.

use std::fs::File;
use std::future::Future;
use std::io::{self, Read, Seek};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_util::Stream;
use tokio::task::JoinHandle;

use super::recycle::Recycler;

/// A file range as a stream of pieces, one read ahead of the consumer.
pub struct ReadAhead {
    file: Arc<File>,
    /// Bytes not yet asked for.
    left: u64,
    piece: usize,
    pending: Option<JoinHandle<io::Result<BytesMut>>>,
    buffers: Recycler,
}

impl ReadAhead {
    /// Opens `path` and streams `len` bytes from `start` in pieces of
    /// `piece` bytes. A file shorter than the range ends the stream with
    /// an `UnexpectedEof` error rather than a short body.
    pub async fn open(path: std::path::PathBuf, start: u64, len: u64, piece: usize) -> io::Result<Self> {
        let file = tokio::task::spawn_blocking(move || -> io::Result<File> {
            let mut file = File::open(path)?;
            file.seek(io::SeekFrom::Start(start))?;
            Ok(file)
        })
        .await
        .map_err(io::Error::other)??;
        let mut stream = ReadAhead {
            file: Arc::new(file),
            left: len,
            piece: piece.max(1),
            pending: None,
            buffers: Recycler::default(),
        };
        stream.start_next();
        Ok(stream)
    }

    /// Starts reading the next piece, if any is left. Only one read is
    /// ever in flight, so the file's own cursor is the position.
    fn start_next(&mut self) {
        if self.left == 0 {
            return;
        }
        let n = self.left.min(self.piece as u64);
        self.left -= n;
        let file = Arc::clone(&self.file);
        let mut buf = self.buffers.buffer(n as usize);
        self.pending = Some(tokio::task::spawn_blocking(move || {
            // Zeroing a reused buffer is cheap; a fresh one was the cost.
            buf.resize(n as usize, 0);
            (&*file).read_exact(&mut buf).map_err(|e| match e.kind() {
                io::ErrorKind::UnexpectedEof => {
                    io::Error::new(io::ErrorKind::UnexpectedEof, "blob shorter than its recorded size")
                }
                _ => e,
            })?;
            Ok(buf)
        }));
    }
}

impl Stream for ReadAhead {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let Some(pending) = self.pending.as_mut() else { return Poll::Ready(None) };
        let done = ready!(Pin::new(pending).poll(cx));
        self.pending = None;
        Poll::Ready(Some(match done {
            Ok(Ok(buf)) => {
                let bytes = self.buffers.lend(buf);
                self.start_next();
                Ok(bytes)
            }
            Ok(Err(e)) => {
                self.left = 0;
                Err(e)
            }
            Err(e) => {
                self.left = 0;
                Err(io::Error::other(e))
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::TryStreamExt;

    async fn collect(path: &std::path::Path, start: u64, len: u64, piece: usize) -> io::Result<Vec<u8>> {
        let stream = ReadAhead::open(path.to_path_buf(), start, len, piece).await?;
        let pieces: Vec<Bytes> = stream.try_collect().await?;
        assert!(pieces.iter().all(|p| p.len() <= piece), "a piece larger than asked for");
        Ok(pieces.concat())
    }

    #[tokio::test]
    async fn streams_exactly_the_range_in_pieces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blob");
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        assert_eq!(collect(&path, 0, data.len() as u64, 4096).await.unwrap(), data);
        assert_eq!(collect(&path, 12_345, 50_001, 1000).await.unwrap(), &data[12_345..62_346]);
        assert_eq!(collect(&path, 99_999, 1, 7).await.unwrap(), &data[99_999..]);
        assert!(collect(&path, 5, 0, 7).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_short_file_is_an_error_not_a_short_body() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blob");
        std::fs::write(&path, vec![1u8; 10_000]).unwrap();
        let err = collect(&path, 0, 20_000, 4096).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        let missing = collect(&dir.path().join("none"), 0, 1, 1).await.unwrap_err();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
    }
}
