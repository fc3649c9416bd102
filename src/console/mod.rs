//! The web console for the marketing team: server-rendered pages (maud,
//! checked at compile time) over the reporting views and the maintained
//! counts, live updates by polling small HTML fragments, and the actions of
//! `campaign` / `requeue` / `load` behind a token.
//!
//! - [`auth`]: the token, the session cookie, CSRF and cross-site checks.
//! - [`campaigns`]: the campaigns page, its live rows and `/api/campaigns`.
//! - [`campaign`]: one campaign — counts, errors, chart, manifest, actions, export.
//! - [`inbox`]: the drop folder, upload → dry run → approve.
//! - [`view`]: the page layout, the stylesheet and script, shared pieces.
//! - [`eta`]: when a campaign will be done, given its rate and send window.
//!
//! Security: it listens on loopback unless told otherwise, and a non-loopback
//! address needs a configured token (`WUTT_CONSOLE_TOKEN` or
//! `WUTT_CONSOLE_TOKEN_FILE`). Without one, on loopback, a random token is made
//! for the process and printed once at startup as a login link (the Jupyter
//! way). Every page needs the session cookie that link (or the login form)
//! sets; every POST also needs the page's CSRF token (or
//! `Authorization: Bearer TOKEN`) and is refused when the browser says it
//! comes from another site. The token itself never appears on a page.

pub mod auth;
pub mod campaign;
pub mod campaigns;
pub mod eta;
pub mod inbox;
pub mod view;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use sqlx::PgPool;
use tokio::task::JoinHandle;

use crate::config::Secret;
use crate::ingest::CampaignsDir;
use crate::wutt;

pub use auth::Auth;

/// The largest upload (CSV and manifest together).
pub const MAX_UPLOAD_BYTES: usize = 512 << 20;
/// How often the maintained counts are folded (their deltas stay small).
const COMPACT_EVERY: Duration = Duration::from_secs(5);

/// What the console serves and how.
#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    pub addr: SocketAddr,
    /// The token of every action; `None` on loopback makes one for the process.
    pub token: Option<Secret>,
    pub campaigns_dir: PathBuf,
    /// The inbox's settle time (for the countdown of waiting files).
    pub settle: Duration,
    /// The account-wide rate (WUTT_RATE), for estimates.
    pub account_rate: f64,
    /// Whether this process sends (`run --console-addr`) or only serves (`console`).
    pub sending: bool,
}

/// What every handler shares.
pub struct AppState {
    pub pool: PgPool,
    pub client: Option<wutt::Client>,
    pub dir: CampaignsDir,
    pub settle: Duration,
    pub account_rate: f64,
    pub sending: bool,
    pub auth: Auth,
    /// Uploaded files waiting for their dry run to be approved.
    pub uploads: PathBuf,
}

pub type Shared = Arc<AppState>;

/// A running console.
#[derive(Debug)]
pub struct ConsoleServer {
    /// The address it listens on (useful after binding port 0).
    pub local_addr: SocketAddr,
    /// Open this to log in (carries the token: print it only to the operator).
    pub login_url: Secret,
    /// Whether the token was made for this process (not configured).
    pub generated_token: bool,
    /// Ends when the shutdown future completes (or the server fails).
    pub task: JoinHandle<anyhow::Result<()>>,
}

/// Checks the configuration, binds and serves until `shutdown` completes.
pub async fn serve(
    config: ConsoleConfig,
    pool: PgPool,
    client: Option<wutt::Client>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<ConsoleServer> {
    let (token, generated) = auth::token_for(&config.addr, config.token.clone())?;
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .with_context(|| format!("cannot listen for the console on {}", config.addr))?;
    let local_addr = listener.local_addr()?;
    let uploads = config.campaigns_dir.join(".console-uploads");
    let auth = Auth::new(token, local_addr.port());
    let login_url = Secret::new(format!(
        "http://{local_addr}/login?token={}",
        auth.token().expose()
    ));
    let state = Arc::new(AppState {
        pool: pool.clone(),
        client,
        dir: CampaignsDir::new(config.campaigns_dir),
        settle: config.settle,
        account_rate: config.account_rate,
        sending: config.sending,
        auth,
        uploads,
    });
    let app = router(state);
    let task = tokio::spawn(async move {
        let compact = tokio::spawn(async move {
            let mut tick = tokio::time::interval(COMPACT_EVERY);
            loop {
                tick.tick().await;
                if let Err(e) = crate::report::console::compact_counts(&pool).await {
                    tracing::debug!(error = %e, "folding the campaign counts failed");
                }
            }
        });
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
            .context("console server failed");
        compact.abort();
        served
    });
    tracing::info!(%local_addr, "serving the console");
    Ok(ConsoleServer {
        local_addr,
        login_url,
        generated_token: generated,
        task,
    })
}

/// Every route of the console.
pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/", get(campaigns::page))
        .route("/live/campaigns", get(campaigns::live))
        .route("/api/campaigns", get(campaigns::api))
        .route("/campaigns/{id}", get(campaign::page))
        .route("/live/campaigns/{id}", get(campaign::live))
        .route("/campaigns/{id}/recipients.csv", get(campaign::export))
        .route("/campaigns/{id}/{action}", post(campaign::act))
        .route("/inbox", get(inbox::page))
        .route(
            "/inbox/upload",
            post(inbox::upload).layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)),
        )
        .route("/inbox/uploads/{upload}/approve", post(inbox::approve))
        .route("/inbox/uploads/{upload}/discard", post(inbox::discard))
        .route("/login", get(auth::login_link).post(auth::login_form))
        .route("/logout", post(auth::logout))
        .route("/style.css", get(view::stylesheet))
        .route("/live.js", get(view::script))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::guard,
        ))
        .with_state(state)
}
