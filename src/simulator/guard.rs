//! In front of every API route: the optional rate limit of a proxy (429),
//! then the server's `ExternalAPI` middleware in its order — client id,
//! client secret, credentials, caller's IP (all HTTP 401 `Unauthorized`),
//! then the plan (HTTP 200 `subscription_required` / `not_available`) —
//! and the answer counters. A wrong method passes untouched: Laravel
//! refuses it while routing, before any middleware.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use super::account::Plan;
use super::faults::Unanswered;
use super::php::truthy;
use super::rate::retry_after_secs;
use super::reply;
use super::routes::method_allowed;
use super::state::{Shared, digest, lock};

pub(crate) async fn check(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    lock(&shared.stats).requests += 1;
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_canonical());
    let resp = if !method_allowed(req.method(), req.uri().path()) {
        next.run(req).await
    } else {
        match admit(&shared, peer, req.headers()) {
            Ok(()) => next.run(req).await,
            Err(refusal) => refusal,
        }
    };
    if resp.extensions().get::<Unanswered>().is_none() {
        let mut stats = lock(&shared.stats);
        *stats.by_status.entry(resp.status().as_u16()).or_default() += 1;
        if resp.status() == StatusCode::TOO_MANY_REQUESTS {
            stats.throttled += 1;
        }
    }
    resp
}

fn admit(shared: &Shared, peer: Option<IpAddr>, headers: &HeaderMap) -> Result<(), Response> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| truthy(Some(v)))
    };
    let id = header("client-id");
    // The proxy in front counts per account, before the server sees anything.
    let limited = lock(&shared.rate).check(id.unwrap_or(""), Instant::now());
    if let Err(wait) = limited {
        lock(&shared.stats).rate_limited += 1;
        return Err(reply::too_many_requests(retry_after_secs(wait)));
    }
    let Some(id) = id else {
        return Err(reply::unauthorized(["The client id is required"]));
    };
    let Some(secret) = header("client-secret") else {
        return Err(reply::unauthorized(["The client secret is required"]));
    };
    let creds = &shared.credentials;
    // Compare digests in constant time: neither length nor content leaks.
    let id_ok = ct_eq(&digest(id), &digest(&creds.client_id));
    let secret_ok = ct_eq(&digest(secret), &creds.secret_digest);
    if !(id_ok & secret_ok) {
        return Err(reply::unauthorized(["Invalid credentials"]));
    }
    let Some(ip) = peer else {
        return Err(reply::unauthorized(["Your ip address is not valid"]));
    };
    if !creds.allow_ips.is_empty() && !creds.allow_ips.iter().any(|r| r.contains(ip)) {
        return Err(reply::unauthorized([
            "Access to this API endpoint is restricted to IP addresses that have been explicitly whitelisted.".to_owned(),
            format!("In order to access this API endpoint, please add your IP address ({ip}) to the white list from the user dashboard."),
        ]));
    }
    match shared.settings().plan {
        Plan::Active => Ok(()),
        Plan::None => Err(reply::fail(
            "subscription_required",
            ["You cannot proceed without an active plan. Please purchase a plan to continue"],
        )),
        Plan::Expired => Err(reply::fail(
            "subscription_required",
            ["Your plan has expired. Please renew or purchase a new plan to regain access."],
        )),
        Plan::NoApi => Err(reply::fail(
            "not_available",
            ["Your current plan does not support API access. Please upgrade your plan."],
        )),
    }
}

fn ct_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
