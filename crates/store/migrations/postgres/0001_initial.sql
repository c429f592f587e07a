-- Riposte store, PostgreSQL schema v1: the mirror of migrations/sqlite/0001_initial.sql.
-- Same column text forms as SQLite, so a record hashes the same on both back ends:
--   * ids are UUID text (hyphenated), timestamps fixed-width RFC 3339 UTC text
--     ("2026-01-02T03:04:05.123456Z"), JSON columns canonical JSON text;
--   * integers are BIGINT (SQLite's INTEGER is 64-bit; the code reads them as i64);
--   * columns compared or sorted as text (ids, timestamps, names) use COLLATE "C", so they order
--     byte-wise as in SQLite whatever the database's locale.

CREATE TABLE api_keys (
    id          TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    role        TEXT NOT NULL,
    tenants     TEXT NOT NULL DEFAULT '[]',
    key_hash    TEXT NOT NULL,
    created_at  TEXT COLLATE "C" NOT NULL,
    revoked_at  TEXT COLLATE "C"
);
-- Index names carry the column names: the store tells which unique rule broke by them.
CREATE UNIQUE INDEX api_keys_active_name ON api_keys (name) WHERE revoked_at IS NULL;
CREATE UNIQUE INDEX api_keys_key_hash ON api_keys (key_hash);

CREATE TABLE settings (
    key         TEXT PRIMARY KEY NOT NULL,
    value       TEXT NOT NULL,
    updated_at  TEXT COLLATE "C" NOT NULL
);

CREATE TABLE operations (
    id                    TEXT COLLATE "C" PRIMARY KEY NOT NULL,
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
    created_at            TEXT COLLATE "C" NOT NULL,
    updated_at            TEXT COLLATE "C" NOT NULL
);
CREATE UNIQUE INDEX operations_tenant_idempotency_key ON operations (tenant, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX operations_status ON operations (status, created_at);
CREATE INDEX operations_tenant_created ON operations (tenant, created_at);

-- Append-only, hash-chained audit log; `seq` comes from audit_head in the appending transaction.
CREATE TABLE audit_log (
    seq                   BIGINT PRIMARY KEY NOT NULL,
    at                    TEXT COLLATE "C" NOT NULL,
    operation_id          TEXT COLLATE "C",
    kind                  TEXT NOT NULL,
    principal             TEXT NOT NULL,
    tenant                TEXT,
    product               TEXT,
    action                TEXT,
    params                TEXT NOT NULL,
    outcome               TEXT,
    upstream_request_ids  TEXT NOT NULL,
    duration_ms           BIGINT,
    detail                TEXT NOT NULL,
    prev_hash             TEXT NOT NULL,
    hash                  TEXT NOT NULL
);
CREATE INDEX audit_log_tenant ON audit_log (tenant, seq);
CREATE INDEX audit_log_operation ON audit_log (operation_id, seq);
CREATE INDEX audit_log_at ON audit_log (at);

-- The chain's tip. Every append locks this row (`SELECT ... FOR UPDATE`) in its transaction,
-- so appends from every replica sharing the database queue on it: one chain, never a fork.
CREATE TABLE audit_head (
    id    BIGINT PRIMARY KEY NOT NULL CHECK (id = 1),
    seq   BIGINT NOT NULL,
    hash  TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Defence in depth, as in SQLite: the application never updates or deletes audit rows.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
