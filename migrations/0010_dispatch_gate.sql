-- The dispatch gate: the moment a request is about to leave is written down.
-- A claim hands out rows; only the gate (one statement per group of sends,
-- right before the requests leave) lets a request go, and it records the
-- claim's lease token here as it does. A row whose lease expires is `unknown`
-- only when its token is in this column — a request may have left; otherwise
-- nothing was sent and it goes back to the queue with its attempt refunded.
-- Not indexed: the gate's write stays a HOT update.
ALTER TABLE recipients ADD COLUMN dispatched_token BIGINT;

-- Rows being sent when this migration runs were claimed by a runner that had
-- no gate: any of them may have gone out.
UPDATE recipients SET dispatched_token = lease_token WHERE state = 'sending';
