//! Campaign control the web console and `campaign approve` add to
//! [`super::control`]: approving a `draft` campaign (manifest
//! `require_approval = true`), and cancelling one that was never approved.

use sqlx::PgPool;

/// Starts a `draft` campaign. Returns false if it was not a draft.
pub async fn approve(pool: &PgPool, id: i64) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE campaigns SET status = 'active', pause_reason = NULL, updated_at = now() \
         WHERE id = $1 AND status = 'draft'",
    )
    .bind(id)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Cancels a `draft` campaign: its queued recipients become `cancelled`.
/// Returns how many (None: it was not a draft).
pub async fn cancel_draft(pool: &PgPool, id: i64) -> sqlx::Result<Option<u64>> {
    let mut tx = pool.begin().await?;
    let done = sqlx::query(
        "UPDATE campaigns SET status = 'cancelled', finished_at = now(), updated_at = now() \
         WHERE id = $1 AND status = 'draft'",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(None);
    }
    let n = sqlx::query(
        "UPDATE recipients SET state = 'cancelled', error = 'the campaign was cancelled', \
             updated_at = now() \
         WHERE campaign_id = $1 AND state IN ('queued', 'retrying')",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(n.rows_affected()))
}
