//! Reading the server back: `unknown` recipients (an ambiguous answer, a
//! dead runner's lease) settled by the conversation list. A send moves the
//! contact's conversation (`last_message_at`) before the server answers, so
//! for a number that was a contact before its attempt the list tells: moved
//! since the attempt started → `sent`; not moved → not sent, back to the
//! queue. Anything else stays `unknown`, with what was seen. [`verdict`]
//! decides; this module reads, records and paces.
//!
//! [`ReadBack::run_once`] reads one batch (what a test or `reconcile` calls);
//! [`ReadBack::spawn`] runs it as a service beside the runner's loop: a
//! few seconds after a row became `unknown` (so the server has finished
//! writing), within its own small budget of API calls, each also taking a
//! token of the account's throttle.

mod verdict;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use chrono::Utc;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use verdict::{
    Attempt, ContactStep, Decision, Limits, Match, Reading, Rule, StartedFrom, Verdict,
    before_reading, decide,
};

use super::shared::Shared;
use super::throttle::Throttle;
use crate::campaign::status::CampaignStatus;
use crate::queue::reconcile::{self as sql, Candidate, Due, Recorded, Settle};
use crate::wutt::Client;
use crate::wutt::client::LIST_PAGE_SIZE;

/// How the read-back reads and decides.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadBackConfig {
    /// Nothing is read before a row has been `unknown` this long (the
    /// server finishes writing).
    pub delay: Duration,
    /// "Not sent" for an attempt the application did not answer (our
    /// timeout, a gateway's 502/504, a dead runner) only this long after it
    /// started: the server may still be working on the request.
    pub quiet_unanswered: Duration,
    /// The service reads rows that became `unknown` within this (older ones
    /// are left to `reconcile`).
    pub horizon: Duration,
    /// API calls per second at most.
    pub calls_per_second: f64,
    /// Reads of one attempt at most (the service).
    pub max_tries: i64,
    /// An undecided read (list refused, clock unknown) is tried again after this.
    pub retry_after: Duration,
    /// No decision on a clock offset less certain than this.
    pub max_uncertainty: Duration,
    /// Rows read per pass.
    pub batch: i64,
    /// The service stops reading (for this run; a daemon tries again a
    /// minute later) after this many reads in a row failed for a reason
    /// that is not the recipient's (the list refused, no clock).
    pub give_up_after: u32,
    /// Who reads (recorded with the evidence).
    pub worker: String,
}

impl Default for ReadBackConfig {
    fn default() -> Self {
        ReadBackConfig {
            delay: Duration::from_secs(3),
            quiet_unanswered: Duration::from_secs(60),
            horizon: Duration::from_secs(24 * 3600),
            calls_per_second: 2.0,
            max_tries: 4,
            retry_after: Duration::from_secs(5),
            max_uncertainty: Duration::from_secs(2),
            batch: 200,
            give_up_after: 3,
            worker: super::worker_id(),
        }
    }
}

impl ReadBackConfig {
    /// The budget of a runner sending at `rate` a second: a tenth of it,
    /// between 1 and 20 calls a second.
    pub fn for_rate(rate: f64, worker: &str) -> Self {
        let calls = if rate.is_finite() { rate / 10.0 } else { 1.0 };
        ReadBackConfig {
            calls_per_second: calls.clamp(1.0, 20.0),
            worker: worker.to_owned(),
            ..ReadBackConfig::default()
        }
    }

    fn limits(&self) -> Limits {
        // At most ten years: added to times, a larger one would overflow.
        let cap = chrono::Duration::days(3650);
        let d = |d: Duration| chrono::Duration::from_std(d).map_or(cap, |d| d.min(cap));
        Limits {
            max_uncertainty: self.max_uncertainty.as_secs_f64(),
            delay: d(self.delay),
            quiet_unanswered: d(self.quiet_unanswered),
            retry_after: d(self.retry_after),
            page_size: LIST_PAGE_SIZE as usize,
        }
    }
}

