-- The campaign queue: campaigns, their recipients (one row per CSV data row),
-- one row per HTTP attempt, captured media, and the opt-out list.
--
-- States are text with CHECK constraints rather than PostgreSQL enums so that a
-- later migration can add a state inside a transaction.

CREATE TABLE campaigns (
    id                  BIGSERIAL PRIMARY KEY,
    name                TEXT NOT NULL UNIQUE,
    -- SHA-256 of the CSV bytes followed by the manifest bytes: the same drop
    -- (same list, same message) is recognised and never loaded twice.
    source_sha256       BYTEA NOT NULL UNIQUE,
    source_file         TEXT NOT NULL,
    status              TEXT NOT NULL DEFAULT 'active'
                        CHECK (status IN ('active', 'paused', 'cancelled', 'completed')),
    pause_reason        TEXT,
    -- What is sent (per-row overrides live on the recipient).
    template_id         BIGINT,
    message_template    TEXT,
    from_number         TEXT,
    latitude            DOUBLE PRECISION,
    longitude           DOUBLE PRECISION,
    cta_url_id          BIGINT,
    interactive_list_id BIGINT,
    -- When it is sent.
    start_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at          TIMESTAMPTZ,
    send_window_start   TIME,
    send_window_end     TIME,
    send_window_tz      TEXT,
    -- How fast and how persistently.
    rate_per_second     DOUBLE PRECISION CHECK (rate_per_second IS NULL OR rate_per_second > 0),
    max_attempts        INTEGER NOT NULL DEFAULT 5 CHECK (max_attempts BETWEEN 1 AND 100),
    -- Whether the template was confirmed approved by the API at load time; NULL
    -- means the API could not be asked and the check runs again before the first send.
    template_verified   BOOLEAN,
    manifest            JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    started_at          TIMESTAMPTZ,
    finished_at         TIMESTAMPTZ,
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Media captured at load time: content-addressed, so moving or editing the drop
-- folder afterwards never changes what is sent.
CREATE TABLE media_blobs (
    sha256      BYTEA PRIMARY KEY,
    size_bytes  BIGINT NOT NULL,
    content     BYTEA NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE campaign_media (
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('image', 'document', 'video', 'audio')),
    file_name   TEXT NOT NULL,
    mime_type   TEXT NOT NULL,
    sha256      BYTEA NOT NULL REFERENCES media_blobs (sha256),
    PRIMARY KEY (campaign_id, kind)
);

-- `campaign_id` has no foreign key on purpose: the referential check costs a
-- lookup per row, which made up about 40 % of the server time of loading a
-- 1,000,000-row file. Integrity holds without it: a campaign row is inserted in
-- the same transaction as its recipients (src/queue/load.rs, LoadTx), and the
-- product never deletes campaigns (cancelling only changes their status). Code
-- that ever deletes a campaign must delete its recipients and send_attempts in
-- the same transaction.
CREATE TABLE recipients (
    id               BIGSERIAL PRIMARY KEY,
    campaign_id      BIGINT NOT NULL,
    -- 1-based data row of the CSV (the header is not counted) and the physical
    -- line it started on, so errors point at what the marketer sees.
    row_number       INTEGER NOT NULL,
    line_number      INTEGER NOT NULL,
    -- The phone as written in the file, and its canonical form (E.164 split
    -- into country calling code and national significant number). The
    -- canonical pair is NULL only for invalid rows.
    raw_phone        TEXT NOT NULL,
    mobile_code      TEXT,
    mobile           TEXT,
    state            TEXT NOT NULL
                     CHECK (state IN ('queued', 'sending', 'retrying', 'sent', 'failed', 'unknown',
                                      'invalid', 'duplicate', 'suppressed', 'cancelled', 'expired')),
    -- Counted attempts (HTTP calls charged against max_attempts).
    attempts         INTEGER NOT NULL DEFAULT 0,
    -- Fencing token: incremented by every claim; every write by a worker checks
    -- it, so a worker whose lease was taken over can no longer change the row.
    lease_token      BIGINT NOT NULL DEFAULT 0,
    lease_owner      TEXT,
    lease_expires_at TIMESTAMPTZ,
    next_attempt_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- What to send: per-row overrides and the rendered text.
    template_id      BIGINT,
    message          TEXT,
    from_number      TEXT,
    variables        JSONB NOT NULL DEFAULT '{}'::jsonb,
    duplicate_of     INTEGER,
    -- Last answer.
    outcome          TEXT,
    http_status      INTEGER,
    remark           TEXT,
    messages         TEXT[],
    data             JSONB,
    error            TEXT,
    sent_at          TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (campaign_id, row_number),
    CHECK (state IN ('invalid') OR (mobile_code IS NOT NULL AND mobile IS NOT NULL))
);

-- The claim index: only rows that can be claimed are in it, in the claim's
-- ORDER BY, so claiming is an index scan however large the campaign.
CREATE INDEX recipients_due ON recipients (campaign_id, next_attempt_at, id)
    WHERE state IN ('queued', 'retrying');
-- Lease rescue: rows in flight, by expiry.
CREATE INDEX recipients_in_flight ON recipients (lease_expires_at)
    WHERE state = 'sending';
-- No index on (mobile_code, mobile): no query looks recipients up by number
-- (the suppression re-check at claim time looks up `suppressions` by the
-- recipient's number, and duplicates are found at load time), and keeping one
-- cost a tenth of the load time. The delivery stage's daily-unique budget
-- scans sent rows by `sent_at` with its own partial index.
CREATE INDEX recipients_campaign_state ON recipients (campaign_id, state);

-- One row per HTTP call.
CREATE TABLE send_attempts (
    id            BIGSERIAL PRIMARY KEY,
    recipient_id  BIGINT NOT NULL REFERENCES recipients (id) ON DELETE CASCADE,
    campaign_id   BIGINT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    attempt       INTEGER NOT NULL,
    lease_token   BIGINT NOT NULL,
    worker        TEXT NOT NULL,
    started_at    TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ NOT NULL,
    duration_ms   INTEGER NOT NULL,
    http_status   INTEGER,
    outcome       TEXT NOT NULL
                  CHECK (outcome IN ('success', 'rejected', 'throttled', 'transient',
                                     'account_refused', 'ambiguous')),
    remark        TEXT,
    messages      TEXT[],
    envelope      JSONB,
    body_excerpt  TEXT,
    error         TEXT
);
-- One claim makes one call: a completion written twice (retried after a
-- commit whose answer was lost) records its attempt once.
CREATE UNIQUE INDEX send_attempts_claim ON send_attempts (recipient_id, lease_token);
CREATE INDEX send_attempts_campaign ON send_attempts (campaign_id, finished_at);

-- The opt-out list, by canonical number.
CREATE TABLE suppressions (
    mobile_code TEXT NOT NULL,
    mobile      TEXT NOT NULL,
    raw_phone   TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    source      TEXT NOT NULL DEFAULT 'cli',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (mobile_code, mobile)
);
