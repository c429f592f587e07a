-- Budget windows shared by replicas (issue 12 §4): every call to Microsoft, from any replica and
-- any path (interactive, bulk, tracking, reverts), is admitted here against the calls every
-- replica made, so a tenant's documented limit holds however many replicas run (upstream's
-- `shared_budget`, the store's `budget_windows`). One row per admitted call per window;
-- `window_key` names the tenant, the limit and its size. Rows older than their window are
-- deleted by the admission that finds them.
CREATE TABLE budget_calls (
    window_key  TEXT COLLATE "C" NOT NULL,
    at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX budget_calls_window ON budget_calls (window_key, at);

-- Admits one call in every window at once, or none: 0 when admitted (the call recorded in each),
-- else the milliseconds until the fullest window has room. One round trip; windows are locked
-- in the order given (callers sort them), so two admissions never deadlock. The database's clock
-- stamps the calls, so replicas on different hosts count in one time. The commit is
-- asynchronous: a reservation lost to a database crash is a few milliseconds of calls.
CREATE FUNCTION riposte_admit_call(keys TEXT[], counts INT[], windows_ms BIGINT[]) RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    now_ts  TIMESTAMPTZ;
    wait_ms BIGINT := 0;
    win     INTERVAL;
    n       BIGINT;
    oldest  TIMESTAMPTZ;
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    FOR i IN 1 .. coalesce(array_length(keys, 1), 0) LOOP
        PERFORM pg_advisory_xact_lock(hashtext('riposte-budget'), hashtext(keys[i]));
    END LOOP;
    -- The clock is read once the locks are held: read before, a call admitted while this one
    -- waited would carry a later time than ours and our wait would overshoot the window.
    now_ts := clock_timestamp();
    FOR i IN 1 .. coalesce(array_length(keys, 1), 0) LOOP
        win := make_interval(secs => windows_ms[i] / 1000.0);
        DELETE FROM budget_calls WHERE window_key = keys[i] AND at <= now_ts - win;
        SELECT COUNT(*) INTO n FROM budget_calls WHERE window_key = keys[i];
        IF n >= counts[i] THEN
            SELECT at INTO oldest FROM budget_calls WHERE window_key = keys[i]
                ORDER BY at OFFSET n - counts[i] LIMIT 1;
            wait_ms := GREATEST(wait_ms, 1, LEAST(windows_ms[i], CEIL(EXTRACT(EPOCH FROM (oldest + win - now_ts)) * 1000)::BIGINT));
        END IF;
    END LOOP;
    IF wait_ms = 0 THEN
        INSERT INTO budget_calls (window_key, at) SELECT k, now_ts FROM unnest(keys) AS k;
    END IF;
    RETURN wait_ms;
END
$$;
