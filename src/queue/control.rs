//! Campaign control and lookup: by id or name, list, pause, resume, cancel,
//! requeue, expiry, completion, and what the runner needs to schedule sends.

use crate::campaign::status::CampaignStatus;
use chrono::{DateTime, NaiveTime, Utc};
use sqlx::PgPool;

/// A campaign as the runner and the control commands see it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Campaign {
    pub id: i64,
    pub name: String,
    pub status: CampaignStatus,
    pub pause_reason: Option<String>,
    pub template_id: Option<i64>,
    pub template_verified: Option<bool>,
    pub message_template: Option<String>,
    pub from_number: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub cta_url_id: Option<i64>,
    pub interactive_list_id: Option<i64>,
    pub start_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub send_window_start: Option<NaiveTime>,
    pub send_window_end: Option<NaiveTime>,
    pub send_window_tz: Option<String>,
    pub rate_per_second: Option<f64>,
    pub max_attempts: i32,
    /// Make each recipient of a text a Wutt contact before its first message.
    pub create_contacts: bool,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A campaign with its recipient counts, for `campaign list`.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CampaignCounts {
    pub id: i64,
    pub name: String,
    pub status: CampaignStatus,
    pub pause_reason: Option<String>,
    pub total: i64,
    pub pending: i64,
    pub sent: i64,
    pub failed: i64,
    pub unknown: i64,
    pub other: i64,
}

/// A media file captured with the campaign.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CampaignMedia {
    pub kind: String,
    pub file_name: String,
    pub mime_type: String,
    pub sha256: Vec<u8>,
    pub size_bytes: i64,
}

/// States `requeue` may put back in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequeueState {
    Unknown,
    Failed,
}

const CAMPAIGN_COLUMNS: &str = "id, name, status, pause_reason, template_id, template_verified, \
     message_template, from_number, latitude, longitude, cta_url_id, interactive_list_id, start_at, \
     expires_at, send_window_start, send_window_end, send_window_tz, rate_per_second, max_attempts, \
     create_contacts, created_at, started_at, finished_at";

/// How a command names a campaign — the one place that decides it:
/// - `#12` or `id:12`: the campaign with id 12, only that;
/// - `name:NAME`: the campaign named `NAME`, only that;
/// - a bare word: the campaign of that name; a bare number that is no
///   campaign's name is an id (so `report 42`, as the hints print it, keeps
///   working). A campaign named `1` is therefore reached by `1`, and the
///   campaign with id 1 by `#1` — when both exist, the answer says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CampaignKey {
    Id(i64),
    Name(String),
    /// A name, or an id when it is a number that names no campaign.
    Bare(String),
}

impl CampaignKey {
    /// Parses what a user typed; `Err` says how to write an id.
    pub fn parse(key: &str) -> Result<CampaignKey, String> {
        let key = key.trim();
        if let Some(id) = key.strip_prefix('#').or_else(|| key.strip_prefix("id:")) {
            return match id.trim().parse::<i64>() {
                Ok(n) if n > 0 => Ok(CampaignKey::Id(n)),
                _ => Err(format!(
                    "{key:?} is not an id: write #12 or id:12 (for a campaign named {key:?}, \
                     name:{key})"
                )),
            };
        }
        if let Some(name) = key.strip_prefix("name:") {
            return Ok(CampaignKey::Name(name.trim().to_string()));
        }
        if key.is_empty() {
            return Err("no campaign given: write its name, or #ID".into());
        }
        Ok(CampaignKey::Bare(key.to_string()))
    }
}

/// A campaign found by [`resolve`], with a note when the key could have meant
/// another campaign too.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub campaign: Campaign,
    pub note: Option<String>,
}

