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
/// whose lease token still matches — `sending`, or `unknown` because the
/// rescuer saw the lease expire before this answer could be written (the
/// answer is what happened, so a late success is `sent`, never hidden).
/// A retry time is re-based on the database's clock (`next_at − finished_at`
/// is the wait the runner chose), the clock the claim compares it with. `bench/claim_complete.sql` runs this very
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
    next_attempt_at  = COALESCE(now() + (u.next_at - u.finished_at), r.next_attempt_at),
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
WHERE r.id = u.id AND r.lease_token = u.token
  AND (r.state = 'sending' OR (r.state = 'unknown' AND r.dispatched_token = u.token))
RETURNING r.id
"#;

/// The dispatch gate: `$1` recipient ids, `$2` their lease tokens, `$3` the
/// seconds a request may take. Run for a group of claimed recipients right
/// before their requests leave, it is the last word on each:
/// - on the opt-out list now → `suppressed`;
/// - campaign cancelled → `cancelled`; paused (or its lease too short for the
///   request to finish inside it) → back to the queue;
/// - otherwise `go`: the lease token is written to `dispatched_token`, so a
///   rescuer finding the lease expired knows a request may have left.
///
/// Every row not sent gets its attempt back. The state and token conditions
/// sit in the UPDATE's own WHERE, so a row the rescuer changed meanwhile is
/// re-checked and skipped (it is not returned: nothing is sent).
const GATE_SQL: &str = r#"
WITH g AS (
    SELECT r.id, u.token,
           CASE WHEN s.mobile IS NOT NULL THEN 'suppressed'
                WHEN c.status = 'cancelled' THEN 'cancelled'
                WHEN c.status = 'active'
                 AND r.lease_expires_at > now() + make_interval(secs => $3) THEN 'go'
                ELSE 'release' END AS verdict
    FROM UNNEST($1::int8[], $2::int8[]) AS u(id, token)
    JOIN recipients r ON r.id = u.id
    JOIN campaigns c ON c.id = r.campaign_id
    LEFT JOIN suppressions s ON s.mobile_code = r.mobile_code AND s.mobile = r.mobile
)
UPDATE recipients r SET
    state            = CASE g.verdict WHEN 'go' THEN 'sending'
                                      WHEN 'release' THEN CASE WHEN r.attempts <= 1
                                                               THEN 'queued' ELSE 'retrying' END
                                      ELSE g.verdict END,
    attempts         = CASE WHEN g.verdict = 'go' THEN r.attempts
                            ELSE GREATEST(0, r.attempts - 1) END,
    dispatched_token = CASE WHEN g.verdict = 'go' THEN r.lease_token ELSE r.dispatched_token END,
    lease_owner      = CASE WHEN g.verdict = 'go' THEN r.lease_owner END,
    lease_expires_at = CASE WHEN g.verdict = 'go' THEN r.lease_expires_at END,
    error            = CASE g.verdict WHEN 'suppressed' THEN 'on the opt-out list'
                                      WHEN 'cancelled' THEN 'the campaign was cancelled'
                                      ELSE r.error END,
    updated_at       = now()
FROM g
WHERE r.id = g.id AND r.lease_token = g.token AND r.state = 'sending'
RETURNING r.id, g.verdict
"#;

/// The gate's word on one claimed recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Send it now.
    Go,
    /// On the opt-out list: `suppressed`, not sent.
    Suppressed,
    /// Back in the queue (campaign paused, or too little lease left).
    Released,
    /// The campaign was cancelled: `cancelled`, not sent.
    Cancelled,
    /// No longer this claim's (the lease was rescued): not sent, not touched.
    Lost,
}

