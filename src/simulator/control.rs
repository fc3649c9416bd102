//! The control endpoints under `/__sim` (no credentials: a loopback tool):
//! recorded messages, counters, and the fault and rate settings at run time.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};

use super::config::Faults;
use super::rate::usable_rate;
use super::reply;
use super::state::{Shared, lock};

/// Body of `GET/PUT /__sim/rate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateSetting {
    /// Requests per second per account; `null` turns the limit off.
    pub rate_per_second: Option<f64>,
    /// Bucket size; omitted keeps the current one, 0 means one second's worth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
}

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/__sim/messages", get(messages).delete(clear_messages))
        .route("/__sim/stats", get(stats))
        .route("/__sim/faults", get(get_faults).put(put_faults))
        .route("/__sim/rate", get(get_rate).put(put_rate))
}

fn bad_request(msg: String) -> Response {
    reply::error(StatusCode::BAD_REQUEST, "bad_request", [msg])
}

async fn messages(State(shared): State<Arc<Shared>>) -> Response {
    Json(lock(&shared.recorder).messages.clone()).into_response()
}

async fn clear_messages(State(shared): State<Arc<Shared>>) -> StatusCode {
    lock(&shared.recorder).messages.clear();
    StatusCode::NO_CONTENT
}

async fn stats(State(shared): State<Arc<Shared>>) -> Response {
    Json(lock(&shared.stats).clone()).into_response()
}

async fn get_faults(State(shared): State<Arc<Shared>>) -> Response {
    Json(lock(&shared.faults).faults.clone()).into_response()
}

async fn put_faults(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let faults: Faults = match serde_json::from_slice(&body) {
        Ok(f) => f,
        Err(err) => return bad_request(format!("not a fault profile: {err}")),
    };
    if let Err(msg) = faults.validate() {
        return bad_request(msg);
    }
    tracing::info!(?faults, "simulator: fault profile replaced");
    lock(&shared.faults).faults = faults.clone();
    Json(faults).into_response()
}

fn current_rate(shared: &Shared) -> RateSetting {
    let rate = lock(&shared.rate);
    RateSetting {
        rate_per_second: rate.rate(),
        burst: Some(rate.burst()),
    }
}

async fn get_rate(State(shared): State<Arc<Shared>>) -> Response {
    Json(current_rate(&shared)).into_response()
}

async fn put_rate(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let setting: RateSetting = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(err) => return bad_request(format!("not a rate setting: {err}")),
    };
    if setting.rate_per_second.is_some() && usable_rate(setting.rate_per_second).is_none() {
        return bad_request("rate_per_second must be a positive number or null".into());
    }
    lock(&shared.rate).set(setting.rate_per_second, setting.burst);
    tracing::info!(rate = ?setting.rate_per_second, "simulator: rate limit replaced");
    Json(current_rate(&shared)).into_response()
}
