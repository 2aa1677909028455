//! Server configuration: command-line flags, `CLOUDBUFFER_*` environment
//! variables and an optional TOML file, merged in that order of precedence.
//!
//! Flags and environment are read by clap (a flag wins over its variable);
//! the file only fills what neither gave, and built-in defaults fill the rest.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use serde::Deserialize;

/// Who may create accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Registration {
    /// Anyone may register through the API.
    Open,
    /// Only an admin, with `cloudbuffer-server user add`.
    Closed,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Readable lines for a terminal.
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Declares [`Settings`] with every field optional (flags, environment and
/// file may each leave any unset) and its `or`, so a setting is written
/// once here and once in [`Config`] with its default.
macro_rules! settings {
    ($(#[$meta:meta])* pub struct $settings:ident { $($(#[$field_meta:meta])* pub $name:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        pub struct $settings {
            $($(#[$field_meta])* pub $name: Option<$ty>,)*
        }

        impl $settings {
            /// Fills every unset value from `other`.
            pub fn or(self, other: $settings) -> $settings {
                $settings { $($name: self.$name.or(other.$name),)* }
            }
        }
    };
}

settings! {
/// The settings as given on the command line or in the environment.
/// Every field is optional so the config file can fill the gaps.
#[derive(Debug, Clone, Default, Args, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "CLOUDBUFFER_BIND", global = true)]
    pub bind: SocketAddr,
    /// Directory for the database (SQLite default), store/ and secrets [default: ./data]
    #[arg(long, env = "CLOUDBUFFER_DATA_DIR", global = true)]
    pub data_dir: PathBuf,
    /// `sqlite://PATH` or `postgres://USER:PASSWORD@HOST:PORT/DB` [default: SQLite file cloudbuffer.db in the data dir]
    #[arg(long, env = "CLOUDBUFFER_DATABASE_URL", global = true)]
    pub database_url: String,
    /// Base URL of share links, QR codes and pairing URLs, as phones will reach it [default: the address each request came in through (its Host header)]
    #[arg(long, env = "CLOUDBUFFER_PUBLIC_URL", global = true)]
    pub public_url: String,
    /// Reverse proxies whose X-Forwarded-Proto and X-Forwarded-Host headers are believed when --public-url is not set: comma-separated addresses or CIDR ranges, e.g. 127.0.0.1,10.0.0.0/8 [default: none]
    #[arg(long, env = "CLOUDBUFFER_TRUSTED_PROXIES", global = true)]
    pub trusted_proxies: String,
    /// Where blobs live: `s3://BUCKET[/PREFIX]` for an S3-compatible bucket [default: <data-dir>/store]
    #[arg(long, env = "CLOUDBUFFER_STORE_URL", global = true)]
    pub store_url: String,
    /// Endpoint of a non-AWS S3 store, e.g. http://127.0.0.1:9000 (path-style requests); credentials and region come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION [default: AWS]
    #[arg(long, env = "CLOUDBUFFER_S3_ENDPOINT", global = true)]
    pub s3_endpoint: String,
    /// Age in seconds after which leftovers of crashed uploads and blobs no file references are removed from a store shared by several instances or in a bucket; uploads in flight refresh their record every third of it (at most 5 min). It must exceed the time from an upload reaching the store to its row committing (normally well under a second; keep it at 60 or more in production) [default: 900]
    #[arg(long, env = "CLOUDBUFFER_ORPHAN_GRACE_SECONDS", global = true)]
    pub orphan_grace_seconds: u64,
    /// Life of files and clips, in seconds [default: 7200]
    #[arg(long, env = "CLOUDBUFFER_EXPIRY_SECONDS", global = true)]
    pub expiry_seconds: u64,
    /// Files per user; storing one more evicts the oldest [default: 20]
    #[arg(long, env = "CLOUDBUFFER_MAX_FILES", global = true)]
    pub max_files: u64,
    /// Largest upload, in bytes [default: 536870912 = 512 MiB]
    #[arg(long, env = "CLOUDBUFFER_MAX_FILE_BYTES", global = true)]
    pub max_file_bytes: u64,
    /// Bytes each user may hold [default: 2147483648 = 2 GiB]
    #[arg(long, env = "CLOUDBUFFER_QUOTA_BYTES", global = true)]
    pub quota_bytes: u64,
    /// Clips kept per user [default: 50]
    #[arg(long, env = "CLOUDBUFFER_CLIP_HISTORY", global = true)]
    pub clip_history: u64,
    /// `open`: anyone may register; `closed`: only admins add users [default: open]
    #[arg(long, env = "CLOUDBUFFER_REGISTRATION", global = true)]
    pub registration: Registration,
    /// How often expired items are purged, in seconds [default: 60]
    #[arg(long, env = "CLOUDBUFFER_SWEEP_INTERVAL_SECONDS", global = true)]
    pub sweep_interval_seconds: u64,
    /// Life of access tokens, in seconds [default: 900]
    #[arg(long, env = "CLOUDBUFFER_ACCESS_TOKEN_SECONDS", global = true)]
    pub access_token_seconds: u64,
    /// Secret that signs access tokens [default: generated on first start, kept in <data-dir>/jwt_secret, or in the database on PostgreSQL]
    #[arg(long, env = "CLOUDBUFFER_JWT_SECRET", global = true, hide_env_values = true)]
    pub jwt_secret: String,
    /// Login, register and (uncached) HTTP Basic attempts allowed per minute, per client address and per user name [default: 20]
    #[arg(long, env = "CLOUDBUFFER_AUTH_ATTEMPTS_PER_MINUTE", global = true)]
    pub auth_attempts_per_minute: u32,
    /// Log format: human or json [default: human]
    #[arg(long, env = "CLOUDBUFFER_LOG_FORMAT", global = true)]
    pub log_format: LogFormat,
    /// Seconds between WebSocket pings that keep idle event connections alive [default: 30]
    #[arg(long, env = "CLOUDBUFFER_WS_PING_SECONDS", global = true)]
    pub ws_ping_seconds: u64,
    /// Seconds a connection may stay silent: to send a request head, between keep-alive requests, and between the bytes of an upload (408) [default: 30]
    #[arg(long, env = "CLOUDBUFFER_IDLE_TIMEOUT_SECONDS", global = true)]
    pub idle_timeout_seconds: u64,
    /// Open connections allowed from one client address; more are closed at once [default: 256]
    #[arg(long, env = "CLOUDBUFFER_MAX_CONNECTIONS_PER_ADDRESS", global = true)]
    pub max_connections_per_address: u64,
    /// Uploads one user may have in flight at once; more get 429 [default: 8]
    #[arg(long, env = "CLOUDBUFFER_MAX_UPLOADS_PER_USER", global = true)]
    pub max_uploads_per_user: u64,
    /// Live event WebSockets one user may hold open; more are closed with code 4029 [default: 32]
    #[arg(long, env = "CLOUDBUFFER_MAX_EVENT_SOCKETS_PER_USER", global = true)]
    pub max_event_sockets_per_user: u64,
}
}

/// The effective configuration, every value decided.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listen address.
    pub bind: SocketAddr,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Database URL.
    pub database_url: String,
    /// Public base URL without a trailing slash, when configured; else
    /// links follow each request's address (`crate::public_url`).
    pub public_url: Option<String>,
    /// Proxies whose `X-Forwarded-*` headers are believed.
    pub trusted_proxies: Vec<crate::public_url::IpRange>,
    /// Where blobs live.
    pub store: crate::store::StoreLocation,
    /// Age of leftovers the orphan sweep may remove from a shared store.
    pub orphan_grace: std::time::Duration,
    /// Life of files and clips.
    pub expiry_seconds: u64,
    /// Files per user.
    pub max_files: u64,
    /// Largest upload.
    pub max_file_bytes: u64,
    /// Bytes per user.
    pub quota_bytes: u64,
    /// Clips kept per user.
    pub clip_history: u64,
    /// Who may register.
    pub registration: Registration,
    /// Sweeper period.
    pub sweep_interval_seconds: u64,
    /// Access token life.
    pub access_token_seconds: u64,
    /// Configured JWT secret, if any.
    pub jwt_secret: Option<String>,
    /// Auth attempts per minute per key.
    pub auth_attempts_per_minute: u32,
    /// Log format.
    pub log_format: LogFormat,
    /// WebSocket ping period.
    pub ws_ping_seconds: u64,
    /// Silence allowed on a connection (head, keep-alive, upload body).
    pub idle_timeout_seconds: u64,
    /// Connections per client address.
    pub max_connections_per_address: usize,
    /// Concurrent uploads per user.
    pub max_uploads_per_user: usize,
    /// Event WebSockets per user.
    pub max_event_sockets_per_user: usize,
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The config file is not valid TOML for these settings.
    #[error("invalid config file {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        source: Box<toml::de::Error>,
    },
    /// The store URL or endpoint cannot be used.
    #[error("invalid store setting: {0}")]
    Store(String),
    /// A value is out of range.
    #[error("invalid setting {name}: {reason}")]
    Invalid {
        /// The setting.
        name: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// A list-valued setting does not parse.
    #[error("invalid setting {name}: {reason}")]
    InvalidText {
        /// The setting.
        name: &'static str,
        /// Why.
        reason: String,
    },
}

impl Settings {
    /// Reads a TOML config file with the same names in snake_case.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.into(), source })?;
        toml::from_str(&text)
            .map_err(|source| ConfigError::Parse { path: path.into(), source: Box::new(source) })
    }

    /// Applies the defaults and checks the values.
    pub fn resolve(self) -> Result<Config, ConfigError> {
        let bind = self.bind.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
        let data_dir = self.data_dir.unwrap_or_else(|| PathBuf::from("data"));
        let database_url = self
            .database_url
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("cloudbuffer.db").display()));
        let public_url =
            self.public_url.map(|url| url.trim_end_matches('/').to_string()).filter(|u| !u.is_empty());
        let trusted_proxies = crate::public_url::parse_ranges(self.trusted_proxies.as_deref().unwrap_or(""))
            .map_err(|reason| ConfigError::InvalidText { name: "trusted_proxies", reason })?;
        // Upper bounds keep every later `as i64`, `* 1000` and `now + life` far
        // from overflowing.
        let bounded = |name, value: u64, max: u64, reason| {
            if value == 0 {
                Err(ConfigError::Invalid { name, reason: "must be at least 1" })
            } else if value > max {
                Err(ConfigError::Invalid { name, reason })
            } else {
                Ok(value)
            }
        };
        let seconds =
            |name, value| bounded(name, value, 315_360_000, "must be at most 315360000 (ten years)");
        let bytes = |name, value| bounded(name, value, 1 << 60, "must be at most 2^60 (1 EiB)");
        let count = |name, value| bounded(name, value, 1_000_000_000, "must be at most 1000000000");
        let small =
            |name, value| bounded(name, value, 1_000_000, "must be at most 1000000").map(|v| v as usize);
        let store =
            crate::store::StoreLocation::parse(self.store_url.as_deref(), self.s3_endpoint.as_deref())
                .map_err(ConfigError::Store)?;
        let max_file_bytes = bytes("max_file_bytes", self.max_file_bytes.unwrap_or(512 << 20))?;
        if store.max_blob_bytes().is_some_and(|max| max_file_bytes > max) {
            return Err(ConfigError::Invalid {
                name: "max_file_bytes",
                reason: "must be at most 5368709120 (5 GiB) with an S3 store, the most one copy can move",
            });
        }
        if let Some(secret) = &self.jwt_secret {
            check_jwt_secret(secret.as_bytes())
                .map_err(|reason| ConfigError::Invalid { name: "jwt_secret", reason })?;
        }
        Ok(Config {
            bind,
            data_dir,
            database_url,
            public_url,
            trusted_proxies,
            store,
            orphan_grace: std::time::Duration::from_secs(seconds(
                "orphan_grace_seconds",
                self.orphan_grace_seconds.unwrap_or(crate::store::ORPHAN_AGE.as_secs()),
            )?),
            expiry_seconds: seconds("expiry_seconds", self.expiry_seconds.unwrap_or(7200))?,
            max_files: count("max_files", self.max_files.unwrap_or(20))?,
            max_file_bytes,
            quota_bytes: bytes("quota_bytes", self.quota_bytes.unwrap_or(2 << 30))?,
            clip_history: count("clip_history", self.clip_history.unwrap_or(50))?,
            registration: self.registration.unwrap_or(Registration::Open),
            sweep_interval_seconds: seconds(
                "sweep_interval_seconds",
                self.sweep_interval_seconds.unwrap_or(60),
            )?,
            access_token_seconds: seconds("access_token_seconds", self.access_token_seconds.unwrap_or(900))?,
            jwt_secret: self.jwt_secret,
            auth_attempts_per_minute: self.auth_attempts_per_minute.unwrap_or(20).max(1),
            log_format: self.log_format.unwrap_or(LogFormat::Human),
            ws_ping_seconds: seconds("ws_ping_seconds", self.ws_ping_seconds.unwrap_or(30))?,
            idle_timeout_seconds: seconds("idle_timeout_seconds", self.idle_timeout_seconds.unwrap_or(30))?,
            max_connections_per_address: small(
                "max_connections_per_address",
                self.max_connections_per_address.unwrap_or(256),
            )?,
            max_uploads_per_user: small("max_uploads_per_user", self.max_uploads_per_user.unwrap_or(8))?,
            max_event_sockets_per_user: small(
                "max_event_sockets_per_user",
                self.max_event_sockets_per_user.unwrap_or(32),
            )?,
        })
    }
}

