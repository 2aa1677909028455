//! The `AuthUser`, `AuthFile` and `AuthNewestClip` extractors: Bearer JWTs
//! and HTTP Basic, one DB lookup each (for Bearer, with what the route needs).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::{AUTHORIZATION, ORIGIN};
use axum::http::request::Parts;
use base64::Engine;

use super::password::validate_username;
use super::service::check_password;
use super::tokens::TokenError;
use crate::db::{now_ms, Along, ClipRow, FileRow, UserRow};
use crate::error::ApiError;
use crate::extract::ApiPath;
use crate::state::AppState;

/// How long verified Basic credentials are trusted without re-hashing.
const BASIC_CACHE_TTL: Duration = Duration::from_secs(60);
const BASIC_CACHE_MAX: usize = 10_000;
/// `last_seen_at` is written at most this often per device.
const LAST_SEEN_RESOLUTION_MS: i64 = 60_000;

/// An authenticated request's user.
#[derive(Debug, Clone)]
pub struct AuthUser {
    /// The user.
    pub user: UserRow,
    /// The device, for Bearer tokens; None for HTTP Basic.
    pub device_id: Option<String>,
    /// When the access token expires (Unix seconds); None for HTTP Basic.
    pub expires_at: Option<i64>,
}

/// The client's address (the TCP peer).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        Ok(ClientIp(ip))
    }
}

/// Recently verified Basic credentials, keyed by a keyed hash of
/// `user:password` so no password is kept in memory.
#[derive(Debug, Default)]
pub struct BasicCache {
    entries: Mutex<HashMap<[u8; 32], (String, Instant)>>,
}

impl BasicCache {
    /// True if these credentials were verified against this password hash
    /// within the TTL.
    fn hit(&self, key: &[u8; 32], password_hash: &str) -> bool {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(key).is_some_and(|(hash, at)| hash == password_hash && at.elapsed() < BASIC_CACHE_TTL)
    }

    fn insert(&self, key: [u8; 32], password_hash: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= BASIC_CACHE_MAX {
            entries.retain(|_, (_, at)| at.elapsed() < BASIC_CACHE_TTL);
            if entries.len() >= BASIC_CACHE_MAX {
                entries.clear();
            }
        }
        entries.insert(key, (password_hash.to_string(), Instant::now()));
    }
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(authenticate(parts, state, Along::Nothing).await?.auth)
    }
}

/// The signed-in user and the file named by the path's `{id}`: `file` is
/// `None` when there is no such file or it is someone else's. With a Bearer
/// token the session and the file come from one query (the content route
/// is the busiest authenticated one).
#[derive(Debug, Clone)]
pub struct AuthFile {
    /// Who is asking.
    pub auth: AuthUser,
    /// The id from the path.
    pub id: String,
    /// Their file of that id.
    pub file: Option<FileRow>,
}

impl FromRequestParts<AppState> for AuthFile {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // Credentials are checked before the path, as with `AuthUser` and
        // `ApiPath` side by side: a stranger learns nothing from a 400.
        let path = ApiPath::<String>::from_request_parts(parts, state).await;
        let along = match &path {
            Ok(ApiPath(id)) => Along::File(id),
            Err(_) => Along::Nothing,
        };
        let found = authenticate(parts, state, along).await?;
        let ApiPath(id) = path?;
        Ok(AuthFile { auth: found.auth, id, file: found.file })
    }
}

/// The signed-in user and their newest live clip (with its text, for a
/// text clip): `GET /buffer`, in one query with a Bearer token.
#[derive(Debug, Clone)]
pub struct AuthNewestClip {
    /// Who is asking.
    pub auth: AuthUser,
    /// Their newest live clip and its text; `None` when the buffer is empty.
    pub newest_clip: Option<(ClipRow, Option<String>)>,
}

impl FromRequestParts<AppState> for AuthNewestClip {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let found = authenticate(parts, state, Along::NewestClip(now_ms())).await?;
        Ok(AuthNewestClip { auth: found.auth, newest_clip: found.newest_clip })
    }
}

/// A request's user with what was asked for along (see [`Along`]).
struct Found {
    auth: AuthUser,
    file: Option<FileRow>,
    newest_clip: Option<(ClipRow, Option<String>)>,
}

