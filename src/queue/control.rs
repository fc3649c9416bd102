//! Campaign control and lookup: by id or name, list, pause, resume, cancel,
//! requeue, expiry, completion, and what the runner needs to schedule sends.

use chrono::{DateTime, NaiveTime, Utc};
use sqlx::PgPool;

/// A campaign as the runner and the control commands see it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Campaign {
    pub id: i64,
    pub name: String,
    pub status: String,
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
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A campaign with its recipient counts, for `campaign list`.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CampaignCounts {
    pub id: i64,
    pub name: String,
    pub status: String,
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

/// Finds a campaign by id (all digits) or exact name.
pub async fn find(pool: &PgPool, key: &str) -> sqlx::Result<Option<Campaign>> {
    let _ = (pool, key);
    todo!()
}

/// Campaigns that may send now: active and started (`start_at` passed).
pub async fn sendable(pool: &PgPool) -> sqlx::Result<Vec<Campaign>> {
    let _ = pool;
    todo!()
}

/// All campaigns with counts, newest first.
pub async fn list(pool: &PgPool) -> sqlx::Result<Vec<CampaignCounts>> {
    let _ = pool;
    todo!()
}

/// Pauses an active campaign with a reason. Returns false if it was not active.
pub async fn pause(pool: &PgPool, id: i64, reason: &str) -> sqlx::Result<bool> {
    let _ = (pool, id, reason);
    todo!()
}

/// Resumes a paused campaign. Returns false if it was not paused.
pub async fn resume(pool: &PgPool, id: i64) -> sqlx::Result<bool> {
    let _ = (pool, id);
    todo!()
}

/// Cancels a campaign: unsent recipients become `cancelled`. Returns how many.
pub async fn cancel(pool: &PgPool, id: i64) -> sqlx::Result<u64> {
    let _ = (pool, id);
    todo!()
}

/// Puts `unknown` or `failed` recipients back in the queue (attempts reset),
/// and reactivates the campaign if it had completed. Returns how many.
pub async fn requeue(pool: &PgPool, id: i64, state: RequeueState) -> sqlx::Result<u64> {
    let _ = (pool, id, state);
    todo!()
}

/// Recipients of campaigns past `expires_at` that were not sent become `expired`.
pub async fn expire_overdue(pool: &PgPool) -> sqlx::Result<u64> {
    let _ = pool;
    todo!()
}

/// Marks campaigns with no recipient left to send as `completed`
/// (`finished_at` set). Returns their ids.
pub async fn finish_completed(pool: &PgPool) -> sqlx::Result<Vec<i64>> {
    let _ = pool;
    todo!()
}

/// Records that a campaign sent its first message (`started_at`).
pub async fn mark_started(pool: &PgPool, id: i64) -> sqlx::Result<()> {
    let _ = (pool, id);
    todo!()
}

/// Records the outcome of the pre-send template check.
pub async fn set_template_verified(pool: &PgPool, id: i64, verified: bool) -> sqlx::Result<()> {
    let _ = (pool, id, verified);
    todo!()
}

/// Earliest time anything of an active campaign becomes due (None: nothing
/// left). `run --once` exits when this is in the future.
pub async fn next_due_at(pool: &PgPool) -> sqlx::Result<Option<DateTime<Utc>>> {
    let _ = pool;
    todo!()
}

/// Recipients of a campaign that are due now (claimable), for progress.
pub async fn due_count(pool: &PgPool, campaign_id: i64) -> sqlx::Result<i64> {
    let _ = (pool, campaign_id);
    todo!()
}

/// The media captured with a campaign.
pub async fn media(pool: &PgPool, campaign_id: i64) -> sqlx::Result<Vec<CampaignMedia>> {
    let _ = (pool, campaign_id);
    todo!()
}

/// The bytes of a captured media file.
pub async fn media_content(pool: &PgPool, sha256: &[u8]) -> sqlx::Result<Vec<u8>> {
    let _ = (pool, sha256);
    todo!()
}
