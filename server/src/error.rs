//! The crate's one error type and its single mapping to HTTP.
//!
//! Every failure a handler can meet is an [`ApiError`]; `IntoResponse` turns
//! it into the contract's JSON shape. Internal errors are logged with their
//! cause and answered with a generic message, never leaking details.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use cloudbuffer_protocol::{ErrorBody, ErrorDetail};

/// Everything that can go wrong while serving a request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed (bad JSON, bad header, bad multipart…).
    #[error("{message}")]
    BadRequest {
        /// Stable code.
        code: &'static str,
        /// Human message.
        message: String,
    },
    /// No or invalid credentials.
    #[error("{message}")]
    Unauthorized {
        /// Stable code.
        code: &'static str,
        /// Human message.
        message: String,
    },
    /// Authenticated but not allowed.
    #[error("{message}")]
    Forbidden {
        /// Stable code.
        code: &'static str,
        /// Human message.
        message: String,
    },
    /// Unknown, or belongs to someone else.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Unknown, with a code of its own (code, message).
    #[error("{1}")]
    NotFoundWith(&'static str, &'static str),
    /// The route exists but not for this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// Conflicts with existing state.
    #[error("{message}")]
    Conflict {
        /// Stable code.
        code: &'static str,
        /// Human message.
        message: String,
    },
    /// Existed once; expired or used up.
    #[error("{0} has expired")]
    Gone(&'static str),
    /// Gone for another reason than expiry (code, message).
    #[error("{1}")]
    GoneWith(&'static str, &'static str),
    /// Larger than allowed.
    #[error("{message}")]
    TooLarge {
        /// Stable code.
        code: &'static str,
        /// Human message.
        message: String,
    },
    /// Wrong `Content-Type`.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The requested byte range lies outside the content.
    #[error("range not satisfiable")]
    RangeNotSatisfiable {
        /// Content length, for `Content-Range: bytes */len`.
        size: u64,
    },
    /// Well-formed input with invalid values.
    #[error("{message}")]
    Unprocessable {
        /// Stable code.
        code: &'static str,
        /// Human message.
        message: String,
    },
    /// Rate limited; retry after this many seconds.
    #[error("too many attempts; retry in {0} s")]
    TooManyRequests(u64),
    /// Too many pairing codes waiting to be used for one account.
    #[error("too many pairing codes at once")]
    TooManyPairings,
    /// Too many uploads of one user at once; retry after this many seconds.
    #[error("too many uploads at once; retry in {0} s")]
    TooManyUploads(u64),
    /// The client stopped sending the body.
    #[error("no data for {0} s")]
    RequestTimeout(u64),
    /// The user's quota, or the server's disk, is full.
    #[error("{message}")]
    InsufficientStorage {
        /// Stable code.
        code: &'static str,
        /// Human message.
        message: String,
    },
    /// A database failure.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A file system failure.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// Anything else that is our fault.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Shorthand for handler results.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// 400 with a code and message.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest { code, message: message.into() }
    }

    /// 401 with a code and message.
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::Unauthorized { code, message: message.into() }
    }

    /// 422 with a code and message.
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::Unprocessable { code, message: message.into() }
    }

    /// The status, stable code and public message of this error.
    fn parts(&self) -> (StatusCode, &'static str, String) {
        use ApiError::*;
        match self {
            BadRequest { code, message } => (StatusCode::BAD_REQUEST, code, message.clone()),
            Unauthorized { code, message } => (StatusCode::UNAUTHORIZED, code, message.clone()),
            Forbidden { code, message } => (StatusCode::FORBIDDEN, code, message.clone()),
            NotFound(what) => (StatusCode::NOT_FOUND, "not_found", format!("{what} not found")),
            NotFoundWith(code, message) => (StatusCode::NOT_FOUND, code, message.to_string()),
            MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this method is not allowed here".into(),
            ),
            Conflict { code, message } => (StatusCode::CONFLICT, code, message.clone()),
            Gone(what) => (StatusCode::GONE, "expired", format!("{what} has expired")),
            GoneWith(code, message) => (StatusCode::GONE, code, message.to_string()),
            TooLarge { code, message } => (StatusCode::PAYLOAD_TOO_LARGE, code, message.clone()),
            UnsupportedMediaType(message) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", message.clone())
            }
            RangeNotSatisfiable { .. } => (
                StatusCode::RANGE_NOT_SATISFIABLE,
                "range_not_satisfiable",
                "the requested range is outside the content".into(),
            ),
            Unprocessable { code, message } => (StatusCode::UNPROCESSABLE_ENTITY, code, message.clone()),
            TooManyRequests(secs) => (
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                format!("too many attempts; try again in {secs} s"),
            ),
            TooManyPairings => (
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_pairings",
                "this account has too many unused pairing codes; use one or wait 5 minutes".into(),
            ),
            TooManyUploads(secs) => (
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_uploads",
                format!("too many uploads at once for this account; try again in {secs} s"),
            ),
            RequestTimeout(secs) => (
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                format!("the upload stopped: no data arrived for {secs} s"),
            ),
            InsufficientStorage { code, message } => {
                (StatusCode::INSUFFICIENT_STORAGE, code, message.clone())
            }
            Io(e) if is_disk_full(e) => {
                (StatusCode::INSUFFICIENT_STORAGE, "storage_full", "the server's storage is full".into())
            }
            Database(e) if is_database_full(e) => {
                (StatusCode::INSUFFICIENT_STORAGE, "storage_full", "the server's storage is full".into())
            }
            Database(e) if crate::db::is_unavailable(e) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the database is unavailable; try again shortly".into(),
            ),
            Io(e) if crate::store::is_unavailable(e) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the file store is unavailable; try again shortly".into(),
            ),
            Database(_) | Io(_) | Internal(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal server error".into())
            }
        }
    }
}

/// True for the I/O errors that mean "no space" rather than "broken".
pub fn is_disk_full(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull
            | std::io::ErrorKind::QuotaExceeded
            | std::io::ErrorKind::FileTooLarge
    )
}

/// SQLite's "database or disk is full" (SQLITE_FULL, 13), PostgreSQL's
/// disk_full (53100): the database could not grow, nothing is broken.
fn is_database_full(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => matches!(db.code().as_deref(), Some("13" | "53100")),
        sqlx::Error::Io(io) => is_disk_full(io),
        _ => false,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = self.parts();
        if status.is_server_error() || status == StatusCode::INSUFFICIENT_STORAGE {
            tracing::error!(error = %self, "request failed");
        }
        let body = ErrorBody { error: ErrorDetail { code: code.to_string(), message } };
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        match &self {
            ApiError::TooManyRequests(secs) | ApiError::TooManyUploads(secs) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*secs));
            }
            ApiError::TooManyPairings => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("300"));
            }
            ApiError::Database(e) if crate::db::is_unavailable(e) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            ApiError::Io(e) if crate::store::is_unavailable(e) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            // The rest of the body will not be read (an encrypted upload is
            // refused at its first bytes): a client must not reuse the
            // connection the server is about to close.
            ApiError::RequestTimeout(_) => {
                headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            ApiError::BadRequest { code, .. } if *code == "invalid_ciphertext" => {
                headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            // Share passwords are not HTTP authentication: no browser dialog.
            ApiError::Unauthorized { code, .. }
                if !matches!(*code, "password_required" | "wrong_password") =>
            {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"cloudbuffer\", Basic realm=\"cloudbuffer\""),
                );
            }
            ApiError::RangeNotSatisfiable { size } => {
                if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    headers.insert(header::CONTENT_RANGE, v);
                }
            }
            _ => {}
        }
        response
    }
}
