-- Interactive first across replicas (issue 12 §2): an interactive call that a shared budget
-- window refused is written here, under its window and a name of its own, until it is admitted
-- (or its wait has passed: a replica that died while waiting leaves a row that simply expires).
-- A bulk job's call, on any replica, is not admitted while a live row waits for one of its
-- windows, so the next free slot goes to the interactive call, never to the 10,000th item of a job.
CREATE TABLE budget_waiters (
    window_key  TEXT COLLATE "C" NOT NULL,
    waiter      TEXT COLLATE "C" NOT NULL,
    until       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (window_key, waiter)
);

DROP FUNCTION riposte_admit_call(TEXT[], INT[], BIGINT[]);

-- As migration 0026's function, plus who asks: `claimant` names an interactive call, NULL is a bulk
-- job's call. A bulk call is refused (with a short wait) while an interactive one waits for any of
-- its windows; an interactive call refused is recorded as waiting until its wait and
-- `slack_ms` have passed, and admitted, its rows are removed.
CREATE FUNCTION riposte_admit_call(keys TEXT[], counts INT[], windows_ms BIGINT[], claimant TEXT, slack_ms BIGINT)
RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    now_ts  TIMESTAMPTZ;
    wait_ms BIGINT := 0;
    win     INTERVAL;
    n       BIGINT;
    oldest  TIMESTAMPTZ;
    held    TIMESTAMPTZ;
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    FOR i IN 1 .. coalesce(array_length(keys, 1), 0) LOOP
        PERFORM pg_advisory_xact_lock(hashtext('riposte-budget'), hashtext(keys[i]));
    END LOOP;
    -- The clock is read once the locks are held: read before, a call admitted while this one
    -- waited would carry a later time than ours and our wait would overshoot the window.
    now_ts := clock_timestamp();
    IF claimant IS NULL THEN
        SELECT max(w.until) INTO held FROM budget_waiters w
            WHERE w.window_key = ANY(keys) AND w.until > now_ts;
        IF held IS NOT NULL THEN
            RETURN GREATEST(1, LEAST(slack_ms, CEIL(EXTRACT(EPOCH FROM (held - now_ts)) * 1000)::BIGINT));
        END IF;
    END IF;
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
        IF claimant IS NOT NULL THEN
            DELETE FROM budget_waiters w WHERE w.waiter = claimant AND w.window_key = ANY(keys);
        END IF;
    ELSIF claimant IS NOT NULL THEN
        INSERT INTO budget_waiters (window_key, waiter, until)
            SELECT k, claimant, now_ts + make_interval(secs => (wait_ms + slack_ms) / 1000.0)
            FROM unnest(keys) AS k
            ON CONFLICT (window_key, waiter) DO UPDATE SET until = EXCLUDED.until;
    END IF;
    -- Rows of waiters that never came back (their replica stopped) are cleared as they expire.
    DELETE FROM budget_waiters w WHERE w.window_key = ANY(keys) AND w.until <= now_ts;
    RETURN wait_ms;
END
$$;
