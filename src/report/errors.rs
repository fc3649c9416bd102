//! The `campaign_errors` view: what did not get through, grouped by reason.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// One group of recipients that failed (or may not have been sent) the same way.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ErrorGroup {
    pub campaign_id: i64,
    pub campaign_name: String,
    pub outcome: Option<String>,
    pub remark: Option<String>,
    pub message: Option<String>,
    pub recipients: i64,
    pub example_mobile: Option<String>,
    pub last_seen: Option<DateTime<Utc>>,
}

/// Error groups of one campaign (or all), largest first.
pub async fn error_groups(pool: &PgPool, campaign: Option<i64>) -> sqlx::Result<Vec<ErrorGroup>> {
    sqlx::query_as::<_, ErrorGroup>(
        "SELECT campaign_id, campaign_name, outcome, remark, message, recipients, \
                example_mobile, last_seen \
         FROM campaign_errors \
         WHERE $1::int8 IS NULL OR campaign_id = $1 \
         ORDER BY campaign_id, recipients DESC, outcome, remark",
    )
    .bind(campaign)
    .fetch_all(pool)
    .await
}