/// Runs the gate for `claims` (`(recipient_id, lease_token)` pairs), giving
/// each request `request_time` to finish inside its lease. The verdicts come
/// back in the order of `claims`.
pub async fn gate(
    pool: &PgPool,
    claims: &[(i64, i64)],
    request_time: Duration,
) -> sqlx::Result<Vec<Verdict>> {
    let (ids, tokens): (Vec<i64>, Vec<i64>) = claims.iter().copied().unzip();
    let rows: Vec<(i64, String)> = sqlx::query_as(GATE_SQL)
        .bind(&ids)
        .bind(&tokens)
        .bind(request_time.as_secs_f64())
        .fetch_all(pool)
        .await?;
    let said: std::collections::HashMap<i64, Verdict> = rows
        .into_iter()
        .map(|(id, v)| {
            let v = match v.as_str() {
                "go" => Verdict::Go,
                "suppressed" => Verdict::Suppressed,
                "cancelled" => Verdict::Cancelled,
                _ => Verdict::Released,
            };
            (id, v)
        })
        .collect();
    Ok(ids
        .iter()
        .map(|id| said.get(id).copied().unwrap_or(Verdict::Lost))
        .collect())
}

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
    db: impl sqlx::PgExecutor<'_>,
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
        .fetch_all(db)
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

/// The advisory lock that makes a budgeted claim one at a time, across every
/// runner process on the database.
const DAILY_BUDGET_LOCK: i64 = 0x7775_7474_6275_6467; // "wuttbudg"

/// Like [`claim`], under the messaging tier's daily budget: in one
/// transaction holding [`DAILY_BUDGET_LOCK`], counts the distinct numbers
/// sent to in the last 24 h or being sent now and claims no more than what is
/// left of `budget`. Claimed rows are `sending` when the lock is released, so
/// the next claimer — in this process or another — counts them: the budget
/// is never handed out twice. Returns the claim and, when the budget is
/// spent, when it frees up.
pub async fn claim_within_budget(
    pool: &PgPool,
    campaign_id: i64,
    worker: &str,
    limit: i64,
    lease: Duration,
    budget: i64,
) -> sqlx::Result<(Vec<Claimed>, Option<Option<DateTime<Utc>>>)> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(DAILY_BUDGET_LOCK)
        .execute(&mut *tx)
        .await?;
    let (used, frees_at) = super::throttle::daily_unique(&mut *tx, budget).await?;
    let left = budget - used;
    if left <= 0 {
        tx.commit().await?;
        return Ok((Vec::new(), Some(frees_at)));
    }
    let claimed = claim(&mut *tx, campaign_id, worker, limit.min(left), lease).await?;
    tx.commit().await?;
    Ok((claimed, None))
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

/// What the rescuer did with expired leases.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rescued {
    /// A request had left (the gate let it go): `unknown`, never resent on
    /// its own.
    pub unknown: u64,
    /// No request had left: back to the queue, attempt refunded.
    pub requeued: u64,
}

/// Rows whose lease expired while `sending` (their worker died, stalled or
/// waited too long): `unknown` where the gate had let the request go — it may
/// have been sent —, otherwise back to the queue with the attempt refunded,
/// since nothing left for them.
pub async fn rescue_expired(pool: &PgPool) -> sqlx::Result<Rescued> {
    let rows: Vec<bool> = sqlx::query_scalar(
        r#"
        UPDATE recipients SET
            state            = CASE WHEN dispatched_token IS NOT DISTINCT FROM lease_token
                                    THEN 'unknown'
                                    WHEN attempts <= 1 THEN 'queued' ELSE 'retrying' END,
            attempts         = CASE WHEN dispatched_token IS NOT DISTINCT FROM lease_token
                                    THEN attempts ELSE GREATEST(0, attempts - 1) END,
            outcome          = CASE WHEN dispatched_token IS NOT DISTINCT FROM lease_token
                                    THEN 'ambiguous' ELSE outcome END,
            error            = CASE WHEN dispatched_token IS NOT DISTINCT FROM lease_token
                                    THEN 'the lease expired while sending (the worker stopped): '
                                         || 'the message may have been sent'
                                    ELSE error END,
            lease_owner      = NULL,
            lease_expires_at = NULL,
            updated_at       = now()
        WHERE state = 'sending' AND lease_expires_at < now()
        RETURNING state = 'unknown'
        "#,
    )
    .fetch_all(pool)
    .await?;
    let unknown = rows.iter().filter(|u| **u).count() as u64;
    Ok(Rescued {
        unknown,
        requeued: rows.len() as u64 - unknown,
    })
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
