//! Plain HTTP for what the client library does not cover: share links
//! (whose file name is only known from the response) and streaming to
//! standard output or a device. Errors become the same [`ClientError`]s
//! the library gives.

use cloudbuffer_client::ClientError;
use cloudbuffer_protocol::ErrorBody;

use crate::{CliResult, Failure};

/// An HTTP client like the library's.
pub fn http() -> CliResult<reqwest::Client> {
    reqwest::Client::builder()
        .user_agent(concat!("cloudbuffer/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| Failure::message(format!("cannot start HTTP: {e}")))
}

/// A failed request as a [`ClientError`]: unreachable, or interrupted.
pub fn transport(error: &reqwest::Error, server: &str) -> ClientError {
    let mut reason = error.to_string();
    let mut source: Option<&dyn std::error::Error> = Some(error);
    while let Some(e) = source {
        reason = e.to_string();
        source = e.source();
    }
    if error.is_timeout() {
        ClientError::Unreachable { url: server.to_string(), reason: "timed out".into() }
    } else if error.is_connect() {
        if reason.to_ascii_lowercase().contains("connection refused") {
            reason = "connection refused".into();
        }
        ClientError::Unreachable { url: server.to_string(), reason }
    } else {
        ClientError::Interrupted(reason)
    }
}

/// Sends `request`; a non-2xx answer becomes the error it describes.
pub async fn send(request: reqwest::RequestBuilder, server: &str) -> CliResult<reqwest::Response> {
    let response = request.send().await.map_err(|e| transport(&e, server))?;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok()?.parse().ok())
        .unwrap_or(1);
    let Ok(body) = response.json::<ErrorBody>().await else {
        return Err(ClientError::BadResponse {
            url: server.to_string(),
            detail: format!("HTTP {status} without an error body"),
        }
        .into());
    };
    let (code, message) = (body.error.code, body.error.message);
    Err(match (status.as_u16(), code.as_str()) {
        (401, "password_required") => Failure::message(
            "this link is protected by a password: add --password (or set CLOUDBUFFER_SHARE_PASSWORD)",
        ),
        (401, "wrong_password") => Failure::message("wrong password for this link"),
        (401, _) => ClientError::SessionExpired.into(),
        (404, _) => ClientError::NotFound(message).into(),
        (410, _) => ClientError::Gone(message).into(),
        (429, _) => ClientError::RateLimited { retry_after }.into(),
        _ => ClientError::Api { status: status.as_u16(), code, message }.into(),
    })
}

pub use cloudbuffer_protocol::disposition::filename_from_disposition;
