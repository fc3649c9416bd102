//! The runner: a loop over sendable campaigns. Each loop does the
//! housekeeping (rescue expired leases as `unknown`, expire overdue
//! recipients, mark finished campaigns), checks each campaign's template, send
//! window, the tier budget and the account's `Retry-After`, and starts a
//! dispatcher for every campaign with work due. `run --once` returns when
//! nothing more is due soon; the daemon sleeps until a `wutt_work`
//! notification, the next due time, or the polling fallback. A graceful stop
//! stops claiming, lets in-flight calls finish, flushes every answer and
//! releases unsent claims: it leaves no `unknown`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex as SyncMutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::DeliveryConfig;
use super::gate::Gate;
use super::inflight::InFlight;
use super::progress::{CampaignLeft, Progress};
use super::recorder::Recorder;
use super::retry::{self, Pause, PauseScope, describe};
use super::schedule::{self, SendWindow, Window};
use super::shared::{Paused, Shared, Stats};
use super::throttle::Throttle;
use super::worker::{self, CampaignCtx, StopKind};
use crate::queue::{claim, control, throttle as qthrottle};
use crate::wutt::Client;

/// `run --once` or the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Once,
    Daemon,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunSummary {
    pub sent: u64,
    pub failed: u64,
    pub unknown: u64,
    pub retrying: u64,
    pub requeued: u64,
    pub released: u64,
    /// Campaigns this run paused (account refused, template, breaker).
    pub paused: Vec<Paused>,
}

impl RunSummary {
    /// Whether a campaign was paused because the account (or the campaign's
    /// template) was refused, or by the breaker: exit code 3.
    pub fn paused_any(&self) -> bool {
        !self.paused.is_empty()
    }

    fn from_stats(s: &Stats, paused: Vec<Paused>) -> Self {
        use std::sync::atomic::Ordering::Relaxed;
        RunSummary {
            sent: s.sent.load(Relaxed),
            failed: s.failed.load(Relaxed),
            unknown: s.unknown.load(Relaxed),
            retrying: s.retrying.load(Relaxed),
            requeued: s.requeued.load(Relaxed),
            released: s.released.load(Relaxed),
            paused,
        }
    }
}

/// Everything one loop decided.
#[derive(Default)]
struct Pass {
    /// Earliest moment something currently held back may go.
    wake_at: Option<DateTime<Utc>>,
    /// The campaigns this process is sending, with what is due now in each;
    /// `None` when the pass stopped early.
    campaigns: Option<Vec<CampaignLeft>>,
    /// Campaigns whose send window is closed now.
    closed: Vec<i64>,
}

struct Loop {
    shared: Arc<Shared>,
    running: HashMap<i64, (JoinHandle<()>, Arc<CampaignCtx>)>,
    template_retry: HashMap<i64, Instant>,
    ended: Arc<Notify>,
    media_dir: tempfile::TempDir,
    last_housekeeping: Option<Instant>,
}

