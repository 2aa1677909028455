//! The public share page: `GET /s/{token}` and its form posts to
//! `POST /s/{token}` (the password, and "Show text" of limited text links).
//! Every answer is an HTML page (see `crate::page`), errors included.

use axum::extract::rejection::{FormRejection, PathRejection};
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use cloudbuffer_protocol::ShareState;
use serde::Deserialize;

use crate::auth::ClientIp;
use crate::db::now_ms;
use crate::error::ApiError;
use crate::files::download::Conditions;
use crate::page::{self, Content, EncryptedShare, GoneReason, Item, PasswordPrompt};
use crate::shares::{self, Resolved};
use crate::state::AppState;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/s/{token}", get(show).post(submit))
}

/// What the page's forms post.
#[derive(Debug, Default, Deserialize)]
pub struct PageForm {
    /// The password typed in (or sent again from a hidden field).
    #[serde(default)]
    pub password: String,
    /// Present when the "Show text" button of a limited text link was pressed.
    #[serde(default)]
    pub reveal: Option<String>,
}

/// The share page for phones: the item and a Download button, or a
/// password form. 404 and 410 answers are HTML pages too.
#[utoipa::path(get, path = "/s/{token}", tag = "shares",
    params(("token" = String, Path, description = "share token")),
    responses(
        (status = 200, description = "the share page, or its password form", body = String, content_type = "text/html"),
        (status = 404, description = "unknown link (HTML page)", body = String, content_type = "text/html"),
        (status = 410, description = "expired, revoked or used up (HTML page)", body = String, content_type = "text/html")))]
pub async fn show(State(state): State<AppState>, path: Result<Path<String>, PathRejection>) -> Response {
    let Ok(Path(token)) = path else { return page::not_found() };
    let resolved = match usable(&state, &token).await {
        Ok(resolved) => resolved,
        Err(response) => return response,
    };
    if resolved.encrypted() {
        return encrypted(&state, &resolved);
    }
    if resolved.row.password_hash.is_some() {
        return page::respond(
            StatusCode::OK,
            page::password_form(&resolved.row.token, PasswordPrompt::Fresh),
        );
    }
    render(&state, &resolved, None).await
}

/// The share page's form posts: `password` unlocks a protected link (the
/// unlocked page posts it again, hidden, to `/s/{token}/raw`); `reveal`
/// shows the text of a text link with a download limit, using a download.
#[utoipa::path(post, path = "/s/{token}", tag = "shares",
    params(("token" = String, Path, description = "share token")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "`password=…` and/or `reveal=1`"),
    responses(
        (status = 200, description = "the unlocked share page", body = String, content_type = "text/html"),
        (status = 401, description = "the password form again: password missing or wrong", body = String, content_type = "text/html"),
        (status = 404, description = "unknown link (HTML page)", body = String, content_type = "text/html"),
        (status = 410, description = "expired, revoked or used up (HTML page)", body = String, content_type = "text/html"),
        (status = 429, description = "too many password attempts (HTML page, `Retry-After`)", body = String, content_type = "text/html")))]
pub async fn submit(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    path: Result<Path<String>, PathRejection>,
    form: Result<Form<PageForm>, FormRejection>,
) -> Response {
    let Ok(Path(token)) = path else { return page::not_found() };
    // A body that is not a form counts as an empty one.
    let form = form.map(|Form(form)| form).unwrap_or_default();
    let resolved = match usable(&state, &token).await {
        Ok(resolved) => resolved,
        Err(response) => return response,
    };
    // Its script posts a password to `/s/{token}/raw`, not here: the
    // same shell whatever the form held.
    if resolved.encrypted() {
        return encrypted(&state, &resolved);
    }
    let password = if resolved.row.password_hash.is_some() {
        match shares::check_password(&state, &resolved, Some(&form.password), ip).await {
            Ok(()) => Some(form.password),
            Err(ApiError::Unauthorized { code, .. }) => {
                let prompt =
                    if code == "password_required" { PasswordPrompt::Missing } else { PasswordPrompt::Wrong };
                let markup = page::password_form(&resolved.row.token, prompt);
                return page::respond(StatusCode::UNAUTHORIZED, markup);
            }
            Err(e) => return failure(&resolved.row.token, e),
        }
    } else {
        None
    };
    if form.reveal.is_some() && is_limited_text(&resolved) {
        return reveal(&state, &resolved, password).await;
    }
    render(&state, &resolved, password).await
}

/// The share if it can be used; otherwise the page saying why not.
async fn usable(state: &AppState, token: &str) -> Result<Resolved, Response> {
    let resolved = shares::resolve(state, token).await.map_err(|e| failure(token, e))?;
    match resolved.state {
        ShareState::Active => Ok(resolved),
        ShareState::Expired => Err(page::gone(GoneReason::Expired)),
        ShareState::Revoked => Err(page::gone(GoneReason::Revoked)),
        ShareState::Exhausted => Err(page::gone(GoneReason::Exhausted)),
    }
}

