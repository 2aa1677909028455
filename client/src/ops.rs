//! The rest of the contract: server health, the admin's totals, and the
//! QR codes of share links (public, so no token is sent).

use cloudbuffer_protocol::AdminStats;

use crate::api::{segment, Client};
use crate::error::{ClientError, Result};

/// Formats of a share link's QR code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QrFormat {
    /// `image/svg+xml`: scales to any size.
    Svg,
    /// `image/png`, 8 px per module.
    Png,
}

impl Client {
    /// `Ok` when the server answers its health check.
    pub async fn health(&self) -> Result<()> {
        let response = self.transport(self.http.get(self.url("/healthz"))).await?;
        self.check(response).await.map(|_| ())
    }

    /// Every user's usage and the server's totals (admins only; others
    /// get [`ClientError::Api`] with status 403).
    pub async fn admin_stats(&self) -> Result<AdminStats> {
        self.get_json("/api/v1/admin/stats").await
    }

    /// The QR code of the share link `token`, encoding its URL.
    pub async fn share_qr(&self, token: &str, format: QrFormat) -> Result<Vec<u8>> {
        let file = match format {
            QrFormat::Svg => "qr.svg",
            QrFormat::Png => "qr.png",
        };
        let url = self.url(&format!("/s/{}/{file}", segment(token)));
        let response = self.check(self.transport(self.http.get(url)).await?).await?;
        let bytes = response.bytes().await.map_err(|e| self.transport_error(e))?;
        if bytes.is_empty() {
            return Err(ClientError::BadResponse {
                url: self.server().to_string(),
                detail: "an empty QR code".into(),
            });
        }
        Ok(bytes.to_vec())
    }
}
