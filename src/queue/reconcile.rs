//! The SQL of the read-back (`delivery::reconcile`): which `unknown`
//! recipients to read back and what is known about their last attempt, and
//! recording a decision — the evidence in `read_backs`, and the recipient
//! settled `sent`, sent again (`queued`) or left `unknown`, every write
//! fenced by the attempt's lease token so that nothing a person did since
//! (`requeue`) is undone.

use crate::campaign::status::CampaignStatus;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// An `unknown` recipient and its last attempt.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Candidate {
    pub recipient_id: i64,
    pub campaign_id: i64,
    pub campaign_name: String,
    pub campaign_status: CampaignStatus,
    pub row_number: i32,
    pub mobile_code: String,
    pub mobile: String,
    /// The attempt: its claim's fencing token and its number.
    pub lease_token: i64,
    pub attempt: i32,
    pub max_attempts: i32,
    /// A text of a `create_contacts` campaign: the runner made the number a
    /// contact (`wutt_contacts`) before it sent.
    pub creates_contact: bool,
    /// When the send started (the attempt's `send_attempts` row), if recorded.
    pub send_started_at: Option<DateTime<Utc>>,
    /// The attempt's HTTP status, if it got one.
    pub http_status: Option<i32>,
    /// When the attempt was claimed (set when the row became `unknown`).
    pub claimed_at: Option<DateTime<Utc>>,
    /// When the row became `unknown`.
    pub unknown_at: DateTime<Utc>,
    /// Since when the runner knew the number as a contact.
    pub known_contact_since: Option<DateTime<Utc>>,
    /// Read-backs of this attempt so far.
    pub tries: i64,
}

/// Which candidates to read back.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Due {
    /// The service: rows that became `unknown` between `horizon` and `delay`
    /// ago, not settled, read fewer than `max_tries` times, and whose retry
    /// time (if any) has come; the oldest first, at most `limit`.
    Now {
        delay: Duration,
        horizon: Duration,
        max_tries: i64,
        limit: i64,
    },
    /// `reconcile CAMPAIGN`: every `unknown` recipient of the campaign.
    Campaign(i64),
}

/// The columns of [`Candidate`] and the read-backs of the same attempt;
/// `$where` finishes the statement.
macro_rules! candidates_sql {
    ($where:literal) => {
        concat!(
            "SELECT r.id AS recipient_id, r.campaign_id, c.name AS campaign_name, \
                    c.status AS campaign_status, r.row_number, r.mobile_code, r.mobile, \
                    r.lease_token, r.attempts AS attempt, c.max_attempts, \
                    (c.create_contacts AND COALESCE(r.template_id, \
                        CASE WHEN r.message IS NULL THEN c.template_id END) IS NULL) \
                        AS creates_contact, \
                    a.started_at AS send_started_at, a.http_status, r.claimed_at, \
                    COALESCE(r.unknown_at, r.updated_at) AS unknown_at, \
                    w.seen_at AS known_contact_since, b.tries \
             FROM recipients r \
             JOIN campaigns c ON c.id = r.campaign_id \
             LEFT JOIN send_attempts a ON a.recipient_id = r.id AND a.lease_token = r.lease_token \
             LEFT JOIN wutt_contacts w ON w.mobile_code = r.mobile_code AND w.mobile = r.mobile \
             CROSS JOIN LATERAL ( \
                 SELECT count(*) AS tries, coalesce(bool_or(rb.final), false) AS settled, \
                        max(rb.retry_at) AS retry_at \
                 FROM read_backs rb \
                 WHERE rb.recipient_id = r.id AND rb.lease_token = r.lease_token) b \
             WHERE r.state = 'unknown' AND r.mobile IS NOT NULL AND r.mobile_code IS NOT NULL ",
            $where
        )
    };
}

const DUE_NOW_SQL: &str = candidates_sql!(
    "AND r.unknown_at <= now() - make_interval(secs => $1) \
     AND r.unknown_at > now() - make_interval(secs => $2) \
     AND NOT b.settled AND b.tries < $3 AND (b.retry_at IS NULL OR b.retry_at <= now()) \
     ORDER BY r.unknown_at, r.id LIMIT $4"
);

const CAMPAIGN_SQL: &str = candidates_sql!("AND r.campaign_id = $1 ORDER BY r.row_number");

