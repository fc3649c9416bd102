//! The job queue against real PostgreSQL: claims, fencing, batched completion,
//! lease rescue, release, the opt-out check at claim time, campaign control,
//! and the claim's query plan on a large queue.

use std::collections::HashSet;
use std::time::Duration;

use chrono::Utc;
use sqlx::PgPool;
use wutt_campaign::db::testing::TestDb;
use wutt_campaign::queue::claim::{self, Completion, Resolution};
use wutt_campaign::queue::control::{self, RequeueState};
use wutt_campaign::wutt::{Envelope, OutcomeClass, Reply};

use crate::support::db::seed;

const LEASE: Duration = Duration::from_secs(60);

async fn states(pool: &PgPool, campaign: i64) -> Vec<(String, i64)> {
    sqlx::query_as(
        "SELECT state, count(*) FROM recipients WHERE campaign_id = $1 GROUP BY state ORDER BY state",
    )
    .bind(campaign)
    .fetch_all(pool)
    .await
    .unwrap()
}

fn completion(c: &claim::Claimed, resolution: Resolution, outcome: OutcomeClass) -> Completion {
    let now = Utc::now();
    Completion {
        recipient_id: c.recipient_id,
        campaign_id: c.campaign_id,
        lease_token: c.lease_token,
        attempt: c.attempt,
        worker: "test-worker".into(),
        resolution,
        outcome,
        reply: Reply {
            http_status: Some(200),
            envelope: Some(Envelope {
                status: "success".into(),
                remark: "message_sent".into(),
                message: vec!["Message sent successfully".into(), "second line".into()],
                data: Some(serde_json::json!({"message_id": "m-1"})),
            }),
            body_excerpt: None,
            error: None,
            transport: None,
        },
        started_at: now,
        finished_at: now,
        error: None,
    }
}

