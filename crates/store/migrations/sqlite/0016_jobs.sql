-- Bulk jobs: one action over many targets across tenants, one durable item per target.
-- The scheduler claims items by moving them `Pending` -> `Running` with a lease (`lease_owner`,
-- `lease_until`): on SQLite one UPDATE ... WHERE rowid IN (SELECT ... LIMIT n) RETURNING takes
-- them; on PostgreSQL the same is a SELECT ... FOR UPDATE SKIP LOCKED. An item whose lease ran
-- out (its runner died) is claimable again *with the same attempt number*, and the attempt is
-- part of the idempotency key the item's action runs under (`job:{job}:{seq}:{attempt}`), so a
-- take-over finds the operation the dead runner started instead of acting twice.
CREATE TABLE jobs (
    id                    TEXT PRIMARY KEY NOT NULL,
    name                  TEXT,
    product               TEXT NOT NULL,
    action                TEXT NOT NULL,
    params                TEXT NOT NULL,          -- parameters shared by every item (canonical JSON)
    principal             TEXT NOT NULL,          -- the key that created it
    role                  TEXT NOT NULL,          -- its role then (items run with it)
    state                 TEXT NOT NULL,          -- Running | Paused | Cancelled | Succeeded | PartiallySucceeded | Failed
    priority              INTEGER NOT NULL DEFAULT 0,
    revert_after_seconds  INTEGER,                -- every item time-boxed (revertAfter)
    undo_of               TEXT,                   -- the job this one undoes
    total                 INTEGER NOT NULL,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL,
    finished_at           TEXT
);
CREATE INDEX jobs_state ON jobs (state, priority, created_at);

CREATE TABLE job_items (
    job_id        TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    tenant        TEXT NOT NULL,
    params        TEXT NOT NULL,                  -- this target's parameters (canonical JSON)
    state         TEXT NOT NULL,                  -- Pending | Running | Succeeded | Failed | Cancelled
    attempts      INTEGER NOT NULL DEFAULT 1,
    lease_owner   TEXT,
    lease_until   TEXT,
    operation_id  TEXT,                           -- the operation the item's action became
    status        TEXT,                           -- that operation's status when the item ended
    error         TEXT,                           -- why it failed (JSON)
    updated_at    TEXT NOT NULL,
    finished_at   TEXT,
    PRIMARY KEY (job_id, seq)
);
CREATE INDEX job_items_claim ON job_items (state, tenant, job_id, seq);
