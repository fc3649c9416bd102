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
use sqlx::{PgPool, Row as _};

use crate::campaign::phone::PhoneNumber;
use crate::wutt::{OutcomeClass, Reply};

/// The claim: `$1` campaign, `$2` batch size, `$3` worker, `$4` lease in
/// seconds. The inner SELECT walks the partial index `recipients_due` in its
/// own order, so the claim is an index scan however large the queue is.
/// `bench/claim_complete.sql` runs this very text (a unit test checks it).
const CLAIM_SQL: &str = r#"
WITH due AS (
    SELECT r.id, (s.mobile IS NOT NULL) AS opted_out
    FROM recipients r
    LEFT JOIN suppressions s
           ON s.mobile_code = r.mobile_code AND s.mobile = r.mobile
    WHERE r.campaign_id = $1
      AND r.state IN ('queued', 'retrying')
      AND r.next_attempt_at <= now()
      AND EXISTS (SELECT 1 FROM campaigns c WHERE c.id = $1 AND c.status = 'active')
    ORDER BY r.next_attempt_at, r.id
    LIMIT $2
    FOR UPDATE OF r SKIP LOCKED
)
UPDATE recipients r SET
    state            = CASE WHEN due.opted_out THEN 'suppressed' ELSE 'sending' END,
    attempts         = r.attempts + CASE WHEN due.opted_out THEN 0 ELSE 1 END,
    lease_token      = r.lease_token + 1,
    lease_owner      = CASE WHEN due.opted_out THEN NULL ELSE $3 END,
    lease_expires_at = CASE WHEN due.opted_out THEN NULL
                            ELSE now() + make_interval(secs => $4) END,
    error            = CASE WHEN due.opted_out THEN 'on the opt-out list' ELSE r.error END,
    updated_at       = now()
FROM due
WHERE r.id = due.id
RETURNING r.id, r.campaign_id, r.row_number, r.lease_token, r.attempts, r.state,
          r.mobile_code, r.mobile, r.template_id, r.message, r.from_number,
          r.body_variables, r.header_variables, r.firstname, r.lastname
"#;

/// The batched completion: one array per column (`$1`..`$18`, in the order
/// of [`Columns`]), one `send_attempts` row per call, and the recipient rows
/// whose lease token still matches. `bench/claim_complete.sql` runs this very
/// text (a unit test checks it).
const COMPLETE_SQL: &str = r#"
WITH u AS (
    SELECT * FROM UNNEST(
        $1::int8[], $2::int8[], $3::int8[], $4::int4[], $5::text[], $6::text[],
        $7::int4[], $8::timestamptz[], $9::int4[], $10::text[], $11::text[],
        $12::jsonb[], $13::jsonb[], $14::jsonb[], $15::text[], $16::text[],
        $17::timestamptz[], $18::timestamptz[]
    ) AS u(id, campaign_id, token, attempt, worker, state, refund, next_at, http_status,
           outcome, remark, messages, data, envelope, excerpt, error, started_at, finished_at)
),
attempts AS (
    INSERT INTO send_attempts (recipient_id, campaign_id, attempt, lease_token, worker,
                               started_at, finished_at, duration_ms, http_status, outcome,
                               remark, messages, envelope, body_excerpt, error)
    SELECT id, campaign_id, attempt, token, worker, started_at, finished_at,
           GREATEST(0, (EXTRACT(EPOCH FROM (finished_at - started_at)) * 1000)::int),
           http_status, outcome, remark,
           CASE WHEN messages IS NULL THEN NULL
                ELSE ARRAY(SELECT jsonb_array_elements_text(messages)) END,
           envelope, excerpt, error
    FROM u
    ON CONFLICT (recipient_id, lease_token) DO NOTHING
)
UPDATE recipients r SET
    state            = u.state,
    attempts         = r.attempts - u.refund,
    next_attempt_at  = COALESCE(u.next_at, r.next_attempt_at),
    lease_owner      = NULL,
    lease_expires_at = NULL,
    outcome          = u.outcome,
    http_status      = u.http_status,
    remark           = u.remark,
    messages         = CASE WHEN u.messages IS NULL THEN NULL
                            ELSE ARRAY(SELECT jsonb_array_elements_text(u.messages)) END,
    data             = u.data,
    error            = u.error,
    sent_at          = CASE WHEN u.state = 'sent' THEN u.finished_at ELSE r.sent_at END,
    updated_at       = now()
