//! Bulk jobs: one action over many targets across tenants, one durable item per target.
//!
//! The store keeps jobs and items; the engine's scheduler decides what runs when. Rules upheld:
//! * a job and all its items are written in one transaction with its `job_created` record;
//! * items are claimed in one statement (`Pending` → `Running` with a lease): no item is handed
//!   to two runners, and an item whose lease ran out is claimable again with the same attempt
//!   number (the engine's idempotency key includes it, so the take-over finds the operation the
//!   dead runner started instead of acting again);
//! * an item ends only by the runner that holds its lease ([`Store::finish_job_item`]).

use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::model::NewAuditEvent;
use crate::{Backend, Store, StoreError, sqlite};

/// A job's states: `Running` and `Paused` are open, the others final. `AwaitingApproval` (held
/// by the approval policy, `crate::approvals`) is open too, but no item of it is claimed; it
/// becomes `Running`, or `Rejected` / `Expired` with every item `Cancelled`.
pub mod job_state {
    pub const RUNNING: &str = "Running";
    pub const PAUSED: &str = "Paused";
    pub const CANCELLED: &str = "Cancelled";
    pub const SUCCEEDED: &str = "Succeeded";
    pub const PARTIALLY_SUCCEEDED: &str = "PartiallySucceeded";
    pub const FAILED: &str = "Failed";
    pub const AWAITING_APPROVAL: &str = "AwaitingApproval";
    pub const REJECTED: &str = "Rejected";
    pub const EXPIRED: &str = "Expired";
    pub const ALL: [&str; 9] =
        [RUNNING, PAUSED, CANCELLED, SUCCEEDED, PARTIALLY_SUCCEEDED, FAILED, AWAITING_APPROVAL, REJECTED, EXPIRED];
}

/// An item's states.
pub mod item_state {
    pub const PENDING: &str = "Pending";
    pub const RUNNING: &str = "Running";
    pub const SUCCEEDED: &str = "Succeeded";
    pub const FAILED: &str = "Failed";
    pub const CANCELLED: &str = "Cancelled";
    pub const ALL: [&str; 5] = [PENDING, RUNNING, SUCCEEDED, FAILED, CANCELLED];
}

#[derive(Clone, Debug)]
pub struct NewJob {
    pub id: Uuid,
    pub name: Option<String>,
    pub product: String,
    pub action: String,
    /// Parameters shared by every item (redacted).
    pub params: Value,
    pub principal: String,
    pub role: String,
    pub priority: i64,
    pub revert_after_seconds: Option<i64>,
    pub undo_of: Option<Uuid>,
    pub items: Vec<NewJobItem>,
}

#[derive(Clone, Debug)]
pub struct NewJobItem {
    pub tenant: String,
    /// This target's parameters.
    pub params: Value,
}

/// A job as stored (snake case on `/v1`, like operations).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Job {
    pub id: Uuid,
    pub name: Option<String>,
    pub product: String,
    pub action: String,
    pub params: Value,
    pub principal: String,
    pub role: String,
    pub state: String,
    pub priority: i64,
    pub revert_after_seconds: Option<i64>,
    pub undo_of: Option<Uuid>,
    pub total: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct JobItem {
    pub job_id: Uuid,
    pub seq: i64,
    pub tenant: String,
    pub params: Value,
    pub state: String,
    pub attempts: i64,
    #[serde(skip)]
    pub lease_owner: Option<String>,
    #[serde(skip)]
    pub lease_until: Option<OffsetDateTime>,
    pub operation_id: Option<Uuid>,
    /// The operation's status when the item ended (`InProgress`: accepted by Microsoft, tracked).
    pub status: Option<String>,
    pub error: Option<Value>,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
}

/// How a job's items stand.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct JobCounts {
    pub by_state: BTreeMap<String, i64>,
    pub by_tenant: BTreeMap<String, BTreeMap<String, i64>>,
    /// When the first and the latest item ended (throughput and ETA are computed from them).
    #[serde(with = "time::serde::rfc3339::option")]
    pub first_finished_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_finished_at: Option<OffsetDateTime>,
}

impl JobCounts {
    pub fn count(&self, state: &str) -> i64 {
        self.by_state.get(state).copied().unwrap_or(0)
    }
}

/// How a claimed item ended.
#[derive(Clone, Debug)]
pub struct ItemEnd {
    pub state: &'static str,
    pub operation_id: Option<Uuid>,
    pub status: Option<String>,
    pub error: Option<Value>,
}

impl Store {
    /// Writes a job, every item and its `job_created` record in one transaction.
    pub async fn create_job(&self, job: NewJob, record: NewAuditEvent) -> Result<Job, StoreError> {
        let _writer = self.audit_writer.lock().await;
        self.sealed(async {
            match &self.backend {
                Backend::Sqlite(p) => sqlite::jobs::create(p, job, &record).await,
                Backend::Postgres(p) => crate::postgres::jobs::create(p, job, &record).await,
            }
        })
        .await
    }

