//! What the load tools (`events_load`, `sync_latency`) print: errors with
//! their causes, and results as `key value` lines a script can read.

use std::io::Write;

/// An error with its causes: reqwest's own message alone says little.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// Writes one `key value` result line to stdout and flushes it, so a script
/// watching the file sees it at once.
pub fn result_line(key: &str, value: impl std::fmt::Display) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{key} {value}");
    let _ = stdout.flush();
}