/// Fewer bytes than this make HS256 tokens guessable offline.
pub const MIN_JWT_SECRET_BYTES: usize = 32;

/// Refuses an empty or short signing secret, saying how to make a good one.
pub fn check_jwt_secret(secret: &[u8]) -> Result<(), &'static str> {
    if secret.iter().all(u8::is_ascii_whitespace) {
        return Err("is empty; leave it unset to have one generated, or use `openssl rand -hex 32`");
    }
    if secret.len() < MIN_JWT_SECRET_BYTES {
        return Err("must be at least 32 bytes; make one with `openssl rand -hex 32`, or leave it unset");
    }
    Ok(())
}

impl Config {
    /// The base URL of links when neither `--public-url` nor the request
    /// says better: the listen address.
    pub fn fallback_url(&self) -> String {
        format!("http://{}", self.bind)
    }

    /// A configuration for tests and embedding: defaults around `data_dir`.
    pub fn for_data_dir(data_dir: impl Into<PathBuf>) -> Config {
        Settings { data_dir: Some(data_dir.into()), ..Settings::default() }
            .resolve()
            .expect("defaults are valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_and_absurd_values_are_refused_by_name() {
        let refused = |settings: Settings, field: &str| match settings.resolve() {
            Err(ConfigError::Invalid { name, .. }) => assert_eq!(name, field),
            other => panic!("{field}: {other:?}"),
        };
        refused(Settings { expiry_seconds: Some(0), ..Settings::default() }, "expiry_seconds");
        refused(Settings { expiry_seconds: Some(u64::MAX), ..Settings::default() }, "expiry_seconds");
        refused(
            Settings { access_token_seconds: Some(u64::MAX / 1000), ..Settings::default() },
            "access_token_seconds",
        );
        refused(Settings { ws_ping_seconds: Some(u64::MAX), ..Settings::default() }, "ws_ping_seconds");
        refused(Settings { max_file_bytes: Some(u64::MAX), ..Settings::default() }, "max_file_bytes");
        refused(Settings { clip_history: Some(u64::MAX), ..Settings::default() }, "clip_history");
        refused(Settings { jwt_secret: Some(String::new()), ..Settings::default() }, "jwt_secret");
        refused(Settings { jwt_secret: Some("short".into()), ..Settings::default() }, "jwt_secret");
        refused(Settings { idle_timeout_seconds: Some(0), ..Settings::default() }, "idle_timeout_seconds");
        refused(Settings { max_uploads_per_user: Some(0), ..Settings::default() }, "max_uploads_per_user");
        refused(
            Settings {
                store_url: Some("s3://bucket".into()),
                max_file_bytes: Some(6 << 30),
                ..Settings::default()
            },
            "max_file_bytes",
        );
        assert!(matches!(
            Settings { store_url: Some("bucket".into()), ..Settings::default() }.resolve(),
            Err(ConfigError::Store(_))
        ));
        let long = Settings { jwt_secret: Some("x".repeat(32)), ..Settings::default() };
        assert!(long.resolve().is_ok());
        let ten_years = Settings { expiry_seconds: Some(315_360_000), ..Settings::default() };
        assert_eq!(ten_years.resolve().unwrap().expiry_seconds, 315_360_000);
    }
}
