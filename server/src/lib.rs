//! Cloud Buffer server: accounts, a content-addressed file store with
//! per-user limits and expiry, served over HTTP with axum.
//!
//! Layout: `config` (settings), `db` (every query), `store` (blobs on disk),
//! `auth` and `files` (the logic, as plain functions), `routes` (thin HTTP
//! handlers), `app` (middleware and serving), `error` (the one error type).

pub mod admin;
pub mod app;
pub mod auth;
pub mod buffer;
pub mod config;
pub mod db;
pub mod encrypted;
pub mod error;
pub mod events;
pub mod extract;
pub mod files;
pub mod hub;
pub mod ids;
pub mod metrics;
pub mod page;
pub mod public_url;
pub mod qr;
pub mod routes;
pub mod serve;
pub mod shares;
pub mod state;
pub mod stats;
pub mod store;
pub mod sweeper;
pub mod tally;
pub mod web;

pub use app::{launch_with_tcp_listener, make_app, shutdown_signal};
pub use config::{Config, Settings};
pub use state::AppState;
