//! The end of a soak: every file acknowledged with 201 and not deleted
//! downloads intact; every deleted file is gone.

use futures_util::{stream, StreamExt};
use reqwest::StatusCode;

use super::mix::{content, Account, Stored};
use super::Stats;

/// Checks `stored` and `deleted` (16 requests at a time); returns how many
/// stored files came back intact. Anything else is a failure in `stats`.
pub(crate) async fn files(
    http: &reqwest::Client,
    server: &str,
    accounts: &[Account],
    stored: &[Stored],
    deleted: &[Stored],
    stats: &Stats,
) -> usize {
    let checks = stored.iter().map(|f| (f, true)).chain(deleted.iter().map(|f| (f, false)));
    let results: Vec<bool> = stream::iter(checks)
        .map(|(file, kept)| async move {
            let op = if kept { "verify download" } else { "verify deleted" };
            let path = if kept {
                format!("/api/v1/files/{}/content", file.id)
            } else {
                format!("/api/v1/files/{}", file.id)
            };
            let request = http.get(format!("{server}{path}")).bearer_auth(&accounts[file.account].token);
            let response = match request.send().await {
                Ok(response) => response,
                Err(e) => {
                    stats.count(op, 0);
                    stats.fail(format!("{op} {}: no answer: {}", file.id, super::chain(&e)));
                    return false;
                }
            };
            let status = response.status();
            stats.count(op, status.as_u16());
            match (kept, status) {
                (true, StatusCode::OK) => match response.bytes().await {
                    Ok(bytes) if bytes[..] == content(file.len, file.seed)[..] => true,
                    Ok(bytes) => {
                        stats.fail(format!(
                            "{op} {}: {} bytes, not the {} sent",
                            file.id,
                            bytes.len(),
                            file.len
                        ));
                        false
                    }
                    Err(e) => {
                        stats.fail(format!("{op} {}: body cut off: {}", file.id, super::chain(&e)));
                        false
                    }
                },
                (true, status) => {
                    stats.fail(format!("{op} {}: HTTP {status}: an acknowledged file is lost", file.id));
                    false
                }
                (false, StatusCode::NOT_FOUND) => false,
                (false, status) => {
                    stats.fail(format!("{op} {}: HTTP {status}: a deleted file is still there", file.id));
                    false
                }
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    results.into_iter().filter(|ok| *ok).count()
}
