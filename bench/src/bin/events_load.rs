//! `events_load`: load for the buffer and the live events (`bench/events.sh`).
//!
//!     events_load register --server URL --users N
//!     events_load latency  --server URL --users N --devices D --clips C
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
//! preview, kind and origin device).
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
use std::io::{BufRead, Write};
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

type Error = Box<dyn std::error::Error + Send + Sync>;
type Result<T, E = Error> = std::result::Result<T, E>;
type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

const USAGE: &str = "\
usage: events_load register --server URL --users N [--concurrency C]
       events_load latency  --server URL --users N --devices D --clips C
                            [--concurrency C] [--timeout-ms MS]
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

/// An error with its causes: reqwest's own message alone says little.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
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

/// Writes one `key value` result line and flushes it, so a script watching the
/// file sees it at once.
fn out(key: &str, value: impl std::fmt::Display) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{key} {value}");
    let _ = stdout.flush();
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
            "latency" => {
                (Mode::Latency, &["server", "users", "devices", "clips", "concurrency", "timeout-ms"])
            }
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
        let server = values.get("server").ok_or("--server is required")?.trim_end_matches('/').to_string();
        if !server.starts_with("http://") {
            return Err("--server must be an http:// URL".into());
        }
        let opts = Opts {
            mode,
            server,
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

// --- HTTP -----------------------------------------------------------------------------

fn http_client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder().pool_idle_timeout(Duration::from_secs(300)).build()?)
}

/// A signed-in device of a user.
#[derive(Clone)]
struct Account {
    username: String,
    token: String,
    device_id: String,
}

/// POSTs credentials to `/api/v1/auth/{endpoint}` and returns the device's tokens.
async fn sign_in(
    http: &reqwest::Client,
    server: &str,
    endpoint: &str,
    expect: reqwest::StatusCode,
    username: String,
    device_name: String,
) -> Result<Account> {
    let body = serde_json::json!({ "username": username, "password": PASSWORD, "device_name": device_name });
    let response = http.post(format!("{server}/api/v1/auth/{endpoint}")).json(&body).send().await?;
    let status = response.status();
    let text = response.text().await?;
    if status != expect {
        return Err(format!("POST /api/v1/auth/{endpoint}: HTTP {status}: {text:.300}").into());
    }
    let json: serde_json::Value = serde_json::from_str(&text)?;
    let field = |name: &str| -> Result<String> {
        Ok(json[name].as_str().ok_or(format!("no {name} in the {endpoint} response"))?.to_string())
    };
    Ok(Account { username, token: field("access_token")?, device_id: field("device_id")? })
}

