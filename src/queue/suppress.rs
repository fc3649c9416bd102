//! The opt-out list: add, remove, list, import, and the checks at load and send
//! time. Numbers are stored canonically (`mobile_code`, `mobile`), so any way
//! of writing a number matches the same entry.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::campaign::phone::PhoneNumber;

/// One entry of the opt-out list.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Serialize)]
pub struct Suppression {
    pub mobile_code: String,
    pub mobile: String,
    pub raw_phone: String,
    pub reason: String,
    pub source: String,
    pub created_at: DateTime<Utc>,
}

/// Adds a number; `false` when it was already on the list (its entry is kept).
pub async fn add(
    pool: &PgPool,
    phone: &PhoneNumber,
    raw_phone: &str,
    reason: &str,
    source: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO suppressions (mobile_code, mobile, raw_phone, reason, source)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (mobile_code, mobile) DO NOTHING",
    )
    .bind(phone.mobile_code())
    .bind(phone.mobile())
    .bind(raw_phone)
    .bind(reason)
    .bind(source)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Adds many numbers at once (`(number, as written)`); returns how many were new.
pub async fn add_many(
    pool: &PgPool,
    numbers: &[(PhoneNumber, String)],
    reason: &str,
    source: &str,
) -> Result<u64, sqlx::Error> {
    let mut added = 0;
    for chunk in numbers.chunks(5_000) {
        let codes: Vec<String> = chunk.iter().map(|(p, _)| p.mobile_code()).collect();
        let mobiles: Vec<&str> = chunk.iter().map(|(p, _)| p.mobile()).collect();
        let raws: Vec<&str> = chunk.iter().map(|(_, r)| r.as_str()).collect();
        let done = sqlx::query(
            "INSERT INTO suppressions (mobile_code, mobile, raw_phone, reason, source)
             SELECT c, m, r, $4, $5 FROM UNNEST($1::text[], $2::text[], $3::text[]) AS t(c, m, r)
             ON CONFLICT (mobile_code, mobile) DO NOTHING",
        )
        .bind(&codes)
        .bind(&mobiles)
        .bind(&raws)
        .bind(reason)
        .bind(source)
        .execute(pool)
        .await?;
        added += done.rows_affected();
    }
    Ok(added)
}

/// Removes a number; `false` when it was not on the list.
pub async fn remove(pool: &PgPool, phone: &PhoneNumber) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM suppressions WHERE mobile_code = $1 AND mobile = $2")
        .bind(phone.mobile_code())
        .bind(phone.mobile())
        .execute(pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// The whole list, oldest first.
pub async fn list(pool: &PgPool) -> Result<Vec<Suppression>, sqlx::Error> {
    sqlx::query_as(
        "SELECT mobile_code, mobile, raw_phone, reason, source, created_at
         FROM suppressions ORDER BY created_at, mobile_code, mobile",
    )
    .fetch_all(pool)
    .await
}

/// Whether one number is on the list (the check just before a send).
pub async fn is_suppressed(pool: &PgPool, phone: &PhoneNumber) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM suppressions WHERE mobile_code = $1 AND mobile = $2)",
    )
    .bind(phone.mobile_code())
    .bind(phone.mobile())
    .fetch_one(pool)
    .await
}

/// Which of these numbers are on the list (one query for a batch of sends).
pub async fn suppressed_among(
    pool: &PgPool,
    phones: &[PhoneNumber],
) -> Result<HashSet<PhoneNumber>, sqlx::Error> {
    if phones.is_empty() {
        return Ok(HashSet::new());
    }
    let codes: Vec<String> = phones.iter().map(|p| p.mobile_code()).collect();
    let mobiles: Vec<&str> = phones.iter().map(|p| p.mobile()).collect();
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT s.mobile_code, s.mobile FROM suppressions s
         JOIN UNNEST($1::text[], $2::text[]) AS t(c, m) ON s.mobile_code = t.c AND s.mobile = t.m",
    )
    .bind(&codes)
    .bind(&mobiles)
    .fetch_all(pool)
    .await?;
    let hits: HashSet<(String, String)> = rows.into_iter().collect();
    Ok(phones
        .iter()
        .filter(|p| hits.contains(&(p.mobile_code(), p.mobile().to_string())))
        .cloned()
        .collect())
}
