-- Time-boxed actions (`revertAfter`). Mirror of migrations/sqlite/0015_reverts.sql; the runner
-- claims a due row with `FOR UPDATE SKIP LOCKED` and a lease (`claimed_by`, `claimed_until`), so
-- a revert held by a replica that died is taken over and no two replicas run one revert.
CREATE TABLE reverts (
    id                   TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    operation_id         TEXT COLLATE "C" NOT NULL,
    tenant               TEXT NOT NULL,
    product              TEXT NOT NULL,
    action               TEXT NOT NULL,
    inverse              TEXT NOT NULL,
    params               TEXT NOT NULL,
    target               TEXT NOT NULL,
    principal            TEXT NOT NULL,
    due_at               TEXT COLLATE "C" NOT NULL,
    status               TEXT NOT NULL,
    claimed_by           TEXT,
    claimed_until        TEXT COLLATE "C",
    revert_operation_id  TEXT COLLATE "C",
    reason               TEXT,
    created_at           TEXT COLLATE "C" NOT NULL,
    updated_at           TEXT COLLATE "C" NOT NULL
);
CREATE INDEX reverts_due ON reverts (status, due_at);
CREATE INDEX reverts_operation ON reverts (operation_id);
CREATE INDEX reverts_tenant ON reverts (tenant, created_at);
