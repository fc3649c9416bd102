//! The database side of the tests: campaigns inserted straight into the
//! queue, recipient counts by state, and polling with a deadline.

#![allow(dead_code)]

use std::time::Duration;

use sqlx::PgPool;

/// Inserts a text campaign with `n` queued recipients (+880 1 7xxxxxxxx).
pub async fn seed(pool: &PgPool, name: &str, n: i64) -> i64 {
    seed_with(pool, name, n, "").await
}

/// Like [`seed`], with extra `SET` assignments applied to the campaign row
/// (e.g. `"max_attempts = 3"`).
pub async fn seed_with(pool: &PgPool, name: &str, n: i64, set: &str) -> i64 {
    // One transaction, as a load is: a runner woken by the new campaign's
    // notification finds its recipients there.
    let mut tx = pool.begin().await.unwrap();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO campaigns (name, source_sha256, source_file, message_template) \
         VALUES ($1, sha256($1::bytea), $1 || '.csv', 'Hello {{firstname}}') RETURNING id",
    )
    .bind(name)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    if !set.is_empty() {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE campaigns SET {set} WHERE id = $1"
        )))
        .bind(id)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    sqlx::query(
        "INSERT INTO recipients (campaign_id, row_number, line_number, raw_phone, mobile_code, mobile, state, message) \
         SELECT $1, g, g + 1, '+8801' || lpad(g::text, 9, '0'), '880', '1' || lpad(g::text, 9, '0'), 'queued', \
                'Hello number ' || g \
         FROM generate_series(1, $2) g",
    )
    .bind(id)
    .bind(n)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

/// Recipient counts by state.
pub async fn states(pool: &PgPool, campaign: i64) -> std::collections::BTreeMap<String, i64> {
    sqlx::query_as::<_, (String, i64)>(
        "SELECT state, count(*) FROM recipients WHERE campaign_id = $1 GROUP BY state",
    )
    .bind(campaign)
    .fetch_all(pool)
    .await
    .unwrap()
    .into_iter()
    .collect()
}

/// Polls `f` until it returns true or `within` passes.
pub async fn eventually<F, Fut>(within: Duration, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if f().await {
            return true;
        }
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn non_terminal(states: &std::collections::BTreeMap<String, i64>) -> i64 {
    ["queued", "sending", "retrying"]
        .iter()
        .map(|s| states.get(*s).copied().unwrap_or(0))
        .sum()
}
