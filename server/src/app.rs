//! Assembling the service: routes, fallbacks and middleware; and running it.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
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
        .layer(middleware::from_fn(count_responses))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn count_responses(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    metrics::count_response(response.status().as_u16());
    response
}

/// Serves `state` on `listener` until `shutdown` resolves, with the expiry
/// sweeper running beside it; then waits for requests in flight and closes
/// the database. Tests pass a listener bound to port 0.
pub async fn launch_with_tcp_listener(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let cancel = CancellationToken::new();
    let sweeper = tokio::spawn(sweeper::run(state.clone(), cancel.clone()));
    let app = make_app(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    tracing::info!(address = %listener.local_addr()?, public_url = %state.config.public_url, "serving");
    let closing = state.shutdown.clone();
    let shutdown = async move {
        shutdown.await;
        closing.cancel();
    };
    let served = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    cancel.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(5), sweeper).await;
    state.db.close().await;
    tracing::info!("stopped");
    served
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