/// Which rows one pass reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// What the service has due now.
    Due,
    /// Every `unknown` recipient of a campaign (`reconcile`).
    Campaign(i64),
}

/// Whether a pass changes anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changes {
    Apply,
    /// Decide and report, write nothing.
    DryRun,
}

/// One recipient read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Settled {
    pub candidate: Candidate,
    pub decision: Decision,
    /// The recipient's state after it (`sent`, `queued`, `failed`,
    /// `cancelled`, `unknown`), or with [`Changes::DryRun`] the state it
    /// would get; `superseded` when it had moved on meanwhile.
    pub action: String,
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub settled: Vec<Settled>,
    /// Why the pass stopped before the end of its rows, if it did.
    pub stopped: Option<String>,
}

impl Report {
    pub fn count(&self, verdict: Verdict) -> usize {
        self.settled
            .iter()
            .filter(|s| s.decision.verdict == verdict)
            .count()
    }
}

/// Where API calls take a token of the account's rate.
enum Gate {
    /// Only the read-back's own budget.
    Own,
    /// The running runner's account throttle.
    Runner(Arc<Shared>),
    /// An account throttle of its own (the `reconcile` command).
    Throttle(Box<Throttle>),
}

/// The read-back: reads, decides, records.
pub struct ReadBack {
    pool: sqlx::PgPool,
    client: Client,
    config: ReadBackConfig,
    gate: Gate,
    pacer: DefaultDirectRateLimiter,
    source: &'static str,
    /// Reads in a row that failed for a reason not the recipient's.
    failures: AtomicU32,
}

fn pacer(per_second: f64) -> DefaultDirectRateLimiter {
    let rate = if per_second.is_finite() && per_second > 0.0 {
        per_second.clamp(0.01, 1000.0)
    } else {
        1.0
    };
    let quota = Quota::with_period(Duration::from_secs_f64(1.0 / rate))
        .unwrap_or_else(|| Quota::per_second(std::num::NonZeroU32::MIN));
    RateLimiter::direct(quota)
}

impl ReadBack {
    /// A read-back with its own budget only (recorded as `reconcile`).
    pub fn new(pool: sqlx::PgPool, client: Client, config: ReadBackConfig) -> Self {
        ReadBack {
            pacer: pacer(config.calls_per_second),
            pool,
            client,
            config,
            gate: Gate::Own,
            source: "reconcile",
            failures: AtomicU32::new(0),
        }
    }

    /// Its calls also take tokens of this account throttle.
    pub fn with_throttle(mut self, throttle: Throttle) -> Self {
        self.gate = Gate::Throttle(Box::new(throttle));
        self
    }

    /// The service of a running runner: its client (whose clock the sends
    /// keep measuring), its database, its account throttle.
    pub fn beside(shared: &Arc<Shared>) -> Self {
        let config =
            ReadBackConfig::for_rate(shared.config.throttle.rate, &shared.config.worker_id);
        ReadBack {
            source: "run",
            gate: Gate::Runner(shared.clone()),
            ..ReadBack::new(shared.pool.clone(), shared.client.clone(), config)
        }
    }

    pub fn config(&self) -> &ReadBackConfig {
        &self.config
    }

    /// One call's worth of budget; false when cancelled first.
    async fn budget(&self, cancel: &CancellationToken) -> bool {
        tokio::select! {
            _ = cancel.cancelled() => return false,
            () = self.pacer.until_ready() => {}
        }
        match &self.gate {
            Gate::Own => true,
            Gate::Runner(shared) => shared.throttle.acquire_account(cancel).await,
            Gate::Throttle(t) => t.acquire_account(cancel).await,
        }
    }

