//! Prometheus metrics and the `/healthz` endpoint of the daemon.
//!
//! The delivery engine records through the helpers below (no-ops until
//! [`install`] ran, so `run --once` pays nothing); [`serve`] installs the
//! process-wide recorder once and serves `/metrics` and `/healthz` on one
//! address. Metric names are part of the public interface:
//!
//! | name | type | labels |
//! |---|---|---|
//! | `wutt_messages_total` | counter | `campaign` (id), `outcome` (sent, failed, unknown, retrying, …) |
//! | `wutt_requests_in_flight` | gauge | |
//! | `wutt_queue_depth` | gauge | `campaign` (id): recipients queued, sending or retrying |
//! | `wutt_throttled_total` | counter | (HTTP 429 answers) |
//! | `wutt_allowed_rate` | gauge | (messages per second currently allowed) |
//! | `wutt_send_latency_seconds` | histogram | (one API call) |

mod server;

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sqlx::PgPool;

pub use server::{MetricsServer, serve};

pub const MESSAGES_TOTAL: &str = "wutt_messages_total";
pub const REQUESTS_IN_FLIGHT: &str = "wutt_requests_in_flight";
pub const QUEUE_DEPTH: &str = "wutt_queue_depth";
pub const THROTTLED_TOTAL: &str = "wutt_throttled_total";
pub const ALLOWED_RATE: &str = "wutt_allowed_rate";
pub const IN_FLIGHT_LIMIT: &str = "wutt_in_flight_limit";
pub const SEND_LATENCY_SECONDS: &str = "wutt_send_latency_seconds";

/// Histogram buckets of one API call, in seconds (the API timeout is 30 s by default).
const LATENCY_BUCKETS: [f64; 12] = [
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();

/// Installs the process-wide Prometheus recorder (once; later calls return
/// the same handle). Fails only if another recorder was installed first.
pub fn install() -> anyhow::Result<&'static PrometheusHandle> {
    let installed = HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(SEND_LATENCY_SECONDS.into()), &LATENCY_BUCKETS)
            .map_err(|e| e.to_string())?;
        let handle = builder.install_recorder().map_err(|e| e.to_string())?;
        describe();
        Ok(handle)
    });
    installed
        .as_ref()
        .map_err(|e| anyhow::anyhow!("cannot install the metrics recorder: {e}"))
}

fn describe() {
    describe_counter!(
        MESSAGES_TOTAL,
        "Recipients whose send ended in an outcome, per campaign and outcome."
    );
    describe_gauge!(REQUESTS_IN_FLIGHT, "API requests currently in flight.");
    describe_gauge!(
        QUEUE_DEPTH,
        "Recipients queued, sending or retrying, per campaign."
    );
    describe_counter!(THROTTLED_TOTAL, "HTTP 429 answers from the API.");
    describe_gauge!(
        ALLOWED_RATE,
        "Messages per second currently allowed by the throttle."
    );
    describe_gauge!(
        IN_FLIGHT_LIMIT,
        "Requests allowed in flight now (rate × latency, at most WUTT_CONCURRENCY)."
    );
    describe_histogram!(
        SEND_LATENCY_SECONDS,
        Unit::Seconds,
        "Duration of one send request to the API."
    );
}

/// A recipient's attempt ended with `outcome` (`sent`, `failed`, `unknown`,
/// `retrying`, …) in campaign `campaign_id`.
pub fn record_message(campaign_id: i64, outcome: &str) {
    counter!(MESSAGES_TOTAL, "campaign" => campaign_id.to_string(), "outcome" => outcome.to_string())
        .increment(1);
}

/// A request to the API started; call [`request_finished`] when it ends.
pub fn request_started() {
    gauge!(REQUESTS_IN_FLIGHT).increment(1.0);
}

/// A request to the API ended (any outcome), after `latency`.
pub fn request_finished(latency: Duration) {
    gauge!(REQUESTS_IN_FLIGHT).decrement(1.0);
    histogram!(SEND_LATENCY_SECONDS).record(latency.as_secs_f64());
}

/// One API request in flight: counted in `wutt_requests_in_flight` from
/// [`InFlight::start`] until dropped, then its latency is recorded. Dropping
/// (also on early return or cancellation) keeps the gauge honest.
#[derive(Debug)]
#[must_use = "the request counts as in flight until this is dropped"]
pub struct InFlight {
    started: Instant,
}

impl InFlight {
    pub fn start() -> InFlight {
        request_started();
        InFlight {
            started: Instant::now(),
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        request_finished(self.started.elapsed());
    }
}

/// The API answered HTTP 429.
pub fn record_throttled() {
    counter!(THROTTLED_TOTAL).increment(1);
}

/// The throttle now allows `per_second` messages per second.
pub fn set_allowed_rate(per_second: f64) {
    gauge!(ALLOWED_RATE).set(per_second);
}

/// The in-flight limit is now `slots`.
pub fn set_in_flight_limit(slots: usize) {
    gauge!(IN_FLIGHT_LIMIT).set(slots as f64);
}

/// Sets the queue depth of one campaign.
pub fn set_queue_depth(campaign_id: i64, depth: u64) {
    gauge!(QUEUE_DEPTH, "campaign" => campaign_id.to_string()).set(depth as f64);
}

/// Campaigns whose queue depth was last reported non-zero.
static DEPTH_CAMPAIGNS: Mutex<Option<HashSet<i64>>> = Mutex::new(None);

/// Refreshes `wutt_queue_depth` from the database: campaigns with work left
/// get their count, campaigns that had work before and have none now get 0.
/// Runs on every scrape of [`serve`]; the daemon may call it too.
pub async fn refresh_queue_depth(pool: &PgPool) -> anyhow::Result<()> {
    let depths = crate::report::summary::queue_depths(pool).await?;
    let now: HashSet<i64> = depths.iter().map(|(id, _)| *id).collect();
    for (id, depth) in &depths {
        set_queue_depth(*id, u64::try_from(*depth).unwrap_or(0));
    }
    let mut seen = DEPTH_CAMPAIGNS.lock().unwrap_or_else(|e| e.into_inner());
    for gone in seen.iter().flatten().filter(|id| !now.contains(id)) {
        set_queue_depth(*gone, 0);
    }
    *seen = Some(now);
    Ok(())
}
