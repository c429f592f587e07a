-- Several replicas on PostgreSQL (issue 12 §4): which replica runs a tenant's bulk items.
-- The per-tenant rate budgets are kept by the process that calls Microsoft, so a tenant's items
-- run on one replica at a time: the claim takes (or renews) this lease in its transaction, and a
-- replica holds at most its fair share of the tenants with work. `owner` is the job runner's
-- lease owner; '' marks a lease released but closed until the releasing replica's items in
-- flight end. SQLite has no counterpart: one process holds the data directory, so every tenant
-- is always its own (postgres/jobs.rs).
CREATE TABLE tenant_leases (
    tenant       TEXT PRIMARY KEY NOT NULL,
    owner        TEXT NOT NULL,
    lease_until  TEXT COLLATE "C" NOT NULL
);
