//! SQL of the delivery engine's shared limits: token buckets in PostgreSQL
//! (one row per limit, refilled by elapsed time × rate in one atomic call), the
//! 429 slow-down, the messaging-tier budget (unique numbers sent to in a
//! rolling 24 h), and the `wutt_work` wake-up channel.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// The NOTIFY channel runners listen on for new work.
pub const WORK_CHANNEL: &str = "wutt_work";

/// What one call to [`take`] handed out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grant {
    /// Whole tokens granted (0..=want).
    pub granted: u32,
    /// The bucket's allowed rate right now (below the configured rate after a 429).
    pub rate: f64,
    /// When nothing was granted: seconds until the next token (or the end of a block).
    pub wait_secs: f64,
}

/// Takes up to `want` tokens from bucket `key` (created full on first use)
/// with the configured `rate` per second and `burst` capacity.
pub async fn take(
    pool: &PgPool,
    key: &str,
    want: u32,
    rate: f64,
    burst: f64,
) -> sqlx::Result<Grant> {
    let (granted, rate, wait_secs): (i32, f64, f64) = sqlx::query_as(
        "SELECT granted, current_rate, wait_secs FROM rate_bucket_take($1, $2, $3, $4)",
    )
    .bind(key)
    .bind(f64::from(want))
    .bind(rate)
    .bind(burst.max(1.0))
    .fetch_one(pool)
    .await?;
    Ok(Grant {
        granted: u32::try_from(granted).unwrap_or(0),
        rate,
        wait_secs: if wait_secs.is_finite() {
            wait_secs.max(0.0)
        } else {
            1.0
        },
    })
}

/// After an HTTP 429: grant nothing for `wait` (from now on the database's
/// clock, the one [`take`] and [`blocked_until`] read), and cut the allowed rate
/// by `factor` (not below `floor`) — at most once per second, so a volley of
/// 429s from requests already in flight cuts it once. Returns the new rate.
pub async fn slow_down(
    pool: &PgPool,
    key: &str,
    wait: std::time::Duration,
    factor: f64,
    floor: f64,
) -> sqlx::Result<Option<f64>> {
    sqlx::query_scalar(
        "UPDATE rate_buckets
            SET blocked_until = greatest(blocked_until,
                                         clock_timestamp() + make_interval(secs => $2)),
                tokens = least(tokens, 0),
                rate = CASE WHEN cut_at < clock_timestamp() - interval '1 second'
                            THEN greatest(least($4::double precision, configured_rate), rate * $3)
                            ELSE rate END,
                cut_at = CASE WHEN cut_at < clock_timestamp() - interval '1 second'
                              THEN clock_timestamp() ELSE cut_at END
          WHERE key = $1
      RETURNING rate",
    )
    .bind(key)
    .bind(wait.as_secs_f64())
    .bind(factor)
    .bind(floor)
    .fetch_optional(pool)
    .await
}

/// How long a bucket still refuses everything (a `Retry-After`), if it does:
/// measured on the database's clock and returned as a span, so the caller
/// adds it to its own clock and never compares two clocks.
pub async fn blocked_for(pool: &PgPool, key: &str) -> sqlx::Result<Option<std::time::Duration>> {
    let secs: Option<f64> = sqlx::query_scalar(
        "SELECT extract(epoch FROM blocked_until - clock_timestamp())::float8 \
           FROM rate_buckets WHERE key = $1 AND blocked_until > clock_timestamp()",
    )
    .bind(key)
    .fetch_optional(pool)
    .await?;
    Ok(secs
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(std::time::Duration::from_secs_f64))
}

/// The messaging-tier budget: distinct numbers sent to in the last 24 h plus
/// those being sent right now, and — when that is at least `limit` — when the
/// oldest of the counted sends leaves the window.
pub async fn daily_unique(
    db: impl sqlx::PgExecutor<'_>,
    limit: i64,
) -> sqlx::Result<(i64, Option<DateTime<Utc>>)> {
    let (used, frees_at): (i64, Option<DateTime<Utc>>) = sqlx::query_as(
        "WITH recent AS (
             SELECT mobile_code, mobile, min(sent_at) AS first_sent
               FROM recipients
              WHERE sent_at > now() - interval '24 hours'
              GROUP BY mobile_code, mobile
         ), in_flight AS (
             SELECT DISTINCT mobile_code, mobile FROM recipients r
              WHERE state = 'sending'
                AND NOT EXISTS (SELECT 1 FROM recent
                                 WHERE recent.mobile_code = r.mobile_code AND recent.mobile = r.mobile)
         ), used AS (
             SELECT (SELECT count(*) FROM recent) + (SELECT count(*) FROM in_flight) AS n
         )
         SELECT used.n,
                CASE WHEN used.n >= $1 THEN
                    (SELECT first_sent + interval '24 hours' FROM recent
                      ORDER BY first_sent OFFSET used.n - $1 LIMIT 1)
                END
           FROM used",
    )
    .bind(limit)
    .fetch_one(db)
    .await?;
    Ok((used, frees_at))
}

/// Wakes every runner listening on [`WORK_CHANNEL`].
pub async fn notify_work(pool: &PgPool) -> sqlx::Result<()> {
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(WORK_CHANNEL)
        .execute(pool)
        .await?;
    Ok(())
}
