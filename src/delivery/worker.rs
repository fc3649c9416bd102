//! One campaign's dispatchers and their send tasks.
//!
//! A dispatcher claims a batch (one short statement; under a daily budget,
//! one short transaction that reserves it), then waits for the throttle for
//! each claimed recipient — never past what its lease allows. What the
//! throttle lets go at once goes through the dispatch gate together (`gate`:
//! send window, opted out since the claim, campaign paused or cancelled
//! anywhere, lease too short — then it does not go), and each recipient it
//! lets go takes an in-flight slot and starts its send task.
//! Whatever was claimed but not started when the campaign must stop (account
//! refused, breaker, pause, window closed, shutdown, lease running out) is
//! released — back to the queue with the attempt refunded.

use std::sync::Arc;
use std::sync::Mutex as SyncMutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use super::breaker::{self, Breaker};
use super::contacts;
use super::inflight::Slot;
use super::retry::{self, Pause, PauseScope};
use super::schedule::{self, SendWindow, Window};
use super::shared::{Shared, Stats, with_db_retry};
use crate::queue::claim::{self, Claimed, Completion, Verdict};
use crate::queue::control::{self, Campaign};
use crate::wutt::{MediaFile, Outcome, SendMessage, SendTemplate};

/// Why a campaign stopped sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopKind {
    /// The account was refused: every campaign is paused.
    AccountRefused,
    /// This campaign was refused (template, sending number, …).
    CampaignRefused,
    Breaker,
}

/// A campaign being sent by this process.
pub struct CampaignCtx {
    pub campaign: Campaign,
    /// The campaign's send window, parsed once.
    pub window: Option<SendWindow>,
    pub media: Vec<MediaFile>,
    /// Cancelled when the campaign must stop sending (child of the shutdown token).
    pub stop: CancellationToken,
    /// This campaign's counters in this run.
    pub stats: Arc<Stats>,
    breaker: SyncMutex<Breaker>,
    paused: AtomicBool,
}

impl CampaignCtx {
    pub fn new(
        shared: &Shared,
        campaign: Campaign,
        window: Option<SendWindow>,
        media: Vec<MediaFile>,
    ) -> Self {
        let stop = shared.shutdown.graceful().child_token();
        shared.register(campaign.id, stop.clone());
        CampaignCtx {
            stats: shared.campaign_stats(campaign.id),
            campaign,
            window,
            media,
            stop,
            breaker: SyncMutex::new(Breaker::new(shared.config.breaker)),
            paused: AtomicBool::new(false),
        }
    }

    /// Pauses the campaign once (the first reason wins) and stops its dispatcher.
    async fn pause(&self, shared: &Shared, reason: &str, kind: StopKind) {
        self.stop.cancel();
        if self.paused.swap(true, Ordering::SeqCst) {
            return;
        }
        tracing::error!(campaign = %self.campaign.name, %reason, "pausing campaign");
        shared.note_pause(self.campaign.id, reason, kind);
        let id = self.campaign.id;
        let _ = with_db_retry(
            shared,
            shared.shutdown.hard(),
            "pausing the campaign",
            || control::pause(&shared.pool, id, reason),
        )
        .await;
    }
}