#[tokio::test]
async fn claim_complete_and_fencing() {
    let db = TestDb::new().await;
    let id = seed(&db.pool, "c1", 10).await;

    let first = claim::claim(&db.pool, id, "w1", 4, LEASE).await.unwrap();
    assert_eq!(first.len(), 4);
    assert!(first.iter().all(|c| c.attempt == 1 && c.lease_token == 1));
    assert_eq!(first[0].phone.mobile_code(), "880");
    // Claimed rows are not handed out again.
    let second = claim::claim(&db.pool, id, "w2", 100, LEASE).await.unwrap();
    assert_eq!(second.len(), 6);
    let ids: HashSet<i64> = first
        .iter()
        .chain(&second)
        .map(|c| c.recipient_id)
        .collect();
    assert_eq!(ids.len(), 10);

    // Complete the first batch; one completion carries a stale token.
    let mut batch: Vec<Completion> = first
        .iter()
        .map(|c| completion(c, Resolution::Sent, OutcomeClass::Success))
        .collect();
    batch[3].lease_token = 99;
    let done = claim::complete(&db.pool, &batch).await.unwrap();
    assert_eq!(done.applied, 3);
    assert_eq!(done.fenced_off, vec![first[3].recipient_id]);

    // Every HTTP call has its attempts row, fenced or not.
    let attempts: i64 = sqlx::query_scalar("SELECT count(*) FROM send_attempts")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(attempts, 4);
    let (remark, messages, sent_at): (
        Option<String>,
        Option<Vec<String>>,
        Option<chrono::DateTime<Utc>>,
    ) = sqlx::query_as("SELECT remark, messages, sent_at FROM recipients WHERE id = $1")
        .bind(first[0].recipient_id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(remark.as_deref(), Some("message_sent"));
    assert_eq!(
        messages.unwrap(),
        vec!["Message sent successfully", "second line"]
    );
    assert!(sent_at.is_some());
    assert_eq!(
        states(&db.pool, id).await,
        vec![("sending".into(), 7), ("sent".into(), 3)]
    );
}

#[tokio::test]
async fn retries_refunds_and_release() {
    let db = TestDb::new().await;
    let id = seed(&db.pool, "c2", 3).await;
    let claimed = claim::claim(&db.pool, id, "w", 3, LEASE).await.unwrap();
    let past = Utc::now() - chrono::Duration::seconds(1);
    let batch = vec![
        completion(
            &claimed[0],
            Resolution::Retry {
                at: past,
                refund: true,
            },
            OutcomeClass::Throttled,
        ),
        completion(
            &claimed[1],
            Resolution::Retry {
                at: past,
                refund: false,
            },
            OutcomeClass::Transient,
        ),
        completion(
            &claimed[2],
            Resolution::Requeue,
            OutcomeClass::AccountRefused,
        ),
    ];
    claim::complete(&db.pool, &batch).await.unwrap();
    let rows: Vec<(i64, String, i32)> = sqlx::query_as(
        "SELECT id, state, attempts FROM recipients WHERE campaign_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(rows[0].1, "retrying");
    assert_eq!(rows[0].2, 0, "a throttled call does not count");
    assert_eq!(rows[1].1, "retrying");
    assert_eq!(rows[1].2, 1, "a transient failure counts");
    assert_eq!(rows[2].1, "queued");
    assert_eq!(rows[2].2, 0, "an account refusal does not count");

    // Claim again (all due), then give them back unsent.
    let again = claim::claim(&db.pool, id, "w", 10, LEASE).await.unwrap();
    assert_eq!(again.len(), 3);
    assert_eq!(
        again
            .iter()
            .find(|c| c.recipient_id == rows[1].0)
            .unwrap()
            .attempt,
        2
    );
    let pairs: Vec<(i64, i64)> = again
        .iter()
        .map(|c| (c.recipient_id, c.lease_token))
        .collect();
    assert_eq!(claim::release(&db.pool, &pairs).await.unwrap(), 3);
    let attempts: Vec<i32> =
        sqlx::query_scalar("SELECT attempts FROM recipients WHERE campaign_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(attempts, vec![0, 1, 0]);
}

#[tokio::test]
async fn expired_leases_are_unknown_only_where_a_request_left() {
    let db = TestDb::new().await;
    let id = seed(&db.pool, "c3", 3).await;
    let claimed = claim::claim(&db.pool, id, "dead-worker", 3, Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 3);
    // The gate lets the first two go; the third never reached it.
    let pairs: Vec<(i64, i64)> = claimed[..2]
        .iter()
        .map(|c| (c.recipient_id, c.lease_token))
        .collect();
    let said = claim::gate(&db.pool, &pairs, Duration::ZERO).await.unwrap();
    assert_eq!(said, vec![claim::Verdict::Go; 2]);
    sqlx::query("UPDATE recipients SET lease_expires_at = now() - interval '1 second' WHERE campaign_id = $1")
        .bind(id)
        .execute(&db.pool)
        .await
        .unwrap();
    let rescued = claim::rescue_expired(&db.pool).await.unwrap();
    assert_eq!((rescued.unknown, rescued.requeued), (2, 1));
    assert_eq!(
        states(&db.pool, id).await,
        vec![("queued".into(), 1), ("unknown".into(), 2)]
    );
    // The one that never left is claimable again, its attempt refunded.
    let again = claim::claim(&db.pool, id, "w", 10, LEASE).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0].recipient_id, again[0].attempt),
        (claimed[2].recipient_id, 1)
    );
    // The dead worker's late answers: a success for a rescued `unknown` of its
    // own lease is what happened — `sent`, not hidden; its answer for the row
    // claimed again since is fenced off.
    let late = [
        completion(&claimed[0], Resolution::Sent, OutcomeClass::Success),
        completion(&claimed[2], Resolution::Sent, OutcomeClass::Success),
    ];
    let done = claim::complete(&db.pool, &late).await.unwrap();
    assert_eq!(done.applied, 1);
    assert_eq!(done.fenced_off, vec![claimed[2].recipient_id]);
    // A person asks: requeue puts the one still `unknown` back with fresh attempts.
    assert_eq!(
        control::requeue(&db.pool, id, RequeueState::Unknown)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        states(&db.pool, id).await,
        vec![
            ("queued".into(), 1),
            ("sending".into(), 1),
            ("sent".into(), 1)
        ]
    );
}

#[tokio::test]
async fn requeue_never_resends_a_recorded_success() {
    let db = TestDb::new().await;
    let id = seed(&db.pool, "c3b", 1).await;
    let claimed = claim::claim(&db.pool, id, "w", 1, LEASE).await.unwrap();
    claim::gate(
        &db.pool,
        &[(claimed[0].recipient_id, claimed[0].lease_token)],
        Duration::ZERO,
    )
    .await
    .unwrap();
    claim::complete(
        &db.pool,
        &[completion(
            &claimed[0],
            Resolution::Sent,
            OutcomeClass::Success,
        )],
    )
    .await
    .unwrap();
    // A row left `unknown` although its attempt recorded a success (written
    // by an older version, or by hand).
    sqlx::query("UPDATE recipients SET state = 'unknown' WHERE campaign_id = $1")
        .bind(id)
        .execute(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        control::requeue(&db.pool, id, RequeueState::Unknown)
            .await
            .unwrap(),
        0
    );
    assert_eq!(states(&db.pool, id).await, vec![("sent".into(), 1)]);
}

