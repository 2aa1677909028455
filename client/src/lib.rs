//! Cloud Buffer client: the HTTP API client ([`Client`]), streaming
//! transfers with progress and resume, the saved session, the clipboard
//! sync engine ([`sync`]), folder watching ([`watch`]), adding a phone
//! ([`pairing`]) and end-to-end encryption ([`e2e`]): uploads are
//! encrypted and downloads decrypted when this device holds the account key.
//!
//! Every call returns a [`ClientError`] whose message a person can act on.

pub mod api;
mod clip_content;
pub mod device_tokens;
pub mod e2e;
pub mod error;
pub mod live;
pub mod names;
mod ops;
pub mod pairing;
pub mod session;
pub mod sync;
pub mod transfer;
pub mod watch;

pub use api::Client;
/// The encryption crate, for callers that handle keys themselves.
pub use cloudbuffer_crypto as crypto;
pub use device_tokens::DeviceTokens;
pub use e2e::{E2eAccount, LocalKey, LocalKeys, ServerKey};
pub use error::{ClientError, Result};
pub use names::{printable, safe_file_name};
pub use ops::QrFormat;
pub use pairing::{is_loopback_url, loopback_warning};
pub use session::{Session, SessionStore};
