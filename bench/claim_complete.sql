-- pgbench script: the raw database cost of one delivery batch, as the runner
-- does it — claim 50 due recipients with FOR UPDATE SKIP LOCKED under a lease
-- (one transaction), then complete them: one send_attempts row each and the
-- recipient rows marked sent (a second transaction). One pgbench
-- "transaction" = 50 claim-and-complete jobs.
\set cid 1
WITH due AS (
    SELECT id FROM recipients
    WHERE campaign_id = :cid AND state IN ('queued', 'retrying') AND next_attempt_at <= now()
    ORDER BY next_attempt_at, id
    LIMIT 50
    FOR UPDATE SKIP LOCKED
)
UPDATE recipients r SET
    state = 'sending', attempts = r.attempts + 1, lease_token = r.lease_token + 1,
    lease_owner = 'bench-' || :client_id, lease_expires_at = now() + interval '60 seconds',
    updated_at = now()
FROM due WHERE r.id = due.id;
WITH done AS (
    UPDATE recipients r SET
        state = 'sent', lease_owner = NULL, lease_expires_at = NULL, outcome = 'success',
        http_status = 200, remark = 'message_sent', messages = ARRAY['Message sent'],
        data = '{"message_id": "bench"}', sent_at = now(), updated_at = now()
    WHERE r.state = 'sending' AND r.lease_owner = 'bench-' || :client_id
    RETURNING r.id, r.campaign_id, r.attempts, r.lease_token
)
INSERT INTO send_attempts (recipient_id, campaign_id, attempt, lease_token, worker, started_at,
                           finished_at, duration_ms, http_status, outcome, remark, messages, envelope)
SELECT id, campaign_id, attempts, lease_token, 'bench', now(), now(), 0, 200, 'success',
       'message_sent', ARRAY['Message sent'],
       '{"status": "success", "remark": "message_sent", "message": ["Message sent"]}'
FROM done;
