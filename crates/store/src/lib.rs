//! Persistence for Riposte: API keys, settings, operations and the hash-chained audit log.
//!
//! The store keeps data; it never decides business rules and never sees secrets (callers pass
//! key hashes and redacted params). [`Store`] is the only entry point; it wraps one back end
//! (SQLite today, PostgreSQL later) so callers never name a database type.
//!
//! Invariants this crate upholds:
//! * a call returns only after its transaction committed (durable before irreversible);
//! * audit appends are serialised, so the chain never forks; `verify_audit` detects modified,
//!   deleted (middle or tail), inserted and reordered rows;
//! * timestamps are UTC with microsecond precision and JSON is stored canonically, so the same
//!   record hashes the same on every back end.
//!
//! Two back ends: SQLite (`sqlite`, the embedded default) and PostgreSQL (`postgres`, for several
//! replicas on one database), with the same schema text forms (`migrations/sqlite` and
//! `migrations/postgres`, number for number) and the same behaviour: the tests in `tests/` run on
//! both. PostgreSQL serialises audit appends with `SELECT … FROM audit_head WHERE id = 1 FOR
//! UPDATE` where SQLite uses `BEGIN IMMEDIATE`. `chain`, `codec` and `model` are backend-agnostic.

mod approvals;
pub mod audit_key;
mod budget_windows;
mod chain;
mod codec;
pub mod credential_cache;
mod enrichment;
mod error;
mod group_commit;
mod jobs;
mod model;
pub mod pg_cluster;
mod postgres;
mod queries;
mod replicas;
mod reverts;
mod sqlite;
mod types;

#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::Arc;

use sqlx::sqlite::SqlitePool;
use uuid::Uuid;

pub use approvals::{Approval, ApprovalDecision, ApprovalFilter, NewApproval, approval_kind, approval_status};
pub use budget_windows::{BudgetWindow, Claimant, WAITER_SLACK};
pub use enrichment::{
    AlertEvidence, DeadLetterRow, EnrichmentCounts, LookupLogEntry, NewDeadLetter, PendingAlert, StoredLookup,
    StreamBatch, StreamOffset, Writeback,
};
pub use error::{BoxError, StoreError, describe as describe_error};
pub use jobs::{ItemEnd, Job, JobCounts, JobItem, NewJob, NewJobItem, item_state, job_state};
pub use model::{
    ApiKey, AuditFilter, AuditRecord, NewAuditEvent, NewKey, NewOperation, Operation, OperationFilter, OperationUpdate,
    VerifyReport,
};
pub use queries::{NewSavedQuery, QueryRun, QueryRunFilter, QueryRunTenant, SavedQuery, SavedQueryVersion};
pub use reverts::{NewRevert, Revert, RevertEnd, RevertFilter, revert_status};
pub use types::{AuditKind, OpState, TenantId};

/// Handle to the database. Cheap to clone: clones share the pool and the audit writer lock.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
    /// Serialises audit appends inside this process, so concurrent appends queue here instead
    /// of spinning on the database write lock. The database transaction still guards against
    /// other processes sharing the file.
    audit_writer: Arc<tokio::sync::Mutex<()>>,
    /// The audit chain's HMAC key, kept outside the database (`audit_key`); `None`: unkeyed.
    audit_key: Option<audit_key::AuditKey>,
    /// The replica this store acts as (`replicas`): stamped on the operations it accepts.
    replica: Arc<str>,
    /// Operation steps waiting for the next group commit (`group_commit`).
    group: Arc<group_commit::Queue>,
    /// SQLite file databases: the group commit's own connection (`sqlite::open_committer`).
    committer: Option<SqlitePool>,
    /// Key and setting answers for request authentication (`credential_cache`).
    credentials: Arc<credential_cache::CredentialCache>,
}

/// The database behind a [`Store`]. Every method matches exhaustively, so a new operation is a
/// compile error until both back ends implement it (`sqlite::x` and `postgres::x`, same SQL
/// where the dialects agree; `migrations/postgres` mirrors `migrations/sqlite` number for number).
#[derive(Clone, Debug)]
enum Backend {
    Sqlite(SqlitePool),
    /// Shared by several replicas; see `postgres` for how appends and claims are serialised.
    Postgres(sqlx::PgPool),
}

impl Store {
    fn new(backend: Backend) -> Store {
        Store {
            backend,
            audit_writer: Arc::new(tokio::sync::Mutex::new(())),
            audit_key: None,
            replica: Arc::from(Uuid::now_v7().to_string()),
            group: Arc::default(),
            committer: None,
            credentials: Arc::default(),
        }
    }

    /// Opens the SQLite database at `path`, creating the file and its directory if missing,
    /// and applies pending migrations.
    pub async fn open_sqlite(path: &Path) -> Result<Store, StoreError> {
        let pool = sqlite::open_file(path).await?;
        let committer = sqlite::open_committer(path).await?;
        tracing::info!(path = %path.display(), "store opened (sqlite)");
        Ok(Store { committer: Some(committer), ..Store::new(Backend::Sqlite(pool)) })
    }

