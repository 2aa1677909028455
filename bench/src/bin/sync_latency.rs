//! `sync_latency`: end-to-end clipboard latency between two sync engines
//! (`bench/sync.sh`).
//!
//!     sync_latency --server URL [--clips N] [--warmup W] [--poll-ms MS]
//!                  [--modes events,polling] [--timeout-ms MS] [--dir DIR]
//!
//! For each mode, a fresh user signs in twice on `--server` ("device A" and
//! "device B"), and each device gets a sync engine of the client crate with its
//! own in-memory clipboard and state dir, all in this process:
//!
//! - `events`: `MemoryClipboard::new()`, which signals its changes, so an engine
//!   reads the clipboard as soon as it changed (as with X11's XFixes events);
//! - `polling`: `MemoryClipboard::polling()` and `use_events(false)`, so the
//!   engine reads the clipboard every `--poll-ms` (250 by default, as the real
//!   engine does where there are no change events).
//!
//! Then, one clip at a time: t0, a new text is set on A's clipboard (as a user
//! copying); t1 when B's clipboard holds that text. B's clipboard is watched
//! through its change notification (`MemoryClipboard::watch`, a tokio watch
//! channel bumped by every write, the engine's included), so t1 is taken when
//! the bench task wakes after B's engine wrote, with no polling of our own.
//! Before each clip we wait a random gap (20 ms plus up to one poll interval in
//! the polling mode, plus up to 20 ms with events), so the copies fall at random
//! points of A's poll cycle and the engines are idle between clips: latency
//! without load. The first `--warmup` clips are not counted.
//!
//! After the clips: A must have sent every one and B received every one, and B
//! must have sent nothing (no echo). Anything else is a delivery error.
//!
//! Progress goes to stderr; results to stdout as `key value` lines, the keys
//! prefixed with the mode (`events_p99_ms 3.1`). Exit status: 0 on success, 1
//! when the run could not be done (a failed sign-in, an engine that does not
//! connect, a clip that never arrives), 2 on bad arguments, 3 when the clips
//! arrived but the status counters show a delivery error.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cloudbuffer_bench::report::{chain, result_line as result};
use cloudbuffer_client::sync::{Connection, MemoryClipboard, SyncEngine, SyncHandle};
use cloudbuffer_client::Client;

type Error = Box<dyn std::error::Error + Send + Sync>;
type Result<T, E = Error> = std::result::Result<T, E>;

const USAGE: &str = "\
usage: sync_latency --server URL [--clips N] [--warmup W] [--poll-ms MS]
                    [--modes events,polling] [--timeout-ms MS] [--dir DIR]";

const PASSWORD: &str = "sync-latency-password";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Events,
    Polling,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Events => "events",
            Mode::Polling => "polling",
        }
    }
}

struct Opts {
    server: String,
    clips: usize,
    warmup: usize,
    poll: Duration,
    modes: Vec<Mode>,
    timeout: Duration,
    dir: Option<PathBuf>,
}

