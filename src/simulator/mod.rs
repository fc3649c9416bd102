//! A local stand-in for the Wutt API, for tests, benchmarks, the demo and
//! rehearsals. It answers as the real server does (`SERVER.md`, read off
//! the script's source): the `ExternalAPI` middleware's 401s and plan
//! answers, HTTP 200 for every controller answer (errors included),
//! Laravel's paginators, the two send endpoints step by step with the
//! public version's defects (switchable: [`SimAccount::fixed`]), and
//! WhatsApp's own refusals on request. It records every message that
//! reached WhatsApp, whatever the answer said.
//!
//! - [`config`]: [`SimConfig`] and the transport fault profile [`Faults`].
//! - `guard`: a proxy's rate limit, then the server's middleware.
//! - `contacts`, `inbox`, `send`: the controllers; `content`: what a text
//!   send carries; `variables`: template variables; `refusals`: WhatsApp's
//!   refusals ([`WhatsAppRule`]).
//! - `form`, `params`, `validate`, `php`: input and Laravel's validation
//!   as PHP reads them; `paginate`: Laravel's paginator.
//! - `data`, `seed`, `model`, `countries`: the account's rows, the seeded
//!   account, and the rows as Laravel serialises them.
//! - `reply`, `routes`: envelopes, pages, 404/405; `clock`, `listener`: the
//!   server's clock and `Date` header.
//! - `faults`, `rate`: what sits in front of the server (proxies, network).
//! - `state`, `account`: shared state and the account's switches;
//!   `control`, `control_data`: `/__sim/*`; `handle`: [`SimHandle`].
//!
//! Transport faults model what stands in front of the server. A 500, 502,
//! 503 or 429 fault answers *before* acting (nothing is recorded). Timeout,
//! drop and malformed faults and a 504 act first — a message WhatsApp took
//! IS recorded — and then withhold, cut or garble the answer, so a client
//! must treat them as "maybe sent".

// Handlers return ready-made error responses as `Err`; the path is cold.
#![allow(clippy::result_large_err)]

mod account;
mod clock;
pub mod config;
mod contacts;
mod content;
mod control;
mod control_data;
mod countries;
mod data;
mod faults;
mod form;
mod guard;
mod handle;
mod inbox;
mod listener;
mod model;
mod paginate;
mod params;
mod php;
mod rate;
mod refusals;
mod reply;
mod routes;
mod seed;
mod send;
mod state;
mod validate;
mod variables;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{delete, get, post};
use axum::serve::ListenerExt;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub use account::{AccountSetting, Plan, SimAccount};
pub use clock::SimClock;
pub use config::{Faults, IpRange, LatencyRange, MalformedBody, SimConfig};
pub use control::RateSetting;
pub use control_data::{SeedContact, SimContact, SimConversation};
pub use data::{BLOCKED_MOBILE, BLOCKED_MOBILE_CODE, WHATSAPP_NUMBER};
pub use handle::SimHandle;
pub use refusals::{RuleEndpoint, WhatsAppRule};
pub use seed::{
    CTA_URL_IDS, INTERACTIVE_LIST_ID, TEMPLATE_DISABLED, TEMPLATE_HEADER_VAR,
    TEMPLATE_IMAGE_HEADER, TEMPLATE_ON_PAGE_3, TEMPLATE_ONE_VAR, TEMPLATE_PENDING,
    TEMPLATE_REJECTED, TEMPLATE_TWO_VARS,
};
pub use state::{MediaInfo, MessageKind, SentMessage, SimStats};

use state::{Credentials, Recorder, Shared};

/// Body limit of the send endpoints: every media field at its maximum, plus room.
const SEND_BODY_LIMIT: usize = 140_000_000;
/// Body limit of the other POST endpoints.
const OTHER_BODY_LIMIT: usize = 8_000_000;

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
    let clock = SimClock::default();
    let settings = SimAccount {
        fixed: config.fixed,
        all_contacts: config.all_contacts,
        ..SimAccount::default()
    };
    let shared = Arc::new(Shared {
        credentials: Credentials {
            client_id: config.client_id.clone(),
            secret_digest: state::digest(config.client_secret.expose()),
            allow_ips: config.allow_ips.clone(),
        },
        settings: Mutex::new(settings),
        clock: Mutex::new(clock),
        data: Mutex::new(seed::seeded(clock.now().timestamp())),
        refusals: Mutex::new(refusals::Refusals::new(seed)),
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
    let listener = listener::SimListener(listener).tap_io(|_| {});
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
    tracing::info!(%addr, seed, client_id = %config.client_id, fixed = config.fixed,
        all_contacts = config.all_contacts, "simulator started");
    Ok(SimHandle::new(addr, seed, shared, task))
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
        .route("/contact/list", get(contacts::contact_list))
        .route("/contact/store", post(contacts::contact_store))
        .route("/contact/update/{id}", post(contacts::contact_update))
        .route("/contact/delete/{id}", delete(contacts::contact_delete))
        .route("/inbox/conversation-list", get(inbox::conversation_list))
        .route(
            "/inbox/conversation-details/{id}",
            get(inbox::conversation_details),
        )
        .route(
            "/inbox/change-conversation-status/{id}",
            post(inbox::change_conversation_status),
        )
        .route("/inbox/template-list", get(inbox::template_list))
        .layer(DefaultBodyLimit::max(OTHER_BODY_LIMIT));
    sends
        .merge(rest)
        .layer(middleware::from_fn_with_state(shared.clone(), guard::check))
}

fn router(shared: Arc<Shared>) -> Router {
    let api = api(&shared);
    Router::new()
        .merge(api.clone())
        .nest(routes::PREFIX, api.clone())
        .nest(routes::DOC_PREFIX, api)
        .merge(control::routes())
        .fallback(reply::not_found)
        .method_not_allowed_fallback(reply::method_not_allowed)
        .layer(middleware::from_fn_with_state(
            shared.clone(),
            clock::date_header,
        ))
        .with_state(shared)
}