    /// Opens the PostgreSQL database at `url` (`postgres://...`) and applies pending migrations.
    /// Several replicas may open the same database.
    pub async fn open_postgres(url: &str) -> Result<Store, StoreError> {
        let pool = postgres::open(url).await?;
        tracing::info!("store opened (postgres)");
        Ok(Store::new(Backend::Postgres(pool)))
    }

    /// Which back end this store uses: `"sqlite"` or `"postgres"` (logs, `/readyz`, tests).
    pub fn backend_name(&self) -> &'static str {
        match &self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// A fresh, private in-memory database (tests, dry runs). Gone when the last clone drops.
    pub async fn in_memory() -> Result<Store, StoreError> {
        Ok(Store::new(Backend::Sqlite(sqlite::open_memory().await?)))
    }

    /// Closes all connections (waits for in-flight queries), e.g. before the process exits.
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite(p) => p.close().await,
            Backend::Postgres(p) => p.close().await,
        }
        if let Some(c) = &self.committer {
            c.close().await;
        }
    }

    // ---- API keys -------------------------------------------------------------------------

    /// Stores a new key. A name already used by an active key is a `Conflict`.
    pub async fn create_key(&self, k: NewKey) -> Result<ApiKey, StoreError> {
        let written = match &self.backend {
            Backend::Sqlite(p) => sqlite::create_key(p, k).await,
            Backend::Postgres(p) => postgres::create_key(p, k).await,
        };
        self.credentials.invalidate();
        written
    }

    /// The active (not revoked) key with this hash, if any.
    pub async fn key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKey>, StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => sqlite::key_by_hash(p, key_hash).await,
            Backend::Postgres(p) => postgres::key_by_hash(p, key_hash).await,
        }
    }

    /// All keys, revoked ones included, oldest first.
    pub async fn list_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => sqlite::list_keys(p).await,
            Backend::Postgres(p) => postgres::list_keys(p).await,
        }
    }

    /// Revokes the active key with this name; `false` if there was none.
    pub async fn revoke_key(&self, name: &str) -> Result<bool, StoreError> {
        let written = match &self.backend {
            Backend::Sqlite(p) => sqlite::revoke_key(p, name).await,
            Backend::Postgres(p) => postgres::revoke_key(p, name).await,
        };
        self.credentials.invalidate();
        written
    }

    // ---- settings -------------------------------------------------------------------------

    /// A small configuration value stored with the data (e.g. `admin_key_hash`).
    pub async fn get_setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => sqlite::get_setting(p, key).await,
            Backend::Postgres(p) => postgres::get_setting(p, key).await,
        }
    }

    /// Inserts or replaces a setting.
    pub async fn set_setting(&self, key: &str, value: &str) -> Result<(), StoreError> {
        let written = match &self.backend {
            Backend::Sqlite(p) => sqlite::set_setting(p, key, value).await,
            Backend::Postgres(p) => postgres::set_setting(p, key, value).await,
        };
        self.credentials.invalidate();
        written
    }

    // ---- operations -----------------------------------------------------------------------

    /// Records an accepted action request. Returns once committed, so the engine may then call
    /// upstream. A reused `(tenant, idempotency_key)` or id is a `Conflict`.
    pub async fn insert_operation(&self, op: NewOperation) -> Result<Operation, StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => sqlite::insert_operation(p, op).await,
            Backend::Postgres(p) => postgres::insert_operation(p, op).await,
        }
    }

    /// The operation a tenant created with this idempotency key, if any.
    pub async fn operation_by_idempotency(&self, tenant: &str, key: &str) -> Result<Option<Operation>, StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => sqlite::operation_by_idempotency(p, tenant, key).await,
            Backend::Postgres(p) => postgres::operation_by_idempotency(p, tenant, key).await,
        }
    }

    pub async fn get_operation(&self, id: Uuid) -> Result<Option<Operation>, StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => sqlite::get_operation(p, id).await,
            Backend::Postgres(p) => postgres::get_operation(p, id).await,
        }
    }

    /// Applies an update atomically: status replaced, `result`/`error`/`tracking` replaced only
    /// when `Some`, request ids appended without duplicates. Unknown id is `NotFound`.
    /// A read-modify-write inside the batch's write transaction (SQLite's write lock, PostgreSQL's
    /// row lock), so two trackers appending request ids at once cannot lose each other's ids;
    /// it shares that transaction and its fsync with concurrent steps (`group_commit`).
    pub async fn update_operation(&self, id: Uuid, u: OperationUpdate) -> Result<Operation, StoreError> {
        let (op, _) = self.commit_step(group_commit::Step::Finish { id, update: u, outcome: None }).await?;
        Ok(op)
    }

    /// Operations in any of `statuses`, oldest first: what a restarted tracker must resume.
    /// `limit <= 0` means the default (100).
    pub async fn operations_in_status(&self, statuses: &[&str], limit: i64) -> Result<Vec<Operation>, StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => sqlite::operations_in_status(p, statuses, limit).await,
            Backend::Postgres(p) => postgres::operations_in_status(p, statuses, limit).await,
        }
    }

    /// Operations matching the filter, newest first.
    pub async fn list_operations(&self, f: OperationFilter) -> Result<Vec<Operation>, StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => sqlite::list_operations(p, f).await,
            Backend::Postgres(p) => postgres::list_operations(p, f).await,
        }
    }

    /// Inserts an operation and appends its `attempt` audit record in one transaction: once this
    /// returns, both are durable and the engine may call upstream.
    pub async fn begin_operation(
        &self,
        op: NewOperation,
        attempt: NewAuditEvent,
    ) -> Result<(Operation, AuditRecord), StoreError> {
        // Shares one transaction and one fsync with concurrent steps (`group_commit`).
        group_commit::recorded(
            self.commit_step(group_commit::Step::Begin { op, attempt, owner: self.replica.clone() }).await,
        )
    }

    /// Applies an operation update (as [`Store::update_operation`]) and appends its audit record
    /// in one transaction.
    pub async fn finish_step(
        &self,
        id: Uuid,
        update: OperationUpdate,
        record: NewAuditEvent,
    ) -> Result<(Operation, AuditRecord), StoreError> {
        // Shares one transaction and one fsync with concurrent steps (`group_commit`).
        group_commit::recorded(self.commit_step(group_commit::Step::Finish { id, update, outcome: Some(record) }).await)
    }

    // ---- hunting: saved queries and run history ------------------------------------------

    /// Saves a hunting query; an existing name (case-insensitive) gets a new version, and a
    /// deleted one is revived with its numbering continued.
    pub async fn save_query(&self, q: NewSavedQuery) -> Result<SavedQuery, StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => sqlite::save_query(p, q).await,
            Backend::Postgres(p) => postgres::save_query(p, q).await,
        }
    }

    /// A saved query (not deleted) with every version.
    pub async fn saved_query(&self, name: &str) -> Result<Option<SavedQuery>, StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => sqlite::saved_query(p, name).await,
            Backend::Postgres(p) => postgres::saved_query(p, name).await,
        }
    }

    /// Every saved query that is not deleted, by name.
    pub async fn list_saved_queries(&self) -> Result<Vec<SavedQuery>, StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => sqlite::list_saved_queries(p).await,
            Backend::Postgres(p) => postgres::list_saved_queries(p).await,
        }
    }

    /// Marks a saved query deleted (versions and history stay); `false` if there was none.
    pub async fn delete_saved_query(&self, name: &str) -> Result<bool, StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => sqlite::delete_saved_query(p, name).await,
            Backend::Postgres(p) => postgres::delete_saved_query(p, name).await,
        }
    }

    /// Records a finished hunt with each tenant's part. Never the result rows.
    pub async fn record_query_run(&self, run: &QueryRun) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => sqlite::record_query_run(p, run).await,
            Backend::Postgres(p) => postgres::record_query_run(p, run).await,
        }
    }

    /// Hunts matching the filter, newest first.
    pub async fn query_runs(&self, f: QueryRunFilter) -> Result<Vec<QueryRun>, StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => sqlite::query_runs(p, f).await,
            Backend::Postgres(p) => postgres::query_runs(p, f).await,
        }
    }

    // ---- audit ----------------------------------------------------------------------------

    /// Appends one record to the hash chain and returns it with its `seq` and `hash`.
    pub async fn append_audit(&self, e: NewAuditEvent) -> Result<AuditRecord, StoreError> {
        let _writer = self.audit_writer.lock().await;
        self.sealed(async {
            match &self.backend {
                Backend::Sqlite(p) => sqlite::append_audit(p, &e).await,
                Backend::Postgres(p) => postgres::append_audit(p, &e).await,
            }
        })
        .await
    }

    /// The newest `limit` records matching the filter, oldest first (newest last).
    pub async fn query_audit(&self, f: AuditFilter) -> Result<Vec<AuditRecord>, StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => sqlite::query_audit(p, f).await,
            Backend::Postgres(p) => postgres::query_audit(p, f).await,
        }
    }

    /// Recomputes every hash and link and compares the tail with the recorded head.
    /// Tampering is reported in the result (`ok == false`), not as an error.
    pub async fn verify_audit(&self) -> Result<VerifyReport, StoreError> {
        let mut report = self
            .sealed(async {
                match &self.backend {
                    Backend::Sqlite(p) => sqlite::verify_audit(p).await,
                    Backend::Postgres(p) => postgres::verify_audit(p).await,
                }
            })
            .await?;
        let keying = self.keying_problems().await?;
        report.ok &= keying.is_empty();
        report.problems.extend(keying);
        Ok(report)
    }
}
