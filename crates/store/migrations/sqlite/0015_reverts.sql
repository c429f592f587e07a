-- Time-boxed actions (`revertAfter`): the inverse of an accepted action, scheduled durably.
-- A row is written in the same transaction as the original operation and its `attempt` record,
-- so an accepted time-boxed action always has its revert. The runner claims a due row by
-- moving it from `Scheduled` to `Running` in one statement (`claimed_by`, `claimed_until`: a
-- lease, so a revert held by a process that died is taken over), runs the inverse under the
-- idempotency key `revert:{id}` (a second run is the same operation, never a second action) and
-- ends the row `Fired`, `Skipped` (with the reason), `Failed` or `Cancelled`.
CREATE TABLE reverts (
    id                   TEXT PRIMARY KEY NOT NULL,
    operation_id         TEXT NOT NULL,          -- the original (time-boxed) operation
    tenant               TEXT NOT NULL,
    product              TEXT NOT NULL,
    action               TEXT NOT NULL,          -- the original action
    inverse              TEXT NOT NULL,          -- the action that undoes it
    params               TEXT NOT NULL,          -- the inverse's parameters (canonical JSON, redacted)
    target               TEXT NOT NULL,          -- what the original acted on (JSON: param -> values)
    principal            TEXT NOT NULL,          -- who asked for the time box
    due_at               TEXT NOT NULL,
    status               TEXT NOT NULL,          -- Scheduled | Running | Fired | Skipped | Failed | Cancelled
    claimed_by           TEXT,
    claimed_until        TEXT,
    revert_operation_id  TEXT,                   -- the inverse's operation, once fired
    reason               TEXT,                   -- why it skipped, failed or was cancelled
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL
);
CREATE INDEX reverts_due ON reverts (status, due_at);
CREATE INDEX reverts_operation ON reverts (operation_id);
CREATE INDEX reverts_tenant ON reverts (tenant, created_at);
