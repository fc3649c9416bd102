//! The runner: the delivery engine as services with start and stop, the
//! way River shapes a job queue.
//!
//! - the **producer** (`producer`) finds campaigns with work due and starts
//!   their dispatchers, which claim and send (`worker`);
//! - the **completer** (`recorder`) writes answers in batches;
//! - the **gate** (`gate`) is the last check before each request leaves;
//! - the **rescuer**, the **scheduler** and the **sizer** (`services`) run
//!   beside them, and read-back (`reconcile`) settles `unknown` recipients.
//!
//! [`Runner::tick`] is one step of the producer (tests drive it step by
//! step); [`Runner::run`] steps until nothing more is due (`run --once`) or a
//! stop, sleeping between steps until a `wutt_work` notification, the next
//! due time or the polling fallback. A graceful stop stops claiming, lets
//! in-flight calls finish, flushes every answer and releases unsent claims:
//! it leaves no `unknown`.

use std::sync::Arc;
use std::sync::Mutex as SyncMutex;
use std::time::{Duration, Instant};

use backon::BackoffBuilder as _;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::broadcast;

use super::DeliveryConfig;
use super::gate::Gate;
use super::inflight::InFlight;
use super::producer::Producer;
use super::progress::Progress;
use super::recorder::{Flusher, Recorder};
use super::services::{self, Event, Events, Periodic};
use super::shared::{Paused, Shared, Stats};
use super::shutdown::Shutdown;
use super::throttle::Throttle;
use crate::queue::{control, throttle as qthrottle};
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

/// What the runner does after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Sleep until `wake_at` at the latest (or a notification), then step again.
    Wait {
        wake_at: Option<DateTime<Utc>>,
        busy: bool,
    },
    /// Nothing more to do: `run --once` found nothing due soon, or a stop.
    Done,
}

/// A running delivery engine.
pub struct Runner {
    shared: Arc<Shared>,
    mode: Mode,
    producer: Producer,
    flusher: Flusher,
    rescuer: Periodic,
    scheduler: Periodic,
    sizer: Periodic,
    read_back: super::reconcile::Service,
    listener: Option<PgListener>,
    /// Whether [`Event::Listening`] was reported for the current listener.
    announced: bool,
    progress: Progress,
    idle_since: Option<Instant>,
    db_backoff: backon::ExponentialBackoff,
}

/// Sends until nothing more is due (`Mode::Once`) or until `shutdown`.
pub async fn run(
    pool: PgPool,
    client: Client,
    config: DeliveryConfig,
    mode: Mode,
    shutdown: Shutdown,
    tty: bool,
) -> anyhow::Result<RunSummary> {
    Runner::start(pool, client, config, mode, shutdown, tty)
        .await?
        .run()
        .await
}

impl Runner {
    /// Starts every service; the producer waits for [`Runner::tick`].
    pub async fn start(
        pool: PgPool,
        client: Client,
        config: DeliveryConfig,
        mode: Mode,
        shutdown: Shutdown,
        tty: bool,
    ) -> anyhow::Result<Runner> {
        config.check().map_err(anyhow::Error::msg)?;
        let (recorder, flusher) = Recorder::start(
            pool.clone(),
            config.batch_size.max(1) as usize * 2,
            shutdown.hard().clone(),
        );
        let gate = Gate::new(
            pool.clone(),
            config.request_timeout + Duration::from_secs(1),
            shutdown.hard().clone(),
        );
        let shared = Arc::new(Shared {
            pool: pool.clone(),
            client,
            throttle: Throttle::new(pool.clone(), config.throttle.clone()),
            recorder,
            gate,
            inflight: InFlight::new(config.concurrency.max(1), config.throttle.rate),
            stats: Stats::default(),
            campaign_stats: SyncMutex::default(),
            shutdown,
            events: Events::default(),
            paused: SyncMutex::default(),
            live: SyncMutex::default(),
            unreachable: Default::default(),
            fatal: SyncMutex::default(),
            config: DeliveryConfig {
                concurrency: config.concurrency.max(1),
                ..config
            },
        });
        tracing::info!(worker = %shared.config.worker_id, ?mode, "runner started");
        let listener = match mode {
            Mode::Daemon => listen(&pool).await,
            Mode::Once => None,
        };
        Ok(Runner {
            producer: Producer::new(shared.clone())?,
            flusher,
            rescuer: services::rescuer(shared.clone()),
            scheduler: services::scheduler(shared.clone()),
            sizer: services::sizer(shared.clone()),
            read_back: super::reconcile::ReadBack::beside(&shared)
                .spawn(shared.shutdown.graceful()),
            listener,
            announced: false,
            progress: Progress::new(tty, Duration::from_secs(5)),
            idle_since: None,
            db_backoff: crate::db::reconnect_backoff().build(),
            mode,
            shared,
        })
    }