FROM u
WHERE r.id = u.id AND r.lease_token = u.token AND r.state = 'sending'
RETURNING r.id
"#;

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
    /// The template's rendered body and header parameters, in order.
    pub body_variables: Vec<String>,
    pub header_variables: Vec<String>,
    /// The names a contact is created with (`create_contacts` campaigns).
    pub firstname: Option<String>,
    pub lastname: Option<String>,
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
    /// Why, in words, when the resolution is not `Sent`; for `Sent`, a note
    /// (stored in `error`).
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
/// instead of being handed out (the last check before the send).
pub async fn claim(
    pool: &PgPool,
    campaign_id: i64,
    worker: &str,
    limit: i64,
    lease: Duration,
) -> sqlx::Result<Vec<Claimed>> {
    let rows = sqlx::query(CLAIM_SQL)
        .bind(campaign_id)
        .bind(limit)
        .bind(worker)
        .bind(lease.as_secs_f64())
        .fetch_all(pool)
        .await?;

    let mut claimed = Vec::with_capacity(rows.len());
    for row in rows {
        let state: String = row.try_get("state")?;
        if state != "sending" {
            continue;
        }
        let code: String = row.try_get("mobile_code")?;
        let mobile: String = row.try_get("mobile")?;
        let code: u16 = code.parse().map_err(|_| {
            sqlx::Error::Decode(format!("stored mobile_code {code:?} is not a calling code").into())
        })?;
        claimed.push(Claimed {
            recipient_id: row.try_get("id")?,
            campaign_id: row.try_get("campaign_id")?,
            row_number: row.try_get("row_number")?,
            lease_token: row.try_get("lease_token")?,
            attempt: row.try_get("attempts")?,
            phone: PhoneNumber::from_canonical(code, mobile),
            template_id: row.try_get("template_id")?,
            message: row.try_get("message")?,
            from_number: row.try_get("from_number")?,
            body_variables: row
                .try_get::<Option<Vec<String>>, _>("body_variables")?
                .unwrap_or_default(),
            header_variables: row
                .try_get::<Option<Vec<String>>, _>("header_variables")?
                .unwrap_or_default(),
            firstname: row.try_get("firstname")?,
            lastname: row.try_get("lastname")?,
        });
    }
    claimed.sort_by_key(|c| c.recipient_id);
    Ok(claimed)
}

/// Columns of a completion batch, one vector per column, for UNNEST.
#[derive(Default)]
struct Columns {
    id: Vec<i64>,
    campaign: Vec<i64>,
    token: Vec<i64>,
    attempt: Vec<i32>,
    worker: Vec<String>,
    state: Vec<&'static str>,
    refund: Vec<i32>,
    next_at: Vec<Option<DateTime<Utc>>>,
    http_status: Vec<Option<i32>>,
    outcome: Vec<&'static str>,
    remark: Vec<Option<String>>,
    messages: Vec<Option<serde_json::Value>>,
    data: Vec<Option<serde_json::Value>>,
    envelope: Vec<Option<serde_json::Value>>,
    excerpt: Vec<Option<String>>,
    error: Vec<Option<String>>,
    started: Vec<DateTime<Utc>>,
    finished: Vec<DateTime<Utc>>,
}

impl Columns {
    fn push(&mut self, c: &Completion) {
        let (state, refund, next_at) = match c.resolution {
            Resolution::Sent => ("sent", 0, None),
            Resolution::Failed => ("failed", 0, None),
            Resolution::Retry { at, refund } => ("retrying", i32::from(refund), Some(at)),
            Resolution::Unknown => ("unknown", 0, None),
            Resolution::Requeue => ("queued", 1, None),
        };
        let envelope = c.reply.envelope.as_ref();
        self.id.push(c.recipient_id);
        self.campaign.push(c.campaign_id);
        self.token.push(c.lease_token);
        self.attempt.push(c.attempt);
        self.worker.push(c.worker.clone());
        self.state.push(state);
        self.refund.push(refund);
        self.next_at.push(next_at);
        self.http_status.push(c.reply.http_status.map(i32::from));
        self.outcome.push(c.outcome.as_str());
        self.remark.push(envelope.map(|e| e.remark.clone()));
        self.messages
            .push(envelope.map(|e| serde_json::json!(e.message)));
        self.data.push(envelope.and_then(|e| e.data.clone()));
        self.envelope
            .push(envelope.and_then(|e| serde_json::to_value(e).ok()));
        self.excerpt.push(c.reply.body_excerpt.clone());
        self.error
            .push(c.error.clone().or_else(|| c.reply.error.clone()));
        self.started.push(c.started_at);
        self.finished.push(c.finished_at);
    }
}