/// Claims and dispatches until the campaign has nothing due or must stop.
/// A claim is at most a batch (about two seconds' worth at the allowed rate)
/// and the next one is taken once this one is started, so what a dispatcher
/// holds unstarted is one batch. Those rows are safe in a crash: the gate
/// never let them go, so the rescuer puts them back in the queue.
pub async fn run_campaign(shared: Arc<Shared>, ctx: Arc<CampaignCtx>) {
    let c = &ctx.campaign;
    loop {
        if ctx.stop.is_cancelled() || !window_open(&ctx) {
            return;
        }
        let rate = shared.throttle.account_rate().await;
        let rate = c.rate_per_second.map_or(rate, |r| r.min(rate));
        // About two seconds' worth per claim, so claims never wait long for the throttle.
        let n = ((rate * 2.0).ceil() as i64).clamp(1, shared.config.batch_size.max(1));
        let worker = shared.config.worker_id.as_str();
        let lease = shared.config.lease;
        // The claim runs to its end even when the campaign stops meanwhile (a
        // claim dropped half-way can still commit, and its rows would wait
        // out their lease); only the second stop signal abandons it. What it
        // returns after a stop is released at once.
        let claimed = with_db_retry(
            &shared,
            shared.shutdown.hard(),
            "claiming recipients",
            || async {
                match shared.config.daily_unique_limit {
                    None => claim::claim(&shared.pool, c.id, worker, n, lease).await,
                    Some(budget) => {
                        let (claimed, spent) = claim::claim_within_budget(
                            &shared.pool,
                            c.id,
                            worker,
                            n,
                            lease,
                            budget,
                        )
                        .await?;
                        if spent.is_some() {
                            tracing::info!(
                                limit = budget,
                                "daily unique-recipient budget reached; waiting"
                            );
                        }
                        Ok(claimed)
                    }
                }
            },
        )
        .await;
        let Some(claimed) = claimed else { return };
        if claimed.is_empty() {
            return;
        }
        if ctx.stop.is_cancelled() {
            release(&shared, &claimed).await;
            return;
        }
        if !dispatch(&shared, &ctx, claimed).await {
            return;
        }
    }
}

/// Whether the campaign's send window is open now.
fn window_open(ctx: &CampaignCtx) -> bool {
    schedule::state(ctx.window.as_ref(), Utc::now()) == Window::Open
}

/// Starts every claimed recipient once the throttle lets it go; releases
/// the rest when it has to stop. What the throttle lets go at once forms a
/// group that goes through the gate in one statement: a recipient that has
/// to wait for the throttle first lets the group before it go. At thousands
/// of messages a second a group is the whole claim; at a few, one recipient.
/// Returns false when the campaign stopped.
async fn dispatch(shared: &Arc<Shared>, ctx: &Arc<CampaignCtx>, claimed: Vec<Claimed>) -> bool {
    let lease = Lease::new(shared);
    let mut group: Vec<Claimed> = Vec::new();
    let mut rest = claimed.into_iter();
    while let Some(r) = rest.next() {
        let c = &ctx.campaign;
        let now = !ctx.stop.is_cancelled()
            && shared
                .throttle
                .try_acquire(c.id, c.rate_per_second, r.from_number.as_deref());
        // Not at once: what is ready goes first, then the wait.
        let ready = now
            || (go(shared, ctx, std::mem::take(&mut group), &lease).await
                && throttled(shared, ctx, &r, &lease).await);
        if !ready {
            let unsent: Vec<Claimed> = std::iter::once(r).chain(rest).collect();
            release(shared, &unsent).await;
            return !ctx.stop.is_cancelled();
        }
        group.push(r);
    }
    go(shared, ctx, group, &lease).await;
    true
}

/// How long a claim's rows may wait before their requests start: no HTTP
/// call may still be running when the lease expires.
struct Lease {
    claimed_at: Instant,
    deadline: std::time::Duration,
}

impl Lease {
    fn new(shared: &Shared) -> Lease {
        let deadline = shared
            .config
            .lease
            .saturating_sub(shared.config.request_timeout)
            .saturating_sub(std::time::Duration::from_secs(2));
        Lease {
            claimed_at: Instant::now(),
            deadline,
        }
    }

    fn left(&self) -> std::time::Duration {
        self.deadline.saturating_sub(self.claimed_at.elapsed())
    }
}

/// Waits for the throttle (a long Retry-After, a slow number), never past
/// what the lease allows; false when the campaign stops or time runs out.
async fn throttled(shared: &Shared, ctx: &CampaignCtx, r: &Claimed, lease: &Lease) -> bool {
    if ctx.stop.is_cancelled() || lease.left().is_zero() {
        return false;
    }
    let wait = shared.throttle.acquire(
        ctx.campaign.id,
        ctx.campaign.rate_per_second,
        r.from_number.as_deref(),
        &ctx.stop,
    );
    tokio::time::timeout(lease.left(), wait)
        .await
        .unwrap_or(false)
}