async fn by_id(pool: &PgPool, id: i64) -> sqlx::Result<Option<Campaign>> {
    sqlx::query_as::<_, Campaign>(sqlx::AssertSqlSafe(format!(
        "SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await
}

async fn by_name(pool: &PgPool, name: &str) -> sqlx::Result<Option<Campaign>> {
    sqlx::query_as::<_, Campaign>(sqlx::AssertSqlSafe(format!(
        "SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE name = $1"
    )))
    .bind(name)
    .fetch_optional(pool)
    .await
}

/// Finds the campaign `key` names (see [`CampaignKey`]). The inner `Err` is
/// for the user: the key is malformed or names no campaign.
pub async fn resolve(pool: &PgPool, key: &str) -> sqlx::Result<Result<Found, String>> {
    let key = match CampaignKey::parse(key) {
        Ok(k) => k,
        Err(why) => return Ok(Err(why)),
    };
    let found = |campaign| {
        Ok(Ok(Found {
            campaign,
            note: None,
        }))
    };
    match key {
        CampaignKey::Id(id) => match by_id(pool, id).await? {
            Some(c) => found(c),
            None => Ok(Err(format!("no campaign with id {id}"))),
        },
        CampaignKey::Name(name) => match by_name(pool, &name).await? {
            Some(c) => found(c),
            None => Ok(Err(format!("no campaign named {name:?}"))),
        },
        CampaignKey::Bare(word) => {
            let id = word.parse::<i64>().ok().filter(|n| *n > 0);
            match (by_name(pool, &word).await?, id) {
                (Some(c), None) => found(c),
                (Some(c), Some(id)) => {
                    let note = match by_id(pool, id).await? {
                        Some(other) if other.id != c.id => Some(format!(
                            "{word:?} is the name of campaign #{}; campaign #{id} is {:?} \
                             (write '#{id}' or id:{id} for it)",
                            c.id, other.name
                        )),
                        _ => None,
                    };
                    Ok(Ok(Found { campaign: c, note }))
                }
                (None, Some(id)) => match by_id(pool, id).await? {
                    Some(c) => found(c),
                    None => Ok(Err(format!(
                        "no campaign named {word:?}, and none with id {id}"
                    ))),
                },
                (None, None) => Ok(Err(format!("no campaign named {word:?}"))),
            }
        }
    }
}

/// [`resolve`] without the explanations: the campaign `key` names, if any.
pub async fn find(pool: &PgPool, key: &str) -> sqlx::Result<Option<Campaign>> {
    Ok(resolve(pool, key).await?.ok().map(|f| f.campaign))
}

/// Campaigns that may send now: active and started (`start_at` passed).
pub async fn sendable(pool: &PgPool) -> sqlx::Result<Vec<Campaign>> {
    sqlx::query_as::<_, Campaign>(sqlx::AssertSqlSafe(format!(
        "SELECT {CAMPAIGN_COLUMNS} FROM campaigns \
         WHERE status = 'active' AND start_at <= now() ORDER BY id"
    )))
    .fetch_all(pool)
    .await
}

/// All campaigns with counts, newest first.
pub async fn list(pool: &PgPool) -> sqlx::Result<Vec<CampaignCounts>> {
    sqlx::query_as::<_, CampaignCounts>(
        r#"
        SELECT c.id, c.name, c.status, c.pause_reason,
               count(r.id) AS total,
               count(r.id) FILTER (WHERE r.state IN ('queued', 'sending', 'retrying')) AS pending,
               count(r.id) FILTER (WHERE r.state = 'sent') AS sent,
               count(r.id) FILTER (WHERE r.state = 'failed') AS failed,
               count(r.id) FILTER (WHERE r.state = 'unknown') AS unknown,
               count(r.id) FILTER (WHERE r.state IN ('invalid', 'duplicate', 'suppressed',
                                                     'cancelled', 'expired')) AS other
        FROM campaigns c
        LEFT JOIN recipients r ON r.campaign_id = c.id
        GROUP BY c.id
        ORDER BY c.id DESC
        "#,
    )
    .fetch_all(pool)
    .await
}

/// Pauses an active campaign with a reason. Returns false if it was not active.
pub async fn pause(pool: &PgPool, id: i64, reason: &str) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE campaigns SET status = 'paused', pause_reason = $2, updated_at = now() \
         WHERE id = $1 AND status = 'active'",
    )
    .bind(id)
    .bind(reason)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Pauses every active campaign: the account itself was refused. Returns
/// the ids paused.
pub async fn pause_all_active(pool: &PgPool, reason: &str) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "UPDATE campaigns SET status = 'paused', pause_reason = $1, updated_at = now() \
         WHERE status = 'active' RETURNING id",
    )
    .bind(reason)
    .fetch_all(pool)
    .await
}

