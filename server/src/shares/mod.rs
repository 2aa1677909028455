//! Share links: creating, listing and revoking them for their owner, and
//! the public side (resolve, password check, counted downloads).

use std::collections::HashMap;
use std::net::IpAddr;

use axum::http::header;
use axum::response::Response;
use cloudbuffer_protocol::{CreateShare, Event, Share, ShareState};

use crate::auth::password::{hash_password, validate_password, verify_password};
use crate::buffer::{clip_info, owned_clip};
use crate::db::{now_ms, to_time, ClipRow, FileRow, ShareRow};
use crate::error::{ApiError, ApiResult};
use crate::files::{file_info, owned_file};
use crate::state::AppState;
use crate::{events, ids};

mod download;
pub use download::download;

/// A share with its item as it is now.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The share.
    pub row: ShareRow,
    /// The shared file, or a file clip's file.
    pub file: Option<FileRow>,
    /// The shared clip.
    pub clip: Option<ClipRow>,
    /// Its state.
    pub state: ShareState,
}

impl Resolved {
    /// The name to show and download under.
    pub fn name(&self) -> String {
        match (&self.file, &self.clip) {
            (Some(file), _) => file.name.clone(),
            _ => "clip.txt".to_string(),
        }
    }

    /// Whether the shared item is end-to-end encrypted (a file clip: its file).
    pub fn encrypted(&self) -> bool {
        self.clip.as_ref().is_some_and(|c| c.encrypted) || self.file.as_ref().is_some_and(|f| f.encrypted)
    }
}

/// The state of a share given whether its item still exists.
pub fn share_state(row: &ShareRow, item_exists: bool, now: i64) -> ShareState {
    if row.revoked_at.is_some() {
        ShareState::Revoked
    } else if row.expires_at <= now || !item_exists {
        ShareState::Expired
    } else if row.max_downloads.is_some_and(|max| row.downloads >= max) {
        ShareState::Exhausted
    } else {
        ShareState::Active
    }
}

/// The wire form of a share, its links under `base` (see [`crate::public_url`]).
pub fn share_info(base: &str, resolved: &Resolved, now: i64) -> Share {
    let row = &resolved.row;
    let url = format!("{base}/s/{}", row.token);
    Share {
        token: row.token.clone(),
        qr_svg_url: format!("{url}/qr.svg"),
        qr_png_url: format!("{url}/qr.png"),
        url,
        file: if resolved.clip.is_none() { resolved.file.as_ref().map(file_info) } else { None },
        clip: resolved.clip.as_ref().map(clip_info),
        created_at: to_time(row.created_at),
        expires_at: to_time(row.expires_at),
        time_left: ((row.expires_at - now).max(0) / 1000) as u64,
        max_downloads: row.max_downloads.map(|n| n as u64),
        downloads: row.downloads as u64,
        password_protected: row.password_hash.is_some(),
        state: resolved.state,
    }
}

fn invalid(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::unprocessable(code, message)
}

/// Creates a share of one of the user's files or clips, its links under `base`.
pub async fn create(state: &AppState, user_id: &str, request: CreateShare, base: &str) -> ApiResult<Share> {
    let now = now_ms();
    let (file, clip) = match (&request.file_id, &request.clip_id) {
        (Some(id), None) => (Some(owned_file(state, user_id, id).await?), None),
        (None, Some(id)) => {
            let clip = owned_clip(state, user_id, id).await?;
            (clip.file.clone(), Some(clip))
        }
        _ => return Err(invalid("invalid_share_target", "give exactly one of file_id and clip_id")),
    };
    let item_expires =
        clip.as_ref().map_or_else(|| file.as_ref().map_or(now, |f| f.expires_at), |c| c.expires_at);
    let remaining = (item_expires - now) / 1000;
    let expires_at = match request.expires_in {
        None => item_expires,
        Some(secs) if secs <= 0 => {
            return Err(invalid("invalid_expires_in", "expires_in must be at least 1 second"))
        }
        Some(secs) if secs > remaining.max(0) => {
            return Err(invalid(
                "expires_in_too_long",
                format!("expires_in may be at most {remaining} seconds: the item expires then"),
            ))
        }
        Some(secs) => now + secs * 1000,
    };
    if request.max_downloads == Some(0) {
        return Err(invalid("invalid_max_downloads", "max_downloads must be at least 1"));
    }
    let password_hash = match request.password {
        Some(password) => {
            validate_password(&password)?;
            Some(hash_password(password).await?)
        }
        None => None,
    };
    let row = ShareRow {
        token: ids::random_token(18),
        user_id: user_id.to_string(),
        file_id: if clip.is_none() { file.as_ref().map(|f| f.id.clone()) } else { None },
        clip_id: clip.as_ref().map(|c| c.id.clone()),
        password_hash,
        max_downloads: request.max_downloads.map(|n| n.min(i64::MAX as u64) as i64),
        downloads: 0,
        created_at: now,
        expires_at,
        revoked_at: None,
    };
    state.db.insert_share(&row).await?;
    let resolved = Resolved { row, file, clip, state: ShareState::Active };
    let share = share_info(base, &resolved, now);
    events::notify(state, user_id, vec![Event::ShareCreated { share: share.clone() }]).await;
    Ok(share)
}

