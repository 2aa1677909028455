//! Devices and "Add a phone": the account's signed-in devices (revoking
//! one signs it out) and one-time pairing links shown as a QR code.

use cloudbuffer_protocol::Device;
use serde::Serialize;
use tauri::State;

use crate::commands::share::{qr_svg, ui_loopback_warning};
use crate::error::UiResult;
use crate::state::AppState;

/// A pairing link for the dialog.
#[derive(Debug, Clone, Serialize)]
pub struct PairingView {
    /// The one-time URL (`…/app/#pair=CODE`).
    pub url: String,
    /// Its QR code as an SVG document, drawn here like the share dialog's.
    pub qr_svg: String,
    /// When this computer holds the end-to-end encryption key: the same
    /// link with the key in its fragment (`#pair=CODE&k=KEY`), so that the
    /// phone's web app can decrypt. The dialog offers it, on by default.
    pub with_key: Option<KeyedLink>,
    /// When the code stops working (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: time::OffsetDateTime,
    /// Seconds it works from now (the countdown trusts this, not the
    /// clocks of two machines).
    pub expires_in: u64,
    /// A sentence to show when the URL is one a phone cannot open.
    pub loopback_warning: Option<String>,
}

/// A pairing link that carries the account key.
#[derive(Debug, Clone, Serialize)]
pub struct KeyedLink {
    /// `…/app/#pair=CODE&k=<AccountKey::to_base64url()>`.
    pub url: String,
    /// Its QR code.
    pub qr_svg: String,
}

/// The account's signed-in devices (`current` marks this one).
#[tauri::command]
pub async fn list_devices(state: State<'_, AppState>) -> UiResult<Vec<Device>> {
    Ok(state.client().await?.devices().await?)
}

/// Signs a device out (its live connection closes; the others hear
/// `device.removed`).
#[tauri::command]
pub async fn revoke_device(state: State<'_, AppState>, id: String) -> UiResult<()> {
    Ok(state.client().await?.revoke_device(&id).await?)
}

/// A one-time pairing link for a phone: valid 5 minutes, single use. The
/// UI hears the phone arrive as a `device.added` server event.
#[tauri::command]
pub async fn create_pairing(state: State<'_, AppState>) -> UiResult<PairingView> {
    let client = state.client().await?;
    let pairing = client.create_pairing().await?;
    // Only in the fragment, which browsers never send: the server stays
    // unable to read the key, though the QR code then holds it.
    let with_key = match client.account_key()? {
        Some(key) => {
            let url = format!("{}&k={}", pairing.url, key.to_base64url());
            Some(KeyedLink { qr_svg: qr_svg(&url)?, url })
        }
        None => None,
    };
    Ok(PairingView {
        with_key,
        qr_svg: qr_svg(&pairing.url)?,
        loopback_warning: ui_loopback_warning(&pairing.url),
        url: pairing.url,
        expires_at: pairing.expires_at,
        expires_in: pairing.expires_in,
    })
}
