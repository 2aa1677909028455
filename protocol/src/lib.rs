//! Wire types of the Cloud Buffer HTTP API (`/api/v1`), shared by the server
//! and every Rust client so both sides agree on the JSON by construction.
//!
//! Times travel as RFC 3339 UTC strings, sizes as bytes, durations as whole
//! seconds. The contract itself is described in `docs/API.md`. Beside the
//! types, the few helpers both sides need: sizes for people ([`units`]),
//! file names from `Content-Disposition` ([`disposition`]) and owner-only
//! files ([`private_file`]).

pub mod disposition;
mod keys;
pub mod private_file;
pub mod units;

pub use keys::{E2eKey, PairRequest, Pairing, PutE2eKey};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// The body of every non-2xx JSON response.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ErrorBody {
    /// The error itself.
    pub error: ErrorDetail,
}

/// A stable machine-readable code plus a message for people.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ErrorDetail {
    /// A snake_case word a client can switch on, e.g. `file_too_large`.
    pub code: String,
    /// A sentence for people.
    pub message: String,
}

/// `POST /api/v1/auth/register` and `POST /api/v1/auth/login`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Credentials {
    /// 1–64 characters: letters, digits, `.`, `_`, `-`.
    pub username: String,
    /// At least 8 characters.
    pub password: String,
    /// A label for the device signing in, shown in the device list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_name: Option<String>,
    /// The `device_token` of an earlier sign-in of this user from this
    /// device: such sign-ins have a budget of their own, so guessers
    /// elsewhere cannot lock the device out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_token: Option<String>,
}

/// `POST /api/v1/auth/refresh`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RefreshRequest {
    /// The refresh token from the last token response; each one works once.
    pub refresh_token: String,
}

/// Tokens answered by register, login and refresh.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Tokens {
    /// A short-lived JWT for `Authorization: Bearer …`.
    pub access_token: String,
    /// Single-use token for `POST /api/v1/auth/refresh`.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// The device (session) these tokens belong to.
    pub device_id: String,
    /// Keep it and send it with later sign-ins of this user from this
    /// device (`Credentials.device_token`); absent only from old servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_token: Option<String>,
}

/// One signed-in device of the user.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Device {
    /// Device id.
    pub id: String,
    /// The name given at sign-in.
    pub name: String,
    /// When the device signed in.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last authenticated request (to the minute).
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen_at: OffsetDateTime,
    /// True for the device making this request.
    pub current: bool,
}

/// The limits that apply to a user.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Limits {
    /// Files kept per user; one more evicts the oldest.
    pub max_files: u64,
    /// Largest single upload in bytes.
    pub max_file_bytes: u64,
    /// Total bytes a user may hold.
    pub quota_bytes: u64,
    /// Life of files and clips in seconds.
    pub expiry_seconds: u64,
    /// Clips kept in the buffer history.
    pub clip_history: u64,
}

/// `GET /api/v1/me`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Me {
    /// User id.
    pub id: String,
    /// User name.
    pub username: String,
    /// Admins may use `/api/v1/admin/*`.
    pub is_admin: bool,
    /// When the account was made.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The limits that apply to this user.
    pub limits: Limits,
}

/// `GET /api/v1/stats`: one user's usage.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Stats {
    /// Files currently held (expired ones not yet purged excluded).
    pub files: u64,
    /// The file limit.
    pub max_files: u64,
    /// Sum of the sizes of the files held.
    pub bytes_used: u64,
    /// The byte quota.
    pub quota_bytes: u64,
    /// Clips in the buffer history.
    pub clips: u64,
    /// Share links that can still be used.
    pub shares_active: u64,
    /// Completed downloads of this user's files.
    pub downloads: u64,
    /// Bytes served in those downloads.
    pub bytes_downloaded: u64,
    /// When the next file expires, if any.
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_expiry_at: Option<OffsetDateTime>,
}

/// A stored file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct FileInfo {
    /// File id.
    pub id: String,
    /// The file's name, sanitized (no path, no control characters).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// BLAKE3 of the content, lowercase hex.
    pub hash: String,
    /// Media type, from the name and the content.
    pub content_type: String,
    /// Upload time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// After this the file answers 410 and is then purged.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Completed downloads.
    pub downloads: u64,
    /// End-to-end encrypted (docs/encryption.md): the content is a CBEE
    /// item, `name` is an encrypted `name` field and `content_type` an
    /// encrypted `content-type` field (or empty), both exactly as the
    /// uploading client sent them. Absent in older servers' answers.
    #[serde(default)]
    pub encrypted: bool,
}

