-- The enrichment scanner (issue 14). Mirror of migrations/sqlite/0014_enrichment.sql.

CREATE TABLE enrichment_lookups (
    hash          TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    kind          TEXT NOT NULL,
    status        TEXT NOT NULL,
    source        TEXT NOT NULL,
    verdict       TEXT NOT NULL,
    looked_up_at  TEXT COLLATE "C" NOT NULL,
    expires_at    TEXT COLLATE "C" NOT NULL
);

CREATE TABLE enrichment_lookup_log (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    hash          TEXT COLLATE "C" NOT NULL,
    status        TEXT NOT NULL,
    source        TEXT NOT NULL,
    looked_up_at  TEXT COLLATE "C" NOT NULL
);
CREATE INDEX enrichment_lookup_log_hash ON enrichment_lookup_log (hash);

CREATE TABLE enrichment_alerts (
    tenant            TEXT NOT NULL,
    alert_id          TEXT NOT NULL,
    incident_id       TEXT,
    device_id         TEXT,
    hash_count        BIGINT NOT NULL,
    first_seen_at     TEXT COLLATE "C" NOT NULL,
    last_evidence_at  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant, alert_id)
);

CREATE TABLE enrichment_alert_hashes (
    tenant    TEXT NOT NULL,
    alert_id  TEXT NOT NULL,
    hash      TEXT COLLATE "C" NOT NULL,
    kind      TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant, alert_id, hash)
);

CREATE TABLE enrichment_writebacks (
    tenant       TEXT NOT NULL,
    alert_id     TEXT NOT NULL,
    hash_count   BIGINT NOT NULL,
    digest       TEXT NOT NULL,
    comment      TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    posted_at    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant, alert_id)
);

CREATE TABLE enrichment_dead_letters (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source       TEXT NOT NULL,
    partition    INTEGER NOT NULL,
    msg_offset   BIGINT NOT NULL,
    position     INTEGER NOT NULL,
    reason       TEXT NOT NULL,
    payload      TEXT NOT NULL,
    received_at  TEXT COLLATE "C" NOT NULL,
    UNIQUE (source, partition, msg_offset, position)
);

CREATE TABLE enrichment_offsets (
    source          TEXT NOT NULL,
    partition       INTEGER NOT NULL,
    next_offset     BIGINT NOT NULL,
    high_watermark  BIGINT NOT NULL,
    updated_at      TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (source, partition)
);