    pub async fn job(&self, id: Uuid) -> Result<Option<Job>, StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => sqlite::jobs::get(p, id).await,
            Backend::Postgres(p) => crate::postgres::jobs::get(p, id).await,
        }
    }

    /// Jobs, newest first; `states` empty means any.
    pub async fn list_jobs(&self, states: &[&str], limit: i64) -> Result<Vec<Job>, StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => sqlite::jobs::list(p, states, limit).await,
            Backend::Postgres(p) => crate::postgres::jobs::list(p, states, limit).await,
        }
    }

    /// Items of a job by `seq`, after `after_seq`, optionally in one state.
    pub async fn job_items(
        &self,
        id: Uuid,
        state: Option<&str>,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<JobItem>, StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => sqlite::jobs::items(p, id, state, after_seq, limit).await,
            Backend::Postgres(p) => crate::postgres::jobs::items(p, id, state, after_seq, limit).await,
        }
    }

    pub async fn job_counts(&self, id: Uuid) -> Result<JobCounts, StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => sqlite::jobs::counts(p, id).await,
            Backend::Postgres(p) => crate::postgres::jobs::counts(p, id).await,
        }
    }

    /// Moves a job from one of `from` to `to` with its audit record; pending items become
    /// `Cancelled` when `to` is `Cancelled`. `Conflict` when the job is in no state of `from`.
    pub async fn set_job_state(
        &self,
        id: Uuid,
        from: &[&str],
        to: &str,
        record: NewAuditEvent,
    ) -> Result<Job, StoreError> {
        let _writer = self.audit_writer.lock().await;
        self.sealed(async {
            match &self.backend {
                Backend::Sqlite(p) => sqlite::jobs::set_state(p, id, from, to, &record).await,
                Backend::Postgres(p) => crate::postgres::jobs::set_state(p, id, from, to, &record).await,
            }
        })
        .await
    }

    /// Failed items of a job back to `Pending` with their attempt number raised (a retry is a
    /// new action, under a new idempotency key), and the job `Running` again. How many.
    pub async fn retry_failed_items(&self, id: Uuid, record: NewAuditEvent) -> Result<u64, StoreError> {
        let _writer = self.audit_writer.lock().await;
        self.sealed(async {
            match &self.backend {
                Backend::Sqlite(p) => sqlite::jobs::retry_failed(p, id, &record).await,
                Backend::Postgres(p) => crate::postgres::jobs::retry_failed(p, id, &record).await,
            }
        })
        .await
    }

    /// Tenants with claimable items of running jobs (pending, or leased by a runner whose lease ran out).
    pub async fn tenants_with_job_work(&self) -> Result<Vec<String>, StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => sqlite::jobs::tenants_with_work(p).await,
            Backend::Postgres(p) => crate::postgres::jobs::tenants_with_work(p).await,
        }
    }

    /// Claims up to `n` items of one tenant for `owner` until `lease_until`: higher-priority jobs
    /// first, then older jobs, then by `seq`.
    pub async fn claim_job_items(
        &self,
        tenant: &str,
        owner: &str,
        n: i64,
        lease_until: OffsetDateTime,
    ) -> Result<Vec<JobItem>, StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => sqlite::jobs::claim(p, tenant, owner, n, lease_until).await,
            Backend::Postgres(p) => crate::postgres::jobs::claim(p, tenant, owner, n, lease_until).await,
        }
    }

    /// Ends several items this owner holds in one transaction (group commit of the scheduler's
    /// item ends); for each, whether the lease was still held.
    pub async fn finish_job_items(
        &self,
        owner: &str,
        ends: Vec<(Uuid, i64, ItemEnd)>,
    ) -> Result<Vec<bool>, StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => sqlite::jobs::finish_items(p, owner, ends).await,
            // One statement each: PostgreSQL commits are cheap beside SQLite's FULL fsync.
            Backend::Postgres(p) => {
                let mut done = Vec::with_capacity(ends.len());
                for (job, seq, end) in ends {
                    done.push(crate::postgres::jobs::finish_item(p, job, seq, owner, end).await?);
                }
                Ok(done)
            }
        }
    }

    /// Extends the leases of every item `owner` is running (its heartbeat), so only a runner
    /// that stopped beating loses its items.
    pub async fn renew_job_leases(&self, owner: &str, until: OffsetDateTime) -> Result<u64, StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => sqlite::jobs::renew_leases(p, owner, until).await,
            Backend::Postgres(p) => crate::postgres::jobs::renew_leases(p, owner, until).await,
        }
    }

    /// Ends an item this owner holds (`Pending` again: retried later under the next attempt
    /// number); `false` when the lease was lost (another runner has it).
    pub async fn finish_job_item(&self, job: Uuid, seq: i64, owner: &str, end: ItemEnd) -> Result<bool, StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => sqlite::jobs::finish_item(p, job, seq, owner, end).await,
            Backend::Postgres(p) => crate::postgres::jobs::finish_item(p, job, seq, owner, end).await,
        }
    }

    /// Ends a running job whose items all ended: `Succeeded`, `PartiallySucceeded` or `Failed`
    /// by its counts, with the record the closure builds from the final job. `None` when
    /// something is still to do (or the job is not running).
    pub async fn complete_job_if_done(
        &self,
        id: Uuid,
        record: impl FnOnce(&Job, &JobCounts) -> NewAuditEvent,
    ) -> Result<Option<Job>, StoreError> {
        let _writer = self.audit_writer.lock().await;
        self.sealed(async {
            match &self.backend {
                Backend::Sqlite(p) => sqlite::jobs::complete_if_done(p, id, record).await,
                Backend::Postgres(p) => crate::postgres::jobs::complete_if_done(p, id, record).await,
            }
        })
        .await
    }
}
