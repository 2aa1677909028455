//! The clipboard view: history, putting a past clip on the clipboard,
//! sending the clipboard now, deleting.

use cloudbuffer_client::sync::{content, CLIPBOARD_IMAGE_PREFIX};
use cloudbuffer_client::ClientError;
use cloudbuffer_protocol::{Clip, ClipKind};
use serde::Serialize;
use tauri::State;

use crate::error::{UiError, UiResult};
use crate::state::AppState;

/// Larger images are not put on the clipboard.
const MAX_IMAGE_BYTES: u64 = 32 << 20;

/// A clip as the UI lists it: an encrypted one decrypted (its preview,
/// file name and size the plaintext's) when this computer holds the key.
#[derive(Debug, Clone, Serialize)]
pub struct ClipView {
    /// The clip.
    #[serde(flatten)]
    pub clip: Clip,
    /// Why an encrypted clip is shown without its content ([`sealed`]);
    /// `None` when it is readable.
    pub locked: Option<&'static str>,
}

/// The clip history, newest first.
#[tauri::command]
pub async fn list_clips(state: State<'_, AppState>) -> UiResult<Vec<ClipView>> {
    let client = state.client().await?;
    Ok(client
        .clips()
        .await?
        .into_iter()
        .map(|clip| match client.reveal_clip(&clip) {
            Ok(clip) => ClipView { clip, locked: None },
            // Never the ciphertext as a name: the UI says why instead.
            Err(e) => ClipView { clip, locked: Some(sealed(&e)) },
        })
        .collect())
}

/// Why an encrypted item cannot be shown: `locked` (this computer does not
/// hold the account key) or `unreadable` (it does not decrypt: modified,
/// or made with another key).
pub fn sealed(error: &ClientError) -> &'static str {
    match error {
        ClientError::Encrypted => "locked",
        _ => "unreadable",
    }
}

/// Puts clip `id` on this computer's clipboard (text, or an image file clip).
#[tauri::command]
pub async fn use_clip(state: State<'_, AppState>, id: String) -> UiResult<()> {
    let client = state.client().await?;
    let clipboard = state.clipboard()?;
    // Decrypted first: an encrypted image's content type is a ciphertext.
    let clip = client.reveal_clip(&client.clip(&id).await?)?;
    match (&clip.kind, &clip.file) {
        (ClipKind::Text, _) => {
            let text = client.clip_text(&id).await?;
            blocking(move || clipboard.write_text(&text)).await
        }
        (ClipKind::File, Some(file)) if file.content_type == "image/png" => {
            let bytes = client.clip_bytes(&id, MAX_IMAGE_BYTES).await?;
            let image = content::decode_png(&bytes, (MAX_IMAGE_BYTES / 4) as usize)
                .map_err(|e| UiError::new(format!("This image cannot be copied: {e}.")))?;
            blocking(move || clipboard.write_image(&image)).await
        }
        _ => Err(UiError::new("This clip is a file: download it instead.")),
    }
}

async fn blocking(
    work: impl FnOnce() -> Result<(), cloudbuffer_client::sync::ClipboardError> + Send + 'static,
) -> UiResult<()> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| UiError::new(format!("The clipboard failed: {e}.")))?
        .map_err(|e| UiError::new(format!("The clipboard failed: {}.", e.0)))
}

/// Puts `text` on this computer's clipboard (the share dialog's Copy).
#[tauri::command]
pub async fn copy_to_clipboard(state: State<'_, AppState>, text: String) -> UiResult<()> {
    let clipboard = state.clipboard()?;
    blocking(move || clipboard.write_text(&text)).await
}

/// Sends what is on this computer's clipboard now (text or an image).
#[tauri::command]
pub async fn send_clipboard_now(state: State<'_, AppState>) -> UiResult<Clip> {
    let client = state.client().await?;
    let clipboard = state.clipboard()?;
    let read = tokio::task::spawn_blocking(move || -> Result<_, String> {
        if let Some(text) = clipboard.read_text().map_err(|e| e.0)? {
            if !text.is_empty() {
                return Ok((Some(text), None));
            }
        }
        Ok((None, clipboard.read_image().map_err(|e| e.0)?))
    })
    .await
    .map_err(|e| UiError::new(e.to_string()))?
    .map_err(|e| UiError::new(format!("The clipboard cannot be read: {e}.")))?;
    match read {
        (Some(text), _) => Ok(client.copy_text(&text).await?),
        (None, Some(image)) => {
            let png = content::encode_png(&image).map_err(UiError::new)?;
            Ok(client.copy_bytes(&clip_name(), png).await?)
        }
        (None, None) => Err(UiError::new("The clipboard is empty.")),
    }
}

/// Removes a clip from the history.
#[tauri::command]
pub async fn delete_clip(state: State<'_, AppState>, id: String) -> UiResult<()> {
    Ok(state.client().await?.delete_clip(&id).await?)
}

/// `clipboard-20260102-150405.png`, as the sync engine names clipboard images.
fn clip_name() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{CLIPBOARD_IMAGE_PREFIX}{:04}{:02}{:02}-{:02}{:02}{:02}.png",
        now.year(),
        now.month() as u8,
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    )
}
