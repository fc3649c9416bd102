//! Claiming due recipients with `FOR UPDATE SKIP LOCKED` under a lease,
//! batched completion fenced by the lease token, lease rescue and release.
//!
//! The life of a claim: [`claim`] marks a batch `sending` (one statement, one
//! commit — no transaction is ever held across an HTTP call), the worker sends,
//! and [`complete`] writes many outcomes in one round-trip. Every write checks
//! the lease token the claim handed out, so a worker whose lease expired and
//! was rescued can no longer change the row.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::campaign::phone::PhoneNumber;
use crate::wutt::{OutcomeClass, Reply};

/// A recipient claimed for sending.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    pub recipient_id: i64,
    pub campaign_id: i64,
    pub row_number: i32,
    /// Fencing token of this claim.
    pub lease_token: i64,
    /// The attempt this claim is (1 for the first send).
    pub attempt: i32,
    pub phone: PhoneNumber,
    /// Per-row values after manifest defaults (the campaign's apply when `None`).
    pub template_id: Option<i64>,
    pub message: Option<String>,
    pub from_number: Option<String>,
}

/// What a finished attempt means for its recipient.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Resolution {
    /// Accepted by the API → `sent`.
    Sent,
    /// Refused for this recipient, or transient failures exhausted → `failed`.
    Failed,
    /// Try again at the given time → `retrying`. `refund` gives the attempt
    /// back (a throttled call is not counted against `max_attempts`).
    Retry { at: DateTime<Utc>, refund: bool },
    /// Maybe sent → `unknown`, never resent on its own.
    Unknown,
    /// The account was refused: back to `queued`, attempt not counted.
    Requeue,
}

/// One finished HTTP call and its consequence.
#[derive(Debug, Clone)]
pub struct Completion {
    pub recipient_id: i64,
    pub campaign_id: i64,
    pub lease_token: i64,
    pub attempt: i32,
    pub worker: String,
    pub resolution: Resolution,
    pub outcome: OutcomeClass,
    pub reply: Reply,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// Why, in words, when the resolution is not `Sent` (stored in `error`).
    pub error: Option<String>,
}

/// Result of a batched completion.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Completed {
    /// Recipients whose row was updated.
    pub applied: u64,
    /// Recipients whose lease had been taken over: their row was left alone
    /// (the attempt itself is still recorded).
    pub fenced_off: Vec<i64>,
}

/// Claims up to `limit` due recipients of an active campaign for `worker`.
/// Recipients found on the opt-out list at this moment become `suppressed`
/// instead of being handed out.
pub async fn claim(
    pool: &PgPool,
    campaign_id: i64,
    worker: &str,
    limit: i64,
    lease: Duration,
) -> sqlx::Result<Vec<Claimed>> {
    let _ = (pool, campaign_id, worker, limit, lease);
    todo!()
}

/// Records a batch of finished attempts in one round-trip.
pub async fn complete(pool: &PgPool, batch: &[Completion]) -> sqlx::Result<Completed> {
    let _ = (pool, batch);
    todo!()
}

/// Gives claimed-but-unsent recipients back (graceful stop, campaign paused
/// before the send): `queued`/`retrying` again, attempt refunded.
pub async fn release(pool: &PgPool, claims: &[(i64, i64)]) -> sqlx::Result<u64> {
    let _ = (pool, claims);
    todo!()
}

/// Rows whose lease expired while `sending` (their worker died) may have been
/// sent: they become `unknown`. Returns how many.
pub async fn rescue_expired(pool: &PgPool) -> sqlx::Result<u64> {
    let _ = pool;
    todo!()
}
