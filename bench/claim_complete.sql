-- pgbench script: the database side of one delivery batch, with the very
-- SQL the runner sends (src/queue/claim.rs: CLAIM_SQL and COMPLETE_SQL; a unit
-- test there fails when this file and the code differ). One pgbench
-- "transaction" = one batch of :batch claim-and-complete jobs:
--   1. the claim, as the runner sends it; wrapped only to turn its RETURNING
--      rows into the completion's arrays (\gset), which the runner builds in
--      memory. The answers are a success envelope like the simulator's.
--   2. the batched completion, as the runner sends it: one send_attempts row
--      per job, the recipients marked sent under their lease token.
-- Each statement commits on its own, like the runner's.
\set cid 1
\set batch 50
\set lease_secs 60
\set worker :client_id
WITH claimed AS (
    WITH due AS (
        SELECT r.id, (s.mobile IS NOT NULL) AS opted_out
        FROM recipients r
        LEFT JOIN suppressions s
               ON s.mobile_code = r.mobile_code AND s.mobile = r.mobile
        WHERE r.campaign_id = :cid
          AND r.state IN ('queued', 'retrying')
          AND r.next_attempt_at <= now()
          AND EXISTS (SELECT 1 FROM campaigns c WHERE c.id = :cid AND c.status = 'active')
        ORDER BY r.next_attempt_at, r.id
        LIMIT :batch
        FOR UPDATE OF r SKIP LOCKED
    )
    UPDATE recipients r SET
        state            = CASE WHEN due.opted_out THEN 'suppressed' ELSE 'sending' END,
        attempts         = r.attempts + CASE WHEN due.opted_out THEN 0 ELSE 1 END,
        lease_token      = r.lease_token + 1,
        lease_owner      = CASE WHEN due.opted_out THEN NULL ELSE :worker END,
        lease_expires_at = CASE WHEN due.opted_out THEN NULL
                                ELSE now() + make_interval(secs => :lease_secs) END,
        error            = CASE WHEN due.opted_out THEN 'on the opt-out list' ELSE r.error END,
        updated_at       = now()
    FROM due
    WHERE r.id = due.id
    RETURNING r.id, r.campaign_id, r.row_number, r.lease_token, r.attempts, r.state,
              r.mobile_code, r.mobile, r.template_id, r.message, r.from_number,
              r.body_variables, r.header_variables, r.firstname, r.lastname
)
SELECT array_agg(id) AS ids, array_agg(campaign_id) AS campaigns,
       array_agg(lease_token) AS tokens, array_agg(attempts) AS attempts,
       array_agg('bench-' || :worker) AS workers, array_agg('sent'::text) AS states,
       array_agg(0) AS refunds, array_agg(NULL::timestamptz) AS next_ats,
       array_agg(200) AS statuses, array_agg('success'::text) AS outcomes,
       array_agg('message_sent'::text) AS remarks,
       array_agg('["Message sent"]'::jsonb) AS messages,
       array_agg('{"message_id": "sim-1000000", "mobile_code": "880", "mobile": "1000000000"}'::jsonb) AS datas,
       array_agg('{"status": "success", "remark": "message_sent", "message": ["Message sent"], "data": {"message_id": "sim-1000000", "mobile_code": "880", "mobile": "1000000000"}}'::jsonb) AS envelopes,
       array_agg(NULL::text) AS excerpts, array_agg(NULL::text) AS errors,
       array_agg(now()) AS starts, array_agg(now()) AS finishes
FROM claimed
\gset
WITH u AS (
    SELECT * FROM UNNEST(
        :ids::int8[], :campaigns::int8[], :tokens::int8[], :attempts::int4[], :workers::text[], :states::text[],
        :refunds::int4[], :next_ats::timestamptz[], :statuses::int4[], :outcomes::text[], :remarks::text[],
        :messages::jsonb[], :datas::jsonb[], :envelopes::jsonb[], :excerpts::text[], :errors::text[],
        :starts::timestamptz[], :finishes::timestamptz[]
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
RETURNING r.id;
