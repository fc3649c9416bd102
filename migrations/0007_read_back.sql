-- Read-back: settling `unknown` recipients by reading the server's
-- conversation list (README, "Reading the server back"). The server moves a
-- contact's conversation (`last_message_at`) when it sends; a conversation
-- that did not move since before the attempt means the attempt was not sent.

-- What a read-back needs to know about the attempt that left a row
-- `unknown`, and what the last read-back decided (shown in recipient_results).
ALTER TABLE recipients
    -- When the attempt that left the row `unknown` was claimed: a lower bound
    -- of when its request was sent. The only record of the attempt when its
    -- runner died and the lease was rescued (no send_attempts row then).
    ADD COLUMN claimed_at        TIMESTAMPTZ,
    -- When the row became `unknown` (the answer was written, or the lease rescued).
    ADD COLUMN unknown_at        TIMESTAMPTZ,
    -- The last read-back of this recipient: sent, not_sent or unknown, the
    -- rule that decided, when, about which attempt, and why in words.
    ADD COLUMN read_back_verdict TEXT
                                 CHECK (read_back_verdict IN ('sent', 'not_sent', 'unknown')),
    ADD COLUMN read_back_rule    TEXT,
    ADD COLUMN read_back_at      TIMESTAMPTZ,
    ADD COLUMN read_back_attempt INTEGER,
    ADD COLUMN read_back_detail  TEXT;

-- Every write that makes a `sending` row `unknown` (an ambiguous answer, or
-- the lease rescue of a dead runner) notes when its claim was made (the
-- claim is the row's last update before) and when it became `unknown`. The
-- WHEN clause keeps the hot path (claims, completions) free of the call.
CREATE FUNCTION recipient_became_unknown() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.claimed_at := OLD.updated_at;
    NEW.unknown_at := now();
    RETURN NEW;
END
$$;

CREATE TRIGGER recipients_became_unknown BEFORE UPDATE OF state ON recipients
    FOR EACH ROW WHEN (OLD.state = 'sending' AND NEW.state = 'unknown')
    EXECUTE FUNCTION recipient_became_unknown();

-- The read-back service looks for recent `unknown` rows.
CREATE INDEX recipients_unknown ON recipients (unknown_at) WHERE state = 'unknown';

-- One row per read-back of an attempt: what was read, when, and which rule
-- decided. The attempt is (recipient_id, lease_token), the key of its
-- send_attempts row — a rescued attempt has none, its read-back is here all
-- the same. Times read from the server are on the server's clock; offset_ms
-- is how far ahead of ours it was measured (and how uncertain that was).
CREATE TABLE read_backs (
    id                  BIGSERIAL PRIMARY KEY,
    recipient_id        BIGINT NOT NULL REFERENCES recipients (id) ON DELETE CASCADE,
    campaign_id         BIGINT NOT NULL,
    lease_token         BIGINT NOT NULL,
    attempt             INTEGER NOT NULL,
    -- When the attempt started (our clock), and from what: the send itself
    -- ('send', send_attempts.started_at) or its claim ('claim').
    attempt_started_at  TIMESTAMPTZ,
    started_from        TEXT CHECK (started_from IN ('send', 'claim')),
    read_at             TIMESTAMPTZ NOT NULL,
    verdict             TEXT NOT NULL CHECK (verdict IN ('sent', 'not_sent', 'unknown')),
    rule                TEXT NOT NULL,
    -- Whether reading again could decide otherwise (false: try again at retry_at).
    final               BOOLEAN NOT NULL,
    retry_at            TIMESTAMPTZ,
    -- Whether the recipient was changed by it (a dry run records nothing).
    applied             BOOLEAN NOT NULL,
    source              TEXT NOT NULL CHECK (source IN ('run', 'reconcile')),
    worker              TEXT NOT NULL,
    conversation_id     BIGINT,
    last_message_at     TIMESTAMPTZ,
    contact_created_at  TIMESTAMPTZ,
    -- Since when the runner knew the number as a contact (wutt_contacts).
    known_contact_since TIMESTAMPTZ,
    offset_ms           DOUBLE PRECISION,
    uncertainty_ms      DOUBLE PRECISION,
    detail              TEXT NOT NULL,
    -- The search, every exact match read, the clock estimate, any error.
    seen                JSONB NOT NULL
);
CREATE INDEX read_backs_attempt ON read_backs (recipient_id, lease_token, id);
CREATE INDEX read_backs_campaign ON read_backs (campaign_id, read_at);

-- recipient_results gains the last read-back at the end (columns are only
-- ever added at the end).
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
       r.read_back_detail
FROM recipients r
JOIN campaigns c ON c.id = r.campaign_id;
