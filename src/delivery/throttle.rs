//! Throttling that holds across every runner process sharing one database.
//!
//! Each limit (the account, a campaign's `rate_per_second`, a sending number)
//! is a token bucket row in PostgreSQL (`rate_buckets`). A process takes small
//! grants from it — at most ~20 ms worth of tokens per call — and spends them
//! through a local `governor` limiter (10% faster than the bucket, so the
//! bucket is what binds), so the grants of all
//! processes together never exceed `rate × t + burst` over any span `t`, and
//! each process's sends are evenly spaced rather than clumped per grant.
//!
//! On HTTP 429 the account bucket is blocked until the `Retry-After` and its
//! allowed rate is halved (floor 1/s); the bucket recovers by 5% of the
//! configured rate per second afterwards. All processes read the same row, so
//! they slow down and recover together.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex as SyncMutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::queue::throttle as sql;

/// The limits one runner enforces.
#[derive(Debug, Clone, PartialEq)]
pub struct ThrottleConfig {
    /// Bucket key of the account (one per client id).
    pub account_key: String,
    /// Account-wide messages per second.
    pub rate: f64,
    /// Bucket capacity of the account (messages that may go at once after
    /// idling). The bucket refills at `rate − burst`, so no one-second window
    /// ever holds more than `rate` messages.
    pub burst: f64,
    /// Messages per second per sending number, if limited.
    pub per_number_rate: Option<f64>,
}

/// The default burst for a rate: a hundredth of a second's worth, at least 1.
pub fn default_burst(rate: f64) -> f64 {
    (rate / 100.0).ceil().max(1.0)
}

/// The share of the rate kept back for arrival jitter (10 ms at any rate):
/// between a grant and the request's arrival lie the dispatch gate and the
/// re-spacing after it, whose delay varies by a few milliseconds.
const ARRIVAL_JITTER: f64 = 0.01;

/// The refill rate of a bucket of `rate` with capacity `burst`: what the
/// bucket may hold at once is taken off the rate, so that in any one second
/// at most `rate` messages are granted (a full bucket plus one second of
/// refill), and another percent for the few milliseconds between a grant
/// and the request's arrival, which can slide a few more into a window. A
/// burst of more than half the rate is cut to half.
pub fn refill_rate(rate: f64, burst: f64) -> (f64, f64) {
    let burst = burst.clamp(1.0, (rate / 2.0).max(1.0));
    (
        (rate - burst - rate * ARRIVAL_JITTER).max(rate / 2.0),
        burst,
    )
}

/// The bucket key of a sending number: its digits alone, so `+880 1711-000000`
/// and `8801711000000` share one bucket (the server strips the same signs).
/// No number (the account's default) is `default`.
fn number_key(from: Option<&str>) -> String {
    let digits: String = from
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    if digits.is_empty() {
        "default".into()
    } else {
        digits
    }
}

/// The local pacer of a bucket: 10% faster than the bucket itself, so the
/// shared bucket stays the binding limit (a pacer at exactly the same rate
/// would lose every millisecond a timer fires late, and undershoot). It lets
/// 10 ms worth through at once: timers have millisecond resolution, so
/// spacing sends finer than that would only add sleeps.
fn pacer(rate: f64) -> DefaultDirectRateLimiter {
    let rate = if rate.is_finite() && rate > 0.0 {
        (rate * 1.1).clamp(0.001, 1e9)
    } else {
        1.0
    };
    let period = Duration::from_secs_f64(1.0 / rate);
    let burst =
        NonZeroU32::new((rate / 100.0).floor().clamp(1.0, 1e6) as u32).unwrap_or(NonZeroU32::MIN);
    let quota = Quota::with_period(period.max(Duration::from_nanos(1)))
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN));
    RateLimiter::direct(quota.allow_burst(burst))
}

struct PoolState {
    rate: f64,
    pacer: Arc<DefaultDirectRateLimiter>,
}

