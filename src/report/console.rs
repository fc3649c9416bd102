//! What the web console (`src/console/`) reads: every campaign with its
//! counts per state from the maintained summary of
//! `migrations/0009_console.sql` (never a scan of `recipients`), the sends of
//! the last minute, the sends per minute over a campaign, and the manifest as
//! loaded.

use std::collections::HashMap;

use chrono::{DateTime, NaiveTime, Utc};
use serde::Serialize;
use sqlx::PgPool;

use super::STATES;

/// A campaign as the console shows it.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ConsoleCampaign {
    pub id: i64,
    pub name: String,
    pub status: String,
    pub pause_reason: Option<String>,
    pub source_file: String,
    pub created_at: DateTime<Utc>,
    pub start_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub send_window_start: Option<NaiveTime>,
    pub send_window_end: Option<NaiveTime>,
    pub send_window_tz: Option<String>,
    pub rate_per_second: Option<f64>,
    /// Messages the server took in the last 60 seconds.
    pub sent_last_minute: i64,
    /// Recipients per state, in [`STATES`] order (filled from the summary).
    #[sqlx(skip)]
    pub counts: [i64; 11],
}

impl ConsoleCampaign {
    pub fn total(&self) -> i64 {
        self.counts.iter().sum()
    }

    /// The count of one state (0 for a name that is not a state).
    pub fn count(&self, state: &str) -> i64 {
        STATES
            .iter()
            .position(|s| *s == state)
            .map_or(0, |i| self.counts[i])
    }

    /// Recipients not yet in a terminal state.
    pub fn left(&self) -> i64 {
        self.count("queued") + self.count("sending") + self.count("retrying")
    }
}

/// The campaigns with their sends of the last minute, in one join (callers
/// add their `WHERE`, `GROUP BY c.id` and order): the planner probes the
/// `send_attempts_campaign (campaign_id, finished_at)` index once per
/// campaign, or scans the last minute's attempts once and hashes them when
/// the table is small. A correlated subquery per campaign instead was planned
/// as one scan of `send_attempts` *per campaign* when the table held mostly
/// one campaign's recent attempts (300 ms with 200 campaigns; see
/// `bench/console.sh`).
const CAMPAIGNS: &str = "SELECT c.id, c.name, c.status, c.pause_reason, c.source_file, \
         c.created_at, c.start_at, c.expires_at, c.started_at, c.finished_at, \
         c.send_window_start, c.send_window_end, c.send_window_tz, c.rate_per_second, \
         count(a.campaign_id) AS sent_last_minute \
     FROM campaigns c \
     LEFT JOIN send_attempts a ON a.campaign_id = c.id \
         AND a.finished_at > now() - interval '1 minute' AND a.outcome = 'success'";

/// Counts per campaign and state: the base plus the deltas not yet folded.
const COUNTS: &str = "SELECT campaign_id, state, sum(n)::int8 FROM ( \
         SELECT campaign_id, state, n FROM campaign_state_counts \
         UNION ALL SELECT campaign_id, state, delta FROM campaign_state_deltas) u \
     WHERE $1::int8 IS NULL OR campaign_id = $1 \
     GROUP BY campaign_id, state";

async fn with_counts(
    pool: &PgPool,
    campaign: Option<i64>,
    mut rows: Vec<ConsoleCampaign>,
) -> sqlx::Result<Vec<ConsoleCampaign>> {
    let counts: Vec<(i64, String, i64)> = sqlx::query_as(COUNTS)
        .bind(campaign)
        .fetch_all(pool)
        .await?;
    let mut by_id: HashMap<i64, [i64; 11]> = HashMap::new();
    for (id, state, n) in counts {
        if let Some(i) = STATES.iter().position(|s| *s == state) {
            by_id.entry(id).or_default()[i] = n;
        }
    }
    for r in &mut rows {
        r.counts = by_id.get(&r.id).copied().unwrap_or_default();
    }
    Ok(rows)
}

/// Every campaign, newest first, with its counts.
pub async fn campaigns(pool: &PgPool) -> sqlx::Result<Vec<ConsoleCampaign>> {
    let rows = sqlx::query_as::<_, ConsoleCampaign>(sqlx::AssertSqlSafe(format!(
        "{CAMPAIGNS} GROUP BY c.id ORDER BY c.id DESC"
    )))
    .fetch_all(pool)
    .await?;
    with_counts(pool, None, rows).await
}

/// One campaign with its counts.
pub async fn campaign(pool: &PgPool, id: i64) -> sqlx::Result<Option<ConsoleCampaign>> {
    let rows = sqlx::query_as::<_, ConsoleCampaign>(sqlx::AssertSqlSafe(format!(
        "{CAMPAIGNS} WHERE c.id = $1 GROUP BY c.id"
    )))
    .bind(id)
    .fetch_all(pool)
    .await?;
    Ok(with_counts(pool, Some(id), rows).await?.into_iter().next())
}

/// Messages the server took per minute over the campaign (minutes without
/// any are absent), oldest first; at most the last `minutes`.
pub async fn sends_per_minute(
    pool: &PgPool,
    id: i64,
    minutes: i64,
) -> sqlx::Result<Vec<(DateTime<Utc>, i64)>> {
    sqlx::query_as(
        "SELECT date_trunc('minute', finished_at) AS minute, count(*) \
         FROM send_attempts \
         WHERE campaign_id = $1 AND outcome = 'success' \
           AND finished_at > (SELECT max(finished_at) FROM send_attempts WHERE campaign_id = $1) \
                             - make_interval(mins => $2::int) \
         GROUP BY 1 ORDER BY 1",
    )
    .bind(id)
    .bind(minutes as i32)
    .fetch_all(pool)
    .await
}

/// What a campaign was loaded with.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct LoadedManifest {
    /// The manifest's keys as written (`{}` without a manifest).
    pub manifest: serde_json::Value,
    pub template_id: Option<i64>,
    pub message_template: Option<String>,
    pub from_number: Option<String>,
    pub max_attempts: i32,
    pub body_variables: Vec<String>,
    pub header_variables: Vec<String>,
}

pub async fn manifest(pool: &PgPool, id: i64) -> sqlx::Result<Option<LoadedManifest>> {
    sqlx::query_as(
        "SELECT manifest, template_id, message_template, from_number, max_attempts, \
                body_variables, header_variables \
         FROM campaigns WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// Folds the maintained counts' deltas into their base (one caller at a
/// time; the others return at once). Returns the delta rows folded.
pub async fn compact_counts(pool: &PgPool) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT campaign_counts_compact()")
        .fetch_one(pool)
        .await
}
