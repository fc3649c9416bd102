//! Delivery: worker tasks that claim due recipients and send them, with
//! throttling, retry and a circuit breaker.
//!
//! - [`runner`]: the engine as services with start and stop (`run --once` and the daemon).
//! - [`producer`]: finds campaigns with work due and starts their dispatchers.
//! - [`services`]: the rescuer, the scheduler, the sizer; the engine's events.
//! - [`shutdown`]: the graceful and hard stop signals, as one value.
//! - [`worker`]: one campaign's dispatcher and its send tasks.
//! - [`gate`]: the last check before each request leaves (opt-out, pause, cancel).
//! - [`throttle`]: rate limits shared by every process through PostgreSQL token buckets.
//! - [`retry`]: what each answer means for its recipient; backoff with jitter.
//! - [`breaker`]: the error-rate circuit breaker.
//! - [`contacts`]: making recipients Wutt contacts before their first text.
//! - [`inflight`]: how many requests may be in flight (rate × latency, up to a ceiling).
//! - [`reconcile`]: `unknown` recipients settled by reading the server back.
//! - [`recorder`]: batched, retried writing of outcomes.
//! - [`schedule`]: send windows in the campaign's timezone.
//! - [`media`]: captured media materialised for upload.
//! - [`progress`]: a progress bar per campaign on a terminal, log lines otherwise.
//! - [`shared`]: state shared by the tasks; the database retry loop.

pub mod breaker;
pub mod contacts;
pub mod gate;
pub mod inflight;
pub mod media;
pub mod producer;
pub mod progress;
pub mod reconcile;
pub mod recorder;
pub mod retry;
pub mod runner;
pub mod schedule;
pub mod services;
pub mod shared;
pub mod shutdown;
pub mod throttle;
pub mod worker;

use std::time::Duration;

pub use breaker::BreakerConfig;
pub use retry::RetryPolicy;
pub use runner::{Mode, RunSummary, Runner, Step, run};
pub use services::Event;
pub use shutdown::Shutdown;
pub use throttle::ThrottleConfig;

/// How a runner sends.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryConfig {
    /// `hostname-pid-random`: the lease holder written on claimed rows.
    pub worker_id: String,
    /// Most recipients claimed at once.
    pub batch_size: i64,
    /// Lease of a claim; must exceed the request timeout.
    pub lease: Duration,
    /// Requests in flight at most (the ceiling; the limit itself follows
    /// rate × latency, see [`inflight`]).
    pub concurrency: usize,
    /// The client's request timeout (no call is started that could outlive its lease).
    pub request_timeout: Duration,
    pub retry: RetryPolicy,
    pub breaker: BreakerConfig,
    pub throttle: ThrottleConfig,
    /// Unique numbers sent to per rolling 24 h (the messaging tier), if limited.
    pub daily_unique_limit: Option<i64>,
    /// `run --once` keeps going while something becomes due within this.
    pub once_horizon: Duration,
    /// How often the daemon looks for work without a notification.
    pub poll_interval: Duration,
}

impl DeliveryConfig {
    /// What every way of building a configuration (the CLI, the demo, the
    /// tests) must respect: the runner refuses to start otherwise.
    pub fn check(&self) -> Result<(), String> {
        if self.lease <= self.request_timeout + Duration::from_secs(2) {
            return Err(format!(
                "the lease (--lease-secs {}) must exceed the API timeout (WUTT_TIMEOUT {}) by \
                 more than 2 seconds: a request could otherwise outlive its claim",
                self.lease.as_secs_f64(),
                self.request_timeout.as_secs_f64()
            ));
        }
        if !(1..=10_000).contains(&self.batch_size) {
            return Err("the batch size (--batch-size) must be between 1 and 10000".into());
        }
        if self.concurrency == 0 {
            return Err("WUTT_CONCURRENCY must be at least 1".into());
        }
        if !(self.throttle.rate.is_finite() && self.throttle.rate > 0.0) {
            return Err(format!(
                "the rate (WUTT_RATE {}) must be a positive number",
                self.throttle.rate
            ));
        }
        if self.daily_unique_limit.is_some_and(|n| n < 1) {
            return Err("--daily-unique-limit must be at least 1".into());
        }
        Ok(())
    }
}

/// A worker id unique across hosts and restarts: `hostname-pid-random`.
pub fn worker_id() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates
    // on success (truncation is handled by searching for NUL).
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let host = if rc == 0 {
        let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        "host".to_string()
    };
    format!(
        "{host}-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}
