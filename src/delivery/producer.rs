//! The producer: finds the campaigns with work due and starts a dispatcher
//! for each ([`CLAIMERS`] per campaign, `worker`). Each pass checks what can
//! hold a campaign back — the account's `Retry-After`, its send window (an
//! unknown timezone pauses it), its template's approval, the daily budget —
//! and says when something held back may go. The daily budget itself is
//! reserved by the claim (`queue::claim::claim_within_budget`), so it holds
//! across processes; the pass only avoids starting dispatchers for nothing.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::progress::CampaignLeft;
use super::retry::{self, Pause, PauseScope, describe};
use super::schedule::{self, SendWindow, Window};
use super::shared::Shared;
use super::worker::{self, CampaignCtx, StopKind};
use crate::queue::{control, throttle as qthrottle};

/// Dispatchers per campaign: one claims while the others' batches are
/// being dispatched (SKIP LOCKED keeps them apart).
const CLAIMERS: usize = 4;

/// What one pass decided.
#[derive(Default)]
pub struct Pass {
    /// Earliest moment something currently held back may go.
    pub wake_at: Option<DateTime<Utc>>,
    /// The campaigns this process is sending, with what is due now in each;
    /// `None` when the pass stopped early.
    pub campaigns: Option<Vec<CampaignLeft>>,
    /// Campaigns whose send window is closed now.
    pub closed: Vec<i64>,
}

/// The producer of one runner.
pub struct Producer {
    shared: Arc<Shared>,
    running: HashMap<i64, (JoinHandle<()>, Arc<CampaignCtx>)>,
    template_retry: HashMap<i64, Instant>,
    /// Notified when a campaign's dispatchers end.
    pub ended: Arc<Notify>,
    media_dir: tempfile::TempDir,
}

impl Producer {
    pub fn new(shared: Arc<Shared>) -> anyhow::Result<Self> {
        Ok(Producer {
            shared,
            running: HashMap::new(),
            template_retry: HashMap::new(),
            ended: Arc::new(Notify::new()),
            media_dir: super::media::cache_dir()?,
        })
    }

    /// Forgets the dispatchers that ended.
    pub fn reap(&mut self) {
        self.running.retain(|_, (h, _)| !h.is_finished());
    }

    /// Whether a dispatcher is running.
    pub fn dispatching(&self) -> usize {
        self.running.len()
    }

    /// Graceful stop: dispatchers give back what they claimed but did not
    /// start; waits for them.
    pub async fn stop(&mut self) {
        for (_, ctx) in self.running.values() {
            ctx.stop.cancel();
        }
        for (_, (h, _)) in self.running.drain() {
            let _ = h.await;
        }
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

    /// One pass: starts a dispatcher for every campaign with work due now.
    pub async fn pass(&mut self) -> anyhow::Result<Pass> {
        let mut pass = Pass::default();
        let shared = self.shared.clone();
        if shared.shutdown.is_stopping() {
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
            let handle = tokio::spawn(async move {
                futures::future::join_all(
                    (0..CLAIMERS).map(|_| worker::run_campaign(s.clone(), k.clone())),
                )
                .await;
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

fn earliest(a: Option<DateTime<Utc>>, b: DateTime<Utc>) -> Option<DateTime<Utc>> {
    Some(a.map_or(b, |a| a.min(b)))
}