/// Sends until nothing more is due (`Mode::Once`) or until `shutdown`.
/// `shutdown_hard` also gives up waiting for an unreachable database.
pub async fn run(
    pool: PgPool,
    client: Client,
    config: DeliveryConfig,
    mode: Mode,
    shutdown: CancellationToken,
    shutdown_hard: CancellationToken,
    tty: bool,
) -> anyhow::Result<RunSummary> {
    let (recorder, flusher) = Recorder::start(
        pool.clone(),
        config.batch_size.max(1) as usize * 2,
        shutdown_hard.clone(),
    );
    let (gate, gate_service) = Gate::start(
        pool.clone(),
        config.request_timeout + Duration::from_secs(1),
        shutdown_hard.clone(),
    );
    let throttle = Throttle::new(pool.clone(), config.throttle.clone());
    let concurrency = config.concurrency.max(1);
    let shared = Arc::new(Shared {
        pool: pool.clone(),
        client,
        throttle,
        recorder,
        gate,
        inflight: InFlight::new(concurrency, config.throttle.rate),
        stats: Stats::default(),
        campaign_stats: SyncMutex::default(),
        shutdown: shutdown.clone(),
        shutdown_hard,
        paused: SyncMutex::default(),
        live: SyncMutex::default(),
        unreachable: Default::default(),
        fatal: SyncMutex::default(),
        config: DeliveryConfig {
            concurrency,
            ..config
        },
    });
    tracing::info!(worker = %shared.config.worker_id, ?mode, "runner started");
    let sizing = tokio::spawn(size_in_flight(shared.clone()));
    let mut lp = Loop {
        shared: shared.clone(),
        running: HashMap::new(),
        template_retry: HashMap::new(),
        ended: Arc::new(Notify::new()),
        media_dir: super::media::cache_dir()?,
        last_housekeeping: None,
    };
    // Beside the rescuer: `unknown` recipients settled by reading the server back.
    let read_back = super::reconcile::ReadBack::beside(&shared).spawn(&shutdown);
    let mut listener = match mode {
        Mode::Daemon => listen(&pool).await,
        Mode::Once => None,
    };
    let mut progress = Progress::new(tty, Duration::from_secs(5));
    let mut idle_since: Option<Instant> = None;
    let mut db_delay = Duration::from_millis(100);
    let mut result = Ok(());
    loop {
        lp.running.retain(|_, (h, _)| !h.is_finished());
        if let Some(err) = shared
            .fatal
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            result = Err(anyhow::anyhow!(err));
            break;
        }
        if shutdown.is_cancelled() {
            break;
        }
        let pass = match lp.pass().await {
            Ok(pass) => {
                db_delay = Duration::from_millis(100);
                pass
            }
            Err(err)
                if err
                    .downcast_ref::<sqlx::Error>()
                    .is_some_and(crate::db::is_transient) =>
            {
                tracing::warn!(error = %err, "database unavailable; retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => {}
                    () = tokio::time::sleep(db_delay) => {}
                }
                db_delay = (db_delay * 2).min(Duration::from_secs(5));
                continue;
            }
            Err(err) => {
                result = Err(err);
                break;
            }
        };
        progress.update(pass.campaigns);
        let busy = !lp.running.is_empty() || shared.in_flight() > 0;
        let now = Utc::now();
        let mut wake_at = pass.wake_at;
        if busy {
            idle_since = None;
        } else if mode == Mode::Once {
            // Campaigns whose window is closed do not count: it reopens
            // hours away, past any horizon.
            let next = match control::next_due_at(&pool, &pass.closed).await {
                Ok(next) => next,
                Err(err) if crate::db::is_transient(&err) => Some(now),
                Err(err) => {
                    result = Err(err.into());
                    break;
                }
            };
            let horizon =
                chrono::Duration::from_std(shared.config.once_horizon).unwrap_or_default();
            let idle = idle_since.get_or_insert_with(Instant::now).elapsed();
            if (next.is_none_or(|t| t > now + horizon) || idle > shared.config.once_horizon)
                && !read_back.pending().await
            {
                break;
            }
            wake_at = [wake_at, next].into_iter().flatten().min();
        }
        // Sleep until something may have changed.
        let mut nap = if busy {
            Duration::from_secs(1)
        } else {
            match mode {
                Mode::Once => Duration::from_millis(250),
                Mode::Daemon => shared.config.poll_interval,
            }
        };
        if let Some(at) = wake_at {
            let until = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            nap = nap.min(until.max(Duration::from_millis(20)));
        }
        let ended = lp.ended.clone();
        tokio::select! {
            _ = shutdown.cancelled() => {}
            () = ended.notified() => {}
            () = tokio::time::sleep(nap) => {}
            woke = recv(&mut listener) => {
                if !woke {
                    listener = None;
                }
            }
        }
        if listener.is_none() && mode == Mode::Daemon && !shutdown.is_cancelled() {
            listener = listen(&pool).await;
        }
    }
    // Graceful stop: dispatchers release what they claimed but did not start,
    // in-flight calls finish and record their answer.
    for (_, ctx) in lp.running.values() {
        ctx.stop.cancel();
    }
    for (_, (h, _)) in lp.running.drain() {
        let _ = h.await;
    }
    read_back.stop().await;
    sizing.abort();
    let _ = sizing.await;
    let level = shared
        .inflight
        .adjust(shared.throttle.account_rate().await, false);
    tracing::info!(
        limit = level.limit,
        ceiling = shared.inflight.ceiling(),
        latency_ms = level.latency.as_millis() as u64,
        "requests in flight: the limit settled on"
    );
    shared.inflight.drain().await;
    gate_service.stop().await;
    let applied = flusher.finish().await;
    if let Ok(done) = control::finish_completed(&pool).await {
        for id in done {
            tracing::info!(campaign = id, "campaign completed");
        }
    }
    progress.finish(&shared.stats);
    tracing::debug!(applied, "outcomes recorded");
    result?;
    let paused = shared
        .paused
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    Ok(RunSummary::from_stats(&shared.stats, paused))
}