/// The candidates of `due`.
pub async fn candidates(pool: &PgPool, due: Due) -> sqlx::Result<Vec<Candidate>> {
    match due {
        Due::Now {
            delay,
            horizon,
            max_tries,
            limit,
        } => {
            sqlx::query_as(DUE_NOW_SQL)
                .bind(delay.as_secs_f64())
                .bind(horizon.as_secs_f64())
                .bind(max_tries)
                .bind(limit)
                .fetch_all(pool)
                .await
        }
        Due::Campaign(id) => sqlx::query_as(CAMPAIGN_SQL).bind(id).fetch_all(pool).await,
    }
}

/// Whether the service still has something to read back: a row that
/// became `unknown` within `horizon`, not settled, read fewer than
/// `max_tries` times (whether it is due yet or not). `run --once` waits
/// for it.
pub async fn pending(pool: &PgPool, horizon: Duration, max_tries: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS ( \
             SELECT 1 FROM recipients r \
             CROSS JOIN LATERAL ( \
                 SELECT count(*) AS tries, coalesce(bool_or(rb.final), false) AS settled \
                 FROM read_backs rb \
                 WHERE rb.recipient_id = r.id AND rb.lease_token = r.lease_token) b \
             WHERE r.state = 'unknown' AND r.mobile IS NOT NULL \
               AND r.unknown_at > now() - make_interval(secs => $1) \
               AND NOT b.settled AND b.tries < $2)",
    )
    .bind(horizon.as_secs_f64())
    .bind(max_tries)
    .fetch_one(pool)
    .await
}

/// What the read-back decided for the recipient.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Settle {
    /// Sent (at about this time): the recipient becomes `sent`.
    Sent { sent_at: DateTime<Utc> },
    /// Not sent: back to the queue (this attempt counts) — or `failed` when
    /// the attempts are used up, `cancelled` when the campaign was.
    NotSent,
    /// Undecided: only the evidence is written.
    Unknown,
}

/// One read-back of one attempt, as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Record<'a> {
    pub recipient_id: i64,
    pub campaign_id: i64,
    pub lease_token: i64,
    pub attempt: i32,
    pub attempt_started_at: Option<DateTime<Utc>>,
    /// `send` or `claim`.
    pub started_from: Option<&'a str>,
    pub read_at: DateTime<Utc>,
    pub settle: Settle,
    /// `sent`, `not_sent` or `unknown`.
    pub verdict: &'a str,
    pub rule: &'a str,
    pub final_: bool,
    pub retry_at: Option<DateTime<Utc>>,
    /// `run` or `reconcile`.
    pub source: &'a str,
    pub worker: &'a str,
    pub conversation_id: Option<i64>,
    pub last_message_at: Option<DateTime<Utc>>,
    pub contact_created_at: Option<DateTime<Utc>>,
    pub known_contact_since: Option<DateTime<Utc>>,
    pub offset_ms: Option<f64>,
    pub uncertainty_ms: Option<f64>,
    pub detail: &'a str,
    pub seen: &'a serde_json::Value,
}

/// What recording did to the recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// The recipient had moved on (requeued, or settled by another
    /// process): only the evidence was kept.
    Superseded,
    /// The recipient is now in this state (`sent`, `queued`, `failed`,
    /// `cancelled`, or still `unknown` with the evidence).
    State(String),
}

