-- recipient_results gains duplicate_of at the end (columns are only ever
-- added at the end): for a `duplicate` row, the line of the earlier row with
-- the same number — the line its `error` names ("same number as line 3"),
-- which is the row number a spreadsheet shows for that row of the file.
-- recipients.duplicate_of keeps that earlier row's row_number; the unique
-- (campaign_id, row_number) index finds its line, and only for duplicates
-- (CASE evaluates the lookup for them alone, so an export of a million rows
-- pays nothing for the others).
CREATE OR REPLACE VIEW recipient_results AS
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
       r.line_number,
       r.body_variables,
       r.header_variables,
       r.read_back_verdict,
       r.read_back_rule,
       r.read_back_at,
       r.read_back_attempt,
       r.read_back_detail,
       CASE WHEN r.duplicate_of IS NOT NULL THEN
           (SELECT d.line_number FROM recipients d
            WHERE d.campaign_id = r.campaign_id AND d.row_number = r.duplicate_of)
       END             AS duplicate_of
FROM recipients r
JOIN campaigns c ON c.id = r.campaign_id;
