-- Replicas (issue 12 §4): which process owns each unfinished operation, and which processes are
-- alive. Several `riposte serve` replicas share one PostgreSQL database; SQLite has one process
-- (the data-directory lock), and the same tables make its restart reclaim exactly its own work.
--
-- `operations.owner` is stamped in the transaction that accepts the operation (with its `attempt`
-- record). A replica renews `replicas.heartbeat_until` every few seconds; an operation whose
-- owner stopped beating (or that has no owner) is taken over by a live replica in one statement
-- that compares and sets the owner, so exactly one replica reconciles and runs it.
ALTER TABLE operations ADD COLUMN owner TEXT;
CREATE INDEX operations_owner ON operations (owner, status);

CREATE TABLE replicas (
    id               TEXT PRIMARY KEY NOT NULL,   -- stable per data directory ({data}/replica.id)
    started_at       TEXT NOT NULL,
    heartbeat_until  TEXT NOT NULL
);
