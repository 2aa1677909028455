//! `soak`: a soak load for the whole server (`bench/soak.sh`).
//!
//!     soak --server URL --server-pid PID [--clients 200] [--seconds 60]
//!          [--accounts 10] [--quiet-seconds 5] [--think-ms 20]
//!
//! Registers `--accounts` users, then runs `--clients` concurrent clients for
//! `--seconds`, each on one of the accounts (round-robin) with its own device
//! (a login), doing a mix of what real clients do (see `mix.rs`): sign in
//! again, put text on the buffer and read it back, read the buffer, upload
//! small files and download them back, share them and fetch the link without
//! an account, list, delete, open and close the events WebSocket. Every answer
//! is checked (status, and bytes against what was sent).
//!
//! Meanwhile it samples the server's RSS, peak RSS (VmHWM), threads and open
//! descriptors from `/proc/PID` every second: at the start, the peak, and at
//! the end, after the clients have stopped and `--quiet-seconds` of quiet.
//! Then it downloads every file acknowledged with 201 and not deleted, and
//! checks its bytes (nothing lost, nothing corrupt), and that every deleted
//! file is gone.
//!
//! Prints requests by operation and status (status 0: no HTTP answer), the
//! failures (up to 30 of them), and the figures. Exit status: 0 when nothing
//! failed; 1 on any 5xx, any connection or protocol error, any unexpected
//! status (429 is expected: it is the server's limits at work), any lost or
//! corrupt data; 2 on bad arguments.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cloudbuffer_bench::report::chain;

mod mix;
mod verify;

const USAGE: &str = "usage: soak --server URL --server-pid PID [--clients N] [--seconds S] [--accounts A] \
                     [--quiet-seconds Q] [--think-ms MS]";
const PASSWORD: &str = "soak-password-123";

type Error = Box<dyn std::error::Error + Send + Sync>;

pub(crate) struct Opts {
    server: String,
    pid: u32,
    clients: usize,
    seconds: u64,
    accounts: usize,
    quiet: u64,
    think_ms: u64,
}

fn parse() -> Result<Opts, String> {
    let mut values = BTreeMap::new();
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let name = flag.strip_prefix("--").ok_or(format!("unexpected argument {flag:?}"))?.to_string();
        values.insert(name, it.next().ok_or(format!("{flag} needs a value"))?);
    }
    let mut number = |name: &str, default: Option<u64>| -> Result<u64, String> {
        match values.remove(name) {
            Some(v) => v.parse().map_err(|_| format!("--{name} takes a number, not {v:?}")),
            None => default.ok_or(format!("--{name} is required")),
        }
    };
    let opts = Opts {
        pid: number("server-pid", None)? as u32,
        clients: number("clients", Some(200))?.max(1) as usize,
        seconds: number("seconds", Some(60))?.max(1),
        accounts: number("accounts", Some(10))?.max(1) as usize,
        quiet: number("quiet-seconds", Some(5))?,
        think_ms: number("think-ms", Some(20))?,
        server: values.remove("server").ok_or("--server is required")?.trim_end_matches('/').to_string(),
    };
    match values.keys().next() {
        Some(unknown) => Err(format!("unknown option --{unknown}")),
        None => Ok(opts),
    }
}

/// What every client reports into.
#[derive(Default)]
pub(crate) struct Stats {
    /// (operation, HTTP status or 0 for no answer) → count.
    counts: Mutex<BTreeMap<(&'static str, u16), u64>>,
    failures: AtomicU64,
    messages: Mutex<Vec<String>>,
}

impl Stats {
    pub(crate) fn count(&self, op: &'static str, status: u16) {
        *self.counts.lock().unwrap().entry((op, status)).or_default() += 1;
    }

    pub(crate) fn fail(&self, message: String) {
        if self.failures.fetch_add(1, Ordering::Relaxed) < 30 {
            self.messages.lock().unwrap().push(message);
        }
    }
}

/// One sample of the server process.
#[derive(Clone, Copy, Default, Debug)]
struct Sample {
    rss_kib: u64,
    hwm_kib: u64,
    threads: u64,
    fds: u64,
}

fn sample(pid: u32) -> Option<Sample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> u64 {
        let line = status.lines().find(|l| l.starts_with(name)).unwrap_or("");
        line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).unwrap_or(0)
    };
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64;
    Some(Sample { rss_kib: field("VmRSS:"), hwm_kib: field("VmHWM:"), threads: field("Threads:"), fds })
}

