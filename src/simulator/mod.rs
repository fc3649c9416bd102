//! A local stand-in for the Wutt API, for tests, benchmarks, the demo and
//! rehearsals: every endpoint of `API.md` with the same envelope, credential
//! and IP checks, a per-account rate limit, seeded fault injection, and a
//! record of every message it accepted.
//!
//! - [`config`]: [`SimConfig`] and the fault profile [`Faults`].
//! - `guard`: IP allow-list, credentials and rate limit in front of the API.
//! - `faults`: the seeded fault draw and what each fault does to an answer.
//! - `send`, `handlers`: the endpoints; `form`, `validate`: bodies and field rules.
//! - `state`, `data`: shared state, the seeded account, recorded messages.
//! - `control`: `/__sim/*` (messages, stats, faults, rate).
//!
//! Fault semantics: a 500 or 429 fault answers *before* acting (nothing is
//! recorded). Timeout, drop and malformed faults act first — a valid message
//! IS recorded, as a real server would have delivered it — and then withhold,
//! cut or garble the answer, so a client must treat them as "maybe sent".
//! An error fault with status 504 (a gateway timeout) acts first too. Unknown
//! paths get a web server's HTML 404, not the envelope: no endpoint answered.

// Handlers return ready-made error responses as `Err`; the path is cold.
#![allow(clippy::result_large_err)]

pub mod config;
mod control;
mod data;
mod faults;
mod form;
mod guard;
mod handlers;
mod rate;
mod reply;
mod send;
mod state;
mod validate;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{delete, get, post};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use config::{Faults, IpRange, LatencyRange, MalformedBody, SimConfig};
pub use control::RateSetting;
pub use data::{BLOCKED_MOBILE, BLOCKED_MOBILE_CODE};
pub use state::{MediaInfo, MessageKind, SentMessage, SimStats};

use state::{Account, Recorder, Shared, lock};

/// Body limit of the send endpoints: every media field at its maximum, plus room.
const SEND_BODY_LIMIT: usize = 140_000_000;
/// Body limit of the other POST endpoints.
const OTHER_BODY_LIMIT: usize = 8_000_000;
/// How long [`SimHandle::shutdown`] waits for open connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A running simulator. Dropping it stops the server too (without waiting).
pub struct SimHandle {
    addr: SocketAddr,
    seed: u64,
    shared: Arc<Shared>,
    task: Option<JoinHandle<()>>,
}

/// Starts a simulator on `listen` (port 0 picks a free port).
pub async fn start(config: SimConfig, listen: SocketAddr) -> anyhow::Result<SimHandle> {
    config
        .faults
        .validate()
        .map_err(|e| anyhow::anyhow!("simulator faults: {e}"))?;
    let file = match &config.record {
        Some(path) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("cannot open the record file {}", path.display()))?,
        ),
        None => None,
    };
    let seed = config.seed.unwrap_or_else(rand::random);
    let shared = Arc::new(Shared {
        account: Account {
            client_id: config.client_id.clone(),
            secret_digest: state::digest(config.client_secret.expose()),
            allow_ips: config.allow_ips.clone(),
        },
        data: Mutex::new(data::Data::seeded()),
        recorder: Mutex::new(Recorder {
            messages: Vec::new(),
            next_seq: 1,
            file,
        }),
        recorded: Notify::new(),
        stats: Mutex::new(SimStats::default()),
        faults: Mutex::new(faults::FaultState::new(config.faults.clone(), seed)),
        rate: Mutex::new(rate::RateLimiter::new(config.rate_per_second, config.burst)),
        shutdown: CancellationToken::new(),
    });
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    let app = router(shared.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let stop = shared.shutdown.clone();
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await;
        if let Err(err) = served {
            tracing::warn!(%err, "simulator stopped with an error");
        }
    });
    tracing::info!(%addr, seed, client_id = %config.client_id, "simulator started");
    Ok(SimHandle {
        addr,
        seed,
        shared,
        task: Some(task),
    })
}

fn api(shared: &Arc<Shared>) -> Router<Arc<Shared>> {
    let sends = Router::new()
        .route("/inbox/send-message", post(send::send_message))
        .route("/inbox/send-template-message", post(send::send_template))
        .layer(middleware::from_fn_with_state(
            shared.clone(),
            faults::apply,
        ))
        .layer(DefaultBodyLimit::max(SEND_BODY_LIMIT));
    let rest = Router::new()
        .route("/contact/list", get(handlers::contact_list))
        .route("/contact/store", post(handlers::contact_store))
        .route("/contact/update/{id}", post(handlers::contact_update))
        .route("/contact/delete/{id}", delete(handlers::contact_delete))
        .route("/inbox/conversation-list", get(handlers::conversation_list))
        .route(
            "/inbox/conversation-details/{id}",
            get(handlers::conversation_details),
        )
        .route(
            "/inbox/change-conversation-status/{id}",
            post(handlers::change_conversation_status),
        )
        .route("/inbox/template-list", get(handlers::template_list))
        .layer(DefaultBodyLimit::max(OTHER_BODY_LIMIT));
    sends
        .merge(rest)
        .layer(middleware::from_fn_with_state(shared.clone(), guard::check))
}

fn router(shared: Arc<Shared>) -> Router {
    let api = api(&shared);
    Router::new()
        .merge(api.clone())
        .nest("/external-api", api.clone())
        .nest("/extern-api", api)
        .merge(control::routes())
        .fallback(reply::not_found)
        .method_not_allowed_fallback(reply::method_not_allowed)
        .with_state(shared)
}

impl SimHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, the base URL for clients (paths are served at the root,
    /// and also under `/external-api` and `/extern-api`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The seed of the fault generator (given or picked).
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Every message accepted so far, in order.
    pub fn messages(&self) -> Vec<SentMessage> {
        lock(&self.shared.recorder).messages.clone()
    }

    /// Forgets the recorded messages (sequence numbers keep counting).
    pub fn clear_messages(&self) {
        lock(&self.shared.recorder).messages.clear();
    }

    /// Waits until at least `count` messages are recorded, or `within` passes.
    /// Returns the messages either way.
    pub async fn wait_for_messages(&self, count: usize, within: Duration) -> Vec<SentMessage> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.shared.recorded.notified();
            let now = self.messages();
            if now.len() >= count {
                return now;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.messages();
            }
        }
    }

    /// Counters since start.
    pub fn stats(&self) -> SimStats {
        lock(&self.shared.stats).clone()
    }

    pub fn faults(&self) -> Faults {
        lock(&self.shared.faults).faults.clone()
    }

    /// Replaces the fault profile. An invalid profile is refused (logged) and
    /// the old one kept; check with [`Faults::validate`] first.
    pub fn set_faults(&self, faults: Faults) {
        match faults.validate() {
            Ok(()) => lock(&self.shared.faults).faults = faults,
            Err(err) => tracing::warn!(%err, "simulator: fault profile refused"),
        }
    }

    /// Replaces the rate limit (`None`, zero or negative: no limit). Buckets refill.
    pub fn set_rate(&self, rate_per_second: Option<f64>) {
        lock(&self.shared.rate).set(rate_per_second, None);
    }

    /// Replaces the rate limit and its burst.
    pub fn set_rate_and_burst(&self, rate_per_second: Option<f64>, burst: u32) {
        lock(&self.shared.rate).set(rate_per_second, Some(burst));
    }

    /// Stops accepting, releases held (timed-out) requests and waits a few
    /// seconds for open connections to finish.
    pub async fn shutdown(mut self) {
        self.shared.shutdown.cancel();
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.shared.shutdown.cancel();
    }
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("addr", &self.addr)
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}
