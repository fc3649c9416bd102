-- What each send costs the database. Every send writes one send_attempts row
-- and updates its recipient three times (claim, dispatch gate, answer); at
-- thousands of sends a second that per-row work is what bounds delivery.
--
-- 1. send_attempts loses its foreign keys. Each one ran a lookup (with a row
--    lock on the referenced row) per attempt written. Attempts are written
--    only by the completion statement, for recipients it has just claimed
--    and updates in the same statement (queue::claim::COMPLETE_SQL), and no
--    command deletes campaigns or recipients; so the keys checked nothing
--    the writer does not already guarantee. Deleting a campaign by hand now
--    means deleting its attempts too:
--      DELETE FROM send_attempts WHERE campaign_id = $1;
--
-- 2. recipients keeps free room on each page, so the gate's update (which
--    changes no indexed column) is a HOT update: a new row version on the
--    same page and no new index entries, instead of an entry in every index.
--    This applies to pages written from now on; `VACUUM FULL recipients`
--    repacks existing ones when convenient.
ALTER TABLE send_attempts
    DROP CONSTRAINT IF EXISTS send_attempts_recipient_id_fkey,
    DROP CONSTRAINT IF EXISTS send_attempts_campaign_id_fkey;

ALTER TABLE recipients SET (fillfactor = 85);
