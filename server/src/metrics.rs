//! Process-wide counters, rendered in the Prometheus text format together
//! with a few gauges read from the database at scrape time.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::db::RemoveReason;

/// A monotonically increasing counter.
#[derive(Debug)]
pub struct Counter(AtomicU64);

impl Counter {
    const fn new() -> Counter {
        Counter(AtomicU64::new(0))
    }

    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// Adds one.
    pub fn inc(&self) {
        self.add(1);
    }

    /// Replaces the value (for gauges).
    pub fn set(&self, value: u64) {
        self.0.store(value, Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Bytes received in completed uploads.
pub static UPLOAD_BYTES: Counter = Counter::new();
/// Bytes sent in completed downloads.
pub static DOWNLOAD_BYTES: Counter = Counter::new();
/// Files stored.
pub static FILES_STORED: Counter = Counter::new();
/// Files deleted by their owner.
pub static FILES_DELETED: Counter = Counter::new();
/// Files expired and purged.
pub static FILES_EXPIRED: Counter = Counter::new();
/// Files evicted by the per-user limit.
pub static FILES_EVICTED: Counter = Counter::new();
/// Connections closed at accept because their address already had its share.
pub static CONNECTIONS_REFUSED: Counter = Counter::new();
/// Notifications received from other instances (PostgreSQL).
pub static RELAY_RECEIVED: Counter = Counter::new();
/// Times the relay's listening connection was re-established.
pub static RELAY_RECONNECTS: Counter = Counter::new();
/// Notifications that could not be sent.
pub static RELAY_SEND_FAILURES: Counter = Counter::new();
/// Send-to-receive delay of the last relayed notification, in ms (a gauge).
pub static RELAY_LAG_MS: Counter = Counter::new();
/// HTTP responses by status class (1xx..5xx).
pub static RESPONSES: [Counter; 5] =
    [Counter::new(), Counter::new(), Counter::new(), Counter::new(), Counter::new()];

/// Counts a file removal by reason.
pub fn count_removal(reason: RemoveReason) {
    match reason {
        RemoveReason::Deleted => FILES_DELETED.add(1),
        RemoveReason::Expired => FILES_EXPIRED.add(1),
        RemoveReason::Evicted => FILES_EVICTED.add(1),
    }
}

/// Counts a response status.
pub fn count_response(status: u16) {
    if let Some(counter) = RESPONSES.get((status / 100).saturating_sub(1) as usize) {
        counter.add(1);
    }
}

/// Gauges read from the database for a scrape.
#[derive(Debug, Default)]
pub struct Gauges {
    /// The database backend's name (`sqlite`, `postgres`).
    pub backend: &'static str,
    /// Registered users.
    pub users: u64,
    /// Files held.
    pub files: u64,
    /// Distinct blobs.
    pub blobs: u64,
    /// Bytes in the store.
    pub blob_bytes: u64,
}

/// Renders every metric in the Prometheus text exposition format.
pub fn render(gauges: &Gauges) -> String {
    let mut out = String::with_capacity(2048);
    let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
    };
    metric(
        "cloudbuffer_upload_bytes_total",
        "counter",
        "Bytes received in completed uploads.",
        UPLOAD_BYTES.get(),
    );
    metric(
        "cloudbuffer_download_bytes_total",
        "counter",
        "Bytes sent in completed downloads.",
        DOWNLOAD_BYTES.get(),
    );
    metric("cloudbuffer_files_stored_total", "counter", "Files stored.", FILES_STORED.get());
    metric(
        "cloudbuffer_connections_refused_total",
        "counter",
        "Connections closed at accept: their address was at its connection cap.",
        CONNECTIONS_REFUSED.get(),
    );
    metric(
        "cloudbuffer_relay_received_total",
        "counter",
        "Events and sign-outs received from other instances.",
        RELAY_RECEIVED.get(),
    );
    metric(
        "cloudbuffer_relay_reconnects_total",
        "counter",
        "Times the cross-instance relay re-established its listening connection.",
        RELAY_RECONNECTS.get(),
    );
    metric(
        "cloudbuffer_relay_send_failures_total",
        "counter",
        "Events that could not be relayed to other instances.",
        RELAY_SEND_FAILURES.get(),
    );
    metric(
        "cloudbuffer_relay_lag_milliseconds",
        "gauge",
        "Delay from send to receipt of the last event relayed from another instance.",
        RELAY_LAG_MS.get(),
    );
    metric("cloudbuffer_users", "gauge", "Registered users.", gauges.users);
    metric("cloudbuffer_files", "gauge", "Files held, expired ones awaiting purge included.", gauges.files);
    metric("cloudbuffer_blobs", "gauge", "Distinct blobs in the store.", gauges.blobs);
    metric("cloudbuffer_blob_bytes", "gauge", "Bytes in the store.", gauges.blob_bytes);
    let _ = writeln!(
        out,
        "# HELP cloudbuffer_database_backend The database in use (1 for the backend named).\n\
         # TYPE cloudbuffer_database_backend gauge\ncloudbuffer_database_backend{{backend=\"{}\"}} 1",
        gauges.backend
    );
    let _ = writeln!(
        out,
        "# HELP cloudbuffer_files_removed_total Files removed, by reason.\n# TYPE cloudbuffer_files_removed_total counter"
    );
    for (reason, counter) in
        [("deleted", &FILES_DELETED), ("expired", &FILES_EXPIRED), ("evicted", &FILES_EVICTED)]
    {
        let _ = writeln!(out, "cloudbuffer_files_removed_total{{reason=\"{reason}\"}} {}", counter.get());
    }
    let _ = writeln!(
        out,
        "# HELP cloudbuffer_http_responses_total HTTP responses, by status class.\n# TYPE cloudbuffer_http_responses_total counter"
    );
    for (i, counter) in RESPONSES.iter().enumerate() {
        let _ = writeln!(out, "cloudbuffer_http_responses_total{{class=\"{}xx\"}} {}", i + 1, counter.get());
    }
    out
}
