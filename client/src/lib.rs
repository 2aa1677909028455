//! Cloud Buffer client: the HTTP API client ([`Client`]), streaming
//! transfers with progress and resume, and the saved session.
//!
//! Every call returns a [`ClientError`] whose message a person can act on.

pub mod api;
pub mod error;
pub mod session;
pub mod transfer;

pub use api::Client;
pub use error::{ClientError, Result};
pub use session::{Session, SessionStore};
mod api_extra;
pub mod sync;
pub mod watch;
