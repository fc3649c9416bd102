//! The control endpoints under `/__sim` (no credentials: a loopback tool):
//! what reached WhatsApp, counters, the fault and rate settings, the
//! account's switches and the server's clock. The account's data (contacts,
//! conversations, templates, WhatsApp's refusals, customer replies) is in
//! [`super::control_data`].

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::account::AccountSetting;
use super::clock::ClockPatch;
use super::config::Faults;
use super::control_data;
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
        .route("/__sim/account", get(get_account).put(put_account))
        .route("/__sim/clock", get(get_clock).put(put_clock))
        .route(
            "/__sim/contacts",
            get(control_data::get_contacts).post(control_data::post_contacts),
        )
        .route("/__sim/conversations", get(control_data::get_conversations))
        .route(
            "/__sim/templates/{id}",
            put(control_data::put_template).delete(control_data::delete_template),
        )
        .route(
            "/__sim/whatsapp",
            get(control_data::get_whatsapp).put(control_data::put_whatsapp),
        )
        .route("/__sim/reply", post(control_data::post_reply))
}

/// A 400 with a plain JSON error (not the API's envelope).
pub(crate) fn bad_request(msg: String) -> Response {
    reply::json_response(StatusCode::BAD_REQUEST, &json!({ "error": msg }))
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

async fn get_account(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.settings()).into_response()
}

async fn put_account(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let setting: AccountSetting = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(err) => return bad_request(format!("not an account setting: {err}")),
    };
    let account = {
        let mut account = lock(&shared.settings);
        account.apply(setting);
        *account
    };
    tracing::info!(?account, "simulator: account changed");
    Json(account).into_response()
}

async fn get_clock(State(shared): State<Arc<Shared>>) -> Response {
    Json(*lock(&shared.clock)).into_response()
}

async fn put_clock(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let patch: ClockPatch = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(err) => return bad_request(format!("not a clock setting: {err}")),
    };
    let result = {
        let mut clock = lock(&shared.clock);
        clock.patched(patch).inspect(|next| *clock = *next)
    };
    match result {
        Ok(clock) => Json(clock).into_response(),
        Err(msg) => bad_request(msg),
    }
}
