-- The enrichment scanner (issue 14, seed 003): lookup history, the evidence each alert carries,
-- the write-back ledger, dead letters, and the stream offsets checkpointed with the evidence.
-- Same conventions as 0001 (fixed-width RFC 3339 UTC text, canonical JSON). Numbered 0014 after
-- the issue, so parallel migrations of other areas keep the numbers before it.

-- The verdict per hash, trusted until `expires_at` (TTL by verdict). Hashes are lower-case hex.
CREATE TABLE enrichment_lookups (
    hash          TEXT PRIMARY KEY NOT NULL,
    kind          TEXT NOT NULL,
    status        TEXT NOT NULL,
    source        TEXT NOT NULL,
    verdict       TEXT NOT NULL,
    looked_up_at  TEXT NOT NULL,
    expires_at    TEXT NOT NULL
);

-- Every lookup made, oldest first: the history `GET /v1/enrichment/lookups?hash=` shows.
CREATE TABLE enrichment_lookup_log (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    hash          TEXT NOT NULL,
    status        TEXT NOT NULL,
    source        TEXT NOT NULL,
    looked_up_at  TEXT NOT NULL
);
CREATE INDEX enrichment_lookup_log_hash ON enrichment_lookup_log (hash);

-- One row per alert seen with file evidence; `hash_count` grows as evidence arrives, and the
-- alert is pending write-back while the ledger covers fewer hashes.
CREATE TABLE enrichment_alerts (
    tenant            TEXT NOT NULL,
    alert_id          TEXT NOT NULL,
    incident_id       TEXT,
    device_id         TEXT,
    hash_count        INTEGER NOT NULL,
    first_seen_at     TEXT NOT NULL,
    last_evidence_at  TEXT NOT NULL,
    PRIMARY KEY (tenant, alert_id)
);

CREATE TABLE enrichment_alert_hashes (
    tenant    TEXT NOT NULL,
    alert_id  TEXT NOT NULL,
    hash      TEXT NOT NULL,
    kind      TEXT NOT NULL,
    PRIMARY KEY (tenant, alert_id, hash)
);

-- The write-back ledger: what was last posted to each alert. `digest` covers every hash and
-- verdict in the comment, so the same verdicts are never posted twice to one alert.
CREATE TABLE enrichment_writebacks (
    tenant       TEXT NOT NULL,
    alert_id     TEXT NOT NULL,
    hash_count   INTEGER NOT NULL,
    digest       TEXT NOT NULL,
    comment      TEXT NOT NULL,
    -- `posted`, or `adopted` (our marker was already on the alert: an earlier uncertain POST landed).
    outcome      TEXT NOT NULL,
    posted_at    TEXT NOT NULL,
    PRIMARY KEY (tenant, alert_id)
);

-- Records that could not be read. Never retried; kept with the reason.
CREATE TABLE enrichment_dead_letters (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    source       TEXT NOT NULL,
    partition    INTEGER NOT NULL,
    msg_offset   INTEGER NOT NULL,
    position     INTEGER NOT NULL,
    reason       TEXT NOT NULL,
    payload      TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    UNIQUE (source, partition, msg_offset, position)
);

-- The next offset to read per partition, committed in the transaction that stored the
-- evidence before it (at-least-once, and a replay is harmless).
CREATE TABLE enrichment_offsets (
    source          TEXT NOT NULL,
    partition       INTEGER NOT NULL,
    next_offset     INTEGER NOT NULL,
    high_watermark  INTEGER NOT NULL,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (source, partition)
);