/// One shared bucket as seen by this process: tokens taken from the database
/// and not spent yet, and the local pacer. Taking a token held locally never
/// waits on a lock, so a dispatcher can tell at once whether a message may
/// go now; only fetching more from the database is one at a time.
pub struct TokenPool {
    db: PgPool,
    key: String,
    rate: f64,
    burst: f64,
    /// Tokens taken from the database and not spent yet.
    tokens: AtomicU32,
    state: SyncMutex<PoolState>,
    /// Held while fetching tokens from the database: one fetch at a time.
    refill: tokio::sync::Mutex<()>,
    /// Set on a 429: tokens held locally are dropped before the next send.
    drain: AtomicBool,
}

impl TokenPool {
    pub fn new(db: PgPool, key: String, rate: f64, burst: f64) -> Self {
        let (rate, burst) = refill_rate(rate, burst);
        TokenPool {
            db,
            key,
            rate,
            burst,
            tokens: AtomicU32::new(0),
            state: SyncMutex::new(PoolState {
                rate,
                pacer: Arc::new(pacer(rate)),
            }),
            refill: tokio::sync::Mutex::new(()),
            drain: AtomicBool::new(false),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Drops the tokens held locally (the API said to slow down).
    pub fn drain(&self) {
        self.drain.store(true, Ordering::SeqCst);
    }

    /// The rate this bucket allows right now (as of the last grant).
    pub async fn current_rate(&self) -> f64 {
        self.state().rate
    }

    /// Waits for one token. Returns false when cancelled first. Fetches
    /// from the database are served in order (the refill mutex is fair).
    pub async fn acquire(&self, cancel: &CancellationToken) -> bool {
        tokio::select! {
            _ = cancel.cancelled() => false,
            () = self.acquire_inner() => true,
        }
    }

    /// Takes a token held locally, if there is one.
    fn take_local(&self) -> bool {
        if self.drain.swap(false, Ordering::SeqCst) {
            self.tokens.store(0, Ordering::SeqCst);
        }
        self.tokens
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| t.checked_sub(1))
            .is_ok()
    }

    /// Takes a token only if one may be spent right now (held locally and
    /// the pacer ready); never waits.
    fn try_take(&self) -> bool {
        if !self.take_local() {
            return false;
        }
        let pacer = self.state().pacer.clone();
        if pacer.check().is_ok() {
            return true;
        }
        self.tokens.fetch_add(1, Ordering::SeqCst);
        false
    }

    /// Gives back a token taken with [`TokenPool::try_take`] and not spent.
    fn give_back(&self) {
        self.tokens.fetch_add(1, Ordering::SeqCst);
    }

    async fn acquire_inner(&self) {
        while !self.take_local() {
            let _refill = self.refill.lock().await;
            if self.take_local() {
                break;
            }
            // At most ~20 ms worth per call: small grants keep the sum over all
            // processes close to the bucket's own bound.
            let rate = self.state().rate;
            let want = ((rate / 50.0).floor() as u32).clamp(1, 10_000);
            match sql::take(&self.db, &self.key, want, self.rate, self.burst).await {
                Ok(grant) => {
                    if (grant.rate - rate).abs() > rate * 0.02 {
                        let mut st = self.state();
                        st.rate = grant.rate;
                        st.pacer = Arc::new(pacer(grant.rate));
                        if self.key.starts_with("account:") {
                            crate::metrics::set_allowed_rate(grant.rate);
                        }
                    }
                    self.tokens.fetch_add(grant.granted, Ordering::SeqCst);
                    if grant.granted == 0 {
                        let wait = grant.wait_secs.clamp(0.002, 1.0);
                        tokio::time::sleep(Duration::from_secs_f64(wait)).await;
                    }
                }
                Err(err) => {
                    tracing::warn!(bucket = %self.key, error = %err, "rate bucket unavailable; waiting");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
        let pacer = self.state().pacer.clone();
        pacer.until_ready().await;
    }
}

/// Every limit of one runner process.
pub struct Throttle {
    db: PgPool,
    config: ThrottleConfig,
    account: TokenPool,
    /// Spaces requests again after the dispatch gate (see [`Throttle::respace`]).
    respacer: DefaultDirectRateLimiter,
    campaigns: SyncMutex<HashMap<i64, Arc<TokenPool>>>,
    numbers: SyncMutex<HashMap<String, Arc<TokenPool>>>,
    blocked_until: SyncMutex<Option<DateTime<Utc>>>,
}

impl Throttle {
    pub fn new(db: PgPool, config: ThrottleConfig) -> Self {
        let account = TokenPool::new(
            db.clone(),
            config.account_key.clone(),
            config.rate,
            config.burst,
        );
        let (refill, _) = refill_rate(config.rate, config.burst);
        Throttle {
            db,
            respacer: pacer(refill / 1.1),
            config,
            account,
            campaigns: SyncMutex::default(),
            numbers: SyncMutex::default(),
            blocked_until: SyncMutex::default(),
        }
    }

    pub fn config(&self) -> &ThrottleConfig {
        &self.config
    }

    /// The account's allowed rate right now.
    pub async fn account_rate(&self) -> f64 {
        self.account.current_rate().await
    }

    fn campaign_pool(&self, campaign_id: i64, rate: f64) -> Arc<TokenPool> {
        let mut map = self.campaigns.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(campaign_id)
            .or_insert_with(|| {
                Arc::new(TokenPool::new(
                    self.db.clone(),
                    format!("campaign:{campaign_id}"),
                    rate,
                    default_burst(rate),
                ))
            })
            .clone()
    }

    fn number_pool(&self, from: Option<&str>, rate: f64) -> Arc<TokenPool> {
        let from = number_key(from);
        let mut map = self.numbers.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(from.clone())
            .or_insert_with(|| {
                Arc::new(TokenPool::new(
                    self.db.clone(),
                    format!("{}:number:{from}", self.config.account_key),
                    rate,
                    default_burst(rate),
                ))
            })
            .clone()
    }

    /// A token of the account's rate alone (a contact lookup or creation made
    /// before a text). Returns false when cancelled first.
    pub async fn acquire_account(&self, cancel: &CancellationToken) -> bool {
        self.account.acquire(cancel).await
    }

    /// Waits until one message of this campaign from this number may go:
    /// the campaign's own rate, the number's, then the account's (taken last,
    /// so account tokens are only spent on a message that is ready).
    /// Returns false when cancelled first.
    pub async fn acquire(
        &self,
        campaign_id: i64,
        campaign_rate: Option<f64>,
        from: Option<&str>,
        cancel: &CancellationToken,
    ) -> bool {
        if let Some(rate) =
            campaign_rate.filter(|r| r.is_finite() && *r > 0.0 && *r < self.config.rate)
            && !self.campaign_pool(campaign_id, rate).acquire(cancel).await
        {
            return false;
        }
        if let Some(rate) = self
            .config
            .per_number_rate
            .filter(|r| r.is_finite() && *r > 0.0)
            && !self.number_pool(from, rate).acquire(cancel).await
        {
            return false;
        }
        self.account.acquire(cancel).await
    }

    /// Like [`Throttle::acquire`], but only if the message may go right now
    /// (every bucket holds a token and its pacer is ready); never waits. A
    /// dispatcher sends what is ready at once together.
    pub fn try_acquire(
        &self,
        campaign_id: i64,
        campaign_rate: Option<f64>,
        from: Option<&str>,
    ) -> bool {
        let mut pools: Vec<Arc<TokenPool>> = Vec::with_capacity(2);
        if let Some(rate) =
            campaign_rate.filter(|r| r.is_finite() && *r > 0.0 && *r < self.config.rate)
        {
            pools.push(self.campaign_pool(campaign_id, rate));
        }
        if let Some(rate) = self
            .config
            .per_number_rate
            .filter(|r| r.is_finite() && *r > 0.0)
        {
            pools.push(self.number_pool(from, rate));
        }
        for (i, pool) in pools.iter().enumerate() {
            if !pool.try_take() {
                pools[..i].iter().for_each(|p| p.give_back());
                return false;
            }
        }
        if self.account.try_take() {
            return true;
        }
        pools.iter().for_each(|p| p.give_back());
        false
    }

    /// Spaces requests again right before they leave. A token is taken
    /// before the dispatch gate, and the gate answers a group of sends at
    /// once: when its statement was slow, the tokens of the last few
    /// milliseconds would all leave together. This process-local pacer, at
    /// the bucket's own rate, spreads them out again; when the gate was
    /// quick the requests are already spaced and it lets them through.
    pub async fn respace(&self) {
        self.respacer.until_ready().await;
    }

    /// An HTTP 429: block the account until `until` and cut its rate — in the
    /// shared bucket, so every process slows down.
    pub async fn throttled(&self, until: DateTime<Utc>) {
        {
            let mut b = self.blocked_until.lock().unwrap_or_else(|e| e.into_inner());
            if b.is_none_or(|b| b < until) {
                *b = Some(until);
            }
        }
        self.account.drain();
        let wait = (until - Utc::now()).to_std().unwrap_or_default();
        match sql::slow_down(&self.db, &self.config.account_key, wait, 0.5, 1.0).await {
            Ok(Some(rate)) => tracing::warn!(rate, %until, "throttled by the API: slowing down"),
            Ok(None) => {}
            Err(err) => tracing::warn!(error = %err, "could not record the slow-down"),
        }
    }

    /// Until when claiming is paused for the account (a `Retry-After`, here
    /// or in another process), if in the future.
    pub async fn blocked_until(&self) -> Option<DateTime<Utc>> {
        let now = Utc::now();
        let local = *self.blocked_until.lock().unwrap_or_else(|e| e.into_inner());
        let shared = sql::blocked_for(&self.db, &self.config.account_key)
            .await
            .ok()
            .flatten()
            .and_then(|wait| chrono::Duration::from_std(wait).ok())
            .map(|wait| now + wait);
        [local, shared]
            .into_iter()
            .flatten()
            .filter(|t| *t > now)
            .max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_sending_number_is_one_bucket_however_it_is_spelled() {
        for spelling in [
            "+8801711000000",
            "8801711000000",
            "+880 1711-000000",
            " 880 1711 000000 ",
        ] {
            assert_eq!(number_key(Some(spelling)), "8801711000000", "{spelling:?}");
        }
        assert_eq!(number_key(None), "default");
        assert_eq!(number_key(Some("")), "default");
        assert_ne!(
            number_key(Some("+8801711000000")),
            number_key(Some("+8801711000001"))
        );
    }

    #[test]
    fn bursts_and_pacers_for_any_rate() {
        assert_eq!(default_burst(0.5), 1.0);
        assert_eq!(default_burst(50.0), 1.0);
        assert_eq!(default_burst(1000.0), 10.0);
        // Extreme rates build a pacer without panicking.
        for r in [0.0, 1e-9, 0.5, 80.0, 1e12, f64::NAN] {
            let p = pacer(r);
            let _ = p.check();
        }
    }

    #[test]
    fn a_full_bucket_and_a_second_of_refill_never_pass_the_rate() {
        for rate in [2.0, 20.0, 50.0, 80.0, 1000.0, 12_345.0] {
            let (refill, burst) = refill_rate(rate, default_burst(rate));
            assert!(refill + burst <= rate + 1e-9, "{rate}: {refill} + {burst}");
            assert!(refill >= rate / 2.0, "{rate}");
        }
        assert_eq!(refill_rate(1000.0, 10.0), (980.0, 10.0));
        assert_eq!(refill_rate(50.0, 5.0), (44.5, 5.0));
        assert_eq!(refill_rate(10.0, 100.0), (5.0, 5.0), "a huge burst is cut");
        // Below 2/s a whole token is more than the rest of the second allows:
        // half the rate refills, and a second token waits two seconds.
        assert_eq!(refill_rate(1.0, 1.0), (0.5, 1.0));
    }
}