/// Records a batch of finished attempts in one round-trip: one
/// `send_attempts` row per call, and the recipient rows whose lease token
/// still matches.
pub async fn complete<'a>(
    pool: &PgPool,
    batch: impl IntoIterator<Item = &'a Completion>,
) -> sqlx::Result<Completed> {
    let mut cols = Columns::default();
    for c in batch {
        cols.push(c);
    }
    if cols.id.is_empty() {
        return Ok(Completed::default());
    }
    let updated: Vec<i64> = sqlx::query_scalar(COMPLETE_SQL)
        .bind(&cols.id)
        .bind(&cols.campaign)
        .bind(&cols.token)
        .bind(&cols.attempt)
        .bind(&cols.worker)
        .bind(&cols.state)
        .bind(&cols.refund)
        .bind(&cols.next_at)
        .bind(&cols.http_status)
        .bind(&cols.outcome)
        .bind(&cols.remark)
        .bind(&cols.messages)
        .bind(&cols.data)
        .bind(&cols.envelope)
        .bind(&cols.excerpt)
        .bind(&cols.error)
        .bind(&cols.started)
        .bind(&cols.finished)
        .fetch_all(pool)
        .await?;

    let updated: std::collections::HashSet<i64> = updated.into_iter().collect();
    let fenced_off = cols
        .id
        .iter()
        .copied()
        .filter(|id| !updated.contains(id))
        .collect();
    Ok(Completed {
        applied: updated.len() as u64,
        fenced_off,
    })
}

/// Gives claimed-but-unsent recipients back (graceful stop, campaign paused
/// before the send): `queued`/`retrying` again, attempt refunded. Takes
/// `(recipient_id, lease_token)` pairs.
pub async fn release(pool: &PgPool, claims: &[(i64, i64)]) -> sqlx::Result<u64> {
    if claims.is_empty() {
        return Ok(0);
    }
    let (ids, tokens): (Vec<i64>, Vec<i64>) = claims.iter().copied().unzip();
    let done = sqlx::query(
        r#"
        UPDATE recipients r SET
            state            = CASE WHEN r.attempts <= 1 THEN 'queued' ELSE 'retrying' END,
            attempts         = GREATEST(0, r.attempts - 1),
            lease_owner      = NULL,
            lease_expires_at = NULL,
            updated_at       = now()
        FROM UNNEST($1::int8[], $2::int8[]) AS u(id, token)
        WHERE r.id = u.id AND r.lease_token = u.token AND r.state = 'sending'
        "#,
    )
    .bind(&ids)
    .bind(&tokens)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// Rows whose lease expired while `sending` (their worker died) may have been
/// sent: they become `unknown`, never resent on their own. Returns how many.
pub async fn rescue_expired(pool: &PgPool) -> sqlx::Result<u64> {
    let done = sqlx::query(
        r#"
        UPDATE recipients SET
            state            = 'unknown',
            outcome          = 'ambiguous',
            error            = 'the lease expired while sending (the worker stopped): '
                               || 'the message may have been sent',
            lease_owner      = NULL,
            lease_expires_at = NULL,
            updated_at       = now()
        WHERE state = 'sending' AND lease_expires_at < now()
        "#,
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `sql` as the pgbench script writes it: `$n` becomes `:name[n - 1]`,
    /// runs of whitespace become one space.
    fn pgbench_form(sql: &str, names: &[&str]) -> String {
        let mut sql = sql.to_string();
        for (n, name) in names.iter().enumerate().rev() {
            sql = sql.replace(&format!("${}", n + 1), &format!(":{name}"));
        }
        sql.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// The benchmark's yardstick must run the runner's own SQL, or the
    /// comparison in the README means nothing.
    #[test]
    fn the_pgbench_script_runs_the_runners_sql() {
        let script = include_str!("../../bench/claim_complete.sql");
        let script = script.split_whitespace().collect::<Vec<_>>().join(" ");
        let claim = pgbench_form(CLAIM_SQL, &["cid", "batch", "worker", "lease_secs"]);
        let complete = pgbench_form(
            COMPLETE_SQL,
            &[
                "ids",
                "campaigns",
                "tokens",
                "attempts",
                "workers",
                "states",
                "refunds",
                "next_ats",
                "statuses",
                "outcomes",
                "remarks",
                "messages",
                "datas",
                "envelopes",
                "excerpts",
                "errors",
                "starts",
                "finishes",
            ],
        );
        assert!(script.contains(&claim), "claim SQL differs:\n{claim}");
        assert!(
            script.contains(&complete),
            "completion SQL differs:\n{complete}"
        );
    }
}
