//! Device tokens: what a server answers at sign-in to say "this device has
//! signed in as this user before". Sent with the next sign-in of the same
//! user, it gets that sign-in through even while someone elsewhere is
//! guessing the user's password and the name is throttled.
//!
//! They are kept in their own file (`device-tokens.json`, mode 0600) beside
//! the session, per server URL and user name, and outlive signing out: the
//! point is to be recognised at the *next* sign-in.

use serde::{Deserialize, Serialize};

use crate::error::{ClientError, Result};
use crate::session::{write_private, SessionStore};

/// The file, in the store's folder.
const FILE: &str = "device-tokens.json";

/// Entries kept; the oldest go first (one per server and user signed in).
const MAX_ENTRIES: usize = 64;

/// One remembered token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct Entry {
    server: String,
    username: String,
    token: String,
}

/// The device tokens of one config folder (that of a [`SessionStore`]).
#[derive(Debug, Clone)]
pub struct DeviceTokens {
    store: SessionStore,
}

impl DeviceTokens {
    /// The tokens kept beside `store`'s session.
    pub fn of(store: &SessionStore) -> DeviceTokens {
        DeviceTokens { store: store.clone() }
    }

    fn path(&self) -> std::path::PathBuf {
        self.store.dir().join(FILE)
    }

    /// The token for `username` at `server`, if this device has one. A
    /// damaged or unreadable file counts as none: signing in works without.
    pub fn get(&self, server: &str, username: &str) -> Option<String> {
        self.load().into_iter().find(|e| e.server == server && e.username == username).map(|e| e.token)
    }

    /// Remembers `token` for `username` at `server`, replacing an older one.
    pub async fn put(&self, server: &str, username: &str, token: &str) -> Result<()> {
        // The same lock as the session: another process may be signing in too.
        let _lock = self.store.lock().await?;
        let mut entries = self.load();
        entries.retain(|e| !(e.server == server && e.username == username));
        entries.push(Entry { server: server.into(), username: username.into(), token: token.into() });
        let excess = entries.len().saturating_sub(MAX_ENTRIES);
        entries.drain(..excess);
        let path = self.path();
        let temp = self.store.dir().join(format!("{FILE}.tmp"));
        let json = serde_json::to_vec_pretty(&entries).expect("device tokens serialize");
        write_private(&temp, &json).map_err(|e| ClientError::io(&temp, e))?;
        std::fs::rename(&temp, &path).map_err(|e| ClientError::io(&path, e))
    }

    fn load(&self) -> Vec<Entry> {
        std::fs::read(self.path())
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tokens_are_kept_per_server_and_user_privately() {
        let dir = tempfile::tempdir().unwrap();
        let tokens = DeviceTokens::of(&SessionStore::at(dir.path().join("config")));
        assert_eq!(tokens.get("http://a", "alice"), None);
        tokens.put("http://a", "alice", "t1").await.unwrap();
        tokens.put("http://b", "alice", "t2").await.unwrap();
        tokens.put("http://a", "bob", "t3").await.unwrap();
        tokens.put("http://a", "alice", "t4").await.unwrap();
        assert_eq!(tokens.get("http://a", "alice").as_deref(), Some("t4"));
        assert_eq!(tokens.get("http://b", "alice").as_deref(), Some("t2"));
        assert_eq!(tokens.get("http://a", "bob").as_deref(), Some("t3"));
        assert_eq!(tokens.get("http://b", "bob"), None);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("config").join(FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        for n in 0..MAX_ENTRIES {
            tokens.put("http://c", &format!("user{n}"), "x").await.unwrap();
        }
        assert_eq!(tokens.load().len(), MAX_ENTRIES);
        assert_eq!(tokens.get("http://a", "alice"), None, "the oldest went first");
    }

    #[test]
    fn a_damaged_file_means_no_token() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE), b"{not json").unwrap();
        let tokens = DeviceTokens::of(&SessionStore::at(dir.path()));
        assert_eq!(tokens.get("http://a", "alice"), None);
    }
}
