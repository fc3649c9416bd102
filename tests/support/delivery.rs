//! Helpers shared by the delivery tests: campaigns inserted straight into the
//! queue, a runner configuration for tests, and polling with a deadline.

#![allow(dead_code)]

use std::time::Duration;

use sqlx::PgPool;
use wutt_campaign::config::Secret;
use wutt_campaign::delivery::{BreakerConfig, DeliveryConfig, RetryPolicy, ThrottleConfig};
use wutt_campaign::wutt::{Client, ClientConfig};

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

pub fn client(base: &str, secret: &str, timeout: Duration) -> Client {
    Client::new(ClientConfig {
        base_url: url::Url::parse(base).unwrap(),
        client_id: "test-id".into(),
        client_secret: Secret::new(secret),
        connect_timeout: Duration::from_secs(2),
        timeout,
        user_agent: "wutt-campaign-test".into(),
    })
    .unwrap()
}

pub fn config(rate: f64, concurrency: usize) -> DeliveryConfig {
    DeliveryConfig {
        worker_id: wutt_campaign::delivery::worker_id(),
        batch_size: 50,
        lease: Duration::from_secs(30),
        concurrency,
        request_timeout: Duration::from_secs(5),
        retry: RetryPolicy {
            base: Duration::from_millis(50),
            max: Duration::from_millis(500),
            pair_wait: Duration::from_millis(200),
        },
        breaker: BreakerConfig::default(),
        throttle: ThrottleConfig {
            account_key: format!("account:test-{}", rand::random::<u32>()),
            rate,
            burst: wutt_campaign::delivery::throttle::default_burst(rate),
            per_number_rate: None,
        },
        daily_unique_limit: None,
        once_horizon: Duration::from_secs(5),
        poll_interval: Duration::from_millis(200),
    }
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