/// The page of an end-to-end encrypted item: a shell its script fills in
/// (see `page::e2e`). Like the password form, a protected link's shell
/// tells nothing about the item but its kind until the password is given.
fn encrypted(state: &AppState, resolved: &Resolved) -> Response {
    let protected = resolved.row.password_hash.is_some();
    let share = match (&resolved.clip, &resolved.file) {
        (_, Some(file)) => EncryptedShare {
            token: resolved.row.token.clone(),
            kind: "file",
            size: Some(file.size.max(0) as u64),
            name: file.name.clone(),
            content_type: file.content_type.clone(),
            password: protected,
        },
        (Some(clip), None) => EncryptedShare {
            token: resolved.row.token.clone(),
            kind: "text",
            size: Some(clip.size.max(0) as u64),
            name: String::new(),
            content_type: String::new(),
            password: protected,
        },
        (None, None) => return page::gone(GoneReason::Expired),
    };
    let share = if protected {
        EncryptedShare { size: None, name: String::new(), content_type: String::new(), ..share }
    } else {
        share
    };
    let markup = page::encrypted_share(&share, state.web.version());
    page::respond_with_csp(StatusCode::OK, markup, page::E2E_CONTENT_SECURITY_POLICY)
}

/// A text clip (not a file clip) on a link with a download limit.
fn is_limited_text(resolved: &Resolved) -> bool {
    resolved.clip.is_some() && resolved.file.is_none() && resolved.row.max_downloads.is_some()
}

/// The page of a usable link; `password` is the one just checked, if any.
async fn render(state: &AppState, resolved: &Resolved, password: Option<String>) -> Response {
    let row = &resolved.row;
    let content = match (&resolved.clip, &resolved.file) {
        (_, Some(file)) => Content::File {
            size: file.size.max(0) as u64,
            content_type: file.content_type.clone(),
            preview: crate::shares::has_preview(row, file),
        },
        (Some(clip), None) => {
            let text = if is_limited_text(resolved) {
                None
            } else {
                match state.db.clip_text(&clip.id).await {
                    Ok(text) => Some(text.unwrap_or_default()),
                    Err(e) => return failure(&row.token, e.into()),
                }
            };
            Content::Text { size: clip.size.max(0) as u64, text }
        }
        (None, None) => return page::gone(GoneReason::Expired),
    };
    let left = row.max_downloads.map(|max| (max - row.downloads).max(0) as u64);
    page::respond(StatusCode::OK, page::item(&item(resolved, content, left, password)))
}

/// Shows a limited text link's text, counted as one download by the share
/// service (so a one-time text can be read once).
async fn reveal(state: &AppState, resolved: &Resolved, password: Option<String>) -> Response {
    let token = &resolved.row.token;
    let response = match shares::download(state, resolved, &Conditions::default(), false).await {
        Ok(response) => response,
        Err(e) => return failure(token, e),
    };
    // A text clip is at most MAX_TEXT_BYTES: anything longer is not one.
    let bytes = match axum::body::to_bytes(response.into_body(), crate::buffer::MAX_TEXT_BYTES).await {
        Ok(bytes) => bytes,
        Err(e) => return failure(token, ApiError::Internal(format!("reading a shared text: {e}"))),
    };
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let row = &resolved.row;
    let left = row.max_downloads.map(|max| (max - row.downloads - 1).max(0) as u64);
    let content = Content::Text { size: bytes.len() as u64, text: Some(text) };
    page::respond(StatusCode::OK, page::item(&item(resolved, content, left, password)))
}

fn item(
    resolved: &Resolved,
    content: Content,
    downloads_left: Option<u64>,
    password: Option<String>,
) -> Item {
    let row = &resolved.row;
    Item {
        token: row.token.clone(),
        name: resolved.name(),
        content,
        time_left: ((row.expires_at - now_ms()).max(0) / 1000) as u64,
        downloads_left,
        password,
    }
}

/// The page for an error of the share service.
fn failure(token: &str, e: ApiError) -> Response {
    match e {
        ApiError::NotFound(_) => page::not_found(),
        ApiError::GoneWith("revoked", _) => page::gone(GoneReason::Revoked),
        ApiError::GoneWith("exhausted", _) => page::gone(GoneReason::Exhausted),
        ApiError::Gone(_) | ApiError::GoneWith(..) => page::gone(GoneReason::Expired),
        ApiError::TooManyRequests(secs) => page::too_many_attempts(token, secs),
        other => {
            tracing::error!(error = %other, "share page failed");
            page::server_error()
        }
    }
}
