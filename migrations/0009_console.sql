-- The web console (src/console/): draft campaigns that wait for approval, and
-- a maintained count of recipients per campaign and state so that the
-- campaigns page never scans `recipients` (a 1,000,000-row campaign costs the
-- same to show as a 10-row one).

-- A manifest with `require_approval = true` loads its campaign as a `draft`:
-- nothing of it is claimed (the claim takes `active` campaigns only) until a
-- person approves it on the console or with `campaign approve`. The manifest
-- is stored as loaded (`campaigns.manifest`), so the loader needs no new column.
ALTER TABLE campaigns DROP CONSTRAINT campaigns_status_check;
ALTER TABLE campaigns ADD CONSTRAINT campaigns_status_check
    CHECK (status IN ('draft', 'active', 'paused', 'cancelled', 'completed'));

CREATE FUNCTION campaign_require_approval() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'active' AND NEW.manifest ->> 'require_approval' = 'true' THEN
        NEW.status := 'draft';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER campaigns_require_approval BEFORE INSERT ON campaigns
    FOR EACH ROW EXECUTE FUNCTION campaign_require_approval();

-- Recipients per campaign and state: a base table plus append-only deltas.
-- The triggers only ever INSERT deltas (inserts and deletes: one row per
-- campaign and state a statement touched, from its transition table; updates:
-- a pair of rows per recipient whose state changed), so concurrent claims and
-- completions never wait on one counter row. Readers add the base
-- and the deltas; `campaign_counts_compact()` folds the deltas into the base
-- (a runner's scheduler does it every second, the console every few).
CREATE TABLE campaign_state_counts (
    campaign_id BIGINT NOT NULL,
    state       TEXT NOT NULL,
    n           BIGINT NOT NULL,
    PRIMARY KEY (campaign_id, state)
);

CREATE TABLE campaign_state_deltas (
    campaign_id BIGINT NOT NULL,
    state       TEXT NOT NULL,
    delta       BIGINT NOT NULL
);

INSERT INTO campaign_state_counts (campaign_id, state, n)
SELECT campaign_id, state, count(*) FROM recipients GROUP BY campaign_id, state;

CREATE FUNCTION recipients_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO campaign_state_deltas (campaign_id, state, delta)
    SELECT campaign_id, state, count(*) FROM counted_new GROUP BY campaign_id, state;
    RETURN NULL;
END
$$;

-- Updates count per row, and only rows whose state changes: the dispatch gate
-- updates every row right before its request leaves without changing its
-- state, and the most frequent statement of all must not pay for the counts
-- (a statement trigger copies every row it touched into transition tables:
-- the limits script's delivery ran at 4,354 sends/s with it, 4,611 without).
CREATE FUNCTION recipients_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO campaign_state_deltas (campaign_id, state, delta)
    VALUES (OLD.campaign_id, OLD.state, -1), (NEW.campaign_id, NEW.state, 1);
    RETURN NULL;
END
$$;

CREATE FUNCTION recipients_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO campaign_state_deltas (campaign_id, state, delta)
    SELECT campaign_id, state, -count(*) FROM counted_old GROUP BY campaign_id, state;
    RETURN NULL;
END
$$;

CREATE FUNCTION recipients_count_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM campaign_state_counts;
    DELETE FROM campaign_state_deltas;
    RETURN NULL;
END
$$;

CREATE TRIGGER recipients_count_insert AFTER INSERT ON recipients
    REFERENCING NEW TABLE AS counted_new
    FOR EACH STATEMENT EXECUTE FUNCTION recipients_count_insert();
CREATE TRIGGER recipients_count_update AFTER UPDATE OF state, campaign_id ON recipients
    FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state
                       OR OLD.campaign_id IS DISTINCT FROM NEW.campaign_id)
    EXECUTE FUNCTION recipients_count_update();
CREATE TRIGGER recipients_count_delete AFTER DELETE ON recipients
    REFERENCING OLD TABLE AS counted_old
    FOR EACH STATEMENT EXECUTE FUNCTION recipients_count_delete();
CREATE TRIGGER recipients_count_truncate AFTER TRUNCATE ON recipients
    FOR EACH STATEMENT EXECUTE FUNCTION recipients_count_truncate();

-- Folds the deltas into the base; one caller at a time (the others return 0
-- at once). Returns the number of delta rows folded.
CREATE FUNCTION campaign_counts_compact() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    folded bigint;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('campaign_counts_compact')) THEN
        RETURN 0;
    END IF;
    WITH d AS (
        DELETE FROM campaign_state_deltas RETURNING campaign_id, state, delta
    ), sums AS (
        SELECT campaign_id, state, sum(delta) AS n, count(*) AS rows
        FROM d GROUP BY campaign_id, state
    ), up AS (
        INSERT INTO campaign_state_counts AS c (campaign_id, state, n)
        SELECT campaign_id, state, n FROM sums ORDER BY campaign_id, state
        ON CONFLICT (campaign_id, state) DO UPDATE SET n = c.n + EXCLUDED.n
    )
    SELECT coalesce(sum(rows), 0) INTO folded FROM sums;
    DELETE FROM campaign_state_counts WHERE n = 0;
    RETURN folded;
END
$$;