/// Registers `count` fresh users (names unique per run) and returns their first devices.
async fn register(
    http: &reqwest::Client,
    server: &str,
    count: usize,
    concurrency: usize,
) -> Result<Vec<Account>> {
    let run = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let prefix = format!("evl{:x}{:x}", std::process::id(), run % (1 << 40));
    log(&format!("registering {count} users ({prefix}-N)"));
    let started = Instant::now();
    let results: Vec<Result<(usize, Account)>> = stream::iter(0..count)
        .map(|i| {
            let created = reqwest::StatusCode::CREATED;
            let request =
                sign_in(http, server, "register", created, format!("{prefix}-{i}"), "device 0".into());
            async move { Ok((i, request.await?)) }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let mut accounts = vec![None; count];
    for result in results {
        let (i, account) = result?;
        accounts[i] = Some(account);
    }
    log(&format!("registered {count} users in {:.1} s", started.elapsed().as_secs_f64()));
    Ok(accounts.into_iter().flatten().collect())
}

/// Signs each user in `more` more times: `devices[u][d]` is device d of user u,
/// device 0 being the one `register` made. Checks the device ids are all different.
async fn sign_in_devices(
    http: &reqwest::Client,
    server: &str,
    users: Vec<Account>,
    more: usize,
    concurrency: usize,
) -> Result<Vec<Vec<Account>>> {
    log(&format!("signing {} users in {more} more times each", users.len()));
    let started = Instant::now();
    let results: Vec<Result<(usize, usize, Account)>> = stream::iter(0..users.len() * more)
        .map(|k| {
            let (u, d) = (k / more, k % more + 1);
            let ok = reqwest::StatusCode::OK;
            let request =
                sign_in(http, server, "login", ok, users[u].username.clone(), format!("device {d}"));
            async move { Ok((u, d, request.await?)) }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let mut devices: Vec<Vec<Option<Account>>> = users
        .into_iter()
        .map(|a| std::iter::once(Some(a)).chain(std::iter::repeat_n(None, more)).collect())
        .collect();
    for result in results {
        let (u, d, account) = result?;
        devices[u][d] = Some(account);
    }
    let devices: Vec<Vec<Account>> = devices.into_iter().map(|d| d.into_iter().flatten().collect()).collect();
    for (u, list) in devices.iter().enumerate() {
        let ids: HashSet<&str> = list.iter().map(|a| a.device_id.as_str()).collect();
        if ids.len() != more + 1 {
            return Err(
                format!("user {u}: {} distinct device ids for {} sign-ins", ids.len(), more + 1).into()
            );
        }
    }
    log(&format!("signed {} devices in, in {:.1} s", devices.len() * more, started.elapsed().as_secs_f64()));
    Ok(devices)
}

/// The tokens of `--users` (registered now) or `--tokens-file` (one a line).
async fn tokens(opts: &Opts, http: &reqwest::Client) -> Result<Vec<String>> {
    if let Some(path) = &opts.tokens_file {
        let file = std::fs::File::open(path).map_err(|e| format!("{path}: {e}"))?;
        let mut tokens = Vec::new();
        for line in std::io::BufReader::new(file).lines() {
            let line = line?;
            if !line.trim().is_empty() {
                tokens.push(line.trim().to_string());
            }
        }
        if tokens.is_empty() {
            return Err(format!("{path}: no tokens").into());
        }
        return Ok(tokens);
    }
    let accounts = register(http, &opts.server, opts.users.unwrap_or(1), REGISTER_CONCURRENCY).await?;
    Ok(accounts.into_iter().map(|a| a.token).collect())
}

// --- WebSocket --------------------------------------------------------------------------

/// How a connection presents its token; `latency` uses all three.
#[derive(Clone, Copy)]
enum Auth {
    Header,
    Query,
    Protocol,
}

async fn open_socket(server: &str, token: &str, auth: Auth) -> Result<Socket> {
    let base = format!("ws{}/api/v1/events", &server["http".len()..]);
    let url = match auth {
        Auth::Query => format!("{base}?access_token={token}"),
        Auth::Header | Auth::Protocol => base,
    };
    let mut request = url.into_client_request()?;
    match auth {
        Auth::Header => {
            request.headers_mut().insert("authorization", HeaderValue::from_str(&format!("Bearer {token}"))?);
        }
        Auth::Protocol => {
            request
                .headers_mut()
                .insert("sec-websocket-protocol", HeaderValue::from_str(&format!("bearer.{token}"))?);
        }
        Auth::Query => {}
    }
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER).write_buffer_size(0);
    let (socket, _response) =
        tokio_tungstenite::connect_async_with_config(request, Some(config), true).await?;
    Ok(socket)
}

/// Opens `count` sockets, at most `concurrency` handshakes at a time; `target(i)`
/// gives socket i's token and auth method. Returns the results in order of i.
async fn open_sockets<'a>(
    server: &'a str,
    count: usize,
    concurrency: usize,
    target: impl Fn(usize) -> (&'a str, Auth),
) -> Vec<Result<Socket>> {
    let opened = AtomicUsize::new(0);
    let started = Instant::now();
    let mut results: Vec<(usize, Result<Socket>)> = stream::iter(0..count)
        .map(|i| {
            let (token, auth) = target(i);
            let opened = &opened;
            async move {
                let result = open_socket(server, token, auth).await;
                let n = opened.fetch_add(1, Ordering::Relaxed) + 1;
                if n.is_multiple_of(1000) && n < count {
                    log(&format!("{n} of {count} connections attempted"));
                }
                (i, result)
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    log(&format!("{count} connections attempted in {:.1} s", started.elapsed().as_secs_f64()));
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

// --- register -----------------------------------------------------------------------------

async fn register_mode(opts: &Opts) -> Result<ExitCode> {
    let http = http_client()?;
    let accounts = register(&http, &opts.server, opts.users.unwrap_or(1), opts.concurrency).await?;
    let mut stdout = std::io::stdout().lock();
    for account in accounts {
        writeln!(stdout, "{}", account.token)?;
    }
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}

// --- latency --------------------------------------------------------------------------------

/// What the reader tasks report, timestamped on arrival.
enum Note {
    /// A `clip.created` reached device `device` of `user`.
    Arrival { event: ClipEvent, user: usize, device: usize, at: Instant },
    /// A connection ended (close frame, error or EOF).
    Closed { user: usize, device: usize, why: String },
}

/// What a `clip.created` says about its clip.
struct ClipEvent {
    id: String,
    kind: Option<String>,
    preview: Option<String>,
    origin: Option<String>,
}

/// The clip of a `clip.created` event, None for any other message.
fn clip_created(text: &str) -> Option<ClipEvent> {
    let json: serde_json::Value = serde_json::from_str(text).ok()?;
    if json["type"] != "clip.created" {
        return None;
    }
    let clip = &json["clip"];
    let field = |name: &str| clip[name].as_str().map(str::to_string);
    Some(ClipEvent {
        id: field("id")?,
        kind: field("kind"),
        preview: field("preview"),
        origin: field("origin_device_id"),
    })
}

/// Drains one socket for as long as it is open.
async fn read_events(mut socket: Socket, user: usize, device: usize, notes: mpsc::UnboundedSender<Note>) {
    let why = loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                let at = Instant::now();
                if let Some(event) = clip_created(&text) {
                    let _ = notes.send(Note::Arrival { event, user, device, at });
                }
            }
            Some(Ok(Message::Close(frame))) => break format!("closed by the server: {frame:?}"),
            Some(Ok(_)) => {} // pings (answered by tungstenite), binary: nothing to do
            Some(Err(e)) => break e.to_string(),
            None => break "connection ended".to_string(),
        }
    };
    let _ = notes.send(Note::Closed { user, device, why });
}

/// Percentiles of a sample, in ms (nearest rank).
struct Summary {
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
}

fn summarize(samples: &[Duration]) -> Summary {
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    let rank = |p: f64| -> f64 {
        if ms.is_empty() {
            return f64::NAN;
        }
        let k = ((p / 100.0) * ms.len() as f64).ceil() as usize;
        ms[k.clamp(1, ms.len()) - 1]
    };
    Summary { p50: rank(50.0), p90: rank(90.0), p99: rank(99.0), max: rank(100.0) }
}

fn out_summary(name: &str, samples: &[Duration]) {
    let s = summarize(samples);
    for (key, value) in [("p50", s.p50), ("p90", s.p90), ("p99", s.p99), ("max", s.max)] {
        out(&format!("{name}.{key}_ms"), format!("{value:.3}"));
    }
}

/// One `clip.created` as seen by one device.
struct Arrival {
    user: usize,
    device: usize,
    at: Instant,
    kind: Option<String>,
    preview: Option<String>,
    origin: Option<String>,
}

/// A clip that was PUT, and what its event must say.
struct Sent {
    user: usize,
    text: String,
    origin: String,
}

/// Everything seen, for the final tally.
#[derive(Default)]
struct Ledger {
    /// clip id -> every arrival of its `clip.created`.
    arrivals: HashMap<String, Vec<Arrival>>,
    closed: Vec<(usize, usize, String)>,
}

impl Ledger {
    fn record(&mut self, note: Note) {
        match note {
            Note::Arrival { event, user, device, at } => {
                let ClipEvent { id, kind, preview, origin } = event;
                self.arrivals.entry(id).or_default().push(Arrival { user, device, at, kind, preview, origin })
            }
            Note::Closed { user, device, why } => {
                if self.closed.len() < 5 {
                    log(&format!("connection {device} of user {user} ended: {why}"));
                }
                self.closed.push((user, device, why));
            }
        }
    }

    /// How many distinct devices of `user` have `clip`.
    fn reached(&self, clip: &str, user: usize) -> usize {
        let Some(list) = self.arrivals.get(clip) else { return 0 };
        list.iter().filter(|a| a.user == user).map(|a| a.device).collect::<HashSet<_>>().len()
    }

    fn arrival(&self, clip: &str, user: usize, device: usize) -> Option<Instant> {
        self.arrivals.get(clip)?.iter().find(|a| a.user == user && a.device == device).map(|a| a.at)
    }
}

async fn latency_mode(opts: &Opts) -> Result<ExitCode> {
    let http = http_client()?;
    let (users, devices) = (opts.users.unwrap_or(1), opts.devices);
    let accounts = register(&http, &opts.server, users, REGISTER_CONCURRENCY).await?;
    let accounts = sign_in_devices(&http, &opts.server, accounts, devices - 1, REGISTER_CONCURRENCY).await?;
    let total = users * devices;
    out("users", users);
    out("devices", devices);

    log(&format!("opening {total} WebSocket connections (one per device, {devices} per user)"));
    const METHODS: [Auth; 3] = [Auth::Header, Auth::Query, Auth::Protocol];
    let sockets = open_sockets(&opts.server, total, opts.concurrency, |i| {
        (accounts[i / devices][i % devices].token.as_str(), METHODS[(i % devices) % METHODS.len()])
    })
    .await;
    let (notes_tx, mut notes) = mpsc::unbounded_channel();
    for (i, socket) in sockets.into_iter().enumerate() {
        let socket = socket
            .map_err(|e| format!("connection {} of user {}: {}", i % devices, i / devices, chain(&*e)))?;
        tokio::spawn(read_events(socket, i / devices, i % devices, notes_tx.clone()));
    }
    drop(notes_tx);
    out("connections", total);

    // Device 0 sends; the measured device is another one (1), if there is one.
    let watch = if devices > 1 { 1 } else { 0 };
    let url = format!("{}/api/v1/buffer", opts.server);
    let mut ledger = Ledger::default();
    let mut sent: HashMap<String, Sent> = HashMap::new();
    let (mut after_put, mut after_start, mut put) = (Vec::new(), Vec::new(), Vec::new());
    let (mut early, mut timeouts) = (0usize, 0usize);
    log(&format!(
        "putting {} clips from device 0, one at a time, round-robin over {users} users",
        opts.clips
    ));
    let started = Instant::now();
    for i in 0..opts.clips {
        let user = i % users;
        let sender = &accounts[user][0];
        let text = format!("events_load clip {i} for user {user}");
        let t0 = Instant::now();
        let response = http
            .put(&url)
            .bearer_auth(&sender.token)
            .header("x-data-type", "text")
            .body(text.clone())
            .send()
            .await?;
        let status = response.status();
        let body = response.bytes().await?;
        let t1 = Instant::now();
        if status != reqwest::StatusCode::CREATED {
            return Err(format!(
                "PUT /api/v1/buffer: HTTP {status}: {:.300}",
                String::from_utf8_lossy(&body)
            )
            .into());
        }
        let clip: serde_json::Value = serde_json::from_slice(&body)?;
        let id = clip["id"].as_str().ok_or("no id in the PUT response")?.to_string();
        if sent.insert(id.clone(), Sent { user, text, origin: sender.device_id.clone() }).is_some() {
            return Err(format!("PUT /api/v1/buffer answered clip id {id} twice").into());
        }
        put.push(t1 - t0);

        // Wait for the event at every device of the user (or time out).
        let deadline = tokio::time::Instant::from_std(t1 + opts.timeout);
        while ledger.reached(&id, user) < devices {
            match tokio::time::timeout_at(deadline, notes.recv()).await {
                Ok(Some(note)) => ledger.record(note),
                Ok(None) | Err(_) => break,
            }
        }
        match ledger.arrival(&id, user, watch) {
            Some(t2) => {
                if t2 < t1 {
                    early += 1;
                }
                after_put.push(t2.saturating_duration_since(t1));
                after_start.push(t2.saturating_duration_since(t0));
            }
            None => timeouts += 1,
        }
        if (i + 1) % 250 == 0 && i + 1 < opts.clips {
            log(&format!("{} clips", i + 1));
        }
    }
    let elapsed = started.elapsed();
    // Late or misdelivered events: give them a moment to show up.
    let grace = tokio::time::Instant::now() + Duration::from_millis(500);
    while let Ok(Some(note)) = tokio::time::timeout_at(grace, notes.recv()).await {
        ledger.record(note);
    }

    // The tally: each clip's event exactly once at each device of its owner, nowhere
    // else, and saying what was sent: a text clip, its text, from device 0.
    let (mut missing, mut duplicate, mut foreign, mut unknown, mut wrong) = (0usize, 0, 0, 0, 0);
    for (clip, expect) in &sent {
        let list = ledger.arrivals.get(clip).map(Vec::as_slice).unwrap_or(&[]);
        for device in 0..devices {
            match list.iter().filter(|a| a.user == expect.user && a.device == device).count() {
                0 => missing += 1,
                1 => {}
                n => duplicate += n - 1,
            }
        }
        foreign += list.iter().filter(|a| a.user != expect.user).count();
        for a in list.iter().filter(|a| a.user == expect.user) {
            let right = a.kind.as_deref() == Some("text")
                && a.preview.as_deref() == Some(expect.text.as_str())
                && a.origin.as_deref() == Some(expect.origin.as_str());
            if !right {
                if wrong < 3 {
                    log(&format!(
                        "clip {clip} at device {} of user {}: kind {:?}, preview {:?}, origin {:?}; \
                         sent text {:?} from {}",
                        a.device, a.user, a.kind, a.preview, a.origin, expect.text, expect.origin
                    ));
                }
                wrong += 1;
            }
        }
    }
    for (clip, list) in &ledger.arrivals {
        if !sent.contains_key(clip) {
            unknown += list.len();
        }
    }
    let closed = ledger.closed.len();

    log(&format!(
        "{} clips in {:.1} s ({:.0} clips/s)",
        opts.clips,
        elapsed.as_secs_f64(),
        opts.clips as f64 / elapsed.as_secs_f64()
    ));
    out("clips", opts.clips);
    out("measured", after_put.len());
    out("timeouts", timeouts);
    out_summary("event_after_put", &after_put);
    out("event_after_put.early", early);
    out_summary("event_after_start", &after_start);
    out_summary("put", &put);
    out("deliveries.expected", opts.clips * devices);
    out("deliveries.missing", missing);
    out("deliveries.duplicate", duplicate);
    out("deliveries.foreign", foreign);
    out("deliveries.unknown", unknown);
    out("deliveries.wrong", wrong);
    out("connections.closed", closed);
    let errors = missing + duplicate + foreign + unknown + wrong + closed;
    out("errors", errors);
    if errors > 0 {
        log(&format!(
            "delivery errors: {missing} missing, {duplicate} duplicate, {foreign} to another user, \
             {unknown} of unknown clips, {wrong} with the wrong content, {closed} connections closed"
        ));
        return Ok(ExitCode::from(3));
    }
    Ok(ExitCode::SUCCESS)
}

// --- idle --------------------------------------------------------------------------------------

async fn idle_mode(opts: &Opts) -> Result<ExitCode> {
    let http = http_client()?;
    let tokens = tokens(opts, &http).await?;
    let count = opts.connections;
    log(&format!(
        "opening {count} idle connections over {} users, {} handshakes at a time",
        tokens.len(),
        opts.concurrency
    ));
    let sockets = open_sockets(&opts.server, count, opts.concurrency, |i| {
        (tokens[i % tokens.len()].as_str(), Auth::Query)
    })
    .await;
    let open = Arc::new(AtomicUsize::new(0));
    let mut failed = 0;
    for result in sockets {
        match result {
            Ok(mut socket) => {
                open.fetch_add(1, Ordering::Relaxed);
                let open = open.clone();
                tokio::spawn(async move {
                    // Read until it ends: tungstenite answers the server's pings meanwhile.
                    while let Some(Ok(_)) = socket.next().await {}
                    open.fetch_sub(1, Ordering::Relaxed);
                });
            }
            Err(e) => {
                if failed < 5 {
                    log(&format!("connection failed: {}", chain(&*e)));
                }
                failed += 1;
            }
        }
    }
    // A moment for connections the server refuses right after the handshake to go.
    tokio::time::sleep(Duration::from_millis(500)).await;
    out("failed", failed);
    out("open", open.load(Ordering::Relaxed));

    let (done_tx, mut done) = mpsc::channel::<&'static str>(1);
    if let Some(hold) = opts.hold {
        log(&format!("holding them for {} s (or until a signal)", hold.as_secs()));
        tokio::spawn(async move {
            tokio::time::sleep(hold).await;
            let _ = done_tx.send("hold time over").await;
        });
    } else {
        log("holding them until stdin closes (or a signal)");
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
            let _ = done_tx.blocking_send("stdin closed");
        });
    }
    let mut ticker = tokio::time::interval_at(
        tokio::time::Instant::now() + Duration::from_secs(10),
        Duration::from_secs(10),
    );
    let why = loop {
        tokio::select! {
            why = done.recv() => break why.unwrap_or("stdin closed"),
            _ = ticker.tick() => log(&format!("{} connections open", open.load(Ordering::Relaxed))),
        }
    };
    log(&format!("{why}: closing"));
    out("open_at_end", open.load(Ordering::Relaxed));
    Ok(ExitCode::SUCCESS)
}
