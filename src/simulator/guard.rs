//! The gate in front of every API route: IP allow-list (403), credentials
//! (401), per-account rate limit (429), and the answer counters.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use super::faults::Unanswered;
use super::rate::retry_after_secs;
use super::reply;
use super::state::{Shared, digest, lock};

pub(crate) async fn check(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    lock(&shared.stats).requests += 1;
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_canonical());
    let resp = match admit(&shared, peer, req.headers()) {
        Ok(()) => next.run(req).await,
        Err(refusal) => refusal,
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

fn admit(
    shared: &Shared,
    peer: Option<std::net::IpAddr>,
    headers: &HeaderMap,
) -> Result<(), Response> {
    let account = &shared.account;
    if !account.allow_ips.is_empty() {
        let allowed = peer.is_some_and(|ip| account.allow_ips.iter().any(|r| r.contains(ip)));
        if !allowed {
            let shown = peer.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
            return Err(reply::error(
                StatusCode::FORBIDDEN,
                "Unauthorized",
                [
                    "Access to this API endpoint is restricted to IP addresses that have been explicitly whitelisted.".to_owned(),
                    format!("In order to access this API endpoint, please add your IP address ({shown}) to the white list from the user dashboard."),
                ],
            ));
        }
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
    };
    let unauthorized = |msg: &str| reply::error(StatusCode::UNAUTHORIZED, "Unauthorized", [msg]);
    let Some(secret) = header("client-secret") else {
        return Err(unauthorized("The client secret is required"));
    };
    let Some(id) = header("client-id") else {
        return Err(unauthorized("The client id is required"));
    };
    // Compare digests in constant time: neither length nor content leaks.
    let id_ok = ct_eq(&digest(id), &digest(&account.client_id));
    let secret_ok = ct_eq(&digest(secret), &account.secret_digest);
    if !(id_ok & secret_ok) {
        return Err(unauthorized("Invalid client credentials"));
    }
    let limited = lock(&shared.rate).check(id, Instant::now());
    if let Err(wait) = limited {
        lock(&shared.stats).rate_limited += 1;
        return Err(reply::too_many_requests(retry_after_secs(wait)));
    }
    Ok(())
}

fn ct_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
