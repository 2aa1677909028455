//! Downloads through a share link, and how they are counted: exactly, with
//! a reserved slot, for links with a download limit; in the batch
//! (`tally`) for the rest.

use axum::http::header;
use axum::response::Response;

use super::{require_active, resolve, Resolved};
use crate::db::now_ms;
use crate::error::{ApiError, ApiResult};
use crate::files::download::Conditions;
use crate::state::AppState;
use crate::tally::Counted;

/// The bytes of an active share whose password was checked. A download
/// slot is reserved first (so `max_downloads` holds under concurrency) and
/// counted only when the last byte goes out; otherwise it is released.
/// HEAD reserves and counts nothing. Links with a download limit ignore
/// `Range`: partial reads never count, so they would let a client read all
/// but the last byte of a one-time link again and again.
pub async fn download(
    state: &AppState,
    resolved: &Resolved,
    conditions: &Conditions,
    head: bool,
) -> ApiResult<Response> {
    let unconditional = Conditions::default();
    let conditions = if resolved.row.max_downloads.is_some() { &unconditional } else { conditions };
    if head {
        return respond(state, resolved, conditions, Counting::Not).await;
    }
    if resolved.row.max_downloads.is_none() {
        // Nothing to limit: counted in the batch, no reservation.
        return respond(state, resolved, conditions, Counting::Tally(state.clone())).await;
    }
    let now = now_ms();
    let Some(id) = state.db.reserve_download(&resolved.row.token, now, now + LEASE_MS).await? else {
        let fresh = resolve(state, &resolved.row.token).await?;
        require_active(&fresh)?;
        return Err(ApiError::GoneWith("exhausted", "this link's downloads are used up"));
    };
    let reservation = Reservation::new(state.clone(), id, resolved.row.token.clone());
    respond(state, resolved, conditions, Counting::Reserved(reservation)).await
}

/// How a download through a link is counted once its last byte goes out.
enum Counting {
    /// Not at all (HEAD).
    Not,
    /// In the batch (`tally`): links without a download limit.
    Tally(AppState),
    /// Exactly, through its reserved slot: links with a limit.
    Reserved(Reservation),
}

impl Counting {
    fn complete(self, token: &str, file: Option<&Counted>, bytes: u64) {
        match self {
            Counting::Not => {}
            Counting::Tally(state) => {
                state.tally.share(token);
                state.tally.download(file, bytes);
            }
            Counting::Reserved(reservation) => reservation.complete(file, bytes),
        }
    }
}

async fn respond(
    state: &AppState,
    resolved: &Resolved,
    conditions: &Conditions,
    counting: Counting,
) -> ApiResult<Response> {
    let token = resolved.row.token.clone();
    match (&resolved.clip, &resolved.file) {
        (Some(clip), None) => {
            let text = state.db.clip_text(&clip.id).await?.unwrap_or_default();
            let len = text.len() as u64;
            // Counted when hyper takes the bytes, like file downloads.
            let body = futures_util::stream::once(async move {
                counting.complete(&token, None, len);
                Ok::<_, std::convert::Infallible>(bytes::Bytes::from(text))
            });
            let builder = Response::builder().header(header::CONTENT_LENGTH, len);
            // An encrypted text is a field: opaque bytes with no name.
            let builder = if clip.encrypted {
                builder
                    .header(header::CONTENT_TYPE, "application/octet-stream")
                    .header(header::CONTENT_DISPOSITION, "attachment")
                    .header(crate::encrypted::HEADER, "1")
            } else {
                builder.header(header::CONTENT_TYPE, "text/plain; charset=utf-8").header(
                    header::CONTENT_DISPOSITION,
                    crate::files::names::content_disposition("attachment", &resolved.name()),
                )
            };
            builder.body(axum::body::Body::from_stream(body)).map_err(|e| ApiError::Internal(e.to_string()))
        }
        (_, Some(file)) => {
            let content = crate::files::download::Content::of(state, file);
            let counted = Counted::of(file);
            crate::files::download::serve(content, conditions, move |bytes| {
                counting.complete(&token, Some(&counted), bytes)
            })
            .await
        }
        (None, None) => Err(ApiError::Gone("share link")),
    }
}

/// How long a reservation holds without renewal; renewed every third of it
/// while the download runs.
const LEASE_MS: i64 = 5 * 60 * 1000;

/// A reserved download slot: completed once, or released when dropped. A
/// task renews its lease meanwhile, so only a dead instance's slots lapse.
struct Reservation {
    state: AppState,
    id: String,
    token: String,
    open: bool,
    renewal: tokio::task::JoinHandle<()>,
}

impl Reservation {
    fn new(state: AppState, id: String, token: String) -> Reservation {
        let renewal = {
            let (db, id) = (state.db.clone(), id.clone());
            tokio::spawn(async move {
                let every = std::time::Duration::from_millis(LEASE_MS as u64 / 3);
                loop {
                    tokio::time::sleep(every).await;
                    if let Err(e) = db.renew_reservation(&id, now_ms() + LEASE_MS).await {
                        tracing::warn!(error = %e, "cannot renew a share download's lease");
                    }
                }
            })
        };
        Reservation { state, id, token, open: true, renewal }
    }

    /// Counts the link's download exactly (its limit depends on it); the
    /// file's and owner's counts go in the batch.
    fn complete(mut self, file: Option<&Counted>, bytes: u64) {
        self.open = false;
        let (db, id, token) = (self.state.db.clone(), self.id.clone(), self.token.clone());
        self.state.tally.download(file, bytes);
        tokio::spawn(async move {
            if let Err(e) = db.finish_download(&id, &token, true).await {
                tracing::error!(error = %e, "cannot count share download");
            }
        });
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.renewal.abort();
        if self.open {
            let (db, id, token) = (self.state.db.clone(), self.id.clone(), self.token.clone());
            tokio::spawn(async move {
                if let Err(e) = db.finish_download(&id, &token, false).await {
                    tracing::error!(error = %e, "cannot release share download");
                }
            });
        }
    }
}