/// Moves the in-flight limit with the account's allowed rate and the latency
/// the API shows, four times a second, and logs where it settles.
async fn size_in_flight(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut logged = 0usize;
    loop {
        tick.tick().await;
        let rate = shared.throttle.account_rate().await;
        let f = &shared.inflight;
        // Every slot taken: work may be waiting for one.
        let busy = f.available() == 0 && f.in_use() > 0;
        let level = f.adjust(rate, busy);
        // Logged when it moved by a fifth or more since it was last logged.
        if level.limit.abs_diff(logged) * 5 > logged.max(1) {
            tracing::debug!(
                limit = level.limit,
                wanted = level.wanted,
                latency_ms = level.latency.as_millis() as u64,
                rate,
                "in-flight limit"
            );
            logged = level.limit;
        }
    }
}

async fn listen(pool: &PgPool) -> Option<PgListener> {
    let mut l = PgListener::connect_with(pool).await.ok()?;
    l.listen(qthrottle::WORK_CHANNEL).await.ok()?;
    Some(l)
}

/// Waits for a notification; false when the listener failed (polling takes over).
async fn recv(listener: &mut Option<PgListener>) -> bool {
    match listener {
        Some(l) => match l.recv().await {
            Ok(_) => true,
            Err(err) => {
                tracing::debug!(error = %err, "notification listener lost; polling");
                false
            }
        },
        None => std::future::pending().await,
    }
}

fn earliest(a: Option<DateTime<Utc>>, b: DateTime<Utc>) -> Option<DateTime<Utc>> {
    Some(a.map_or(b, |a| a.min(b)))
}

impl Loop {
    async fn housekeeping(&mut self) -> sqlx::Result<()> {
        if self
            .last_housekeeping
            .is_some_and(|t| t.elapsed() < Duration::from_secs(1))
        {
            return Ok(());
        }
        let pool = &self.shared.pool;
        let rescued = claim::rescue_expired(pool).await?;
        if rescued.unknown > 0 {
            tracing::warn!(
                rescued = rescued.unknown,
                "leases of stopped workers expired after their request left: recipients marked unknown"
            );
        }
        if rescued.requeued > 0 {
            tracing::info!(
                requeued = rescued.requeued,
                "leases expired before any request left: recipients back in the queue"
            );
        }
        let swept = control::sweep_cancelled(pool).await?;
        if swept > 0 {
            tracing::info!(swept, "recipients of cancelled campaigns cancelled");
        }
        let expired = control::expire_overdue(pool).await?;
        if expired > 0 {
            tracing::info!(expired, "recipients past their campaign's expiry");
        }
        for id in control::finish_completed(pool).await? {
            tracing::info!(campaign = id, "campaign completed");
        }
        self.last_housekeeping = Some(Instant::now());
        Ok(())
    }

    async fn pause(&self, c: &control::Campaign, reason: &str, kind: StopKind) -> sqlx::Result<()> {
        tracing::error!(campaign = %c.name, %reason, "pausing campaign");
        if control::pause(&self.shared.pool, c.id, reason).await? {
            self.shared.note_pause(c.id, reason, kind);
        }
        Ok(())
    }

