//! Errors as the UI shows them: a sentence for people plus a code the UI
//! switches on (`signed_out` returns to the sign-in screen, `offline`
//! shows the offline banner).

use cloudbuffer_client::ClientError;
use serde::Serialize;

/// What a command failed with, serialized to the UI as `{code, message}`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UiError {
    /// `signed_out`, `offline`, `credentials`, `cancelled` or `error`.
    pub code: &'static str,
    /// A readable sentence.
    pub message: String,
}

/// Sending while the account has end-to-end encryption on and this computer is locked.
pub const E2E_LOCKED: &str = "End-to-end encryption is on for this account: unlock it on this computer \
                              (Settings → End-to-end encryption) to send.";
/// Opening an encrypted item while this computer is locked.
pub const ENCRYPTED: &str = "This item is end-to-end encrypted and this computer is locked: unlock it in \
                             Settings → End-to-end encryption to open it.";

/// Result of a Tauri command.
pub type UiResult<T> = std::result::Result<T, UiError>;

impl UiError {
    /// A plain error with `message`.
    pub fn new(message: impl Into<String>) -> UiError {
        UiError { code: "error", message: message.into() }
    }

    /// Not signed in (any more).
    pub fn signed_out() -> UiError {
        UiError { code: "signed_out", message: "Please sign in.".into() }
    }
}

impl From<ClientError> for UiError {
    fn from(error: ClientError) -> UiError {
        match error {
            ClientError::NotLoggedIn => UiError::signed_out(),
            ClientError::SessionExpired => UiError {
                code: "signed_out",
                message: "Your session has expired or this device was signed out. Please sign in again."
                    .into(),
            },
            ClientError::InvalidCredentials => {
                UiError { code: "credentials", message: "Wrong user name or password.".into() }
            }
            ClientError::Unreachable { url, reason } => {
                UiError { code: "offline", message: format!("Cannot reach the server at {url} ({reason}).") }
            }
            ClientError::Api { message, .. } => UiError::new(capitalize(&message)),
            // The library's sentences name the CLI command; here it is Settings.
            ClientError::E2eLocked => UiError::new(E2E_LOCKED),
            ClientError::Encrypted => UiError::new(ENCRYPTED),
            other => UiError::new(capitalize(&other.to_string())),
        }
    }
}

/// "Wrong …" from "wrong …", with a final period.
fn capitalize(message: &str) -> String {
    let mut chars = message.chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => return "Something went wrong.".into(),
    };
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_well() {
        let e = UiError::from(ClientError::Api {
            status: 409,
            code: "username_taken".into(),
            message: "that user name is taken".into(),
        });
        assert_eq!(e.message, "That user name is taken.");
        assert_eq!(UiError::from(ClientError::SessionExpired).code, "signed_out");
        let offline =
            UiError::from(ClientError::Unreachable { url: "http://x".into(), reason: "refused".into() });
        assert_eq!(offline.code, "offline");
    }
}
