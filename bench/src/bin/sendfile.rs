//! `sendfile --bind ADDR --file PATH`: an HTTP/1.1 server that answers every GET
//! (and HEAD) with the bytes of one file, `Content-Length` set, the body sent by
//! `sendfile(2)` in a loop.
//!
//! Why: it is the upper bound of a download on this machine. The kernel copies
//! page cache → socket with no user-space buffer at all, so a download from the
//! real server cannot beat it; `bench/run.sh` reports the server's download as a
//! fraction of it. One thread per connection, keep-alive, nothing else.

use cloudbuffer_bench::{listen, parse_args, Conn, Head};
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::sync::Arc;

/// The most one sendfile(2) call transfers on Linux.
const MAX_CHUNK: u64 = 0x7fff_f000;

fn main() {
    let args = parse_args("sendfile --bind ADDR --file PATH");
    let Some(path) = args.file else {
        eprintln!("usage: sendfile --bind ADDR --file PATH");
        std::process::exit(2)
    };
    // Opened once and shared: every transfer passes its own offset to
    // sendfile(2), so the file position is never used and threads can't clash.
    let file = File::open(&path).unwrap_or_else(|e| {
        eprintln!("sendfile: cannot open {path}: {e}");
        std::process::exit(1)
    });
    let file = Arc::new(file);
    let listener = listen(&args.bind).unwrap_or_else(|e| {
        eprintln!("sendfile: cannot listen on {}: {e}", args.bind);
        std::process::exit(1)
    });
    for stream in listener.incoming() {
        match stream {
            Ok(s) => {
                let file = Arc::clone(&file);
                std::thread::spawn(move || {
                    let mut conn = Conn::new(s, 16 * 1024);
                    if let Err(e) = serve(&mut conn, &file) {
                        if e.kind() == io::ErrorKind::InvalidData {
                            let _ = conn.respond("400 Bad Request", &format!("{e}\n"), false);
                        }
                    }
                });
            }
            Err(e) => eprintln!("sendfile: accept: {e}"),
        }
    }
}

/// Serves requests on one connection until it closes or asks to.
fn serve(conn: &mut Conn, file: &File) -> io::Result<()> {
    while let Some(head) = conn.read_head()? {
        if head.chunked {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "request bodies are not supported"));
        }
        conn.discard(head.content_length.unwrap_or(0))?;
        match head.method.as_str() {
            "GET" | "HEAD" => send(conn, file, &head)?,
            _ => conn.respond("405 Method Not Allowed", "GET only\n", head.keep_alive)?,
        }
        if !head.keep_alive {
            break;
        }
    }
    Ok(())
}

/// Sends the headers, then (for GET) the whole file with sendfile(2).
fn send(conn: &mut Conn, file: &File, head: &Head) -> io::Result<()> {
    // Size taken per request (fstat is cheap): a file that grew is sent whole.
    let size = file.metadata()?.len();
    let conn_hdr = if head.keep_alive { "keep-alive" } else { "close" };
    let hdr = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {size}\r\nConnection: {conn_hdr}\r\n\r\n"
    );
    conn.stream.write_all(hdr.as_bytes())?;
    if head.method == "HEAD" {
        return Ok(());
    }
    let (out_fd, in_fd) = (conn.stream.as_raw_fd(), file.as_raw_fd());
    let mut offset: libc::off_t = 0;
    while (offset as u64) < size {
        let count = (size - offset as u64).min(MAX_CHUNK) as usize;
        // SAFETY: both fds are open for the duration of the call and `offset`
        // is a valid, exclusively borrowed off_t that the kernel advances.
        let n = unsafe { libc::sendfile(out_fd, in_fd, &mut offset, count) };
        if n < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        if n == 0 {
            // The file shrank under us: the promised length can't be met.
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
    }
    Ok(())
}
