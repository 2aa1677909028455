//! The public share page `GET /s/{token}`: server-side HTML for phones,
//! rendered with maud (which escapes every interpolated value; user data
//! never goes through `PreEscaped`). It works without JavaScript; the only
//! script is the optional "Copy" button of text clips.
//!
//! `layout` has the HTML shell and the CSS, `share` the page of a usable
//! link and its password form, `e2e` the page of an end-to-end encrypted
//! item (the one page that needs JavaScript: the browser decrypts),
//! `notice` the 404, 410, 429 and 500 pages.
//! The handlers live in `routes::page`.

mod e2e;
mod layout;
mod notice;
mod share;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::Markup;

pub use e2e::{encrypted_share, EncryptedShare};
pub use notice::{gone, not_found, server_error, too_many_attempts, GoneReason};
pub use share::{item, password_form, PasswordPrompt};

/// What a usable share holds, as the page shows it.
#[derive(Debug, Clone)]
pub enum Content {
    /// A file (or a file clip).
    File {
        /// Size in bytes.
        size: u64,
        /// MIME type.
        content_type: String,
        /// Show the image inline: only for images on links with neither a
        /// password nor a download limit.
        preview: bool,
    },
    /// A text clip.
    Text {
        /// Size in bytes.
        size: u64,
        /// The full text; None while it sits behind the "Show text" button
        /// of a link with a download limit (showing it uses a download).
        text: Option<String>,
    },
}

/// A usable share as the page shows it.
#[derive(Debug, Clone)]
pub struct Item {
    /// The share token (URL-safe; it came from the database).
    pub token: String,
    /// The file name, or `clip.txt` for text.
    pub name: String,
    /// What it holds.
    pub content: Content,
    /// Seconds until the link expires.
    pub time_left: u64,
    /// Downloads left when the link has a limit.
    pub downloads_left: Option<u64>,
    /// The password the visitor just gave, for the download form of an
    /// unlocked protected link (sent again as a hidden POST field, never in
    /// a URL). None for links without a password.
    pub password: Option<String>,
}

/// The Content-Security-Policy of every page: nothing but same-origin
/// images, the inline style block, the inline copy script and same-origin
/// form posts.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; \
     script-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The Content-Security-Policy of an end-to-end encrypted item's page: its
/// module script from this origin (no inline script), which fetches the
/// ciphertext (`connect-src`), may run a service worker to stream a large
/// file's decryption, and shows decrypted images and media as `blob:` URLs.
pub const E2E_CONTENT_SECURITY_POLICY: &str = "default-src 'none'; img-src 'self' blob:; media-src blob:; \
     style-src 'unsafe-inline'; script-src 'self'; connect-src 'self'; worker-src 'self'; \
     form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// An HTML response with the page's security and caching headers.
pub fn respond(status: StatusCode, markup: Markup) -> Response {
    respond_with_csp(status, markup, CONTENT_SECURITY_POLICY)
}

/// [`respond`] with another Content-Security-Policy.
pub fn respond_with_csp(status: StatusCode, markup: Markup, csp: &'static str) -> Response {
    let mut response = (status, markup.into_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
    response
}

/// "2 d 3 h", "1 h 59 min", "4 min", "35 s" (rounded down).
pub fn time_left(secs: u64) -> String {
    let (days, hours, minutes) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{secs} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, 0, _) => format!("{d} d"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

/// "1 download left", "3 downloads left".
pub fn downloads_left(n: u64) -> String {
    if n == 1 {
        "1 download left".to_string()
    } else {
        format!("{n} downloads left")
    }
}

/// The short label of the badge: the file's extension, or "FILE".
pub fn badge(name: &str) -> String {
    match name.rsplit_once('.') {
        Some((stem, ext))
            if !stem.is_empty()
                && (1..=4).contains(&ext.chars().count())
                && ext.chars().all(char::is_alphanumeric) =>
        {
            ext.to_uppercase()
        }
        _ => "FILE".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_reads_naturally() {
        assert_eq!(time_left(0), "0 s");
        assert_eq!(time_left(35), "35 s");
        assert_eq!(time_left(60), "1 min");
        assert_eq!(time_left(4 * 60 + 59), "4 min");
        assert_eq!(time_left(3600), "1 h");
        assert_eq!(time_left(7199), "1 h 59 min");
        assert_eq!(time_left(86_400 + 3 * 3600 + 5), "1 d 3 h");
        assert_eq!(time_left(2 * 86_400 + 59), "2 d");
    }

    #[test]
    fn badges_are_short_extensions() {
        assert_eq!(badge("photo.jpeg"), "JPEG");
        assert_eq!(badge("notes.txt"), "TXT");
        assert_eq!(badge("archive.tar.gz"), "GZ");
        assert_eq!(badge(".bashrc"), "FILE");
        assert_eq!(badge("README"), "FILE");
        assert_eq!(badge("x.<img>"), "FILE");
        assert_eq!(badge("a.verylong"), "FILE");
    }

    #[test]
    fn downloads_left_agrees_in_number() {
        assert_eq!(downloads_left(1), "1 download left");
        assert_eq!(downloads_left(0), "0 downloads left");
        assert_eq!(downloads_left(5), "5 downloads left");
    }

    #[test]
    fn responses_carry_the_security_headers() {
        let response = respond(StatusCode::GONE, maud::html! { p { "x" } });
        assert_eq!(response.status(), StatusCode::GONE);
        let h = response.headers();
        assert_eq!(h[header::CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(h[header::CACHE_CONTROL], "no-store");
        assert_eq!(h[header::REFERRER_POLICY], "no-referrer");
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(h[header::CONTENT_SECURITY_POLICY], CONTENT_SECURITY_POLICY);
    }
}
