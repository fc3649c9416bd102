//! `run [--once]`: ingest ready files, then send everything due — once (for
//! cron: exit when nothing more is due now) or as a daemon that watches the
//! inbox, wakes on new work and stops cleanly on SIGINT/SIGTERM.

use std::io::IsTerminal as _;
use std::time::Duration;

use clap::Args;

use super::{ConfigError, Exit, Settings};
use crate::delivery::{self, BreakerConfig, DeliveryConfig, Mode, RetryPolicy, ThrottleConfig};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Ingest and send what is due now, then exit (for cron).
    #[arg(long)]
    pub once: bool,
    /// Seconds a claimed recipient stays reserved for this runner; must exceed WUTT_TIMEOUT.
    #[arg(
        long,
        env = "WUTT_LEASE_SECS",
        hide_env_values = true,
        default_value_t = 60
    )]
    pub lease_secs: u64,
    /// Most recipients claimed at once.
    #[arg(
        long,
        env = "WUTT_BATCH_SIZE",
        hide_env_values = true,
        default_value_t = 50
    )]
    pub batch_size: i64,
    /// Messages that may go at once after a quiet spell (default: a hundredth of
    /// WUTT_RATE, at least 1). The bucket refills at WUTT_RATE less this, so no
    /// one-second window ever holds more than WUTT_RATE.
    #[arg(long, env = "WUTT_BURST", hide_env_values = true)]
    pub burst: Option<f64>,
    /// Messages per second per sending number.
    #[arg(long, env = "WUTT_PER_NUMBER_RATE", hide_env_values = true)]
    pub per_number_rate: Option<f64>,
    /// Unique recipients per rolling 24 h (the messaging tier); beyond it recipients wait.
    #[arg(long, env = "WUTT_DAILY_UNIQUE_LIMIT", hide_env_values = true)]
    pub daily_unique_limit: Option<i64>,
    /// With --once: keep going while something becomes due within this many seconds
    /// (short retries and Retry-After waits finish in the same run).
    #[arg(long, default_value_t = 10.0)]
    pub once_horizon_secs: f64,
    /// Daemon: look for work this often even without a notification.
    #[arg(long, default_value_t = 5.0)]
    pub poll_secs: f64,
    /// Seconds a file in the inbox must stay unchanged before it is loaded.
    #[arg(
        long,
        env = "WUTT_SETTLE",
        hide_env_values = true,
        default_value_t = 5.0
    )]
    pub settle: f64,
    /// Serve Prometheus metrics and /healthz here (daemon).
    #[arg(long, env = "WUTT_METRICS_ADDR", hide_env_values = true)]
    pub metrics_addr: Option<String>,
    /// Delay before the second attempt after a transient failure (doubles each time).
    #[arg(
        long,
        env = "WUTT_RETRY_BASE_MS",
        hide_env_values = true,
        default_value_t = 2000,
        hide = true
    )]
    pub retry_base_ms: u64,
    /// How long a recipient waits after WhatsApp's pair rate limit (131056),
    /// in milliseconds (tests shorten it).
    #[arg(
        long,
        env = "WUTT_PAIR_WAIT_MS",
        hide_env_values = true,
        default_value_t = 60_000,
        hide = true
    )]
    pub pair_wait_ms: u64,
    /// Recent results the circuit breaker looks at.
    #[arg(long, default_value_t = 50, hide = true)]
    pub breaker_window: usize,
    /// Serve the web console here too (loopback unless WUTT_CONSOLE_TOKEN is set).
    #[arg(long, env = "WUTT_CONSOLE_ADDR", hide_env_values = true)]
    pub console_addr: Option<String>,
    #[command(flatten)]
    pub console_token: super::console::TokenArgs,
}

fn secs(v: f64, name: &str) -> Result<Duration, ConfigError> {
    if (0.0..1e9).contains(&v) {
        Ok(Duration::from_secs_f64(v))
    } else {
        Err(ConfigError(format!(
            "{name} must be a non-negative number of seconds"
        )))
    }
}

fn positive(v: Option<f64>, name: &str) -> Result<Option<f64>, ConfigError> {
    match v {
        Some(r) if !(r.is_finite() && r > 0.0) => {
            Err(ConfigError(format!("{name} must be a positive number")))
        }
        other => Ok(other),
    }
}