/// Records one read-back in one transaction: the recipient settled as
/// `settle` says if it is still `unknown` from the same attempt, and the
/// evidence in `read_backs` either way. A recipient sent again wakes the
/// runners, and its campaign becomes active again if it had completed.
pub async fn record(pool: &PgPool, r: &Record<'_>) -> sqlx::Result<Recorded> {
    let mut tx = pool.begin().await?;
    let state: Option<String> = match r.settle {
        Settle::Sent { sent_at } => {
            sqlx::query_scalar(
                "UPDATE recipients SET state = 'sent', sent_at = $3, \
                     error = 'sent: confirmed by reading the server back (attempt ' \
                             || $4::int4 || '): ' || $5, \
                     read_back_verdict = $6, read_back_rule = $7, read_back_at = $8, \
                     read_back_attempt = $4, read_back_detail = $5, updated_at = now() \
                 WHERE id = $1 AND lease_token = $2 AND state = 'unknown' \
                 RETURNING state",
            )
            .bind(r.recipient_id)
            .bind(r.lease_token)
            .bind(sent_at)
            .bind(r.attempt)
            .bind(r.detail)
            .bind(r.verdict)
            .bind(r.rule)
            .bind(r.read_at)
            .fetch_optional(&mut *tx)
            .await?
        }
        Settle::NotSent => {
            let state: Option<String> = sqlx::query_scalar(
                "UPDATE recipients r SET \
                     state = CASE WHEN c.status = 'cancelled' THEN 'cancelled' \
                                  WHEN r.attempts >= c.max_attempts THEN 'failed' \
                                  ELSE 'queued' END, \
                     next_attempt_at = now(), \
                     error = CASE \
                         WHEN c.status = 'cancelled' THEN 'the campaign was cancelled; attempt ' \
                              || $3::int4 || ' was not sent, as read back: ' || $4 \
                         WHEN r.attempts >= c.max_attempts THEN 'not sent, as read back (attempt ' \
                              || $3::int4 || ', max_attempts used up): ' || $4 \
                         ELSE 'not sent, as read back (attempt ' || $3::int4 \
                              || '), so queued again: ' || $4 END, \
                     read_back_verdict = $5, read_back_rule = $6, read_back_at = $7, \
                     read_back_attempt = $3, read_back_detail = $4, updated_at = now() \
                 FROM campaigns c \
                 WHERE c.id = r.campaign_id AND r.id = $1 AND r.lease_token = $2 \
                   AND r.state = 'unknown' \
                 RETURNING r.state",
            )
            .bind(r.recipient_id)
            .bind(r.lease_token)
            .bind(r.attempt)
            .bind(r.detail)
            .bind(r.verdict)
            .bind(r.rule)
            .bind(r.read_at)
            .fetch_optional(&mut *tx)
            .await?;
            if state.as_deref() == Some("queued") {
                sqlx::query(
                    "UPDATE campaigns SET status = 'active', finished_at = NULL, \
                         updated_at = now() \
                     WHERE id = $1 AND status = 'completed'",
                )
                .bind(r.campaign_id)
                .execute(&mut *tx)
                .await?;
                sqlx::query("SELECT pg_notify($1, '')")
                    .bind(super::throttle::WORK_CHANNEL)
                    .execute(&mut *tx)
                    .await?;
            }
            state
        }
        Settle::Unknown => {
            sqlx::query_scalar(
                "UPDATE recipients SET read_back_verdict = $3, read_back_rule = $4, \
                     read_back_at = $5, read_back_attempt = $6, read_back_detail = $7 \
                 WHERE id = $1 AND lease_token = $2 AND state = 'unknown' \
                 RETURNING state",
            )
            .bind(r.recipient_id)
            .bind(r.lease_token)
            .bind(r.verdict)
            .bind(r.rule)
            .bind(r.read_at)
            .bind(r.attempt)
            .bind(r.detail)
            .fetch_optional(&mut *tx)
            .await?
        }
    };
    sqlx::query(
        "INSERT INTO read_backs (recipient_id, campaign_id, lease_token, attempt, \
             attempt_started_at, started_from, read_at, verdict, rule, final, retry_at, \
             applied, source, worker, conversation_id, last_message_at, contact_created_at, \
             known_contact_since, offset_ms, uncertainty_ms, detail, seen) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
                 $18, $19, $20, $21, $22)",
    )
    .bind(r.recipient_id)
    .bind(r.campaign_id)
    .bind(r.lease_token)
    .bind(r.attempt)
    .bind(r.attempt_started_at)
    .bind(r.started_from)
    .bind(r.read_at)
    .bind(r.verdict)
    .bind(r.rule)
    .bind(r.final_)
    .bind(r.retry_at)
    .bind(state.is_some() && r.settle != Settle::Unknown)
    .bind(r.source)
    .bind(r.worker)
    .bind(r.conversation_id)
    .bind(r.last_message_at)
    .bind(r.contact_created_at)
    .bind(r.known_contact_since)
    .bind(r.offset_ms)
    .bind(r.uncertainty_ms)
    .bind(r.detail)
    .bind(r.seen)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(state.map_or(Recorded::Superseded, Recorded::State))
}