impl Opts {
    fn parse(args: &[String]) -> Result<Opts, String> {
        let mut opts = Opts {
            server: String::new(),
            clips: 200,
            warmup: 5,
            poll: Duration::from_millis(250),
            modes: vec![Mode::Events, Mode::Polling],
            timeout: Duration::from_secs(5),
            dir: None,
        };
        let mut args = args.iter();
        while let Some(flag) = args.next() {
            let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
            let number = || value.parse::<u64>().map_err(|_| format!("{flag}: not a number: {value}"));
            match flag.as_str() {
                "--server" => opts.server = value.clone(),
                "--clips" => opts.clips = number()? as usize,
                "--warmup" => opts.warmup = number()? as usize,
                "--poll-ms" => opts.poll = Duration::from_millis(number()?),
                "--timeout-ms" => opts.timeout = Duration::from_millis(number()?),
                "--dir" => opts.dir = Some(PathBuf::from(value)),
                "--modes" => {
                    opts.modes = value
                        .split(',')
                        .map(|m| match m.trim() {
                            "events" => Ok(Mode::Events),
                            "polling" => Ok(Mode::Polling),
                            other => Err(format!("--modes: unknown mode {other:?} (events, polling)")),
                        })
                        .collect::<Result<_, _>>()?;
                }
                _ => return Err(format!("unknown argument {flag}")),
            }
        }
        if opts.server.is_empty() {
            return Err("--server is required".into());
        }
        if opts.clips == 0 || opts.modes.is_empty() {
            return Err("--clips and --modes must not be empty".into());
        }
        if opts.poll < Duration::from_millis(10) {
            return Err("--poll-ms must be at least 10 (the engine's minimum)".into());
        }
        Ok(opts)
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opts = match Opts::parse(&args) {
        Ok(opts) => opts,
        Err(e) => {
            eprintln!("sync_latency: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    let result = runtime.block_on(run(opts));
    runtime.shutdown_timeout(Duration::from_secs(2));
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(3),
        Err(e) => fail(&chain(&*e)),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("sync_latency: error: {message}");
    ExitCode::from(1)
}

fn log(message: &str) {
    eprintln!("    sync_latency: {message}");
}

/// Runs every mode; false when a delivery check failed.
async fn run(opts: Opts) -> Result<bool> {
    let temp = match &opts.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            tempfile::tempdir_in(dir)?
        }
        None => tempfile::tempdir()?,
    };
    let mut ok = true;
    for &mode in &opts.modes {
        ok &= measure(&opts, mode, temp.path()).await?;
    }
    Ok(ok)
}

/// A small xorshift generator for the gaps between clips: no need for a crate.
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1);
        Rng(nanos | 1)
    }

    /// Uniform in [0, 1).
    fn fraction(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Signs `user` in as one more device; `register` creates the user first.
async fn device(server: &str, user: &str, name: &str, register: bool) -> Result<Client> {
    let client = Client::new(server)?;
    if register {
        client.register(user, PASSWORD, name).await?;
    } else {
        client.login(user, PASSWORD, name).await?;
    }
    Ok(client)
}

/// Starts an engine for `client` on `clipboard` and waits until it is connected.
async fn engine(
    opts: &Opts,
    mode: Mode,
    client: Client,
    clipboard: &MemoryClipboard,
    state: &Path,
) -> Result<SyncHandle> {
    let builder = SyncEngine::builder(client, clipboard.clone())
        .state_dir(state)
        .poll_interval(opts.poll)
        .use_events(mode == Mode::Events)
        .backoff(Duration::from_millis(100), Duration::from_millis(800));
    let handle = builder.build()?.spawn();
    let status = tokio::time::timeout(
        Duration::from_secs(15),
        handle.wait_for(|s| s.connection == Connection::Connected),
    )
    .await
    .map_err(|_| format!("{} engine at {} did not connect within 15 s", mode.name(), state.display()))?;
    if status.connection != Connection::Connected {
        return Err(format!("{} engine stopped: {:?}", mode.name(), status.last_error).into());
    }
    Ok(handle)
}

/// One mode: two engines, `warmup + clips` clips from A to B. False when the
/// status counters show a delivery error.
async fn measure(opts: &Opts, mode: Mode, dir: &Path) -> Result<bool> {
    let name = mode.name();
    let user = format!("sync-{name}");
    let a = device(&opts.server, &user, "device A", true).await?;
    let b = device(&opts.server, &user, "device B", false).await?;
    let (clip_a, clip_b) = match mode {
        Mode::Events => (MemoryClipboard::new(), MemoryClipboard::new()),
        Mode::Polling => (MemoryClipboard::polling(), MemoryClipboard::polling()),
    };
    let engine_a = engine(opts, mode, a, &clip_a, &dir.join(format!("{name}-a"))).await?;
    let engine_b = engine(opts, mode, b, &clip_b, &dir.join(format!("{name}-b"))).await?;
    let spread = match mode {
        Mode::Events => Duration::from_millis(20),
        Mode::Polling => opts.poll,
    };
    log(&format!(
        "{name}: {} warm-up + {} clips A -> B (poll {} ms, change events {})",
        opts.warmup,
        opts.clips,
        opts.poll.as_millis(),
        if mode == Mode::Events { "on" } else { "off" },
    ));
    let mut rng = Rng::new();
    let mut changes = clip_b.watch();
    let mut samples = Vec::with_capacity(opts.clips);
    let total = opts.warmup + opts.clips;
    let begun = Instant::now();
    for i in 0..total {
        tokio::time::sleep(Duration::from_millis(20) + spread.mul_f64(rng.fraction())).await;
        let text = format!("{name} clip {i} of {total}, {:016x}", rng.0);
        changes.borrow_and_update();
        let t0 = Instant::now();
        clip_a.set_text(&text);
        let arrived = tokio::time::timeout(opts.timeout, async {
            loop {
                if changes.changed().await.is_err() {
                    return false;
                }
                if clip_b.text().as_deref() == Some(text.as_str()) {
                    return true;
                }
            }
        })
        .await;
        let took = t0.elapsed();
        match arrived {
            Ok(true) => {}
            Ok(false) => return Err("B's clipboard went away".into()),
            Err(_) => {
                let (sa, sb) = (engine_a.status().borrow().clone(), engine_b.status().borrow().clone());
                return Err(format!(
                    "{name}: clip {i} did not reach B within {} ms (A: {sa:?}; B: {sb:?})",
                    opts.timeout.as_millis()
                )
                .into());
            }
        }
        if i >= opts.warmup {
            samples.push(took);
        }
    }
    let elapsed = begun.elapsed();

    // Delivery: every clip sent by A once and taken by B once; B sent nothing
    // back. Give B's watcher a quiet moment to (wrongly) send an echo.
    tokio::time::sleep(opts.poll * 2 + Duration::from_millis(200)).await;
    let (sa, sb) = (engine_a.status().borrow().clone(), engine_b.status().borrow().clone());
    engine_a.stop().await?;
    engine_b.stop().await?;
    let mut ok = true;
    let expect = total as u64;
    if sa.sent != expect || sb.received != expect || sb.sent != 0 || sa.received != 0 {
        log(&format!(
            "{name}: DELIVERY ERROR: A sent {} received {}, B sent {} received {} (expected {expect}/0/0/{expect})",
            sa.sent, sa.received, sb.sent, sb.received
        ));
        ok = false;
    }
    if sa.connects != 1 || sb.connects != 1 {
        log(&format!("{name}: engines reconnected: A {} connects, B {}", sa.connects, sb.connects));
    }

    samples.sort();
    let ms = |d: Duration| format!("{:.1}", d.as_secs_f64() * 1000.0);
    let pct = |p: f64| samples[((p * samples.len() as f64).ceil() as usize).clamp(1, samples.len()) - 1];
    let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
    result(&format!("{name}_clips"), samples.len());
    result(&format!("{name}_poll_ms"), if mode == Mode::Polling { opts.poll.as_millis() } else { 0 });
    result(&format!("{name}_min_ms"), ms(samples[0]));
    result(&format!("{name}_p50_ms"), ms(pct(0.50)));
    result(&format!("{name}_p90_ms"), ms(pct(0.90)));
    result(&format!("{name}_p99_ms"), ms(pct(0.99)));
    result(&format!("{name}_max_ms"), ms(samples[samples.len() - 1]));
    result(&format!("{name}_mean_ms"), ms(mean));
    result(&format!("{name}_seconds"), format!("{:.1}", elapsed.as_secs_f64()));
    result(&format!("{name}_delivery"), if ok { "ok" } else { "error" });
    Ok(ok)
}
