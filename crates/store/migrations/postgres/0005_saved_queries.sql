-- Hunting: saved queries (versioned) and the run history. Mirror of migrations/sqlite/0005.

CREATE TABLE saved_queries (
    name_key    TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    latest      BIGINT NOT NULL,
    created_at  TEXT COLLATE "C" NOT NULL,
    updated_at  TEXT COLLATE "C" NOT NULL,
    deleted_at  TEXT COLLATE "C"
);

CREATE TABLE saved_query_versions (
    name_key     TEXT COLLATE "C" NOT NULL REFERENCES saved_queries (name_key),
    version      BIGINT NOT NULL,
    query        TEXT NOT NULL,
    description  TEXT,
    author       TEXT NOT NULL,
    created_at   TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (name_key, version)
);

CREATE TABLE query_runs (
    id             TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    query_name     TEXT,
    query_version  BIGINT,
    query          TEXT NOT NULL,
    principal      TEXT NOT NULL,
    status         TEXT NOT NULL,
    row_count      BIGINT NOT NULL,
    duration_ms    BIGINT NOT NULL,
    started_at     TEXT COLLATE "C" NOT NULL
);
CREATE INDEX query_runs_started ON query_runs (started_at);
CREATE INDEX query_runs_name ON query_runs (query_name, started_at);

CREATE TABLE query_run_tenants (
    run_id       TEXT COLLATE "C" NOT NULL REFERENCES query_runs (id),
    position     BIGINT NOT NULL,
    tenant       TEXT NOT NULL,
    status       TEXT NOT NULL,
    row_count    BIGINT NOT NULL,
    duration_ms  BIGINT NOT NULL,
    error        TEXT,
    PRIMARY KEY (run_id, position)
);
CREATE INDEX query_run_tenants_tenant ON query_run_tenants (tenant, run_id);
