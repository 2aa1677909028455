//! The state every handler shares.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::attempts::Attempts;
use crate::auth::password::hash_password;
use crate::auth::tokens::JwtKeys;
use crate::auth::BasicCache;
use crate::config::Config;
use crate::db::{Backend, Database};
use crate::files::inflight::Uploads;
use crate::store::BlobStore;

/// Cheap to clone: everything sits behind one `Arc`.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Shared>);

/// What [`AppState`] holds.
#[derive(Debug)]
pub struct Shared {
    /// Effective configuration.
    pub config: Config,
    /// The database.
    pub db: Database,
    /// The blob store.
    pub store: BlobStore,
    /// Small blobs kept in memory for downloads.
    pub small_blobs: crate::store::SmallBlobs,
    /// Token signing keys.
    pub keys: JwtKeys,
    /// Budgets of password attempts: sign-in, registration, share links.
    pub attempts: Attempts,
    /// Uploads in flight, per user.
    pub uploads: Uploads,
    /// Recently verified Basic credentials.
    pub basic_cache: BasicCache,
    /// Cancelled when the server begins to shut down (closes WebSockets,
    /// which graceful HTTP shutdown does not track).
    pub shutdown: tokio_util::sync::CancellationToken,
    /// Live event channels.
    pub events: crate::hub::EventHub,
    /// Download counts waiting to be written.
    pub tally: crate::tally::Tally,
    /// This process's random id, so the relay can skip its own notifications.
    pub instance_id: String,
    /// A hash to verify against for unknown users (constant-time-ish login).
    pub dummy_hash: String,
    /// The web app's files.
    pub web: crate::web::WebApp,
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data directory or store is unusable.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The database could not be opened or migrated.
    #[error("database {url}: {source}")]
    Database {
        /// The URL, password redacted.
        url: String,
        /// Why.
        source: sqlx::Error,
    },
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

impl AppState {
    /// Writes pending download counts before they are read back, so this
    /// instance's listings and stats include every download it served. A
    /// failure only leaves them pending (logged): the read goes on.
    pub async fn settle_counts(&self) {
        if let Err(e) = self.tally.flush(&self.db).await {
            tracing::warn!(error = %e, "download counts not written yet; will retry");
        }
    }

    /// Opens the data dir, database and store; cleans what a crash left.
    pub async fn open(config: Config) -> Result<AppState, StartError> {
        let data_dir_error = |source| StartError::DataDir { path: config.data_dir.clone(), source };
        std::fs::create_dir_all(&config.data_dir).map_err(data_dir_error)?;
        let db = Database::connect(&config.database_url).await.map_err(|source| StartError::Database {
            url: crate::db::redact_url(&config.database_url),
            source,
        })?;
        let store = BlobStore::open_with_grace(&config.store, &config.data_dir, config.orphan_grace)
            .await
            .map_err(data_dir_error)?;
        let keys = match (config.jwt_secret.as_deref(), db.backend()) {
            // Instances sharing a database share its signing secret.
            (None, Backend::Postgres) => {
                let secret =
                    db.shared_secret("jwt", &crate::ids::random_hex(32)).await.map_err(|source| {
                        StartError::Database { url: crate::db::redact_url(&config.database_url), source }
                    })?;
                JwtKeys::from_stored(&secret).map_err(|e| StartError::Other(format!("database: {e}")))?
            }
            (configured, _) => JwtKeys::load(configured, &config.data_dir).map_err(data_dir_error)?,
        };
        let known = db.all_blob_hashes().await.map_err(|source| StartError::Database {
            url: crate::db::redact_url(&config.database_url),
            source,
        })?;
        let known: std::collections::HashSet<String> = known.into_iter().collect();
        if store.is_remote() {
            // A bucket may be shared whatever the database, so young
            // leftovers may be another instance's work in flight; and it may
            // be slow or down, which is no reason not to start.
            let (store, grace) = (store.clone(), config.orphan_grace);
            tokio::spawn(async move {
                match store.sweep_orphans(known, grace).await {
                    Ok((0, 0)) => {}
                    Ok((temps, orphans)) => {
                        tracing::info!(temps, orphans, "removed leftovers of an earlier run")
                    }
                    Err(e) => tracing::warn!(error = %e, "start-up orphan sweep failed; the sweeper retries"),
                }
            });
        } else {
            // Alone on its store (SQLite), every leftover is a crash's;
            // shared, young ones may be another instance's work in flight.
            let min_age = if db.backend().is_shared() { config.orphan_grace } else { Duration::ZERO };
            let (temps, orphans) = store
                .sweep_orphans(known, min_age)
                .await
                .map_err(|e| StartError::Other(format!("store: {e}")))?;
            if temps + orphans > 0 {
                tracing::info!(temps, orphans, "removed leftovers of an earlier run");
            }
        }
        let dummy_hash =
            hash_password(crate::ids::random_hex(16)).await.map_err(|e| StartError::Other(e.to_string()))?;
        Ok(AppState(Arc::new(Shared {
            attempts: Attempts::for_database(config.auth_attempts_per_minute, &db),
            uploads: Uploads::default(),
            config,
            db,
            store,
            small_blobs: Default::default(),
            keys,
            basic_cache: BasicCache::default(),
            events: Default::default(),
            tally: Default::default(),
            instance_id: crate::ids::random_hex(8),
            shutdown: Default::default(),
            dummy_hash,
            web: crate::web::WebApp::from_env(),
        })))
    }
}
