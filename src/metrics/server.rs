//! The HTTP side: `/metrics` (Prometheus text format) and `/healthz` (200
//! `ok` when PostgreSQL answers, 503 `database unreachable` when not) on one
//! address.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use sqlx::{Connection as _, PgPool};
use tokio::task::JoinHandle;

/// How long `/healthz` and the scrape-time queue refresh wait for PostgreSQL.
const DB_PATIENCE: Duration = Duration::from_secs(2);
/// How often histogram samples are folded in when nobody scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// A running metrics server.
#[derive(Debug)]
pub struct MetricsServer {
    /// The address it listens on (useful after binding port 0).
    pub local_addr: SocketAddr,
    /// Ends when the shutdown future completes (or the server fails).
    pub task: JoinHandle<anyhow::Result<()>>,
}

#[derive(Clone)]
struct AppState {
    pool: PgPool,
    handle: &'static PrometheusHandle,
}

/// Installs the recorder (once per process), binds `addr` and serves
/// `/metrics` and `/healthz` until `shutdown` completes. Returns once the
/// socket is bound, so callers (and tests binding port 0) know the address.
pub async fn serve(
    addr: SocketAddr,
    pool: PgPool,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<MetricsServer> {
    let handle = super::install()?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen for metrics on {addr}"))?;
    let local_addr = listener.local_addr()?;
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .with_state(AppState { pool, handle });
    let task = tokio::spawn(async move {
        let upkeep = tokio::spawn(async move {
            let mut tick = tokio::time::interval(UPKEEP_EVERY);
            loop {
                tick.tick().await;
                handle.run_upkeep();
            }
        });
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
            .context("metrics server failed");
        upkeep.abort();
        served
    });
    tracing::info!(%local_addr, "serving /metrics and /healthz");
    Ok(MetricsServer { local_addr, task })
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    match tokio::time::timeout(DB_PATIENCE, super::refresh_queue_depth(&state.pool)).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => tracing::debug!(error = %err, "queue depth not refreshed"),
        Err(_) => tracing::debug!("queue depth not refreshed: database too slow"),
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.handle.render(),
    )
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let ping = async {
        let mut conn = state.pool.acquire().await?;
        conn.ping().await
    };
    match tokio::time::timeout(DB_PATIENCE, ping).await {
        Ok(Ok(())) => (StatusCode::OK, "ok\n"),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "health check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n")
        }
        Err(_) => {
            tracing::warn!("health check: database did not answer in time");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n")
        }
    }
}