    /// The engine's events, from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.shared.events.subscribe()
    }

    /// One step: a producer pass, and whether anything is left to do.
    pub async fn tick(&mut self) -> anyhow::Result<Step> {
        self.producer.reap();
        if let Some(err) = self.shared.take_fatal() {
            return Err(anyhow::anyhow!(err));
        }
        if self.shared.shutdown.is_stopping() {
            return Ok(Step::Done);
        }
        if self.listener.is_some() && !self.announced {
            self.announced = true;
            self.shared.events.emit(Event::Listening);
        }
        let pass = match self.producer.pass().await {
            Ok(pass) => {
                self.db_backoff = crate::db::reconnect_backoff().build();
                pass
            }
            Err(err)
                if err
                    .downcast_ref::<sqlx::Error>()
                    .is_some_and(crate::db::is_transient) =>
            {
                let delay = self.db_backoff.next().unwrap_or(Duration::from_secs(5));
                tracing::warn!(error = %err, "database unavailable; retrying");
                let wake_at = Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
                return Ok(Step::Wait {
                    wake_at: Some(wake_at),
                    busy: false,
                });
            }
            Err(err) => return Err(err),
        };
        self.shared.events.emit(Event::Passed {
            dispatching: self.producer.dispatching(),
        });
        self.progress.update(pass.campaigns);
        // Busy until every answer is written: a retry decided by the last
        // answer is only due once the database has it.
        let busy = self.producer.dispatching() > 0
            || self.shared.in_flight() > 0
            || self.shared.recorder.unwritten() > 0;
        let mut wake_at = pass.wake_at;
        if busy {
            self.idle_since = None;
        } else if self.mode == Mode::Once {
            let now = Utc::now();
            // Campaigns whose window is closed do not count: it reopens
            // hours away, past any horizon.
            let next = match control::next_due_at(&self.shared.pool, &pass.closed).await {
                Ok(next) => next,
                Err(err) if crate::db::is_transient(&err) => Some(now),
                Err(err) => return Err(err.into()),
            };
            let horizon = self.shared.config.once_horizon;
            let idle = self.idle_since.get_or_insert_with(Instant::now).elapsed();
            let far = chrono::Duration::from_std(horizon).unwrap_or_default();
            if (next.is_none_or(|t| t > now + far) || idle > horizon)
                && !self.read_back.pending().await
            {
                return Ok(Step::Done);
            }
            wake_at = [wake_at, next].into_iter().flatten().min();
        }
        Ok(Step::Wait { wake_at, busy })
    }

    /// Sleeps until something may have changed: a stop, a dispatcher ending,
    /// a notification, `wake_at`, or the polling interval.
    pub async fn wait(&mut self, wake_at: Option<DateTime<Utc>>, busy: bool) {
        let mut nap = if busy {
            Duration::from_secs(1)
        } else {
            match self.mode {
                Mode::Once => Duration::from_millis(250),
                Mode::Daemon => self.shared.config.poll_interval,
            }
        };
        if let Some(at) = wake_at {
            let until = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            nap = nap.min(until.max(Duration::from_millis(20)));
        }
        let ended = self.producer.ended.clone();
        let shutdown = self.shared.shutdown.clone();
        // The dispatchers are done and only the last answers are out: the
        // step after them may be the last.
        let draining = self.producer.dispatching() == 0
            && (self.shared.in_flight() > 0 || self.shared.recorder.unwritten() > 0);
        let shared = self.shared.clone();
        let settled = async {
            shared.inflight.idle().await;
            shared.recorder.settled().await;
        };
        tokio::select! {
            () = shutdown.stopping() => {}
            () = ended.notified() => {}
            () = settled, if draining => {}
            () = tokio::time::sleep(nap) => {}
            woke = recv(&mut self.listener) => {
                if !woke {
                    self.listener = None;
                    self.announced = false;
                }
            }
        }
        if self.listener.is_none() && self.mode == Mode::Daemon && !shutdown.is_stopping() {
            self.listener = listen(&self.shared.pool).await;
        }
    }

    /// Steps until done, then stops.
    pub async fn run(mut self) -> anyhow::Result<RunSummary> {
        let result = loop {
            match self.tick().await {
                Ok(Step::Wait { wake_at, busy }) => self.wait(wake_at, busy).await,
                Ok(Step::Done) => break Ok(()),
                Err(err) => break Err(err),
            }
        };
        let summary = self.stop().await;
        result.and(summary)
    }

    /// Graceful stop: dispatchers release what they claimed but did not
    /// start, in-flight calls finish and their answers are written; then every
    /// service stops.
    pub async fn stop(mut self) -> anyhow::Result<RunSummary> {
        self.shared.shutdown.stop();
        self.producer.stop().await;
        self.read_back.stop().await;
        self.sizer.stop().await;
        self.rescuer.stop().await;
        self.scheduler.stop().await;
        let shared = self.shared.clone();
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
        let applied = self.flusher.finish().await;
        let _ = services::schedule(&shared).await;
        self.progress.finish(&shared.stats);
        tracing::debug!(applied, "outcomes recorded");
        shared.events.emit(Event::Stopped);
        if let Some(err) = shared.take_fatal() {
            return Err(anyhow::anyhow!(err));
        }
        let paused = shared
            .paused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        Ok(RunSummary::from_stats(&shared.stats, paused))
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