/// Starts a group whose requests are ready to leave: checks the send
/// window, asks the gate, and starts the ones it lets go as in-flight slots
/// come free. A recipient the gate let go waits at most [`AFTER_GATE`] for
/// its slot; one that waits longer goes back to the queue unsent, so nothing
/// leaves long after the gate's last word. When the campaign stops first the
/// group goes back to the queue and the answer is false.
async fn go(
    shared: &Arc<Shared>,
    ctx: &Arc<CampaignCtx>,
    group: Vec<Claimed>,
    lease: &Lease,
) -> bool {
    if group.is_empty() {
        return true;
    }
    if !window_open(ctx) {
        ctx.stop.cancel();
    }
    if ctx.stop.is_cancelled() || lease.left().is_zero() {
        release(shared, &group).await;
        return false;
    }
    let claims: Vec<(i64, i64)> = group
        .iter()
        .map(|r| (r.recipient_id, r.lease_token))
        .collect();
    let verdicts = shared.gate.check(&claims).await;
    let gated = Instant::now();
    let mut late = Vec::new();
    for (r, verdict) in group.into_iter().zip(verdicts) {
        if verdict != Verdict::Go {
            turned_back(shared, ctx, verdict);
            continue;
        }
        let wait = AFTER_GATE.saturating_sub(gated.elapsed()).min(lease.left());
        let slot = tokio::select! {
            biased;
            _ = ctx.stop.cancelled() => None,
            s = tokio::time::timeout(wait, shared.inflight.acquire()) => s.ok().flatten(),
        };
        match slot {
            // A stop that came while waiting wins: nothing more leaves.
            Some(slot) if !ctx.stop.is_cancelled() => {
                let (shared, ctx) = (shared.clone(), ctx.clone());
                tokio::spawn(async move { send_one(shared, ctx, r, slot).await });
            }
            _ => late.push(r),
        }
    }
    if !late.is_empty() {
        release(shared, &late).await;
        return false;
    }
    true
}

/// The longest a request may wait for its in-flight slot after the gate let
/// it go.
const AFTER_GATE: std::time::Duration = std::time::Duration::from_millis(500);

/// Gives claimed-but-unsent recipients back to the queue.
pub async fn release(shared: &Shared, unsent: &[Claimed]) {
    if unsent.is_empty() {
        return;
    }
    let pairs: Vec<(i64, i64)> = unsent
        .iter()
        .map(|c| (c.recipient_id, c.lease_token))
        .collect();
    let done = with_db_retry(
        shared,
        shared.shutdown.hard(),
        "releasing unsent recipients",
        || claim::release(&shared.pool, &pairs),
    )
    .await;
    if let Some(n) = done {
        shared.stats.released.fetch_add(n, Ordering::Relaxed);
        let _ = crate::queue::throttle::notify_work(&shared.pool).await;
    }
}