/// The user's shares, newest first, with their items (three queries).
pub async fn list(state: &AppState, user_id: &str, base: &str) -> ApiResult<Vec<Share>> {
    let now = now_ms();
    state.settle_counts().await;
    let rows = state.db.list_shares(user_id).await?;
    let file_ids: Vec<String> = rows.iter().filter_map(|r| r.file_id.clone()).collect();
    let clip_ids: Vec<String> = rows.iter().filter_map(|r| r.clip_id.clone()).collect();
    let files: HashMap<String, FileRow> =
        state.db.files_by_ids(&file_ids).await?.into_iter().map(|f| (f.id.clone(), f)).collect();
    let clips: HashMap<String, ClipRow> =
        state.db.clips_by_ids(&clip_ids).await?.into_iter().map(|c| (c.id.clone(), c)).collect();
    Ok(rows
        .into_iter()
        .map(|row| {
            let clip = row.clip_id.as_ref().and_then(|id| clips.get(id)).cloned();
            let file = match &clip {
                Some(clip) => clip.file.clone(),
                None => row.file_id.as_ref().and_then(|id| files.get(id)).cloned(),
            };
            let live = clip.as_ref().map_or(file.as_ref().map(|f| f.expires_at), |c| Some(c.expires_at));
            let exists = live.is_some_and(|expires| expires > now);
            let state_now = share_state(&row, exists, now);
            share_info(base, &Resolved { row, file, clip, state: state_now }, now)
        })
        .collect())
}

/// Revokes one of the user's shares.
pub async fn revoke(state: &AppState, user_id: &str, token: &str) -> ApiResult<()> {
    if !state.db.revoke_share(user_id, token, now_ms()).await? {
        return Err(ApiError::NotFound("share"));
    }
    events::notify(state, user_id, vec![Event::ShareRevoked { token: token.to_string() }]).await;
    Ok(())
}

/// Looks a share up for the public: 404 if it never existed.
pub async fn resolve(state: &AppState, token: &str) -> ApiResult<Resolved> {
    let found = state.db.share_with_item(token).await?.ok_or(ApiError::NotFound("share"))?;
    let (row, clip, file) = (found.share, found.clip, found.file);
    let now = now_ms();
    let live = clip.as_ref().map_or(file.as_ref().map(|f| f.expires_at), |c| Some(c.expires_at));
    let exists = live.is_some_and(|expires| expires > now);
    let state_now = share_state(&row, exists, now);
    Ok(Resolved { row, file, clip, state: state_now })
}

/// 410 unless the share can be used.
pub fn require_active(resolved: &Resolved) -> ApiResult<()> {
    match resolved.state {
        ShareState::Active => Ok(()),
        ShareState::Expired => Err(ApiError::Gone("share link")),
        ShareState::Exhausted => Err(ApiError::GoneWith("exhausted", "this link's downloads are used up")),
        ShareState::Revoked => Err(ApiError::GoneWith("revoked", "this link was revoked by its owner")),
    }
}

/// Checks a share's password. Wrong guesses are charged per (link,
/// address) and refused once that budget is spent; every attempt on a link
/// also waits its turn on the link's shared budget, which delays guessers
/// spread over many addresses without ever refusing the right password.
/// The charge is taken before the (slow) hash check and given back unless
/// the password is wrong, so guesses sent all at once cannot outrun it.
pub async fn check_password(
    state: &AppState,
    resolved: &Resolved,
    given: Option<&str>,
    ip: IpAddr,
) -> ApiResult<()> {
    let Some(hash) = &resolved.row.password_hash else { return Ok(()) };
    let Some(given) = given.filter(|p| !p.is_empty()) else {
        return Err(ApiError::unauthorized("password_required", "this link is protected by a password"));
    };
    let charge = state.attempts.share_password(&resolved.row.token, ip).await?;
    if verify_password(given.to_string(), hash.clone()).await {
        Ok(())
    } else {
        charge.keep();
        Err(ApiError::unauthorized("wrong_password", "wrong password"))
    }
}

/// An image preview for the share page: served inline and not counted,
/// only for active image links with neither a password nor a download
/// limit (anything else: 404, so a preview can never stand in for a
/// counted or protected download).
/// Raster formats every phone browser shows. Never SVG: served inline from
/// this origin, an uploaded SVG could run scripts.
const PREVIEW_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/// Whether a link shows its image inline. Loading a preview is a read of
/// the file, so only where that costs nothing: no download limit to burn,
/// no password to ask.
pub fn has_preview(row: &ShareRow, file: &FileRow) -> bool {
    !file.encrypted
        && row.password_hash.is_none()
        && row.max_downloads.is_none()
        && PREVIEW_TYPES.contains(&file.content_type.as_str())
}

pub async fn preview(
    state: &AppState,
    resolved: &Resolved,
    conditions: &crate::files::download::Conditions,
) -> ApiResult<Response> {
    require_active(resolved)?;
    if resolved.encrypted() {
        // Only the browser holding the link's key can make one.
        return Err(ApiError::NotFoundWith("no_preview", "an end-to-end encrypted item has no preview"));
    }
    let file = match (&resolved.clip, &resolved.file) {
        (None, Some(file)) => file,
        _ => return Err(ApiError::NotFound("preview")),
    };
    if !has_preview(&resolved.row, file) {
        return Err(ApiError::NotFound("preview"));
    }
    let content = crate::files::download::Content::of(state, file);
    let mut response = crate::files::download::serve(content, conditions, |_| {}).await?;
    if let Ok(value) = crate::files::names::content_disposition("inline", &file.name).parse() {
        response.headers_mut().insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