/// Checks the request's credentials, and looks up what `along` asks for.
async fn authenticate(parts: &mut Parts, state: &AppState, along: Along<'_>) -> Result<Found, ApiError> {
    let ClientIp(ip) = ClientIp::from_request_parts(parts, state).await.expect("infallible");
    let Some(header) = parts.headers.get(AUTHORIZATION) else {
        // A browser's plain download link cannot carry a header: reads may
        // name the access token in the query instead (logged redacted).
        if parts.method.is_safe() {
            if let Some(token) = query_token(parts.uri.query()) {
                return session(state, &token, along).await;
            }
        }
        return Err(ApiError::unauthorized(
            "missing_credentials",
            "sign in: send a Bearer token or HTTP Basic credentials",
        ));
    };
    let value = header.to_str().map_err(|_| malformed())?;
    let (scheme, rest) = value.split_once(' ').ok_or_else(malformed)?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return session(state, rest, along).await;
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(ApiError::unauthorized(
            "unsupported_auth_scheme",
            "use `Authorization: Bearer <token>` or HTTP Basic",
        ));
    }
    // Browsers resend cached Basic credentials on their own; a form or
    // script on another site must not get to use them.
    if is_cross_site_write(parts, state.config.public_url.as_deref()) {
        return Err(ApiError::Forbidden {
            code: "cross_origin",
            message: "this request came from another site; Basic credentials only work from this one".into(),
        });
    }
    let auth = basic(state, rest, ip).await?;
    let mut found = Found { auth, file: None, newest_clip: None };
    match along {
        Along::Nothing => {}
        Along::File(id) => found.file = state.db.file_of(&found.auth.user.id, id).await?,
        Along::NewestClip(now) => {
            found.newest_clip = state.db.newest_clip_with_text(&found.auth.user.id, now).await?
        }
    }
    Ok(found)
}

/// The `access_token` query parameter, percent-decoded.
pub fn query_token(query: Option<&str>) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        (name == "access_token" && !value.is_empty())
            .then(|| percent_encoding::percent_decode_str(value).decode_utf8_lossy().into_owned())
    })
}

/// An unsafe method sent by a browser on behalf of another site: the
/// browser says so (`Sec-Fetch-Site`), or the `Origin` is neither this
/// request's `Host` nor the public URL.
fn is_cross_site_write(parts: &Parts, public_url: Option<&str>) -> bool {
    if parts.method.is_safe() {
        return false;
    }
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    if matches!(header("sec-fetch-site"), Some(site) if site.eq_ignore_ascii_case("cross-site") || site.eq_ignore_ascii_case("same-site"))
    {
        return true;
    }
    let Some(origin) = parts.headers.get(ORIGIN) else { return false };
    let Ok(origin) = origin.to_str() else { return true };
    let authority = |url: &str| {
        url.split_once("://").map(|(_, rest)| rest.split('/').next().unwrap_or("").to_ascii_lowercase())
    };
    let Some(from) = authority(origin) else { return true };
    let host = header("host").map(str::to_ascii_lowercase);
    host.as_deref() != Some(from.as_str()) && public_url.and_then(authority).as_deref() != Some(from.as_str())
}

fn malformed() -> ApiError {
    ApiError::unauthorized("invalid_credentials", "the Authorization header is malformed")
}

/// Authenticates an access token (also used for WebSocket query and
/// subprotocol tokens).
pub async fn bearer(state: &AppState, token: &str) -> Result<AuthUser, ApiError> {
    Ok(session(state, token, Along::Nothing).await?.auth)
}

/// An access token's session, with what `along` asks for.
async fn session(state: &AppState, token: &str, along: Along<'_>) -> Result<Found, ApiError> {
    let claims = state.keys.verify(token).map_err(|e| match e {
        TokenError::Expired => {
            ApiError::unauthorized("token_expired", "the access token has expired; refresh it")
        }
        TokenError::Invalid => ApiError::unauthorized("invalid_token", "the access token is not valid"),
    })?;
    let session = state
        .db
        .session(&claims.did, &claims.sub, along)
        .await?
        .ok_or_else(|| ApiError::unauthorized("session_revoked", "this device has been signed out"))?;
    let now = now_ms();
    if now - session.last_seen_at > LAST_SEEN_RESOLUTION_MS {
        state.db.touch_device(&claims.did, now).await?;
    }
    let auth = AuthUser { user: session.user, device_id: Some(claims.did), expires_at: Some(claims.exp) };
    Ok(Found { auth, file: session.file, newest_clip: session.newest_clip })
}

async fn basic(state: &AppState, encoded: &str, ip: IpAddr) -> Result<AuthUser, ApiError> {
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(malformed)?;
    let (username, password) = decoded.split_once(':').ok_or_else(malformed)?;
    let key = blake3::Hasher::new_keyed(&state.keys.cache_key)
        .update(username.as_bytes())
        .update(&[0])
        .update(password.as_bytes())
        .finalize();
    if validate_username(username).is_ok() {
        if let Some(user) = state.db.user_by_name(username).await? {
            if state.basic_cache.hit(key.as_bytes(), &user.password_hash) {
                return Ok(AuthUser { user, device_id: None, expires_at: None });
            }
        }
    }
    let user = check_password(state, username, password, None, ip).await?;
    state.basic_cache.insert(*key.as_bytes(), &user.password_hash);
    Ok(AuthUser { user, device_id: None, expires_at: None })
}

/// `AuthUser` that must be an admin.
#[derive(Debug, Clone)]
pub struct AdminUser(pub AuthUser);

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        if !user.user.is_admin {
            return Err(ApiError::Forbidden {
                code: "admin_required",
                message: "this needs an admin account".into(),
            });
        }
        Ok(AdminUser(user))
    }
}
