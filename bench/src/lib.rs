//! Shared plumbing of the two reference servers (`sink` and `sendfile`), and
//! in [`report`] the output helpers of the load tools.
//!
//! They are the "limits" `bench/run.sh` compares the real server against: the
//! fastest a plain HTTP/1.1 peer on this machine can swallow an upload or serve a
//! download. So this code is deliberately minimal (std + libc, blocking I/O,
//! one thread per connection, no allocation per request beyond the head) and
//! handles exactly what curl and wrk send, nothing more.

pub mod report;

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};

/// Largest request head we accept; real clients send a few hundred bytes.
const MAX_HEAD: usize = 64 * 1024;

/// Command-line options shared by both binaries: `--bind ADDR` and `--file PATH`.
pub struct Args {
    pub bind: String,
    pub file: Option<String>,
}

/// Parses `--bind ADDR` (required) and `--file PATH`, exiting with usage on error.
pub fn parse_args(usage: &str) -> Args {
    let mut args = Args { bind: String::new(), file: None };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match (a.as_str(), it.next()) {
            ("--bind", Some(v)) => args.bind = v,
            ("--file", Some(v)) => args.file = Some(v),
            _ => die(usage),
        }
    }
    if args.bind.is_empty() {
        die(usage);
    }
    args
}

fn die(usage: &str) -> ! {
    eprintln!("usage: {usage}");
    std::process::exit(2)
}

/// Binds, then prints `listening on ADDR` as the first stdout line (flushed), so
/// a script that passed port 0 can learn the real port.
pub fn listen(bind: &str) -> io::Result<TcpListener> {
    let listener = TcpListener::bind(bind)?;
    let mut out = io::stdout().lock();
    writeln!(out, "listening on {}", listener.local_addr()?)?;
    out.flush()?;
    Ok(listener)
}

/// What the servers need to know about a request.
pub struct Head {
    pub method: String,
    pub content_length: Option<u64>,
    pub chunked: bool,
    pub expect_continue: bool,
    pub keep_alive: bool,
}

/// A connection with a read buffer. The buffer is also the discard buffer of
/// the sink, hence its size is chosen by the caller (large reads = few syscalls).
pub struct Conn {
    pub stream: TcpStream,
    buf: Box<[u8]>,
    pos: usize,
    len: usize,
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

impl Conn {
    pub fn new(stream: TcpStream, buf_size: usize) -> Conn {
        let _ = stream.set_nodelay(true);
        Conn { stream, buf: vec![0; buf_size.max(MAX_HEAD)].into_boxed_slice(), pos: 0, len: 0 }
    }

    /// Reads more bytes after the buffered ones; Ok(0) means end of stream.
    fn fill(&mut self) -> io::Result<usize> {
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.len, 0);
            self.len -= self.pos;
            self.pos = 0;
        }
        if self.len == self.buf.len() {
            return Err(bad("line too long"));
        }
        let n = self.stream.read(&mut self.buf[self.len..])?;
        self.len += n;
        Ok(n)
    }

    /// One line without its CRLF (or LF). Err(UnexpectedEof) if the stream ends.
    pub fn read_line(&mut self) -> io::Result<String> {
        loop {
            if let Some(i) = self.buf[self.pos..self.len].iter().position(|&b| b == b'\n') {
                let line = &self.buf[self.pos..self.pos + i];
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                let s = String::from_utf8_lossy(line).into_owned();
                self.pos += i + 1;
                return Ok(s);
            }
            if self.len - self.pos >= MAX_HEAD {
                return Err(bad("line too long"));
            }
            if self.fill()? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }

    /// Reads the next request head; Ok(None) on a clean close between requests.
    pub fn read_head(&mut self) -> io::Result<Option<Head>> {
        let line = match self.read_line() {
            Ok(l) => l,
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof && self.pos == self.len => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut parts = line.split(' ');
        let (method, _target, version) = match (parts.next(), parts.next(), parts.next()) {
            (Some(m), Some(t), Some(v)) if v.starts_with("HTTP/1.") => (m, t, v),
            _ => return Err(bad("bad request line")),
        };
        let mut head = Head {
            method: method.to_string(),
            content_length: None,
            chunked: false,
            expect_continue: false,
            keep_alive: version == "HTTP/1.1",
        };
        let mut total = line.len();
        loop {
            let h = self.read_line()?;
            total += h.len();
            if total > MAX_HEAD {
                return Err(bad("head too large"));
            }
            if h.is_empty() {
                return Ok(Some(head));
            }
            let Some((name, value)) = h.split_once(':') else {
                return Err(bad("bad header"));
            };
            let (name, value) = (name.trim().to_ascii_lowercase(), value.trim().to_ascii_lowercase());
            match name.as_str() {
                "content-length" => {
                    head.content_length = Some(value.parse().map_err(|_| bad("bad content-length"))?)
                }
                "transfer-encoding" => head.chunked = value.ends_with("chunked"),
                "expect" => head.expect_continue = value == "100-continue",
                "connection" if value.contains("close") => head.keep_alive = false,
                "connection" if value.contains("keep-alive") => head.keep_alive = true,
                _ => {}
            }
        }
    }

    /// Reads and drops exactly `n` body bytes, with reads as large as the buffer.
    pub fn discard(&mut self, n: u64) -> io::Result<()> {
        self.consume(n, |_| Ok(()))
    }

    /// Reads the next `n` body bytes, handing each piece to `out`.
    pub fn consume(&mut self, mut n: u64, mut out: impl FnMut(&[u8]) -> io::Result<()>) -> io::Result<()> {
        let buffered = ((self.len - self.pos) as u64).min(n);
        out(&self.buf[self.pos..self.pos + buffered as usize])?;
        self.pos += buffered as usize;
        n -= buffered;
        if n == 0 {
            return Ok(());
        }
        // The buffer is empty now: read the rest straight into it, in big gulps.
        self.pos = 0;
        self.len = 0;
        while n > 0 {
            let want = (self.buf.len() as u64).min(n) as usize;
            let got = self.stream.read(&mut self.buf[..want])?;
            if got == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            out(&self.buf[..got])?;
            n -= got as u64;
        }
        Ok(())
    }

    /// Writes a complete small response.
    pub fn respond(&mut self, status: &str, body: &str, keep_alive: bool) -> io::Result<()> {
        let conn = if keep_alive { "keep-alive" } else { "close" };
        let msg = format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: {conn}\r\n\r\n{body}",
            body.len()
        );
        self.stream.write_all(msg.as_bytes())
    }
}
