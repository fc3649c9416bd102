//! Campaign lookup (by id or name), summary rows from `campaign_summary`, and
//! the queue depth per campaign for the metrics endpoint.

use crate::campaign::status::CampaignStatus;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;

/// A campaign named on the command line.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CampaignRef {
    pub id: i64,
    pub name: String,
}

/// Finds a campaign as every command does (`NAME`, `#ID`, `id:ID`,
/// `name:NAME`): see [`crate::queue::control::CampaignKey`].
pub async fn find_campaign(pool: &PgPool, key: &str) -> sqlx::Result<Option<CampaignRef>> {
    Ok(crate::queue::control::find(pool, key)
        .await?
        .map(|c| CampaignRef {
            id: c.id,
            name: c.name,
        }))
}

/// One row of the `campaign_summary` view.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct CampaignSummary {
    pub campaign_id: i64,
    pub campaign_name: String,
    pub status: CampaignStatus,
    pub total: i64,
    pub queued: i64,
    pub sending: i64,
    pub retrying: i64,
    pub sent: i64,
    pub failed: i64,
    pub unknown: i64,
    pub invalid: i64,
    pub duplicate: i64,
    pub suppressed: i64,
    pub cancelled: i64,
    pub expired: i64,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub pause_reason: Option<String>,
}

impl CampaignSummary {
    /// The state counts in [`super::STATES`] order.
    pub fn counts(&self) -> [i64; 11] {
        [
            self.queued,
            self.sending,
            self.retrying,
            self.sent,
            self.failed,
            self.unknown,
            self.invalid,
            self.duplicate,
            self.suppressed,
            self.cancelled,
            self.expired,
        ]
    }

    /// Recipients not yet in a terminal state.
    pub fn left(&self) -> i64 {
        self.queued + self.sending + self.retrying
    }
}

/// Summary of one campaign, or of every campaign (by id) when `campaign` is `None`.
pub async fn summaries(pool: &PgPool, campaign: Option<i64>) -> sqlx::Result<Vec<CampaignSummary>> {
    match campaign {
        Some(id) => {
            sqlx::query_as::<_, CampaignSummary>(
                "SELECT * FROM campaign_summary WHERE campaign_id = $1",
            )
            .bind(id)
            .fetch_all(pool)
            .await
        }
        None => {
            sqlx::query_as::<_, CampaignSummary>(
                "SELECT * FROM campaign_summary ORDER BY campaign_id",
            )
            .fetch_all(pool)
            .await
        }
    }
}

/// Recipients waiting or in flight (queued, sending, retrying) per campaign
/// that has any. Counted straight from `recipients` through the
/// `recipients_campaign_state` index, so it stays cheap with many campaigns.
pub async fn queue_depths(pool: &PgPool) -> sqlx::Result<Vec<(i64, i64)>> {
    sqlx::query_as::<_, (i64, i64)>(
        "SELECT campaign_id, count(*) FROM recipients \
         WHERE state IN ('queued', 'sending', 'retrying') GROUP BY campaign_id",
    )
    .fetch_all(pool)
    .await
}
