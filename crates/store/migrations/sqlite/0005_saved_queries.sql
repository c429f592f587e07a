-- Hunting: saved queries (versioned) and the run history of every hunt.
-- Same conventions as 0001 (UUID text ids, fixed-width RFC 3339 UTC text, canonical JSON).
-- Numbered 0005 so parallel migrations of other areas can take 0002-0004.

-- One row per saved query name. Names are case-insensitive: `name_key` is the lower-cased
-- name, `name` the spelling first used. A delete only stamps `deleted_at`: versions and run
-- history stay for audit, and saving the name again continues its version numbers.
CREATE TABLE saved_queries (
    name_key    TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    latest      INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    deleted_at  TEXT
);

-- Every saved text; a save of an existing name adds version latest + 1.
CREATE TABLE saved_query_versions (
    name_key     TEXT NOT NULL REFERENCES saved_queries (name_key),
    version      INTEGER NOT NULL,
    query        TEXT NOT NULL,
    description  TEXT,
    author       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (name_key, version)
);

-- One row per hunt (ad hoc or of a saved query), over one or more tenants. The query text is
-- kept; result rows never are.
CREATE TABLE query_runs (
    id             TEXT PRIMARY KEY NOT NULL,
    query_name     TEXT,            -- saved query name, NULL for an ad-hoc query
    query_version  INTEGER,
    query          TEXT NOT NULL,
    principal      TEXT NOT NULL,
    status         TEXT NOT NULL,   -- succeeded | partial | failed
    row_count      INTEGER NOT NULL,
    duration_ms    INTEGER NOT NULL,
    started_at     TEXT NOT NULL
);
CREATE INDEX query_runs_started ON query_runs (started_at);
CREATE INDEX query_runs_name ON query_runs (query_name, started_at);

-- Each tenant's part of a run, so history can be filtered by tenant scope in SQL.
CREATE TABLE query_run_tenants (
    run_id       TEXT NOT NULL REFERENCES query_runs (id),
    position     INTEGER NOT NULL,
    tenant       TEXT NOT NULL,
    status       TEXT NOT NULL,     -- succeeded | throttled | failed
    row_count    INTEGER NOT NULL,
    duration_ms  INTEGER NOT NULL,
    error        TEXT,              -- canonical JSON {code, message, ...}
    PRIMARY KEY (run_id, position)
);
CREATE INDEX query_run_tenants_tenant ON query_run_tenants (tenant, run_id);
