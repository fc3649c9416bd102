//! Numbers known to be Wutt contacts of the account (`wutt_contacts`): found
//! in the contact list or created by the runner, so each number is looked up
//! or created once, whatever campaign or process meets it next.

use sqlx::PgPool;

/// Whether the number is known to be a contact.
pub async fn is_known(pool: &PgPool, mobile_code: &str, mobile: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM wutt_contacts WHERE mobile_code = $1 AND mobile = $2)",
    )
    .bind(mobile_code)
    .bind(mobile)
    .fetch_one(pool)
    .await
}

/// What the runner learnt about one number.
#[derive(Debug, Clone, PartialEq)]
pub struct KnownContact<'a> {
    pub mobile_code: &'a str,
    pub mobile: &'a str,
    pub contact_id: Option<i64>,
    /// Created by the runner (else found in the contact list).
    pub created: bool,
    pub campaign_id: i64,
    /// The answer of the call that settled it.
    pub envelope: Option<serde_json::Value>,
}

/// Remembers a contact (the first record of a number wins).
pub async fn remember(pool: &PgPool, c: &KnownContact<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO wutt_contacts (mobile_code, mobile, contact_id, created, campaign_id, envelope) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (mobile_code, mobile) DO NOTHING",
    )
    .bind(c.mobile_code)
    .bind(c.mobile)
    .bind(c.contact_id)
    .bind(c.created)
    .bind(c.campaign_id)
    .bind(&c.envelope)
    .execute(pool)
    .await?;
    Ok(())
}

/// How many contacts the runner created (for one campaign, or all).
pub async fn created_count(pool: &PgPool, campaign_id: Option<i64>) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT count(*) FROM wutt_contacts WHERE created AND ($1::int8 IS NULL OR campaign_id = $1)",
    )
    .bind(campaign_id)
    .fetch_one(pool)
    .await
}