    /// Whether the campaign's template may be sent; pauses it when not.
    async fn template_ok(&mut self, c: &control::Campaign) -> sqlx::Result<bool> {
        let Some(tid) = c.template_id else {
            return Ok(true);
        };
        match c.template_verified {
            Some(true) => return Ok(true),
            Some(false) => {
                let reason = format!("campaign refused: template {tid} is not approved");
                self.pause(c, &reason, StopKind::CampaignRefused).await?;
                return Ok(false);
            }
            None => {}
        }
        if self
            .template_retry
            .get(&c.id)
            .is_some_and(|t| *t > Instant::now())
        {
            return Ok(false);
        }
        match self.shared.client.templates().await {
            Ok(list) => match list.iter().find(|t| t.id == tid) {
                Some(t) if t.is_approved() => {
                    control::set_template_verified(&self.shared.pool, c.id, true).await?;
                    Ok(true)
                }
                found => {
                    control::set_template_verified(&self.shared.pool, c.id, false).await?;
                    let reason = match found {
                        Some(t) => format!(
                            "campaign refused: template {tid} \"{}\" is {}, not approved — check `wutt-campaign templates list`; resume once it is approved",
                            t.name,
                            t.status.word()
                        ),
                        None => format!(
                            "campaign refused: template {tid} is not in the account's template list — check `wutt-campaign templates list` and the manifest's template_id"
                        ),
                    };
                    self.pause(c, &reason, StopKind::CampaignRefused).await?;
                    Ok(false)
                }
            },
            Err(err) => {
                let outcome = err.into_outcome();
                let unreachable = self.shared.note_unreachable(&outcome);
                match retry::refusal(&outcome).or(unreachable) {
                    Some(Pause {
                        scope: PauseScope::Account,
                        reason,
                    }) => {
                        let reason = format!("{reason} (asking for the template list)");
                        self.shared.pause_account(&reason).await;
                    }
                    Some(Pause { reason, .. }) => {
                        self.pause(c, &reason, StopKind::CampaignRefused).await?;
                    }
                    None => {
                        tracing::warn!(campaign = %c.name, error = %describe(&outcome), "template check failed; trying again shortly");
                        self.template_retry
                            .insert(c.id, Instant::now() + Duration::from_secs(2));
                    }
                }
                Ok(false)
            }
        }
    }

    async fn pass(&mut self) -> anyhow::Result<Pass> {
        self.housekeeping().await?;
        let mut pass = Pass::default();
        let shared = self.shared.clone();
        if shared.shutdown.is_cancelled() {
            return Ok(pass);
        }
        // The account's Retry-After holds every claim, here and in other processes.
        if let Some(until) = shared.throttle.blocked_until().await {
            pass.wake_at = Some(until);
            return Ok(pass);
        }
        if let Some(limit) = shared.config.daily_unique_limit {
            let (used, frees_at) = qthrottle::daily_unique(&shared.pool, limit).await?;
            if used >= limit {
                tracing::info!(
                    used,
                    limit,
                    "daily unique-recipient budget reached; waiting"
                );
                pass.wake_at =
                    Some(frees_at.unwrap_or_else(|| Utc::now() + chrono::Duration::minutes(1)));
                return Ok(pass);
            }
        }
        let now = Utc::now();
        let mut due_now = HashMap::new();
        for c in control::sendable(&shared.pool).await? {
            let window = match SendWindow::parse(
                c.send_window_start,
                c.send_window_end,
                c.send_window_tz.as_deref(),
            ) {
                Ok(window) => window,
                Err(reason) => {
                    self.pause(&c, &reason, StopKind::Breaker).await?;
                    continue;
                }
            };
            if let Window::ClosedUntil(at) = schedule::state(window.as_ref(), now) {
                pass.wake_at = earliest(pass.wake_at, at);
                pass.closed.push(c.id);
                continue;
            }
            let due = control::due_count(&shared.pool, c.id).await?;
            due_now.insert(c.id, due);
            if due == 0 || self.running.contains_key(&c.id) || !self.template_ok(&c).await? {
                continue;
            }
            let media =
                super::media::materialise(&shared.pool, c.id, self.media_dir.path()).await?;
            if c.started_at.is_none() {
                control::mark_started(&shared.pool, c.id).await?;
            }
            let ctx = Arc::new(CampaignCtx::new(&shared, c, window, media));
            let (s, k, ended) = (shared.clone(), ctx.clone(), self.ended.clone());
            // Two claimers per campaign: one claims while the other's batch
            // is being dispatched (SKIP LOCKED keeps them apart).
            let handle = tokio::spawn(async move {
                tokio::join!(
                    worker::run_campaign(s.clone(), k.clone()),
                    worker::run_campaign(s, k)
                );
                ended.notify_one();
            });
            self.running.insert(ctx.campaign.id, (handle, ctx));
        }
        pass.campaigns = Some(
            self.running
                .iter()
                .map(|(id, (_, ctx))| CampaignLeft {
                    id: *id,
                    name: ctx.campaign.name.clone(),
                    left: due_now.get(id).copied().unwrap_or(0),
                    stats: ctx.stats.clone(),
                })
                .collect(),
        );
        Ok(pass)
    }
}