/// `GET /api/v1/admin/stats`: server totals and per-user usage.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AdminStats {
    /// Registered users.
    pub users: u64,
    /// Files held by all users.
    pub files: u64,
    /// Sum of file sizes as users see them.
    pub bytes_used: u64,
    /// Distinct blobs on disk (identical content is stored once).
    pub blobs: u64,
    /// Bytes on disk in the store.
    pub blob_bytes: u64,
    /// Usage per user, by user name.
    pub per_user: Vec<UserUsage>,
}

/// One user's line in [`AdminStats`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct UserUsage {
    /// User name.
    pub username: String,
    /// Files held.
    pub files: u64,
    /// Bytes held.
    pub bytes_used: u64,
    /// Completed downloads.
    pub downloads: u64,
}

/// What a clip holds.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ClipKind {
    /// UTF-8 text, kept in the database.
    Text,
    /// A stored file (it also appears under Files).
    File,
}

/// One entry of the clipboard history.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Clip {
    /// Clip id.
    pub id: String,
    /// Text or file.
    pub kind: ClipKind,
    /// Bytes of content.
    pub size: u64,
    /// When it was copied.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it goes away.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// The device that made it (absent for HTTP Basic clients).
    pub origin_device_id: Option<String>,
    /// First 200 characters of a text clip; for an encrypted text clip,
    /// the encrypted `preview` field its client sent (if any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<String>,
    /// The stored file of a file clip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileInfo>,
    /// End-to-end encrypted: a text clip's content is an encrypted `text`
    /// field; a file clip is encrypted exactly when its file is. Absent in
    /// older servers' answers.
    #[serde(default)]
    pub encrypted: bool,
}

/// Why a file went away, in `file.deleted` events.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum DeleteReason {
    /// Its owner deleted it.
    Deleted,
    /// Its time ran out.
    Expired,
    /// A newer file pushed it past the file limit.
    Evicted,
}

/// The state of a share link.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ShareState {
    /// Can be downloaded.
    Active,
    /// Past its expiry (or its item's).
    Expired,
    /// All its downloads are used up.
    Exhausted,
    /// Revoked by its owner.
    Revoked,
}

/// `POST /api/v1/shares`: exactly one of `file_id` and `clip_id`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateShare {
    /// A file to share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_id: Option<String>,
    /// A clip to share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clip_id: Option<String>,
    /// Seconds the link lives; defaults to (and may not exceed) the item's remaining life.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<i64>,
    /// Required to download when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Completed downloads allowed; 1 is burn-after-reading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_downloads: Option<u64>,
}

/// A share link.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Share {
    /// Random URL-safe token (≥ 128 bits).
    pub token: String,
    /// Absolute URL of the phone page.
    pub url: String,
    /// Absolute URL of the QR code as SVG.
    pub qr_svg_url: String,
    /// Absolute URL of the QR code as PNG.
    pub qr_png_url: String,
    /// The shared file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileInfo>,
    /// The shared clip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clip: Option<Clip>,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Expiry time.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Seconds until expiry (0 once expired).
    pub time_left: u64,
    /// Download limit, if any.
    pub max_downloads: Option<u64>,
    /// Completed downloads.
    pub downloads: u64,
    /// Whether a password is needed.
    pub password_protected: bool,
    /// Active, expired, exhausted or revoked.
    pub state: ShareState,
}

/// One message on the `/api/v1/events` WebSocket.
// Events are built, serialized once and dropped: boxing the large variants
// would cost more than their size does.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(tag = "type")]
pub enum Event {
    /// A clip was added to the buffer.
    #[serde(rename = "clip.created")]
    ClipCreated {
        /// The clip.
        clip: Clip,
    },
    /// A clip left the history.
    #[serde(rename = "clip.deleted")]
    ClipDeleted {
        /// Clip id.
        id: String,
    },
    /// A file was stored.
    #[serde(rename = "file.created")]
    FileCreated {
        /// The file.
        file: FileInfo,
    },
    /// A file went away.
    #[serde(rename = "file.deleted")]
    FileDeleted {
        /// File id.
        id: String,
        /// Why.
        reason: DeleteReason,
    },
    /// A share link was made.
    #[serde(rename = "share.created")]
    ShareCreated {
        /// The share.
        share: Share,
    },
    /// A share link was revoked.
    #[serde(rename = "share.revoked")]
    ShareRevoked {
        /// Share token.
        token: String,
    },
    /// A device of the user signed in (a phone was paired, say).
    #[serde(rename = "device.added")]
    DeviceAdded {
        /// The device.
        device: Device,
    },
    /// A device of the user signed out or was revoked.
    #[serde(rename = "device.removed")]
    DeviceRemoved {
        /// Device id.
        id: String,
    },
    /// The user's usage changed.
    #[serde(rename = "stats")]
    Stats {
        /// New figures.
        stats: Stats,
    },
}
