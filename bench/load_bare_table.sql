-- A bare table with the columns of `recipients` and the same indexes as
-- migrations/0001_schema.sql creates on it (no foreign keys, no CHECKs): what
-- a raw COPY of the same file costs, as the yardstick for `load`.
CREATE SEQUENCE bench_rows;
CREATE TABLE recipients (
    id               BIGSERIAL PRIMARY KEY,
    campaign_id      BIGINT NOT NULL DEFAULT 1,
    row_number       INTEGER NOT NULL DEFAULT nextval('bench_rows'),
    line_number      INTEGER NOT NULL DEFAULT 0,
    raw_phone        TEXT NOT NULL,
    mobile_code      TEXT,
    mobile           TEXT,
    state            TEXT NOT NULL DEFAULT 'queued',
    attempts         INTEGER NOT NULL DEFAULT 0,
    lease_token      BIGINT NOT NULL DEFAULT 0,
    lease_owner      TEXT,
    lease_expires_at TIMESTAMPTZ,
    next_attempt_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    template_id      BIGINT,
    message          TEXT,
    from_number      TEXT,
    duplicate_of     INTEGER,
    outcome          TEXT,
    http_status      INTEGER,
    remark           TEXT,
    messages         TEXT[],
    data             JSONB,
    error            TEXT,
    sent_at          TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (campaign_id, row_number)
);
CREATE INDEX recipients_due ON recipients (campaign_id, next_attempt_at, id)
    WHERE state IN ('queued', 'retrying');
CREATE INDEX recipients_in_flight ON recipients (lease_expires_at)
    WHERE state = 'sending';
CREATE INDEX recipients_campaign_state ON recipients (campaign_id, state);
