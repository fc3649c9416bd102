-- Reporting views: the stable schema analysts write SQL against (DESIGN.md,
-- "Reporting schema"). Columns are only ever added at the end; a rename needs
-- a new view and a migration path.

-- One row per recipient (one per CSV data row) with its last answer.
CREATE VIEW recipient_results AS
SELECT r.campaign_id,
       c.name          AS campaign_name,
       r.row_number,
       r.mobile_code,
       r.mobile,
       r.state,
       r.attempts,
       r.http_status,
       r.remark,
       r.messages,
       r.data,
       r.error,
       r.sent_at,
       r.updated_at,
       r.raw_phone,
       r.outcome,
       r.line_number
FROM recipients r
JOIN campaigns c ON c.id = r.campaign_id;

-- One row per campaign with a count per recipient state. Queried during runs:
-- the LATERAL subquery is evaluated per campaign, so `WHERE campaign_id = $1`
-- becomes an index(-only) scan of recipients_campaign_state for that campaign.
CREATE VIEW campaign_summary AS
SELECT c.id     AS campaign_id,
       c.name   AS campaign_name,
       c.status,
       s.total,
       s.queued,
       s.sending,
       s.retrying,
       s.sent,
       s.failed,
       s.unknown,
       s.invalid,
       s.duplicate,
       s.suppressed,
       s.cancelled,
       s.expired,
       c.started_at,
       c.finished_at,
       c.pause_reason
FROM campaigns c
CROSS JOIN LATERAL (
    SELECT count(*)                                     AS total,
           count(*) FILTER (WHERE r.state = 'queued')     AS queued,
           count(*) FILTER (WHERE r.state = 'sending')    AS sending,
           count(*) FILTER (WHERE r.state = 'retrying')   AS retrying,
           count(*) FILTER (WHERE r.state = 'sent')       AS sent,
           count(*) FILTER (WHERE r.state = 'failed')     AS failed,
           count(*) FILTER (WHERE r.state = 'unknown')    AS unknown,
           count(*) FILTER (WHERE r.state = 'invalid')    AS invalid,
           count(*) FILTER (WHERE r.state = 'duplicate')  AS duplicate,
           count(*) FILTER (WHERE r.state = 'suppressed') AS suppressed,
           count(*) FILTER (WHERE r.state = 'cancelled')  AS cancelled,
           count(*) FILTER (WHERE r.state = 'expired')    AS expired
    FROM recipients r
    WHERE r.campaign_id = c.id
) s;

-- Recipients that did not get their message (failed, unknown, invalid),
-- grouped by campaign, outcome class, remark and message text. `outcome` is
-- the outcome class of the last attempt (rejected, transient, ambiguous, …) or,
-- when no attempt classified the row, its state (invalid, unknown).
CREATE VIEW campaign_errors AS
SELECT r.campaign_id,
       c.name AS campaign_name,
       coalesce(r.outcome, r.state) AS outcome,
       r.remark,
       coalesce(nullif(array_to_string(r.messages, '; '), ''), r.error, '') AS message,
       count(*) AS recipients,
       min(coalesce('+' || r.mobile_code || r.mobile, r.raw_phone)) AS example_mobile,
       max(r.updated_at) AS last_seen
FROM recipients r
JOIN campaigns c ON c.id = r.campaign_id
WHERE r.state IN ('failed', 'unknown', 'invalid')
GROUP BY r.campaign_id, c.name, coalesce(r.outcome, r.state), r.remark,
         coalesce(nullif(array_to_string(r.messages, '; '), ''), r.error, '');
