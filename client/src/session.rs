//! The signed-in session, kept in the OS config dir (mode 0600) so every
//! `cloudbuffer` command and the desktop app share it.
//!
//! Refresh tokens are single-use, and replaying a spent one signs the device
//! out, so processes sharing the file take [`SessionStore::lock`] around a
//! refresh and re-read the file first: whoever refreshed last wrote the one
//! token that is still good.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{ClientError, Result};

/// What a signed-in device remembers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Session {
    /// Server base URL, without a trailing slash.
    pub server: String,
    /// User name.
    pub username: String,
    /// Current access token.
    pub access_token: String,
    /// Next refresh token (single use).
    pub refresh_token: String,
    /// This device's id.
    pub device_id: String,
    /// When the access token expires, Unix seconds.
    pub access_expires_at: i64,
}

/// How long [`SessionStore::lock`] waits for another process.
pub const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Where sessions are saved.
#[derive(Debug, Clone)]
pub struct SessionStore {
    dir: PathBuf,
}

impl SessionStore {
    /// `CLOUDBUFFER_CONFIG_DIR`, else the OS config dir (`~/.config/cloudbuffer` on Linux).
    pub fn default_location() -> Result<SessionStore> {
        if let Some(dir) = std::env::var_os("CLOUDBUFFER_CONFIG_DIR") {
            return Ok(SessionStore::at(dir));
        }
        let dirs = directories::ProjectDirs::from("", "", "cloudbuffer")
            .ok_or_else(|| ClientError::Invalid("no home directory: set CLOUDBUFFER_CONFIG_DIR".into()))?;
        Ok(SessionStore::at(dirs.config_dir()))
    }

    /// A store in `dir`.
    pub fn at(dir: impl Into<PathBuf>) -> SessionStore {
        SessionStore { dir: dir.into() }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self) -> PathBuf {
        self.dir.join("session.json")
    }

    /// Waits (up to [`LOCK_WAIT`]) for the exclusive lock that processes
    /// sharing this store take around every change to it; released when the
    /// returned file is dropped.
    pub async fn lock(&self) -> Result<std::fs::File> {
        std::fs::create_dir_all(&self.dir).map_err(|e| ClientError::io(&self.dir, e))?;
        let path = self.dir.join("session.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| ClientError::io(&path, e))?;
        let deadline = std::time::Instant::now() + LOCK_WAIT;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(file),
                Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(ClientError::Invalid(format!(
                        "{} is held by another Cloud Buffer process (a stopped `cloudbuffer sync`?)",
                        path.display()
                    )))
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(ClientError::io(&path, e)),
            }
        }
    }

    /// The saved session, if any.
    pub fn load(&self) -> Result<Option<Session>> {
        let path = self.path();
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                ClientError::Invalid(format!(
                    "{} is damaged ({e}); run `cloudbuffer login` again",
                    path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ClientError::io(path, e)),
        }
    }

    /// Saves atomically (temp file, then rename), readable by the owner only.
    pub fn save(&self, session: &Session) -> Result<()> {
        std::fs::create_dir_all(&self.dir).map_err(|e| ClientError::io(&self.dir, e))?;
        let path = self.path();
        let temp = self.dir.join("session.json.tmp");
        let json = serde_json::to_vec_pretty(session).expect("a session serializes");
        write_private(&temp, &json).map_err(|e| ClientError::io(&temp, e))?;
        std::fs::rename(&temp, &path).map_err(|e| ClientError::io(&path, e))
    }

    /// Forgets the session.
    pub fn clear(&self) -> Result<()> {
        match std::fs::remove_file(self.path()) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(ClientError::io(self.path(), e)),
            _ => Ok(()),
        }
    }
}

pub(crate) use cloudbuffer_protocol::private_file::write_private;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_privately_and_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = SessionStore::at(dir.path().join("nested"));
        assert_eq!(store.load().unwrap(), None);
        let session = Session {
            server: "http://127.0.0.1:8080".into(),
            username: "alice".into(),
            access_token: "a".into(),
            refresh_token: "r".into(),
            device_id: "d".into(),
            access_expires_at: 1,
        };
        store.save(&session).unwrap();
        assert_eq!(store.load().unwrap(), Some(session));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode =
                std::fs::metadata(dir.path().join("nested/session.json")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        store.clear().unwrap();
        assert_eq!(store.load().unwrap(), None);
    }
}
