//! `console [--addr ADDR]`: the web console without sending (for a
//! reporting host), and [`start`], which `run --console-addr` uses to serve
//! it beside the runner. See `src/console/mod.rs` for what it serves and how
//! it is protected.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::{ConfigError, Exit, Settings};
use crate::config::Secret;
use crate::console::{self, ConsoleConfig, ConsoleServer};
use crate::wutt;

/// The console's token (both commands).
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Token for logging in and for every action (at least 16 characters).
    /// Needed for a non-loopback address; on loopback without one, a token
    /// is made for the process and printed at startup.
    #[arg(long, env = "WUTT_CONSOLE_TOKEN", hide_env_values = true)]
    pub console_token: Option<String>,
    /// A file holding the console token.
    #[arg(long, env = "WUTT_CONSOLE_TOKEN_FILE", hide_env_values = true)]
    pub console_token_file: Option<PathBuf>,
}

impl TokenArgs {
    fn token(&self) -> Result<Option<Secret>, ConfigError> {
        if let Some(t) = self.console_token.as_ref().filter(|t| !t.is_empty()) {
            return Ok(Some(Secret::new(t.clone())));
        }
        match &self.console_token_file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    ConfigError(format!(
                        "cannot read WUTT_CONSOLE_TOKEN_FILE {}: {e}",
                        path.display()
                    ))
                })?;
                Ok(Some(Secret::new(text.trim())))
            }
            None => Ok(None),
        }
    }
}

#[derive(Debug, Args)]
pub struct ConsoleArgs {
    /// Address to serve the console on (loopback unless a token is set).
    #[arg(
        long,
        env = "WUTT_CONSOLE_ADDR",
        hide_env_values = true,
        default_value = "127.0.0.1:8080"
    )]
    pub addr: String,
    /// Seconds a file in the inbox must stay unchanged before a runner loads it
    /// (for the countdown shown).
    #[arg(
        long,
        env = "WUTT_SETTLE",
        hide_env_values = true,
        default_value_t = 5.0
    )]
    pub settle: f64,
    #[command(flatten)]
    pub token: TokenArgs,
}

/// Starts the console on `addr` and tells the operator how to open it.
#[allow(clippy::too_many_arguments)]
pub async fn start(
    settings: &Settings,
    addr: &str,
    token: &TokenArgs,
    settle: f64,
    sending: bool,
    pool: PgPool,
    client: Option<wutt::Client>,
    stop: CancellationToken,
) -> anyhow::Result<ConsoleServer> {
    let addr = addr
        .parse::<std::net::SocketAddr>()
        .map_err(|_| ConfigError(format!("console address {addr:?} is not HOST:PORT")))?;
    let config = ConsoleConfig {
        addr,
        token: token.token()?,
        campaigns_dir: settings.campaigns_dir.clone(),
        settle: Duration::from_secs_f64(settle.clamp(0.0, 1e6)),
        account_rate: settings.rate,
        sending,
    };
    let server =
        console::serve(config, pool, client, async move { stop.cancelled().await }).await?;
    if server.generated_token {
        // The operator's terminal only: a made-up token is useless unless shown.
        eprintln!(
            "console: http://{} — open {} to log in (a token made for this process; \
             set WUTT_CONSOLE_TOKEN to choose one)",
            server.local_addr,
            server.login_url.expose()
        );
    } else {
        eprintln!(
            "console: http://{}/login — log in with the console token (WUTT_CONSOLE_TOKEN)",
            server.local_addr
        );
    }
    Ok(server)
}

pub async fn exec(settings: &Settings, args: ConsoleArgs) -> anyhow::Result<Exit> {
    let pool = settings.pool().await?;
    // Template checks of a dry run need the API; a reporting host may have none.
    let client = settings.client().ok();
    let stop = CancellationToken::new();
    let server = start(
        settings,
        &args.addr,
        &args.token,
        args.settle,
        false,
        pool,
        client,
        stop.clone(),
    )
    .await?;
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
        stop.cancel();
    });
    server.task.await??;
    Ok(Exit::Ok)
}
