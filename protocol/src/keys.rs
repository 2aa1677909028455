//! Keys to an account that are not passwords: one-time pairing codes for
//! adding a phone, and the wrapped end-to-end encryption key.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// The account's end-to-end encryption key, as the server keeps it:
/// wrapped under a passphrase it never sees (`GET /api/v1/e2e`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct E2eKey {
    /// Whether the account has turned end-to-end encryption on.
    pub enabled: bool,
    /// The wrapped key (see docs/encryption.md); absent when off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub wrapped_key: Option<serde_json::Value>,
    /// 0 when off; 1 for the first key, one more per replacement.
    pub version: u64,
    /// When it was last written.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub updated_at: Option<OffsetDateTime>,
}

/// Turns end-to-end encryption on, or re-wraps its key (`PUT /api/v1/e2e`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PutE2eKey {
    /// The wrapped key: a JSON object of at most 4 KiB.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub wrapped_key: serde_json::Value,
    /// The version this replaces: 0 to turn E2E on.
    pub version: u64,
}

/// A one-time pairing URL for adding a phone (`POST /api/v1/pairings`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Pairing {
    /// `<base>/app/#pair=<code>`: opening it signs a browser in as a new device.
    pub url: String,
    /// When the code stops working.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Seconds the code is valid from now.
    pub expires_in: u64,
    /// A QR code of `url`, as an SVG document.
    pub qr_svg: String,
}

/// Redeems a pairing code (`POST /api/v1/auth/pair`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PairRequest {
    /// The code from the pairing URL's fragment.
    pub code: String,
    /// A label for the new device.
    #[serde(default)]
    pub device_name: Option<String>,
}
