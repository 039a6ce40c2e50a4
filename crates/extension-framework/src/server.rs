//! The HTTP endpoints on axum: `/metrics`, and `/healthz` + `/readyz`.

use crate::cache::SeedCache;
use crate::client::Connectivity;
use crate::metrics::Metrics;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Readiness: every started controller, and the shared cache, has listed its objects once, and
/// the API server answered the last request.
#[derive(Clone, Default)]
pub struct Readiness {
    synced: Arc<std::sync::Mutex<Vec<watch::Receiver<bool>>>>,
    caches: Arc<std::sync::Mutex<Vec<SeedCache>>>,
    connectivity: Arc<std::sync::Mutex<Option<Connectivity>>>,
}

impl Readiness {
    /// Registers a controller's sync flag.
    pub fn track(&self, synced: watch::Receiver<bool>) {
        self.synced
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(synced);
    }

    /// Registers the shared Namespace and Cluster cache.
    pub fn track_cache(&self, cache: SeedCache) {
        self.caches
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(cache);
    }

    /// Registers the seed client's view of the API server.
    pub fn track_connectivity(&self, connectivity: Connectivity) {
        *self.connectivity.lock().unwrap_or_else(|p| p.into_inner()) = Some(connectivity);
    }

    /// Why the API server counts as unreachable, if it does.
    fn unreachable(&self) -> Option<String> {
        self.connectivity
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .and_then(Connectivity::failure)
    }

    /// Whether all tracked controllers and caches have synced.
    pub fn is_ready(&self) -> bool {
        self.unreachable().is_none()
            && self
                .synced
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .all(|s| *s.borrow())
            && self
                .caches
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .all(SeedCache::is_synced)
    }
}

async fn metrics(State(metrics): State<Metrics>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)],
        metrics.render(),
    )
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(readiness): State<Readiness>) -> impl IntoResponse {
    if let Some(error) = readiness.unreachable() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("apiserver: cannot be reached: {error}"),
        )
    } else if readiness.is_ready() {
        (StatusCode::OK, "ok".to_string())
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "informer-sync: caches not synced yet".to_string(),
        )
    }
}

/// The `/metrics` router.
pub fn metrics_router(m: Metrics) -> Router {
    Router::new().route("/metrics", get(metrics)).with_state(m)
}

/// The `/healthz` and `/readyz` router.
pub fn health_router(readiness: Readiness) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(readiness)
}

/// Binds `addr` and serves `router` until `stop` turns true. Returns the bound address.
pub async fn serve(
    addr: SocketAddr,
    router: Router,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "HTTP server failed");
        }
    });
    Ok(local)
}