    /// Reads the rows of `scope` (each: every page of the conversation list
    /// searched by its number), decides each, and with [`Changes::Apply`]
    /// records the evidence and settles the recipient.
    pub async fn run_once(
        &self,
        scope: Scope,
        changes: Changes,
        cancel: &CancellationToken,
    ) -> sqlx::Result<Report> {
        let due = match scope {
            Scope::Due => Due::Now {
                delay: self.config.delay,
                horizon: self.config.horizon,
                max_tries: self.config.max_tries,
                limit: self.config.batch,
            },
            Scope::Campaign(id) => Due::Campaign(id),
        };
        let limits = self.config.limits();
        let mut report = Report::default();
        for c in sql::candidates(&self.pool, due).await? {
            let attempt = attempt_of(&c);
            let (decision, reading) = match before_reading(&attempt) {
                Some(decision) => {
                    let reading = Reading {
                        read_at: Utc::now(),
                        conversations: Ok(Vec::new()),
                        clock: None,
                    };
                    (decision, reading)
                }
                None => {
                    if scope == Scope::Due
                        && self.failures.load(Ordering::SeqCst) >= self.config.give_up_after
                    {
                        report.stopped = Some(
                            "the server could not be read back, several times in a row".into(),
                        );
                        break;
                    }
                    if !self.budget(cancel).await {
                        report.stopped = Some("stopped".into());
                        break;
                    }
                    let reading = self.read(&c.mobile).await;
                    let decision = decide(&attempt, &reading, &limits);
                    if decision.rule.is_systematic() {
                        self.failures.fetch_add(1, Ordering::SeqCst);
                    } else {
                        self.failures.store(0, Ordering::SeqCst);
                    }
                    (decision, reading)
                }
            };
            let action = match changes {
                Changes::DryRun => would(&c, decision.verdict).to_owned(),
                Changes::Apply => match self.record(&c, &reading, &decision).await? {
                    Recorded::Superseded => "superseded".to_owned(),
                    Recorded::State(s) => s,
                },
            };
            tracing::debug!(
                campaign = c.campaign_id,
                row = c.row_number,
                verdict = decision.verdict.as_str(),
                rule = decision.rule.as_str(),
                %action,
                detail = %decision.detail,
                "read back"
            );
            let refused = decision.rule == Rule::ListRefused;
            let why = decision.detail.clone();
            report.settled.push(Settled {
                candidate: c,
                decision,
                action,
            });
            if refused {
                report.stopped = Some(why);
                break;
            }
        }
        Ok(report)
    }

    /// Every page of the conversation list searched by the number, and the
    /// clock as the answers left it.
    async fn read(&self, mobile: &str) -> Reading {
        let conversations = self
            .client
            .conversations_matching(mobile)
            .await
            .map_err(|e| e.to_string());
        Reading {
            read_at: Utc::now(),
            conversations,
            clock: self.client.clock().estimate(),
        }
    }

    async fn record(
        &self,
        c: &Candidate,
        reading: &Reading,
        d: &Decision,
    ) -> sqlx::Result<Recorded> {
        let started = attempt_of(c).started;
        let settle = match d.verdict {
            Verdict::Sent => Settle::Sent {
                sent_at: d.sent_at.unwrap_or(reading.read_at),
            },
            Verdict::NotSent => Settle::NotSent,
            Verdict::Unknown => Settle::Unknown,
        };
        let m = d.decisive.as_ref();
        sql::record(
            &self.pool,
            &sql::Record {
                recipient_id: c.recipient_id,
                campaign_id: c.campaign_id,
                lease_token: c.lease_token,
                attempt: c.attempt,
                attempt_started_at: started.map(|s| s.0),
                started_from: started.map(|s| s.1.as_str()),
                read_at: reading.read_at,
                settle,
                verdict: d.verdict.as_str(),
                rule: d.rule.as_str(),
                final_: d.final_,
                retry_at: d.retry_at,
                source: self.source,
                worker: &self.config.worker,
                conversation_id: m.and_then(|m| m.conversation_id),
                last_message_at: m.and_then(|m| m.last_message_at),
                contact_created_at: m.and_then(|m| m.contact_created_at),
                known_contact_since: c.known_contact_since,
                offset_ms: reading.clock.map(|o| o.secs * 1000.0),
                uncertainty_ms: reading.clock.map(|o| o.uncertainty * 1000.0),
                detail: &d.detail,
                seen: &d.seen,
            },
        )
        .await
    }

