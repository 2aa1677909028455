//! `events_load`: load for the buffer and the live events (`bench/events.sh`).
//!
//!     events_load register --server URL --users N
//!     events_load latency  --server URL [--listen-server URL2] --users N --devices D --clips C
//!     events_load idle     --server URL (--users N | --tokens-file F) --connections N [--hold-seconds S]
//!
//! `register` creates N users and prints their access tokens, one a line, so a
//! script can register before it measures the server's memory.
//!
//! `latency` registers N users and signs each in D - 1 more times, so every user
//! has D devices (D device ids, D tokens), and opens one WebSocket per device (one
//! reader task each, always draining). Then, one clip at a time and round-robin
//! over the users, device 0 of the user PUTs a small text clip (t0: before the PUT,
//! t1: when its response is complete) and the tool waits until every device of that
//! user has the matching `clip.created` (matched on the clip id). t2 is its arrival
//! at device 1. Reports t2 - t1 (0 if the event came first), t2 - t0 and the PUT's
//! own time, and checks that each event reached every device of its user exactly
//! once, no device of another user, and carried the clip that was sent (text
//! preview, kind and origin device). With `--listen-server URL2` (another instance
//! on the same database), the WebSockets of the odd-numbered devices, the timed
//! device 1 among them, connect to URL2 while everything else (sign-ins, the PUTs
//! of device 0, the even devices' sockets) stays on `--server`: the event has to
//! cross from one instance to the other.
//!
//! `idle` opens N connections spread over the users (`?access_token=`), at most
//! `--concurrency` handshakes at a time, prints `open N` once they are up, and holds
//! them (reading, so pings are answered) for `--hold-seconds`, or else until stdin
//! closes; a signal ends it at any time.
//!
//! Progress and errors go to stderr; results go to stdout as `key value` lines. Exit
//! status: 0 on success, 1 when the run could not be done (bad arguments, a failed
//! request or handshake), 3 when `latency` finished but saw delivery errors.

use std::collections::{HashMap, HashSet};
use std::io::BufRead;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::{stream, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use cloudbuffer_bench::report::chain;

mod idle;
mod latency;
mod net;

use idle::idle_mode;
use latency::latency_mode;
use net::register_mode;

type Error = Box<dyn std::error::Error + Send + Sync>;
type Result<T, E = Error> = std::result::Result<T, E>;
type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

const USAGE: &str = "\
usage: events_load register --server URL --users N [--concurrency C]
       events_load latency  --server URL --users N --devices D --clips C
                            [--listen-server URL2] [--concurrency C] [--timeout-ms MS]
       events_load idle     --server URL (--users N | --tokens-file F) --connections N
                            [--concurrency C] [--hold-seconds S]";

/// Registration hashes a password (argon2) on the server: a few at a time is
/// all a small machine can do anyway.
const REGISTER_CONCURRENCY: usize = 4;
const PASSWORD: &str = "events-load-password";
/// Our sockets only read small events: keep their buffers small so 10,000 of
/// them don't need gigabytes (tungstenite allocates the read buffer eagerly).
const READ_BUFFER: usize = 8 * 1024;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((mode, rest)) = args.split_first() else { return usage() };
    let opts = match Opts::parse(mode, rest) {
        Ok(opts) => opts,
        Err(e) => {
            eprintln!("events_load: {e}");
            return usage();
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    let result = runtime.block_on(async move {
        match opts.mode {
            Mode::Register => register_mode(&opts).await,
            Mode::Latency => latency_mode(&opts).await,
            Mode::Idle => idle_mode(&opts).await,
        }
    });
    // Don't wait for the reader tasks: they only end when their sockets do.
    runtime.shutdown_background();
    match result {
        Ok(code) => code,
        Err(e) => fail(&chain(&*e)),
    }
}

fn usage() -> ExitCode {
    eprintln!("{USAGE}");
    ExitCode::from(2)
}

fn fail(message: &str) -> ExitCode {
    eprintln!("events_load: error: {message}");
    ExitCode::from(1)
}

fn log(message: &str) {
    eprintln!("    events_load: {message}");
}

/// One `key value` result line.
fn out(key: &str, value: impl std::fmt::Display) {
    cloudbuffer_bench::report::result_line(key, value);
}

// --- options ------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Register,
    Latency,
    Idle,
}

struct Opts {
    mode: Mode,
    /// `http://host:port`, no trailing slash.
    server: String,
    /// `latency`: where the odd-numbered devices' WebSockets go (same form), if not `server`.
    listen_server: Option<String>,
    users: Option<usize>,
    tokens_file: Option<String>,
    devices: usize,
    clips: usize,
    connections: usize,
    concurrency: usize,
    timeout: Duration,
    hold: Option<Duration>,
}

impl Opts {
    fn parse(mode: &str, args: &[String]) -> Result<Opts, String> {
        let (mode, allowed): (Mode, &[&str]) = match mode {
            "register" => (Mode::Register, &["server", "users", "concurrency"]),
            "latency" => (
                Mode::Latency,
                &["server", "listen-server", "users", "devices", "clips", "concurrency", "timeout-ms"],
            ),
            "idle" => (
                Mode::Idle,
                &["server", "users", "tokens-file", "connections", "concurrency", "hold-seconds"],
            ),
            other => return Err(format!("unknown mode {other:?}")),
        };
        let mut values = HashMap::new();
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let name = flag.strip_prefix("--").filter(|n| allowed.contains(n));
            let (Some(name), Some(value)) = (name, it.next()) else {
                return Err(format!("unexpected argument {flag:?} (or a missing value)"));
            };
            values.insert(name, value.clone());
        }
        let number = |name: &str, default: Option<usize>| -> Result<usize, String> {
            match values.get(name) {
                Some(v) => {
                    v.parse().ok().filter(|n| *n > 0).ok_or(format!("--{name} takes a positive integer"))
                }
                None => default.ok_or(format!("--{name} is required")),
            }
        };
        let url = |name: &str| -> Result<Option<String>, String> {
            let Some(v) = values.get(name) else { return Ok(None) };
            let v = v.trim_end_matches('/').to_string();
            if !v.starts_with("http://") {
                return Err(format!("--{name} must be an http:// URL"));
            }
            Ok(Some(v))
        };
        let server = url("server")?.ok_or("--server is required")?;
        let listen_server = url("listen-server")?;
        let opts = Opts {
            mode,
            server,
            listen_server,
            users: values.contains_key("users").then(|| number("users", None)).transpose()?,
            tokens_file: values.get("tokens-file").cloned(),
            devices: if mode == Mode::Latency { number("devices", None)? } else { 0 },
            clips: if mode == Mode::Latency { number("clips", None)? } else { 0 },
            connections: if mode == Mode::Idle { number("connections", None)? } else { 0 },
            concurrency: number(
                "concurrency",
                Some(if mode == Mode::Register { REGISTER_CONCURRENCY } else { 200 }),
            )?,
            timeout: Duration::from_millis(number("timeout-ms", Some(5000))? as u64),
            hold: values
                .contains_key("hold-seconds")
                .then(|| number("hold-seconds", None).map(|s| Duration::from_secs(s as u64)))
                .transpose()?,
        };
        match (opts.users, &opts.tokens_file, mode) {
            (None, _, Mode::Register) => Err("--users is required".into()),
            (Some(_), Some(_), _) => Err("give --users or --tokens-file, not both".into()),
            (None, Some(_), Mode::Latency) => {
                Err("latency signs devices in with a password: give --users N".into())
            }
            (None, None, _) => Err("give --users N or --tokens-file FILE".into()),
            _ => Ok(opts),
        }
    }
}
