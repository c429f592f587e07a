-- Approvals by policy (issue 15 §2): an action or a bulk job the approval policy holds waits here
-- for a second person. The held operation (status `AwaitingApproval`) or job (state
-- `AwaitingApproval`) is written in the same transaction as this row and its
-- `approval_requested` audit record; a decision (`Approved`, `Rejected`, `Expired`) moves this
-- row out of `Pending` in one conditional statement, in the same transaction as the subject's new
-- state and the decision's audit record, so two approvers (or an approver and the expiry) never
-- both decide.
CREATE TABLE approvals (
    id          TEXT PRIMARY KEY NOT NULL,
    kind        TEXT NOT NULL,              -- operation | job
    subject_id  TEXT NOT NULL,              -- the held operation's or job's id
    tenants     TEXT NOT NULL,              -- JSON list of the tenants it acts on
    product     TEXT NOT NULL,
    action      TEXT NOT NULL,
    params      TEXT NOT NULL,              -- canonical JSON, redacted
    targets     INTEGER NOT NULL,           -- how many targets (devices, users, items)
    requester   TEXT NOT NULL,              -- the principal who asked; never its approver
    reasons     TEXT NOT NULL,              -- JSON list of the policy rules that matched
    status      TEXT NOT NULL,              -- Pending | Approved | Rejected | Expired
    decided_by  TEXT,
    reason      TEXT,                       -- the approver's reason (or why it expired)
    expires_at  TEXT NOT NULL,              -- on the engine clock (follows the sandbox in tests)
    decided_at  TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX approvals_subject ON approvals (subject_id);
CREATE INDEX approvals_pending ON approvals (status, expires_at);
CREATE INDEX approvals_created ON approvals (created_at);