fn show(label: &str, s: Sample) {
    println!(
        "  {label:<34} RSS {:>7.1} MiB  (VmHWM {:>7.1} MiB)  fds {:>5}  threads {:>3}",
        s.rss_kib as f64 / 1024.0,
        s.hwm_kib as f64 / 1024.0,
        s.fds,
        s.threads
    );
}

fn main() -> ExitCode {
    let opts = match parse() {
        Ok(opts) => opts,
        Err(e) => {
            eprintln!("soak: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    match runtime.block_on(run(opts)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("soak: error: {}", chain(&*e));
            ExitCode::from(1)
        }
    }
}

async fn run(opts: Opts) -> Result<bool, Error> {
    let opts = Arc::new(opts);
    let start = sample(opts.pid).ok_or(format!("cannot read /proc/{}", opts.pid))?;
    // Below the server's 30 s keep-alive timeout: no request races a closing connection.
    let http = reqwest::Client::builder()
        .pool_idle_timeout(Duration::from_secs(20))
        .timeout(Duration::from_secs(60))
        .build()?;
    let accounts = mix::register(&http, &opts.server, opts.accounts).await?;
    eprintln!(
        "    soak: {} accounts registered; {} clients for {} s",
        accounts.len(),
        opts.clients,
        opts.seconds
    );

    // The sampler: each second, until told to stop; keeps the peaks.
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (stop, pid) = (stop.clone(), opts.pid);
        tokio::spawn(async move {
            let mut peak = Sample::default();
            let mut last = None;
            while !stop.load(Ordering::Relaxed) {
                if let Some(s) = sample(pid) {
                    peak = Sample {
                        rss_kib: peak.rss_kib.max(s.rss_kib),
                        hwm_kib: peak.hwm_kib.max(s.hwm_kib),
                        threads: peak.threads.max(s.threads),
                        fds: peak.fds.max(s.fds),
                    };
                    last = Some(s);
                } else {
                    last = None; // the server is gone
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            (peak, last)
        })
    };

    let stats = Arc::new(Stats::default());
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(opts.seconds);
    let mut clients = Vec::new();
    for i in 0..opts.clients {
        let client = mix::Client::new(i, &accounts[i % accounts.len()], &http, &opts, stats.clone());
        clients.push(tokio::spawn(client.run(deadline)));
    }
    let mut stored = Vec::new();
    let mut deleted = Vec::new();
    for client in clients {
        let (mine, gone) = client.await?;
        stored.extend(mine);
        deleted.extend(gone);
    }
    let elapsed = started.elapsed().as_secs_f64();
    // Close the clients' pooled connections, so the end figures are the server's own.
    drop(http);
    eprintln!("    soak: clients stopped after {elapsed:.1} s; {} s of quiet", opts.quiet);
    tokio::time::sleep(Duration::from_secs(opts.quiet)).await;
    stop.store(true, Ordering::Relaxed);
    let (peak, _) = sampler.await?;
    let end = sample(opts.pid);

    eprintln!("    soak: verifying {} stored and {} deleted files", stored.len(), deleted.len());
    let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build()?;
    let verified = verify::files(&http, &opts.server, &accounts, &stored, &deleted, &stats).await;

    let counts = stats.counts.lock().unwrap().clone();
    let total: u64 = counts.iter().filter(|((op, _), _)| !op.starts_with("verify")).map(|(_, n)| n).sum();
    println!("Requests by operation and status (0 = no HTTP answer)");
    for ((op, status), n) in &counts {
        println!("  {op:<22} {status:>3} {n:>9}");
    }
    let mut by_status: BTreeMap<u16, u64> = BTreeMap::new();
    for ((_, status), n) in &counts {
        *by_status.entry(*status).or_default() += n;
    }
    println!("Requests by status");
    for (status, n) in &by_status {
        println!("  {status:>3} {n:>9}");
    }
    println!("Load: {total} requests in {elapsed:.1} s = {:.0} req/s", total as f64 / elapsed);
    println!(
        "Files: {} acknowledged (201) and kept, {} deleted; {} verified intact at the end",
        stored.len(),
        deleted.len(),
        verified
    );
    println!("Server process (/proc/{})", opts.pid);
    show("start (before the accounts)", start);
    show("peak (sampled each second)", peak);
    match end {
        Some(end) => show(&format!("end ({} s after the clients)", opts.quiet), end),
        None => stats.fail("the server process is gone".into()),
    }
    let failures = stats.failures.load(Ordering::Relaxed);
    let messages = stats.messages.lock().unwrap();
    if failures == 0 {
        println!("Failures: none");
    } else {
        println!("Failures: {failures} (the first {}):", messages.len());
        for m in messages.iter() {
            println!("  {m}");
        }
    }
    Ok(failures == 0)
}