#[tokio::test]
async fn the_gate_is_the_last_word_before_a_request_leaves() {
    let db = TestDb::new().await;
    let id = seed(&db.pool, "c3c", 4).await;
    let claimed = claim::claim(&db.pool, id, "w", 4, LEASE).await.unwrap();
    let pair = |c: &claim::Claimed| (c.recipient_id, c.lease_token);
    // Opted out after the claim.
    sqlx::query(
        "INSERT INTO suppressions (mobile_code, mobile, raw_phone, reason) \
         SELECT mobile_code, mobile, raw_phone, 'STOP' FROM recipients WHERE id = $1",
    )
    .bind(claimed[0].recipient_id)
    .execute(&db.pool)
    .await
    .unwrap();
    // Not this claim's any more.
    let stale = (claimed[1].recipient_id, claimed[1].lease_token - 1);
    let said = claim::gate(
        &db.pool,
        &[pair(&claimed[0]), stale, pair(&claimed[2])],
        Duration::ZERO,
    )
    .await
    .unwrap();
    use claim::Verdict::*;
    assert_eq!(said, vec![Suppressed, Lost, Go]);
    // A lease too short for the request: back to the queue.
    let said = claim::gate(&db.pool, &[pair(&claimed[3])], Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(said, vec![Released]);
    // Paused, then cancelled, after the claim.
    control::pause(&db.pool, id, "by hand").await.unwrap();
    assert_eq!(
        claim::gate(&db.pool, &[pair(&claimed[1])], Duration::ZERO)
            .await
            .unwrap(),
        vec![Released]
    );
    assert_eq!(
        states(&db.pool, id).await,
        vec![
            ("queued".into(), 2),
            ("sending".into(), 1),
            ("suppressed".into(), 1)
        ]
    );
    let again = claim::claim(&db.pool, id, "w", 4, LEASE).await.unwrap();
    assert!(again.is_empty(), "a paused campaign is not claimed");
    control::resume(&db.pool, id).await.unwrap();
    let again = claim::claim(&db.pool, id, "w", 4, LEASE).await.unwrap();
    control::cancel(&db.pool, id).await.unwrap();
    let said = claim::gate(
        &db.pool,
        &again.iter().map(pair).collect::<Vec<_>>(),
        Duration::ZERO,
    )
    .await
    .unwrap();
    assert_eq!(said, vec![Cancelled; again.len()]);
    assert_eq!(
        states(&db.pool, id).await,
        vec![
            ("cancelled".into(), 2),
            ("sending".into(), 1),
            ("suppressed".into(), 1)
        ]
    );
}

#[tokio::test]
async fn opt_out_is_checked_at_claim_time() {
    let db = TestDb::new().await;
    let id = seed(&db.pool, "c4", 3).await;
    // Suppressed after the campaign was loaded.
    sqlx::query(
        "INSERT INTO suppressions (mobile_code, mobile, raw_phone, reason) \
         SELECT mobile_code, mobile, raw_phone, 'STOP' FROM recipients WHERE campaign_id = $1 AND row_number = 2",
    )
    .bind(id)
    .execute(&db.pool)
    .await
    .unwrap();
    let claimed = claim::claim(&db.pool, id, "w", 10, LEASE).await.unwrap();
    assert_eq!(claimed.len(), 2);
    assert!(claimed.iter().all(|c| c.row_number != 2));
    assert_eq!(
        states(&db.pool, id).await,
        vec![("sending".into(), 2), ("suppressed".into(), 1)]
    );
}

#[tokio::test]
async fn campaign_control() {
    let db = TestDb::new().await;
    let id = seed(&db.pool, "spring offer", 5).await;
    let by_name = control::find(&db.pool, "spring offer")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_name.id, id);
    assert_eq!(
        control::find(&db.pool, &id.to_string())
            .await
            .unwrap()
            .unwrap()
            .name,
        "spring offer"
    );
    assert!(control::find(&db.pool, "nope").await.unwrap().is_none());

    assert!(
        control::pause(&db.pool, id, "credentials refused")
            .await
            .unwrap()
    );
    assert!(!control::pause(&db.pool, id, "again").await.unwrap());
    assert!(
        claim::claim(&db.pool, id, "w", 10, LEASE)
            .await
            .unwrap()
            .is_empty(),
        "paused: no claims"
    );
    assert!(control::sendable(&db.pool).await.unwrap().is_empty());
    assert!(control::resume(&db.pool, id).await.unwrap());

    let claimed = claim::claim(&db.pool, id, "w", 2, LEASE).await.unwrap();
    let batch: Vec<Completion> = claimed
        .iter()
        .map(|c| completion(c, Resolution::Failed, OutcomeClass::Rejected))
        .collect();
    claim::complete(&db.pool, &batch).await.unwrap();
    assert_eq!(control::cancel(&db.pool, id).await.unwrap(), 3);
    assert_eq!(
        states(&db.pool, id).await,
        vec![("cancelled".into(), 3), ("failed".into(), 2)]
    );
    // Requeue does not revive a cancelled campaign.
    assert_eq!(
        control::requeue(&db.pool, id, RequeueState::Failed)
            .await
            .unwrap(),
        0
    );
    let listed = control::list(&db.pool).await.unwrap();
    assert_eq!(listed[0].total, 5);
    assert_eq!(listed[0].failed, 2);
    assert_eq!(listed[0].other, 3);
}