async fn send_one(shared: Arc<Shared>, ctx: Arc<CampaignCtx>, r: Claimed, mut permit: Slot) {
    let c = &ctx.campaign;
    // Let go together by the gate: spaced out again before leaving.
    shared.throttle.respace().await;
    let started_at = Utc::now();
    let in_flight = crate::metrics::InFlight::start();
    // A row's own template wins; then its own text; then the campaign's template.
    let template = r.template_id.or(if r.message.is_none() {
        c.template_id
    } else {
        None
    });
    let from_number = r.from_number.clone().or_else(|| c.from_number.clone());
    let default_number = from_number.is_none();
    let outcome = match template {
        Some(template_id) => {
            shared
                .client
                .send_template(&SendTemplate {
                    to: r.phone.clone(),
                    from_number,
                    template_id,
                    body_variables: r.body_variables.clone(),
                    header_variables: r.header_variables.clone(),
                })
                .await
        }
        None => {
            let ready = if c.create_contacts {
                contacts::ensure(&shared, c.id, &r, &ctx.stop).await
            } else {
                contacts::Ready::Yes
            };
            match ready {
                contacts::Ready::Yes => {
                    shared
                        .client
                        .send_message(&SendMessage {
                            to: Some(r.phone.clone()),
                            from_number,
                            message: r.message.clone(),
                            media: ctx.media.clone(),
                            location: c.latitude.zip(c.longitude),
                            cta_url_id: c.cta_url_id,
                            interactive_list_id: c.interactive_list_id,
                        })
                        .await
                }
                contacts::Ready::No(outcome) => outcome,
                contacts::Ready::Stopped => {
                    drop(in_flight);
                    release(&shared, std::slice::from_ref(&r)).await;
                    drop(permit);
                    return;
                }
            }
        }
    };
    let finished_at = Utc::now();
    drop(in_flight);
    permit.answered();
    let mut d = retry::decide(
        &outcome,
        r.attempt,
        c.max_attempts,
        &shared.config.retry,
        finished_at,
        rand::random::<f64>(),
    );
    if let Some(pause) = shared.note_unreachable(&outcome)
        && d.pause.is_none()
    {
        d.resolution = claim::Resolution::Requeue;
        d.pause = Some(pause);
    }
    if default_number && retry::asked_for_a_number(&outcome) {
        // No from_number was given: the account has no WhatsApp number at all.
        d.pause = Some(Pause {
            scope: PauseScope::Account,
            reason: "account refused: the server said \"The whatsapp account is not found\" — no WhatsApp number is connected to the account: connect one in the Wutt dashboard, then resume the paused campaigns".into(),
        });
    }
    shared.stats.count(&d.resolution);
    ctx.stats.count(&d.resolution);
    crate::metrics::record_message(c.id, resolution_name(&d.resolution));
    if let Some(until) = d.throttled_until {
        crate::metrics::record_throttled();
        shared.throttle.throttled(until).await;
    }
    match &d.pause {
        Some(Pause {
            scope: PauseScope::Account,
            reason,
        }) => {
            ctx.stop.cancel();
            ctx.paused.store(true, Ordering::SeqCst);
            shared.pause_account(reason).await;
        }
        Some(Pause {
            scope: PauseScope::Campaign,
            reason,
        }) => ctx.pause(&shared, reason, StopKind::CampaignRefused).await,
        None if !matches!(
            outcome,
            Outcome::Throttled { .. } | Outcome::RecipientThrottled(_)
        ) =>
        {
            let tripped = ctx
                .breaker
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .record(breaker::failure_key(&outcome));
            if let Some(reason) = tripped {
                ctx.pause(&shared, &reason, StopKind::Breaker).await;
            }
        }
        None => {}
    }
    // Recorded last, before the in-flight slot comes back: when every slot
    // is free, every answer is with the recorder.
    let completion = Completion {
        recipient_id: r.recipient_id,
        campaign_id: r.campaign_id,
        lease_token: r.lease_token,
        attempt: r.attempt,
        worker: shared.config.worker_id.clone(),
        resolution: d.resolution,
        outcome: outcome.class(),
        reply: outcome.into_reply(),
        started_at,
        finished_at,
        error: d.error,
    };
    shared.recorder.record(completion).await;
    drop(permit);
}

/// Counts a recipient the gate did not let go; a paused or cancelled
/// campaign stops its dispatcher (what it still holds goes back).
fn turned_back(shared: &Shared, ctx: &CampaignCtx, verdict: Verdict) {
    let id = ctx.campaign.id;
    match verdict {
        Verdict::Go => {}
        Verdict::Suppressed => {
            tracing::info!(campaign = id, "opted out since the claim: not sent");
        }
        Verdict::Released | Verdict::Cancelled => {
            shared.stats.released.fetch_add(1, Ordering::Relaxed);
            if !ctx.stop.is_cancelled() {
                tracing::info!(campaign = %ctx.campaign.name, ?verdict, "the campaign stopped: nothing more leaves for it");
            }
            ctx.stop.cancel();
        }
        Verdict::Lost => {
            tracing::warn!(
                campaign = id,
                "a claim was taken over before its send: not sent"
            );
        }
    }
}

/// The recipient state a resolution leads to, for metrics.
fn resolution_name(r: &claim::Resolution) -> &'static str {
    match r {
        claim::Resolution::Sent => "sent",
        claim::Resolution::Failed => "failed",
        claim::Resolution::Retry { .. } => "retrying",
        claim::Resolution::Unknown => "unknown",
        claim::Resolution::Requeue => "queued",
    }
}
