//! The share dialog: a link for a file or clip, with expiry, password and
//! one-time options, and its QR code drawn here (dark on light, big
//! enough to scan from a phone at arm's length). An end-to-end encrypted
//! item's link carries its item key in the fragment (`url#k=…`), which the
//! server never sees, so its QR code must be drawn here: the server's
//! `qr.svg` encodes the URL without it.

use cloudbuffer_protocol::CreateShare;
use qrcode::render::svg;
use qrcode::QrCode;
use serde::{Deserialize, Serialize};
use tauri::State;

use crate::error::{UiError, UiResult};
use crate::state::AppState;

/// What the dialog asks for.
#[derive(Debug, Clone, Deserialize)]
pub struct ShareRequest {
    /// Share this file…
    pub file_id: Option<String>,
    /// …or this clip.
    pub clip_id: Option<String>,
    /// Link life in seconds; `None` for as long as the item lives.
    pub expires_in: Option<i64>,
    /// Ask this password before the download.
    pub password: Option<String>,
    /// Burn after reading.
    pub one_time: bool,
}

/// A link made.
#[derive(Debug, Clone, Serialize)]
pub struct ShareView {
    /// Token, to revoke it.
    pub token: String,
    /// The link: for an encrypted item, with its key (`#k=…`).
    pub url: String,
    /// The item is end-to-end encrypted: the link carries its key.
    pub encrypted: bool,
    /// The link's QR code as an SVG document.
    pub qr_svg: String,
    /// When the link stops working (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: time::OffsetDateTime,
    /// Protected by a password.
    pub password_protected: bool,
    /// Download limit.
    pub max_downloads: Option<u64>,
    /// A sentence to show when the link is one a phone cannot open.
    pub loopback_warning: Option<String>,
}

/// Creates a share link.
#[tauri::command]
pub async fn create_share(state: State<'_, AppState>, request: ShareRequest) -> UiResult<ShareView> {
    let client = state.client().await?;
    let password = request.password.filter(|p| !p.is_empty());
    let share = client
        .create_share(&CreateShare {
            file_id: request.file_id,
            clip_id: request.clip_id,
            expires_in: request.expires_in,
            password,
            max_downloads: request.one_time.then_some(1),
        })
        .await?;
    let link = match client.share_link(&share).await {
        Ok(link) => link,
        Err(e) => {
            // A link without its key opens nothing: do not leave it behind.
            let _ = client.revoke_share(&share.token).await;
            return Err(e.into());
        }
    };
    Ok(ShareView {
        qr_svg: qr_svg(&link)?,
        loopback_warning: ui_loopback_warning(&share.url),
        encrypted: link != share.url,
        token: share.token,
        url: link,
        expires_at: share.expires_at,
        password_protected: share.password_protected,
        max_downloads: share.max_downloads,
    })
}

/// Revokes a share link.
#[tauri::command]
pub async fn revoke_share(state: State<'_, AppState>, token: String) -> UiResult<()> {
    Ok(state.client().await?.revoke_share(&token).await?)
}

/// The client library's loopback warning as a sentence for the UI: a
/// link on 127.0.0.1 only opens on this computer, never on a phone.
pub fn ui_loopback_warning(url: &str) -> Option<String> {
    let warning = cloudbuffer_client::loopback_warning(url)?;
    let mut chars = warning.chars();
    let first = chars.next()?;
    Some(format!("{}{}.", first.to_uppercase(), chars.as_str()))
}

/// An SVG QR code of `text` about 300 px wide, its quiet zone included,
/// with whole pixels per module and crisp edges so it scans reliably.
pub fn qr_svg(text: &str) -> UiResult<String> {
    let code = QrCode::new(text.as_bytes()).map_err(|e| UiError::new(format!("No QR code: {e}.")))?;
    let modules = (code.width() + 8) as u32;
    let pixels = (300 / modules).max(2);
    let svg = code
        .render::<svg::Color<'_>>()
        .quiet_zone(true)
        .module_dimensions(pixels, pixels)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    Ok(svg.replacen("<svg ", "<svg shape-rendering=\"crispEdges\" ", 1))
}

#[cfg(test)]
mod tests {
    #[test]
    fn qr_codes_are_svg() {
        let svg = super::qr_svg("http://127.0.0.1:8080/s/abc").unwrap();
        assert!(svg.contains("<svg shape-rendering=\"crispEdges\""), "{svg:.80}");
    }

    #[test]
    fn loopback_links_get_a_sentence() {
        let warning = super::ui_loopback_warning("http://127.0.0.1:8080/s/abc").unwrap();
        assert!(warning.starts_with("Phones can't open 127.0.0.1 — start the server with --bind 0.0.0.0"));
        assert!(warning.ends_with("does both)."), "{warning}");
        assert_eq!(super::ui_loopback_warning("http://192.168.1.5:8080/s/abc"), None);
    }
}
