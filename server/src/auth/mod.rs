//! Accounts and authentication: passwords, tokens, rate limits, the
//! `AuthUser` extractor and the sign-in logic behind the auth endpoints.

pub mod attempts;
pub mod extract;
pub mod pairing;
pub mod password;
pub mod ratelimit;
pub mod service;
pub mod tokens;

pub use extract::{query_token, AuthFile, AuthNewestClip, AuthUser, BasicCache, ClientIp};
