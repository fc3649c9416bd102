-- What the real Wutt server needs (SERVER.md): template variables, contacts
-- made before a text, and the finer answer classes of the rebuilt table.

-- Answer classes: a campaign-wide refusal (template, sending number, plan of
-- interactive messages) and a per-recipient throttle (WhatsApp's pair rate
-- limit) are told apart from the account-wide ones.
ALTER TABLE send_attempts DROP CONSTRAINT IF EXISTS send_attempts_outcome_check;
ALTER TABLE send_attempts ADD CONSTRAINT send_attempts_outcome_check
    CHECK (outcome IN ('success', 'rejected', 'throttled', 'recipient_throttled',
                       'transient', 'campaign_refused', 'account_refused', 'ambiguous'));

-- Template variables as written in the manifest (`{{column}}` texts), and
-- whether recipients of a text campaign are made Wutt contacts first.
ALTER TABLE campaigns
    ADD COLUMN body_variables   TEXT[] NOT NULL DEFAULT '{}',
    ADD COLUMN header_variables TEXT[] NOT NULL DEFAULT '{}',
    ADD COLUMN create_contacts  BOOLEAN NOT NULL DEFAULT false;

-- The rendered values per recipient (what is sent as body_variables[] and
-- header_variables[]), and the names a contact is created with.
ALTER TABLE recipients
    ADD COLUMN body_variables   TEXT[],
    ADD COLUMN header_variables TEXT[],
    ADD COLUMN firstname        TEXT,
    ADD COLUMN lastname         TEXT;

-- Numbers known to be Wutt contacts of the account (found in the contact list
-- or created by the runner), so a number is looked up or created only once.
CREATE TABLE wutt_contacts (
    mobile_code TEXT NOT NULL,
    mobile      TEXT NOT NULL,
    contact_id  BIGINT,
    created     BOOLEAN NOT NULL,
    campaign_id BIGINT,
    envelope    JSONB,
    seen_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (mobile_code, mobile)
);

-- recipient_results gains the rendered variables at the end (columns are only
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
       r.header_variables
FROM recipients r
JOIN campaigns c ON c.id = r.campaign_id;
