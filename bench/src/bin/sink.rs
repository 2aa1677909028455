//! `sink --bind ADDR`: an HTTP/1.1 server that reads any request body and
//! throws it away, then answers `200 OK` with `received N` (the body length).
//!
//! Why: it is the upper bound of an upload on this machine. curl → loopback →
//! a reader that does nothing but `read(2)` into a 256 KiB buffer. An upload to
//! the real server cannot be faster than this (nor than `dd` to the same disk),
//! so `bench/run.sh` reports the server's upload as a fraction of it.
//!
//! `sink --bind ADDR --file PATH` writes each body to PATH instead (truncated
//! first) and fsyncs it before answering: the same receive plus the disk
//! write an upload must do, without hashing or anything else of the server's.
//! That is the floor of a stored upload on this machine, often well below
//! both the discarding sink and `dd` (both cores are busy at once).
//!
//! Handles bodies by `Content-Length` and `Transfer-Encoding: chunked` (what
//! `curl -T file` and `curl -T -` send), answers `Expect: 100-continue` with
//! `100 Continue`, keeps connections alive, one thread per connection.

use cloudbuffer_bench::{listen, parse_args, Conn, Head};
use std::fs::File;
use std::io::{self, Write};
use std::sync::Arc;

/// Reads go straight into this buffer: large, so a 1 GiB body costs ~4k syscalls.
const BUF: usize = 256 * 1024;

fn main() {
    let args = parse_args("sink --bind ADDR [--file PATH]");
    let store: Option<Arc<str>> = args.file.as_deref().map(Arc::from);
    let listener = listen(&args.bind).unwrap_or_else(|e| {
        eprintln!("sink: cannot listen on {}: {e}", args.bind);
        std::process::exit(1)
    });
    for stream in listener.incoming() {
        match stream {
            Ok(s) => {
                let store = store.clone();
                std::thread::spawn(move || {
                    let mut conn = Conn::new(s, BUF);
                    if let Err(e) = serve(&mut conn, store.as_deref()) {
                        if e.kind() == io::ErrorKind::InvalidData {
                            let _ = conn.respond("400 Bad Request", &format!("{e}\n"), false);
                        }
                    }
                });
            }
            Err(e) => eprintln!("sink: accept: {e}"),
        }
    }
}

/// Serves requests on one connection until it closes or asks to.
fn serve(conn: &mut Conn, store: Option<&str>) -> io::Result<()> {
    while let Some(head) = conn.read_head()? {
        let has_body = head.chunked || head.content_length.unwrap_or(0) > 0;
        if head.expect_continue && has_body {
            conn.stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        }
        let mut file = store.map(File::create).transpose()?;
        let received = read_body(conn, &head, &mut |piece: &[u8]| match &mut file {
            Some(f) => f.write_all(piece),
            None => Ok(()),
        })?;
        if let Some(f) = file {
            f.sync_all()?;
        }
        conn.respond("200 OK", &format!("received {received}\n"), head.keep_alive)?;
        if !head.keep_alive {
            break;
        }
    }
    Ok(())
}

/// Reads the body into `out`; returns its length in bytes.
fn read_body(conn: &mut Conn, head: &Head, out: &mut dyn FnMut(&[u8]) -> io::Result<()>) -> io::Result<u64> {
    if !head.chunked {
        let n = head.content_length.unwrap_or(0);
        conn.consume(n, &mut *out)?;
        return Ok(n);
    }
    let mut total = 0u64;
    loop {
        let line = conn.read_line()?;
        let hex = line.split(';').next().unwrap_or("").trim();
        let size = u64::from_str_radix(hex, 16)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
        if size == 0 {
            // Optional trailers, then the empty line that ends the message.
            while !conn.read_line()?.is_empty() {}
            return Ok(total);
        }
        conn.consume(size, &mut *out)?;
        total += size;
        if !conn.read_line()?.is_empty() {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "missing CRLF after chunk"));
        }
    }
}