/// Resumes a paused campaign. Returns false if it was not paused. A template
/// that was found missing or unapproved is checked again before the next send.
pub async fn resume(pool: &PgPool, id: i64) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE campaigns SET status = 'active', pause_reason = NULL, updated_at = now(), \
             template_verified = CASE WHEN template_verified IS FALSE THEN NULL \
                                      ELSE template_verified END \
         WHERE id = $1 AND status = 'paused'",
    )
    .bind(id)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Cancels a campaign: unsent recipients become `cancelled`. Returns how many.
/// Recipients already in flight finish and are recorded as they come.
pub async fn cancel(pool: &PgPool, id: i64) -> sqlx::Result<u64> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "UPDATE campaigns SET status = 'cancelled', finished_at = now(), updated_at = now() \
         WHERE id = $1 AND status IN ('active', 'paused')",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let done = sqlx::query(
        "UPDATE recipients SET state = 'cancelled', error = 'the campaign was cancelled', \
             updated_at = now() \
         WHERE campaign_id = $1 AND state IN ('queued', 'retrying')",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(done.rows_affected())
}

/// Puts `unknown` or `failed` recipients back in the queue (attempts reset),
/// and reactivates the campaign if it had completed. A cancelled campaign is
/// left alone (returns 0). Returns how many.
pub async fn requeue(pool: &PgPool, id: i64, state: RequeueState) -> sqlx::Result<u64> {
    let state = match state {
        RequeueState::Unknown => "unknown",
        RequeueState::Failed => "failed",
    };
    let mut tx = pool.begin().await?;
    if state == "unknown" {
        // An `unknown` whose attempt is recorded as a success was sent: its
        // answer arrived after the lease had been rescued. It is `sent`, and
        // not requeued — requeueing it would send it twice.
        sqlx::query(
            "UPDATE recipients r SET state = 'sent', outcome = 'success', sent_at = a.finished_at, \
                 error = 'the attempt recorded a success after the lease was rescued', \
                 updated_at = now() \
             FROM send_attempts a \
             WHERE r.campaign_id = $1 AND r.state = 'unknown' \
               AND a.recipient_id = r.id AND a.lease_token = r.lease_token \
               AND a.outcome = 'success'",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
    }
    let done = sqlx::query(
        "UPDATE recipients r SET state = 'queued', attempts = 0, next_attempt_at = now(), \
             error = NULL, updated_at = now() \
         FROM campaigns c \
         WHERE c.id = r.campaign_id AND r.campaign_id = $1 AND r.state = $2 \
           AND c.status <> 'cancelled'",
    )
    .bind(id)
    .bind(state)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() > 0 {
        sqlx::query(
            "UPDATE campaigns SET status = 'active', finished_at = NULL, updated_at = now() \
             WHERE id = $1 AND status = 'completed'",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(done.rows_affected())
}

/// Recipients of campaigns past `expires_at` that were not sent become `expired`.
pub async fn expire_overdue(pool: &PgPool) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "UPDATE recipients r SET state = 'expired', \
             error = 'not sent before the campaign expired', updated_at = now() \
         FROM campaigns c \
         WHERE r.campaign_id = c.id AND c.expires_at < now() \
           AND c.status IN ('active', 'paused') AND r.state IN ('queued', 'retrying')",
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// Marks campaigns with no recipient left to send as `completed`
/// (`finished_at` set). Returns their ids.
pub async fn finish_completed(pool: &PgPool) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "UPDATE campaigns c SET status = 'completed', finished_at = now(), updated_at = now() \
         WHERE c.status = 'active' AND NOT EXISTS ( \
             SELECT 1 FROM recipients r \
             WHERE r.campaign_id = c.id AND r.state IN ('queued', 'retrying', 'sending')) \
         RETURNING c.id",
    )
    .fetch_all(pool)
    .await
}

/// Records that a campaign sent its first message (`started_at`).
pub async fn mark_started(pool: &PgPool, id: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE campaigns SET started_at = now(), updated_at = now() \
         WHERE id = $1 AND started_at IS NULL",
    )
    .bind(id)
    .execute(pool)
    .await?;
    Ok(())
}