#[tokio::test]
async fn completion_expiry_and_next_due() {
    let db = TestDb::new().await;
    let done_id = seed(&db.pool, "done", 1).await;
    let later_id = seed(&db.pool, "later", 2).await;
    let old_id = seed(&db.pool, "old", 2).await;
    sqlx::query("UPDATE campaigns SET start_at = now() + interval '1 hour' WHERE id = $1")
        .bind(later_id)
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE campaigns SET expires_at = now() - interval '1 minute' WHERE id = $1")
        .bind(old_id)
        .execute(&db.pool)
        .await
        .unwrap();
    assert_eq!(control::expire_overdue(&db.pool).await.unwrap(), 2);

    let c = claim::claim(&db.pool, done_id, "w", 10, LEASE)
        .await
        .unwrap();
    claim::complete(
        &db.pool,
        &[completion(&c[0], Resolution::Sent, OutcomeClass::Success)],
    )
    .await
    .unwrap();
    let mut finished = control::finish_completed(&db.pool).await.unwrap();
    finished.sort();
    assert_eq!(finished, vec![done_id, old_id]);

    let next = control::next_due_at(&db.pool, &[]).await.unwrap().unwrap();
    assert!(
        next > Utc::now() + chrono::Duration::minutes(59),
        "only the future campaign is left"
    );
    assert_eq!(control::sendable(&db.pool).await.unwrap().len(), 0);
}

#[tokio::test]
async fn concurrent_claims_never_share_a_recipient() {
    let db = TestDb::new().await;
    let id = seed(&db.pool, "busy", 2_000).await;
    let mut tasks = Vec::new();
    for w in 0..8 {
        let pool = db.pool.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = claim::claim(&pool, id, &format!("w{w}"), 50, LEASE)
                    .await
                    .unwrap();
                if batch.is_empty() {
                    return mine;
                }
                mine.extend(batch.into_iter().map(|c| c.recipient_id));
            }
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let unique: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(all.len(), 2_000);
    assert_eq!(unique.len(), 2_000);
}

#[tokio::test]
async fn claim_is_an_index_scan_on_a_large_queue() {
    let db = TestDb::new().await;
    let id = seed(&db.pool, "large", 200_000).await;
    // Other campaigns' rows and finished rows must not matter.
    seed(&db.pool, "other", 50_000).await;
    sqlx::query(
        "UPDATE recipients SET state = 'sent' WHERE campaign_id = $1 AND row_number <= 100000",
    )
    .bind(id)
    .execute(&db.pool)
    .await
    .unwrap();
    sqlx::query("ANALYZE recipients")
        .execute(&db.pool)
        .await
        .unwrap();
    let plan: Vec<String> = sqlx::query_scalar(
        "EXPLAIN SELECT r.id FROM recipients r \
         LEFT JOIN suppressions s ON s.mobile_code = r.mobile_code AND s.mobile = r.mobile \
         WHERE r.campaign_id = $1 AND r.state IN ('queued', 'retrying') AND r.next_attempt_at <= now() \
         ORDER BY r.next_attempt_at, r.id LIMIT 50 FOR UPDATE OF r SKIP LOCKED",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let plan = plan.join("\n");
    assert!(plan.contains("recipients_due"), "{plan}");
    assert!(!plan.contains("Sort"), "the claim must not sort:\n{plan}");
}

#[tokio::test]
async fn a_completion_written_twice_records_its_attempt_once() {
    let db = TestDb::new().await;
    let id = seed(&db.pool, "twice", 1).await;
    let claimed = claim::claim(&db.pool, id, "w", 1, LEASE).await.unwrap();
    let done = completion(&claimed[0], Resolution::Sent, OutcomeClass::Success);
    // The first write committed but its answer was lost; the recorder retries.
    assert_eq!(
        claim::complete(&db.pool, std::slice::from_ref(&done))
            .await
            .unwrap()
            .applied,
        1
    );
    assert_eq!(claim::complete(&db.pool, &[done]).await.unwrap().applied, 0);
    let attempts: i64 = sqlx::query_scalar("SELECT count(*) FROM send_attempts")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(attempts, 1);
    assert_eq!(states(&db.pool, id).await, vec![("sent".into(), 1)]);
}
