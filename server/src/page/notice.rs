//! The pages that say a link cannot be used: unknown (404), gone (410),
//! too many password attempts (429), and our own failure (500).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use maud::{html, Markup};

use super::layout::page;
use super::respond;

/// Why a link is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoneReason {
    /// Past its expiry, or its item is gone.
    Expired,
    /// Its owner revoked it.
    Revoked,
    /// Its downloads are used up.
    Exhausted,
}

fn notice(title: &str, symbol: &str, heading: &str, text: &str, extra: Markup) -> Markup {
    let body = html! {
        div.card {
            div.symbol aria-hidden="true" { (symbol) }
            h1 { (heading) }
            p.muted { (text) }
            (extra)
        }
    };
    page(title, body)
}

/// 404: no such link.
pub fn not_found() -> Response {
    let markup = notice(
        "Link not found",
        "?",
        "Link not found",
        "There is no link at this address. Check that it was copied in full, or ask the sender for a new one.",
        html! {},
    );
    respond(StatusCode::NOT_FOUND, markup)
}

/// 410: the link existed and can no longer be used.
pub fn gone(reason: GoneReason) -> Response {
    let (heading, text) = match reason {
        GoneReason::Expired => {
            ("This link has expired", "Links only last a while. Ask the sender for a new one.")
        }
        GoneReason::Revoked => {
            ("This link was revoked", "Its owner turned it off. Ask the sender if you still need it.")
        }
        GoneReason::Exhausted => (
            "This link has been used up",
            "It could only be downloaded a limited number of times, and it has been. \
             Ask the sender for a new one.",
        ),
    };
    respond(StatusCode::GONE, notice("Link unavailable", "×", heading, text, html! {}))
}

/// 429 with `Retry-After`: too many password attempts.
pub fn too_many_attempts(token: &str, retry_after: u64) -> Response {
    let text = format!("Too many attempts, try again in {retry_after} s.");
    let markup = notice(
        "Too many attempts",
        "!",
        "Too many attempts",
        &text,
        html! {
            div.actions {
                a.button.secondary href=(token) { "Try again" }
            }
        },
    );
    let mut response = respond(StatusCode::TOO_MANY_REQUESTS, markup);
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    response
}

/// 500: our fault (the cause is logged by the caller).
pub fn server_error() -> Response {
    let markup = notice(
        "Something went wrong",
        "!",
        "Something went wrong",
        "The server could not show this link right now. Try again in a moment.",
        html! {},
    );
    respond(StatusCode::INTERNAL_SERVER_ERROR, markup)
}
