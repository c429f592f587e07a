-- Approvals by policy. Mirror of migrations/sqlite/0018_approvals.sql: a decision moves the row
-- out of `Pending` with one conditional UPDATE (row-locked), in the transaction that changes the
-- held operation or job and appends the decision's audit record, so replicas never both decide.
CREATE TABLE approvals (
    id          TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    kind        TEXT NOT NULL,
    subject_id  TEXT COLLATE "C" NOT NULL,
    tenants     TEXT NOT NULL,
    product     TEXT NOT NULL,
    action      TEXT NOT NULL,
    params      TEXT NOT NULL,
    targets     BIGINT NOT NULL,
    requester   TEXT NOT NULL,
    reasons     TEXT NOT NULL,
    status      TEXT NOT NULL,
    decided_by  TEXT,
    reason      TEXT,
    expires_at  TEXT COLLATE "C" NOT NULL,
    decided_at  TEXT COLLATE "C",
    created_at  TEXT COLLATE "C" NOT NULL,
    updated_at  TEXT COLLATE "C" NOT NULL
);
CREATE UNIQUE INDEX approvals_subject ON approvals (subject_id);
CREATE INDEX approvals_pending ON approvals (status, expires_at);
CREATE INDEX approvals_created ON approvals (created_at);
