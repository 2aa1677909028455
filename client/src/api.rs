//! The API client: typed functions for the JSON endpoints, with tokens
//! refreshed transparently and errors mapped to [`ClientError`].

use std::sync::Arc;

use cloudbuffer_protocol::{
    Clip, CreateShare, Credentials, Device, ErrorBody, FileInfo, Limits, Me, RefreshRequest, Share, Stats,
    Tokens,
};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;

use crate::device_tokens::DeviceTokens;
use crate::error::{transport_reason, ClientError, Result};
use crate::session::{Session, SessionStore};

/// Refresh the access token this long before it expires.
const REFRESH_MARGIN_SECS: i64 = 30;
/// The longest a token refresh may take (it holds the session file's lock).
const REFRESH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// A connection to one Cloud Buffer server, signed in or not.
#[derive(Clone, Debug)]
pub struct Client {
    pub(crate) http: reqwest::Client,
    server: String,
    session: Arc<Mutex<Option<Session>>>,
    store: Option<SessionStore>,
    /// The refresh token this client last read from or wrote to the store:
    /// a different one there means another process refreshed since.
    file_token: Arc<std::sync::Mutex<Option<String>>>,
    limits: Arc<Mutex<Option<Limits>>>,
    /// Where sign-ins find and leave this device's device tokens.
    device_tokens: Option<DeviceTokens>,
    /// End-to-end encryption: where the account key comes from.
    pub(crate) e2e: crate::e2e::E2eState,
}

