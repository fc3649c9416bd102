//! State shared by the runner, the campaign dispatchers and the send tasks:
//! configuration, the throttle, the recorder, the in-flight cap, counters, and
//! the stop signals and events, and database calls retried through a
//! restarting PostgreSQL (waited out, not fatal).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::Mutex as SyncMutex;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::DeliveryConfig;
use super::gate::Gate;
use super::inflight::InFlight;
use super::recorder::Recorder;
use super::retry::{Pause, PauseScope};
use super::services::Events;
use super::shutdown::Shutdown;
use super::throttle::Throttle;
use super::worker::StopKind;
use crate::db::retry::Retried;
use crate::queue::claim::Resolution;
use crate::wutt::{Client, Outcome, TransportKind};

/// Counters of this run (the whole run, or one campaign of it).
#[derive(Debug, Default)]
pub struct Stats {
    pub sent: AtomicU64,
    pub failed: AtomicU64,
    pub retrying: AtomicU64,
    pub unknown: AtomicU64,
    pub requeued: AtomicU64,
    pub released: AtomicU64,
}

impl Stats {
    pub fn count(&self, r: &Resolution) {
        let c = match r {
            Resolution::Sent => &self.sent,
            Resolution::Failed => &self.failed,
            Resolution::Retry { .. } => &self.retrying,
            Resolution::Unknown => &self.unknown,
            Resolution::Requeue => &self.requeued,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// Answers recorded so far (every resolution).
    pub fn answered(&self) -> u64 {
        [
            &self.sent,
            &self.failed,
            &self.retrying,
            &self.unknown,
            &self.requeued,
        ]
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .sum()
    }
}

/// Connection failures in a row (with no answer between) after which the
/// server counts as unreachable: the account's problem, not the recipients'.
pub const UNREACHABLE_AFTER: u64 = 3;

/// A campaign this run paused, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paused {
    pub campaign_id: i64,
    pub reason: String,
    pub kind: StopKind,
}

pub struct Shared {
    pub pool: PgPool,
    pub client: Client,
    pub config: DeliveryConfig,
    pub throttle: Throttle,
    pub recorder: Recorder,
    /// The last check before each request leaves.
    pub gate: Gate,
    /// The in-flight slots (rate × latency, at most WUTT_CONCURRENCY).
    pub inflight: InFlight,
    pub stats: Stats,
    /// The same counters per campaign (kept for the whole run, across the
    /// campaign's dispatchers), for the progress display.
    pub campaign_stats: SyncMutex<HashMap<i64, Arc<Stats>>>,
    /// Stop claiming (graceful), and give up waiting for the database (hard).
    pub shutdown: Shutdown,
    /// Where the engine reports what it does (tests wait on these).
    pub events: Events,
    pub paused: SyncMutex<Vec<Paused>>,
    /// The stop token of every campaign this process is sending, so that an
    /// account refusal met by one campaign stops all of them.
    pub live: SyncMutex<HashMap<i64, CancellationToken>>,
    /// Sends in a row that could not connect to the server at all; any
    /// answer resets it. At [`UNREACHABLE_AFTER`] the account is paused.
    pub unreachable: AtomicU64,
    /// A database error that retrying cannot fix.
    pub fatal: SyncMutex<Option<String>>,
}

impl Shared {
    pub fn note_pause(&self, campaign_id: i64, reason: &str, kind: StopKind) {
        self.paused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Paused {
                campaign_id,
                reason: reason.to_string(),
                kind,
            });
    }

    /// Remembers a campaign's stop token while it is being sent.
    pub fn register(&self, campaign_id: i64, stop: CancellationToken) {
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        live.retain(|_, t| !t.is_cancelled());
        live.insert(campaign_id, stop);
    }

    /// The account was refused: pauses every active campaign (in the
    /// database, for every runner) and stops this process's dispatchers.
    pub async fn pause_account(&self, reason: &str) {
        let stops: Vec<CancellationToken> = self
            .live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        stops.iter().for_each(CancellationToken::cancel);
        let paused = with_db_retry(
            self,
            self.shutdown.hard(),
            "pausing the account's campaigns",
            || crate::queue::control::pause_all_active(&self.pool, reason),
        )
        .await
        .unwrap_or_default();
        if !paused.is_empty() {
            tracing::error!(campaigns = ?paused, %reason, "account refused: pausing every active campaign");
        }
        for id in paused {
            self.note_pause(id, reason, StopKind::AccountRefused);
        }
    }

    /// Counts connection failures in a row across the account (any answer
    /// resets the count). Once the server has been unreachable
    /// [`UNREACHABLE_AFTER`] times, the account pause it calls for — a
    /// campaign of two recipients is paused as surely as one of fifty thousand.
    pub fn note_unreachable(&self, outcome: &Outcome) -> Option<Pause> {
        match outcome.reply().transport {
            Some(TransportKind::Connect) => {
                let n = self.unreachable.fetch_add(1, Ordering::SeqCst) + 1;
                (n >= UNREACHABLE_AFTER).then(|| Pause {
                    scope: PauseScope::Account,
                    reason: format!(
                        "account refused: cannot reach the Wutt server at {} ({}) — check WUTT_BASE_URL and this machine's network, then resume the paused campaigns",
                        self.client.config().base_url,
                        outcome.reply().error.as_deref().unwrap_or("no connection"),
                    ),
                })
            }
            Some(TransportKind::Build) => None,
            _ => {
                self.unreachable.store(0, Ordering::SeqCst);
                None
            }
        }
    }

    pub fn note_fatal(&self, err: String) {
        let mut f = self.fatal.lock().unwrap_or_else(|e| e.into_inner());
        f.get_or_insert(err);
    }

    /// The fatal database error noted, if any (taken: reported once).
    pub fn take_fatal(&self) -> Option<String> {
        self.fatal.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// The counters of one campaign in this run.
    pub fn campaign_stats(&self, campaign_id: i64) -> Arc<Stats> {
        self.campaign_stats
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(campaign_id)
            .or_default()
            .clone()
    }

    pub fn in_flight(&self) -> usize {
        self.inflight.in_use()
    }
}

/// Runs a database call until it succeeds, waiting out retryable errors
/// (`db::retry`). `None` when cancelled, or on an error retrying cannot fix
/// (noted as fatal: the runner stops with it).
pub async fn with_db_retry<T, F, Fut>(
    shared: &Shared,
    cancel: &CancellationToken,
    what: &str,
    f: F,
) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = sqlx::Result<T>>,
{
    match crate::db::retry::retry(cancel, what, f).await {
        Retried::Done(v) => Some(v),
        Retried::Stopped => None,
        Retried::Failed(err) => {
            tracing::error!(error = %err, "{what} failed");
            shared.note_fatal(format!("{what}: {err}"));
            None
        }
    }
}
