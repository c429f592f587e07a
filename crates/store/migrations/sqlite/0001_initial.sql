-- Riposte store, SQLite schema v1.
-- Conventions (kept identical in the future migrations/postgres):
--   * ids are UUID text (hyphenated), timestamps are fixed-width RFC 3339 UTC text
--     ("2026-01-02T03:04:05.123456Z") so they sort lexicographically and hash stably;
--   * JSON columns hold canonical JSON text (sorted keys, no whitespace).

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    role        TEXT NOT NULL,
    tenants     TEXT NOT NULL DEFAULT '[]',   -- JSON array; empty = all tenants
    key_hash    TEXT NOT NULL,                 -- hex sha256 of the key; the key itself is never stored
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);
-- A name is unique among active keys, so a revoked name can be reused on rotation.
CREATE UNIQUE INDEX api_keys_active_name ON api_keys (name) WHERE revoked_at IS NULL;
CREATE UNIQUE INDEX api_keys_hash ON api_keys (key_hash);

CREATE TABLE settings (
    key         TEXT PRIMARY KEY NOT NULL,
    value       TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE operations (
    id                    TEXT PRIMARY KEY NOT NULL,
    tenant                TEXT NOT NULL,
    product               TEXT NOT NULL,
    action                TEXT NOT NULL,
    params                TEXT NOT NULL,
    principal             TEXT NOT NULL,
    idempotency_key       TEXT,
    status                TEXT NOT NULL,
    result                TEXT,
    error                 TEXT,
    upstream_request_ids  TEXT NOT NULL DEFAULT '[]',
    tracking              TEXT,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL
);
CREATE UNIQUE INDEX operations_idempotency ON operations (tenant, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX operations_status ON operations (status, created_at);
CREATE INDEX operations_tenant_created ON operations (tenant, created_at);

-- Append-only, hash-chained audit log. `seq` is assigned from audit_head, not AUTOINCREMENT,
-- so the chain position is decided in the same transaction that moves the head.
-- No foreign key to operations: an audit record must never be refused.
CREATE TABLE audit_log (
    seq                   INTEGER PRIMARY KEY NOT NULL,
    at                    TEXT NOT NULL,
    operation_id          TEXT,
    kind                  TEXT NOT NULL,
    principal             TEXT NOT NULL,
    tenant                TEXT,
    product               TEXT,
    action                TEXT,
    params                TEXT NOT NULL,
    outcome               TEXT,
    upstream_request_ids  TEXT NOT NULL,
    duration_ms           INTEGER,
    detail                TEXT NOT NULL,
    prev_hash             TEXT NOT NULL,
    hash                  TEXT NOT NULL
);
CREATE INDEX audit_log_tenant ON audit_log (tenant, seq);
CREATE INDEX audit_log_operation ON audit_log (operation_id, seq);
CREATE INDEX audit_log_at ON audit_log (at);

-- The chain's tip, moved in the same transaction as each append: deleting the last rows
-- leaves the head pointing past the table, which verify_audit reports.
CREATE TABLE audit_head (
    id    INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    seq   INTEGER NOT NULL,
    hash  TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Defence in depth: the application never updates or deletes audit rows. Someone with raw
-- database access can drop these triggers; the hash chain is what detects that.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