/// Records the outcome of the pre-send template check.
pub async fn set_template_verified(pool: &PgPool, id: i64, verified: bool) -> sqlx::Result<()> {
    sqlx::query("UPDATE campaigns SET template_verified = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(verified)
        .execute(pool)
        .await?;
    Ok(())
}

/// Earliest time anything of an active campaign — other than those in
/// `except` (their send window is closed) — becomes due (None: nothing
/// left). `run --once` exits when this is in the future.
pub async fn next_due_at(pool: &PgPool, except: &[i64]) -> sqlx::Result<Option<DateTime<Utc>>> {
    // One index probe per active campaign (recipients_due is ordered by
    // next_attempt_at within a campaign).
    sqlx::query_scalar(
        "SELECT min(GREATEST(c.start_at, n.next_attempt_at)) \
         FROM campaigns c \
         CROSS JOIN LATERAL ( \
             SELECT r.next_attempt_at FROM recipients r \
             WHERE r.campaign_id = c.id AND r.state IN ('queued', 'retrying') \
             ORDER BY r.next_attempt_at LIMIT 1) n \
         WHERE c.status = 'active' AND c.id <> ALL($1)",
    )
    .bind(except)
    .fetch_one(pool)
    .await
}

/// Recipients of a campaign that are due now (claimable), for progress.
pub async fn due_count(pool: &PgPool, campaign_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT count(*) FROM recipients \
         WHERE campaign_id = $1 AND state IN ('queued', 'retrying') AND next_attempt_at <= now()",
    )
    .bind(campaign_id)
    .fetch_one(pool)
    .await
}

/// The media captured with a campaign.
pub async fn media(pool: &PgPool, campaign_id: i64) -> sqlx::Result<Vec<CampaignMedia>> {
    sqlx::query_as::<_, CampaignMedia>(
        "SELECT m.kind, m.file_name, m.mime_type, m.sha256, b.size_bytes \
         FROM campaign_media m JOIN media_blobs b ON b.sha256 = m.sha256 \
         WHERE m.campaign_id = $1 ORDER BY m.kind",
    )
    .bind(campaign_id)
    .fetch_all(pool)
    .await
}

/// The bytes of a captured media file.
pub async fn media_content(pool: &PgPool, sha256: &[u8]) -> sqlx::Result<Vec<u8>> {
    sqlx::query_scalar("SELECT content FROM media_blobs WHERE sha256 = $1")
        .bind(sha256)
        .fetch_one(pool)
        .await
}

/// Recipients of cancelled campaigns still waiting in the queue (an answer
/// that came back `retrying` after the cancel, a claim released after it)
/// become `cancelled`, so a cancelled campaign ends with every recipient
/// terminal. One probe of the claim index per cancelled campaign.
pub async fn sweep_cancelled(pool: &PgPool) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "UPDATE recipients r SET state = 'cancelled', error = 'the campaign was cancelled', \
             updated_at = now() \
         FROM campaigns c \
         WHERE c.status = 'cancelled' AND r.campaign_id = c.id \
           AND r.state IN ('queued', 'retrying')",
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}