impl RunArgs {
    fn config(&self, settings: &Settings, client_id: &str) -> Result<DeliveryConfig, ConfigError> {
        let rate = positive(Some(settings.rate), "WUTT_RATE")?.unwrap_or(20.0);
        let timeout = secs(settings.timeout, "WUTT_TIMEOUT")?;
        let lease = Duration::from_secs(self.lease_secs);
        let burst = positive(self.burst, "--burst")?
            .unwrap_or_else(|| delivery::throttle::default_burst(rate));
        let config = DeliveryConfig {
            worker_id: delivery::worker_id(),
            batch_size: self.batch_size,
            lease,
            concurrency: settings.concurrency,
            request_timeout: timeout,
            retry: RetryPolicy {
                base: Duration::from_millis(self.retry_base_ms.max(1)),
                pair_wait: Duration::from_millis(self.pair_wait_ms.max(1)),
                ..RetryPolicy::default()
            },
            breaker: BreakerConfig {
                window: self.breaker_window.max(1),
                ..BreakerConfig::default()
            },
            throttle: ThrottleConfig {
                account_key: format!("account:{client_id}"),
                rate,
                burst: burst.max(1.0),
                per_number_rate: positive(self.per_number_rate, "--per-number-rate")?,
            },
            daily_unique_limit: self.daily_unique_limit,
            once_horizon: secs(self.once_horizon_secs, "--once-horizon-secs")?,
            poll_interval: secs(self.poll_secs, "--poll-secs")?.max(Duration::from_millis(100)),
        };
        // The same check the runner makes, whoever built the configuration:
        // here it is a usage error (exit 2) before anything starts.
        config.check().map_err(ConfigError)?;
        Ok(config)
    }
}

pub async fn exec(settings: &Settings, args: RunArgs) -> anyhow::Result<Exit> {
    let client_config = settings.client_config()?;
    let config = args.config(settings, &client_config.client_id)?;
    secs(args.settle, "--settle")?;
    let metrics_addr = match &args.metrics_addr {
        Some(a) => Some(
            a.parse::<std::net::SocketAddr>()
                .map_err(|_| ConfigError(format!("--metrics-addr {a:?} is not HOST:PORT")))?,
        ),
        None => None,
    };
    let client = crate::wutt::Client::new(client_config)?;
    let pool = settings.pool().await?;
    let stop = delivery::Shutdown::new();
    let shutdown = stop.graceful().clone();
    tokio::spawn(watch_signals(stop.clone()));
    if let Some(addr) = metrics_addr {
        let stop = shutdown.clone();
        crate::metrics::serve(addr, pool.clone(), async move { stop.cancelled().await }).await?;
    }
    if let Some(addr) = &args.console_addr {
        let (token, settle) = (&args.console_token, args.settle);
        let (pool, client) = (pool.clone(), Some(client.clone()));
        super::console::start(
            settings,
            addr,
            token,
            settle,
            true,
            pool,
            client,
            shutdown.clone(),
        )
        .await?;
    }
    let inbox = crate::ingest::Inbox::new(
        crate::ingest::CampaignsDir::new(settings.campaigns_dir.clone()),
        crate::ingest::IngestOptions {
            settle: Duration::from_secs_f64(args.settle),
        },
        pool.clone(),
        Some(client.clone()),
    );
    inbox.ingest().await;
    let mode = if args.once { Mode::Once } else { Mode::Daemon };
    if mode == Mode::Daemon {
        tokio::spawn(inbox.watch(shutdown.clone().cancelled_owned()));
    }
    let tty = std::io::stderr().is_terminal();
    let summary = delivery::run(pool, client, config, mode, stop, tty).await?;
    for p in &summary.paused {
        eprintln!("campaign {} paused: {}", p.campaign_id, p.reason);
    }
    Ok(if summary.paused_any() {
        Exit::AccountRefused
    } else {
        Exit::Ok
    })
}

/// First SIGINT/SIGTERM: stop claiming, finish in-flight calls, record
/// everything. Second: stop waiting for an unreachable database too.
async fn watch_signals(stop: delivery::Shutdown) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::warn!("cannot install signal handlers");
        return;
    };
    for hard in [false, true] {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        if hard {
            tracing::info!("stopping now: no longer waiting for the database");
            stop.force();
        } else {
            tracing::info!("stopping: finishing the messages in flight");
            stop.stop();
        }
    }
}