    /// Whether the service still expects to settle something (`run --once`
    /// waits for it): false once it gave up for this run.
    pub async fn pending(&self) -> bool {
        if self.failures.load(Ordering::SeqCst) >= self.config.give_up_after {
            return false;
        }
        sql::pending(&self.pool, self.config.horizon, self.config.max_tries)
            .await
            .unwrap_or_else(|err| {
                tracing::debug!(error = %err, "read-back: cannot tell what is pending");
                false
            })
    }

    /// Runs passes until `parent` is cancelled or [`Service::stop`].
    pub fn spawn(self, parent: &CancellationToken) -> Service {
        let stop = parent.child_token();
        let inner = Arc::new(self);
        let task = tokio::spawn(serve(inner.clone(), stop.clone()));
        Service { inner, stop, task }
    }
}

/// What is known of a candidate's attempt.
fn attempt_of(c: &Candidate) -> Attempt {
    Attempt {
        mobile_code: c.mobile_code.clone(),
        mobile: c.mobile.clone(),
        started: c
            .send_started_at
            .map(|t| (t, StartedFrom::Send))
            .or(c.claimed_at.map(|t| (t, StartedFrom::Claim))),
        ended_at: c.unknown_at,
        answered: c.http_status.is_some_and(|s| s != 502 && s != 504),
        contact_step: match (c.creates_contact, c.known_contact_since) {
            (false, _) => ContactStep::NotTaken,
            (true, None) => ContactStep::Unfinished,
            (true, Some(since)) => ContactStep::Done(since),
        },
    }
}

/// The state a verdict would give the candidate (a dry run's answer).
fn would(c: &Candidate, verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Sent => "sent",
        Verdict::Unknown => "unknown",
        Verdict::NotSent if c.campaign_status == CampaignStatus::Cancelled => "cancelled",
        Verdict::NotSent if c.attempt >= c.max_attempts => "failed",
        Verdict::NotSent => "queued",
    }
}

/// The running service.
pub struct Service {
    inner: Arc<ReadBack>,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl Service {
    /// See [`ReadBack::pending`].
    pub async fn pending(&self) -> bool {
        !self.task.is_finished() && self.inner.pending().await
    }

    /// Stops after the read in progress, and waits for it.
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

async fn serve(rb: Arc<ReadBack>, stop: CancellationToken) {
    while !stop.is_cancelled() {
        if rb.failures.load(Ordering::SeqCst) >= rb.config.give_up_after {
            // `pending` is false meanwhile: `run --once` does not wait for it.
            tracing::warn!(
                "read-back: the server could not be read back several times in a row; trying again in a minute"
            );
            tokio::select! {
                _ = stop.cancelled() => {}
                () = tokio::time::sleep(Duration::from_secs(60)) => {}
            }
            rb.failures.store(0, Ordering::SeqCst);
            continue;
        }
        let nap = {
            match rb.run_once(Scope::Due, Changes::Apply, &stop).await {
                Ok(report) if !report.settled.is_empty() => {
                    let unknown = report.count(Verdict::Unknown);
                    tracing::info!(
                        sent = report.count(Verdict::Sent),
                        not_sent = report.count(Verdict::NotSent),
                        unknown,
                        "read back unknown recipients from the server"
                    );
                    if report.stopped.is_none() {
                        continue;
                    }
                    rb.config.retry_after
                }
                Ok(_) => Duration::from_secs(1),
                Err(err) => {
                    tracing::warn!(error = %err, "read-back: database unavailable; retrying");
                    Duration::from_secs(2)
                }
            }
        };
        tokio::select! {
            _ = stop.cancelled() => {}
            () = tokio::time::sleep(nap) => {}
        }
    }
}