fn now_secs() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Checks and normalizes a server URL (`http(s)://host[:port][/base]`).
pub fn normalize_server(url: &str) -> Result<String> {
    let url = url.trim().trim_end_matches('/');
    let parsed = reqwest::Url::parse(url).map_err(|e| {
        ClientError::Invalid(format!("{url:?} is not a server URL ({e}); try http://host:8080"))
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(ClientError::Invalid(format!("{url:?} is not an http:// or https:// server URL")));
    }
    Ok(url.to_string())
}

impl Client {
    /// A client for `server`, not signed in.
    pub fn new(server: &str) -> Result<Client> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("cloudbuffer/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| ClientError::Invalid(e.to_string()))?;
        Ok(Client {
            http,
            server: normalize_server(server)?,
            session: Arc::new(Mutex::new(None)),
            store: None,
            file_token: Arc::new(std::sync::Mutex::new(None)),
            limits: Arc::new(Mutex::new(None)),
            device_tokens: None,
            e2e: Default::default(),
        })
    }

    /// The signed-in client of a saved session. `server` overrides the
    /// saved server URL (same account, another address for it).
    pub fn from_store(store: SessionStore, server: Option<&str>) -> Result<Client> {
        let session = store.load()?.ok_or(ClientError::NotLoggedIn)?;
        let mut client = Client::new(server.unwrap_or(&session.server))?;
        client.set_file_token(Some(session.refresh_token.clone()));
        // Keys are filed under the saved server URL: `server` is the same
        // account at another address.
        let keys = crate::e2e::LocalKeys::of(&store);
        client.e2e.use_store(keys, session.server.clone(), session.username.clone());
        client.session = Arc::new(Mutex::new(Some(session)));
        client.device_tokens = Some(DeviceTokens::of(&store));
        client.store = Some(store);
        Ok(client)
    }

    /// Saves sessions made by `login`/`register`/refresh to `store`, and
    /// keeps device tokens beside it (see [`Client::with_device_tokens`]).
    pub fn with_store(mut self, store: SessionStore) -> Client {
        self.device_tokens = Some(DeviceTokens::of(&store));
        self.store = Some(store);
        self
    }

    /// Sends the device token kept in `tokens` with sign-ins, and keeps the
    /// one the server answers there, without saving the session itself
    /// (for a caller that saves it when it is ready, like `cloudbuffer login`).
    pub fn with_device_tokens(mut self, tokens: DeviceTokens) -> Client {
        self.device_tokens = Some(tokens);
        self
    }

    /// The server's base URL.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// `base + path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.server, path)
    }

    /// The current session, if signed in.
    pub async fn session(&self) -> Option<Session> {
        self.session.lock().await.clone()
    }

    /// Creates an account and signs this device in.
    pub async fn register(&self, username: &str, password: &str, device_name: &str) -> Result<Session> {
        self.sign_in("/api/v1/auth/register", username, password, device_name).await
    }

    /// Signs this device in.
    pub async fn login(&self, username: &str, password: &str, device_name: &str) -> Result<Session> {
        self.sign_in("/api/v1/auth/login", username, password, device_name).await
    }

    async fn sign_in(
        &self,
        path: &str,
        username: &str,
        password: &str,
        device_name: &str,
    ) -> Result<Session> {
        let known = self.device_tokens.as_ref().and_then(|t| t.get(&self.server, username));
        let body = Credentials {
            username: username.into(),
            password: password.into(),
            device_name: Some(device_name.into()),
            device_token: known.clone(),
        };
        let response = self.transport(self.http.post(self.url(path)).json(&body)).await?;
        let tokens: Tokens = self.parse(self.check(response).await?).await?;
        if let (Some(store), Some(token)) = (&self.device_tokens, &tokens.device_token) {
            if known.as_ref() != Some(token) {
                // Best effort: without it the next sign-in is merely unrecognised.
                let _ = store.put(&self.server, username, token).await;
            }
        }
        let session = Session {
            server: self.server.clone(),
            username: username.into(),
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            device_id: tokens.device_id,
            access_expires_at: now_secs() + tokens.expires_in as i64,
        };
        self.keep(session.clone()).await?;
        Ok(session)
    }

    async fn keep(&self, session: Session) -> Result<()> {
        if let Some(store) = &self.store {
            let _lock = store.lock().await?;
            store.save(&session)?;
            self.set_file_token(Some(session.refresh_token.clone()));
            let keys = crate::e2e::LocalKeys::of(store);
            self.e2e.use_store(keys, session.server.clone(), session.username.clone());
        }
        *self.session.lock().await = Some(session);
        Ok(())
    }

    fn set_file_token(&self, token: Option<String>) {
        *self.file_token.lock().unwrap_or_else(|e| e.into_inner()) = token;
    }

    fn file_token(&self) -> Option<String> {
        self.file_token.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Signs this device out on the server and forgets the session.
    pub async fn logout(&self) -> Result<()> {
        let result = self.send_empty(Method::POST, "/api/v1/auth/logout").await;
        let ours = self.session.lock().await.take().map(|s| s.device_id);
        if let Some(store) = &self.store {
            let _lock = store.lock().await?;
            // Only this device's session: someone may have signed in as another.
            if store.load().ok().flatten().is_none_or(|saved| Some(saved.device_id) == ours) {
                store.clear()?;
            }
        }
        match result {
            Err(ClientError::SessionExpired) | Ok(()) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// A valid access token, refreshed first if it is about to expire.
    pub async fn access_token(&self) -> Result<String> {
        let mut guard = self.session.lock().await;
        let session = guard.as_mut().ok_or(ClientError::NotLoggedIn)?;
        if session.access_expires_at - REFRESH_MARGIN_SECS > now_secs() {
            return Ok(session.access_token.clone());
        }
        self.refresh_locked(session).await
    }

    /// An access token newer than `stale`: refreshed now, unless another
    /// caller already replaced it (for a live socket's next credential).
    pub async fn renewed_access_token(&self, stale: &str) -> Result<String> {
        self.refresh_after(stale).await
    }

    /// When `token` expires (Unix seconds), if it is still this client's.
    pub async fn access_expiry(&self, token: &str) -> Option<i64> {
        let guard = self.session.lock().await;
        guard.as_ref().filter(|s| s.access_token == token).map(|s| s.access_expires_at)
    }

    /// Refreshes unless someone already replaced the token `stale`.
    async fn refresh_after(&self, stale: &str) -> Result<String> {
        let mut guard = self.session.lock().await;
        let session = guard.as_mut().ok_or(ClientError::NotLoggedIn)?;
        if session.access_token != stale {
            return Ok(session.access_token.clone());
        }
        self.refresh_locked(session).await
    }

    async fn refresh_locked(&self, session: &mut Session) -> Result<String> {
        // Other processes of this device (another `cloudbuffer` command, the
        // desktop app) share the saved session. Every change to the file is
        // made under its lock; a refresh token there other than the one this
        // client last saw means one of them rotated it, and ours is spent.
        let _lock = match &self.store {
            Some(store) => Some(store.lock().await?),
            None => None,
        };
        let saved = match &self.store {
            Some(store) => store.load().ok().flatten().filter(|saved| saved.device_id == session.device_id),
            None => None,
        };
        if let Some(saved) = &saved {
            if saved.refresh_token != session.refresh_token
                && Some(&saved.refresh_token) != self.file_token().as_ref()
            {
                session.access_token.clone_from(&saved.access_token);
                session.refresh_token.clone_from(&saved.refresh_token);
                session.access_expires_at = saved.access_expires_at;
                self.set_file_token(Some(saved.refresh_token.clone()));
                if session.access_expires_at - REFRESH_MARGIN_SECS > now_secs() {
                    return Ok(session.access_token.clone());
                }
            }
        }
        let body = RefreshRequest { refresh_token: session.refresh_token.clone() };
        // Bounded: other processes wait for the lock held meanwhile.
        let request = self.http.post(self.url("/api/v1/auth/refresh")).json(&body).timeout(REFRESH_TIMEOUT);
        let response = self.transport(request).await?;
        // The store is this device's to change only while it holds this
        // device's session (someone may have signed in as another since).
        let ours = self.store.as_ref().filter(|_| saved.is_some());
        if response.status() == StatusCode::UNAUTHORIZED {
            if let Some(store) = ours {
                let _ = store.clear();
            }
            return Err(ClientError::SessionExpired);
        }
        let tokens: Tokens = self.parse(self.check(response).await?).await?;
        session.access_token = tokens.access_token;
        session.refresh_token = tokens.refresh_token;
        session.access_expires_at = now_secs() + tokens.expires_in as i64;
        if let Some(store) = ours {
            store.save(session)?;
            self.set_file_token(Some(session.refresh_token.clone()));
        }
        Ok(session.access_token.clone())
    }

    /// Sends an authenticated request built by `build`; on an expired
    /// token it refreshes and sends once more (so `build` must be
    /// repeatable: streaming bodies use [`Client::send_once`]).
    pub(crate) async fn send(&self, build: impl Fn(&str) -> RequestBuilder) -> Result<Response> {
        let token = self.access_token().await?;
        let response = self.transport(build(&token)).await?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return self.check(response).await;
        }
        let token = self.refresh_after(&token).await?;
        self.check(self.transport(build(&token)).await?).await
    }

    /// Sends an authenticated request that cannot be repeated.
    pub(crate) async fn send_once(&self, request: RequestBuilder) -> Result<Response> {
        let token = self.access_token().await?;
        self.check(self.transport(request.bearer_auth(token)).await?).await
    }

    pub(crate) async fn transport(&self, request: RequestBuilder) -> Result<Response> {
        request.send().await.map_err(|e| self.transport_error(e))
    }

    pub(crate) fn transport_error(&self, error: reqwest::Error) -> ClientError {
        if error.is_connect() || error.is_timeout() {
            ClientError::Unreachable { url: self.server.clone(), reason: transport_reason(&error) }
        } else {
            ClientError::Interrupted(transport_reason(&error))
        }
    }

    /// Passes 2xx responses; turns the API's errors into [`ClientError`].
    pub(crate) async fn check(&self, response: Response) -> Result<Response> {
        let status = response.status();
        if status.is_success() || status == StatusCode::NOT_MODIFIED {
            return Ok(response);
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        let body: ErrorBody = response.json().await.map_err(|_| ClientError::BadResponse {
            url: self.server.clone(),
            detail: format!("HTTP {status} without an error body"),
        })?;
        let (code, message) = (body.error.code, body.error.message);
        Err(match (status.as_u16(), code.as_str()) {
            (401, "invalid_credentials") => ClientError::InvalidCredentials,
            (
                401,
                "session_revoked"
                | "invalid_refresh_token"
                | "refresh_token_reused"
                | "refresh_token_expired",
            ) => ClientError::SessionExpired,
            (404, _) => ClientError::NotFound(message),
            (410, _) => ClientError::Gone(message),
            (413, "file_too_large") => ClientError::TooLarge { limit: limit_in(&message) },
            (429, _) => ClientError::RateLimited { retry_after },
            (507, _) => ClientError::Storage(message),
            _ => ClientError::Api { status: status.as_u16(), code, message },
        })
    }

    pub(crate) async fn parse<T: DeserializeOwned>(&self, response: Response) -> Result<T> {
        let bytes = response.bytes().await.map_err(|e| self.transport_error(e))?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::BadResponse {
            url: self.server.clone(),
            detail: format!("invalid JSON: {e}"),
        })
    }

    pub(crate) async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let url = self.url(path);
        let response = self.send(|token| self.http.get(&url).bearer_auth(token)).await?;
        self.parse(response).await
    }

    async fn send_empty(&self, method: Method, path: &str) -> Result<()> {
        let url = self.url(path);
        self.send(|token| self.http.request(method.clone(), &url).bearer_auth(token)).await.map(|_| ())
    }

    /// Who is signed in, with the server's limits.
    pub async fn me(&self) -> Result<Me> {
        let me: Me = self.get_json("/api/v1/me").await?;
        *self.limits.lock().await = Some(me.limits.clone());
        Ok(me)
    }

    /// The server's limits (fetched once).
    pub async fn limits(&self) -> Result<Limits> {
        if let Some(limits) = self.limits.lock().await.clone() {
            return Ok(limits);
        }
        Ok(self.me().await?.limits)
    }

    /// The user's usage.
    pub async fn stats(&self) -> Result<Stats> {
        self.get_json("/api/v1/stats").await
    }

    /// The user's signed-in devices.
    pub async fn devices(&self) -> Result<Vec<Device>> {
        self.get_json("/api/v1/devices").await
    }

    /// Signs a device out.
    pub async fn revoke_device(&self, id: &str) -> Result<()> {
        self.send_empty(Method::DELETE, &format!("/api/v1/devices/{}", segment(id))).await
    }

    /// The user's files, newest first.
    pub async fn files(&self) -> Result<Vec<FileInfo>> {
        self.get_json("/api/v1/files").await
    }

    /// One file's metadata.
    pub async fn file(&self, id: &str) -> Result<FileInfo> {
        self.get_json(&format!("/api/v1/files/{}", segment(id))).await
    }

    /// Deletes a file.
    pub async fn delete_file(&self, id: &str) -> Result<()> {
        self.send_empty(Method::DELETE, &format!("/api/v1/files/{}", segment(id))).await
    }

    /// The clip history, newest first.
    pub async fn clips(&self) -> Result<Vec<Clip>> {
        self.get_json("/api/v1/buffer/clips").await
    }

    /// One clip.
    pub async fn clip(&self, id: &str) -> Result<Clip> {
        self.get_json(&format!("/api/v1/buffer/clips/{}", segment(id))).await
    }

    /// Deletes a clip.
    pub async fn delete_clip(&self, id: &str) -> Result<()> {
        self.send_empty(Method::DELETE, &format!("/api/v1/buffer/clips/{}", segment(id))).await
    }

    /// Clears the clip history.
    pub async fn clear_clips(&self) -> Result<()> {
        self.send_empty(Method::DELETE, "/api/v1/buffer").await
    }

    /// Shares a file or clip.
    pub async fn create_share(&self, request: &CreateShare) -> Result<Share> {
        let url = self.url("/api/v1/shares");
        let response = self.send(|token| self.http.post(&url).bearer_auth(token).json(request)).await?;
        self.parse(response).await
    }

    /// The user's share links.
    pub async fn shares(&self) -> Result<Vec<Share>> {
        self.get_json("/api/v1/shares").await
    }

    /// Revokes a share link.
    pub async fn revoke_share(&self, token: &str) -> Result<()> {
        self.send_empty(Method::DELETE, &format!("/api/v1/shares/{}", segment(token))).await
    }

    /// The WebSocket URL of the live events.
    pub fn events_url(&self) -> String {
        let base = if let Some(rest) = self.server.strip_prefix("https://") {
            format!("wss://{rest}")
        } else {
            format!("ws://{}", self.server.trim_start_matches("http://"))
        };
        format!("{base}/api/v1/events")
    }
}

/// Percent-encodes one URL path segment.
pub fn segment(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// "512 MiB" out of "file exceeds the 512 MiB limit".
fn limit_in(message: &str) -> String {
    message
        .strip_prefix("file exceeds the ")
        .and_then(|rest| rest.strip_suffix(" limit"))
        .unwrap_or(message)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_are_checked() {
        assert_eq!(normalize_server("http://127.0.0.1:8080/").unwrap(), "http://127.0.0.1:8080");
        assert!(normalize_server("127.0.0.1:8080").is_err());
        assert!(normalize_server("ftp://x").is_err());
        assert_eq!(limit_in("file exceeds the 512 MiB limit"), "512 MiB");
    }
}
