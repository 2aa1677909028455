//! Assembling the service: routes, fallbacks and middleware; and running it.

use std::future::Future;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::serve::ConnectionLimits;
use crate::state::AppState;
use crate::{metrics, routes, sweeper};

/// JSON bodies are small; uploads lift this limit on their own routes.
const JSON_BODY_LIMIT: usize = 64 * 1024;

/// The whole HTTP service for a state.
pub fn make_app(state: AppState) -> Router {
    routes::router()
        .fallback(|| async { ApiError::NotFound("route") })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .layer(middleware::from_fn(common_headers))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

/// Counts every response, and marks it `nosniff`: many carry user content,
/// which a browser must never reinterpret as HTML or script. Responses
/// without a policy of their own (downloads of user content above all)
/// get `sandbox`: even an HTML file opened in a tab runs no script and has
/// no access to this origin.
async fn common_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    metrics::count_response(response.status().as_u16());
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox"));
    }
    response
}

/// The trace span of a request: method, path and query, with the values of
/// secret parameters (`access_token`, for browsers' WebSockets) redacted.
fn request_span(request: &Request) -> tracing::Span {
    let uri = request.uri();
    let query = uri.query().map(redact_query);
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %uri.path(),
        query = query.as_deref().unwrap_or(""),
        version = ?request.version(),
    )
}

/// `a=1&access_token=SECRET` becomes `a=1&access_token=REDACTED`.
pub fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_secret_parameter(name) => format!("{name}=REDACTED"),
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn is_secret_parameter(name: &str) -> bool {
    let name = percent_encoding::percent_decode_str(name).decode_utf8_lossy().to_ascii_lowercase();
    name.contains("token") || name.contains("password") || name == "code"
}

/// Serves `state` on `listener` until `shutdown` resolves, with the expiry
/// sweeper and the cross-instance event relay running beside it; then waits for requests in flight and closes
/// the database. Tests pass a listener bound to port 0.
pub async fn launch_with_tcp_listener(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let cancel = CancellationToken::new();
    let sweeper = tokio::spawn(sweeper::run(state.clone(), cancel.clone()));
    let tally = tokio::spawn(crate::tally::run(state.clone(), cancel.clone()));
    let relay = crate::events::relay::start(state.clone(), cancel.clone()).await;
    let app = make_app(state.clone());
    let public_url = state.config.public_url.as_deref().unwrap_or("(each request's Host)");
    tracing::info!(address = %listener.local_addr()?, public_url, "serving");
    let closing = state.shutdown.clone();
    tokio::spawn(async move {
        shutdown.await;
        closing.cancel();
    });
    let limits = ConnectionLimits {
        idle_timeout: Duration::from_secs(state.config.idle_timeout_seconds),
        per_address: state.config.max_connections_per_address,
    };
    crate::serve::serve(listener, app, limits, state.shutdown.clone()).await;
    cancel.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(5), sweeper).await;
    let _ = tokio::time::timeout(Duration::from_secs(5), tally).await;
    if let Some(relay) = relay {
        let _ = tokio::time::timeout(Duration::from_secs(5), relay).await;
    }
    state.db.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::redact_query;

    #[test]
    fn secrets_in_query_strings_are_redacted() {
        assert_eq!(redact_query("access_token=eyJabc.def"), "access_token=REDACTED");
        assert_eq!(redact_query("a=1&Access_Token=x&b"), "a=1&Access_Token=REDACTED&b");
        assert_eq!(redact_query("access%5Ftoken=x"), "access%5Ftoken=REDACTED");
        assert_eq!(redact_query("page=2"), "page=2");
    }
}
