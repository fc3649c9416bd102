//! The runner's background services besides the producer, each with start
//! and stop, and the events every part of the engine reports to.
//!
//! - the **rescuer**: leases that expired — `unknown` where the request had
//!   left, back to the queue where it had not (`queue::claim::rescue_expired`);
//! - the **scheduler**: recipients past their campaign's expiry, recipients of
//!   cancelled campaigns, campaigns with nothing left (finished), and the
//!   per-state counts folded;
//! - the **sizer**: the in-flight limit follows the allowed rate and the
//!   latency the API shows.
//!
//! The completer (`recorder`), the dispatch gate (`gate`) and read-back
//! (`reconcile`) are services too, with their own modules. Tests wait on
//! [`Event`]s instead of sleeping or polling the database.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::shared::Shared;
use crate::queue::claim::{self, Rescued};
use crate::queue::control;

/// How often the rescuer and the scheduler run.
pub const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(1);

/// What the engine reports as it works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The daemon listens for new-work notifications.
    Listening,
    /// A producer pass ended; `dispatching` campaigns are being sent.
    Passed { dispatching: usize },
    /// The rescuer ran.
    Rescued(Rescued),
    /// The scheduler ran: recipients expired, recipients of cancelled
    /// campaigns cancelled, campaigns finished.
    Scheduled {
        expired: u64,
        swept: u64,
        finished: Vec<i64>,
    },
    /// The runner stopped.
    Stopped,
}

/// Where events go; cheap to clone. Nobody listening is fine.
#[derive(Debug, Clone)]
pub struct Events(broadcast::Sender<Event>);

impl Default for Events {
    fn default() -> Self {
        Events(broadcast::channel(1024).0)
    }
}

impl Events {
    pub fn emit(&self, event: Event) {
        let _ = self.0.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.0.subscribe()
    }
}

/// A job run every `period` until stopped.
pub struct Periodic {
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl Periodic {
    /// Starts `job` now and every `period` after; stops with `parent` too.
    pub fn start<F, Fut>(period: Duration, parent: &CancellationToken, mut job: F) -> Periodic
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send,
    {
        let stop = parent.child_token();
        let token = stop.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = token.cancelled() => return,
                    _ = tick.tick() => {}
                }
                tokio::select! {
                    _ = token.cancelled() => return,
                    () = job() => {}
                }
            }
        });
        Periodic { stop, task }
    }

    /// Stops after the run in progress is abandoned, and waits for the task.
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

/// A database error of a service: waited out when transient (the next
/// period tries again), fatal for the runner otherwise.
fn failed(shared: &Shared, what: &str, err: sqlx::Error) {
    if crate::db::is_transient(&err) {
        tracing::warn!(error = %err, "{what}: database unavailable; trying again shortly");
    } else {
        tracing::error!(error = %err, "{what} failed");
        shared.note_fatal(format!("{what}: {err}"));
    }
}

/// The rescuer.
pub fn rescuer(shared: Arc<Shared>) -> Periodic {
    let parent = shared.shutdown.graceful().clone();
    Periodic::start(HOUSEKEEPING_EVERY, &parent, move || {
        let shared = shared.clone();
        async move {
            match claim::rescue_expired(&shared.pool).await {
                Ok(rescued) => {
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
                    shared.events.emit(Event::Rescued(rescued));
                }
                Err(err) => failed(&shared, "rescuing expired leases", err),
            }
        }
    })
}

/// The scheduler's housekeeping, once.
pub async fn schedule(shared: &Shared) -> sqlx::Result<()> {
    let pool = &shared.pool;
    let expired = control::expire_overdue(pool).await?;
    if expired > 0 {
        tracing::info!(expired, "recipients past their campaign's expiry");
    }
    let swept = control::sweep_cancelled(pool).await?;
    if swept > 0 {
        tracing::info!(swept, "recipients of cancelled campaigns cancelled");
    }
    let finished = control::finish_completed(pool).await?;
    for id in &finished {
        tracing::info!(campaign = id, "campaign completed");
    }
    // The per-state counts the console reads grow by a few delta rows per
    // claim and answer: folded here too, so they stay small without a console.
    crate::report::console::compact_counts(pool).await?;
    shared.events.emit(Event::Scheduled {
        expired,
        swept,
        finished,
    });
    Ok(())
}

/// The scheduler.
pub fn scheduler(shared: Arc<Shared>) -> Periodic {
    let parent = shared.shutdown.graceful().clone();
    Periodic::start(HOUSEKEEPING_EVERY, &parent, move || {
        let shared = shared.clone();
        async move {
            if let Err(err) = schedule(&shared).await {
                failed(&shared, "scheduling", err);
            }
        }
    })
}

/// The sizer: moves the in-flight limit with the account's allowed rate and
/// the latency the API shows, four times a second, and logs where it moves.
pub fn sizer(shared: Arc<Shared>) -> Periodic {
    let parent = shared.shutdown.graceful().clone();
    let logged = Arc::new(AtomicUsize::new(0));
    Periodic::start(Duration::from_millis(250), &parent, move || {
        let (shared, logged) = (shared.clone(), logged.clone());
        async move {
            let rate = shared.throttle.account_rate().await;
            let f = &shared.inflight;
            // Every slot taken: work may be waiting for one.
            let busy = f.available() == 0 && f.in_use() > 0;
            let level = f.adjust(rate, busy);
            // Logged when it moved by a fifth or more since it was last logged.
            let last = logged.load(Ordering::Relaxed);
            if level.limit.abs_diff(last) * 5 > last.max(1) {
                tracing::debug!(
                    limit = level.limit,
                    wanted = level.wanted,
                    latency_ms = level.latency.as_millis() as u64,
                    rate,
                    "in-flight limit"
                );
                logged.store(level.limit, Ordering::Relaxed);
            }
        }
    })
}
