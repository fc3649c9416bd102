-- Delivery engine: the shared token buckets that hold the send rate across
-- every runner process on this database, the index behind the messaging-tier
-- budget, and the wake-up notifications of the daemon.

-- One row per rate limit (the account, a campaign, a sending number). `rate`
-- is the rate allowed right now: it drops on HTTP 429 and climbs back to
-- `configured_rate`, so every process slows down and recovers together.
CREATE TABLE rate_buckets (
    key             TEXT PRIMARY KEY,
    configured_rate DOUBLE PRECISION NOT NULL CHECK (configured_rate > 0),
    rate            DOUBLE PRECISION NOT NULL CHECK (rate > 0),
    burst           DOUBLE PRECISION NOT NULL CHECK (burst >= 1),
    tokens          DOUBLE PRECISION NOT NULL,
    refilled_at     TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    -- Nothing is granted before this (a Retry-After from the API).
    blocked_until   TIMESTAMPTZ NOT NULL DEFAULT '-infinity',
    -- Last time the rate was cut, so a burst of 429s cuts it once.
    cut_at          TIMESTAMPTZ NOT NULL DEFAULT '-infinity'
);

-- Takes up to `p_want` whole tokens from bucket `p_key` in one atomic step:
-- refill by elapsed time × current rate (capped at the burst), let the rate
-- recover by 5% of the configured rate per second since the last refill, and
-- grant what is there. Creates the bucket (full) on first use. `wait_secs` says
-- how long until the next token when nothing was granted.
CREATE FUNCTION rate_bucket_take(p_key TEXT, p_want DOUBLE PRECISION,
                                 p_rate DOUBLE PRECISION, p_burst DOUBLE PRECISION)
RETURNS TABLE (granted INTEGER, current_rate DOUBLE PRECISION, wait_secs DOUBLE PRECISION)
LANGUAGE plpgsql AS $$
DECLARE
    b       rate_buckets%ROWTYPE;
    ts      TIMESTAMPTZ := clock_timestamp();
    elapsed DOUBLE PRECISION;
    avail   DOUBLE PRECISION;
    g       INTEGER;
BEGIN
    INSERT INTO rate_buckets (key, configured_rate, rate, burst, tokens, refilled_at)
    VALUES (p_key, p_rate, p_rate, p_burst, p_burst, ts)
    ON CONFLICT (key) DO NOTHING;
    SELECT * INTO b FROM rate_buckets WHERE key = p_key FOR UPDATE;
    -- The clock is read after the lock is held, so time never runs backwards.
    ts := clock_timestamp();
    elapsed := greatest(0, extract(epoch FROM ts - b.refilled_at));
    IF ts < b.blocked_until THEN
        UPDATE rate_buckets SET refilled_at = ts, configured_rate = p_rate, burst = p_burst,
               tokens = least(tokens, 0)
         WHERE key = p_key;
        RETURN QUERY SELECT 0, b.rate, extract(epoch FROM b.blocked_until - ts)::double precision;
        RETURN;
    END IF;
    b.rate := least(p_rate, b.rate + p_rate * 0.05 * elapsed);
    avail := least(p_burst, b.tokens + elapsed * b.rate);
    g := greatest(0, least(floor(avail), floor(p_want)))::integer;
    UPDATE rate_buckets
       SET tokens = avail - g, refilled_at = ts, rate = b.rate,
           configured_rate = p_rate, burst = p_burst
     WHERE key = p_key;
    RETURN QUERY SELECT g, b.rate,
        CASE WHEN g > 0 THEN 0::double precision
             ELSE (1 - avail) / b.rate END;
END
$$;

-- The messaging-tier budget counts unique numbers sent to in the last 24 h.
CREATE INDEX recipients_sent_at ON recipients (sent_at) WHERE sent_at IS NOT NULL;

-- Wake sleeping runners (`LISTEN wutt_work`) when work appears: a campaign is
-- created or becomes active again, or recipients are loaded. Requeue and
-- release notify explicitly. Completions do not notify (they are the hot path).
CREATE FUNCTION notify_wutt_work() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('wutt_work', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER campaigns_work_insert AFTER INSERT ON campaigns
    FOR EACH STATEMENT EXECUTE FUNCTION notify_wutt_work();
CREATE TRIGGER campaigns_work_active AFTER UPDATE OF status ON campaigns
    FOR EACH ROW WHEN (NEW.status = 'active' AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION notify_wutt_work();
CREATE TRIGGER recipients_work_insert AFTER INSERT ON recipients
    FOR EACH STATEMENT EXECUTE FUNCTION notify_wutt_work();
