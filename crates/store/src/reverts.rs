//! Time-boxed actions: the scheduled inverse of an accepted action (`revertAfter`).
//!
//! The store keeps the schedule; the engine decides what the inverse is, when it is due and
//! whether the target changed. Rules upheld here:
//! * a revert is written in the same transaction as its original operation and `attempt` record
//!   ([`Store::begin_operation_with_revert`]), so an accepted time-boxed action always has one;
//! * a due revert is claimed by one statement that moves it `Scheduled` → `Running` with a lease
//!   ([`Store::claim_due_revert`]): two runners never both get it, and a lease that expired (its
//!   runner died) makes it claimable again;
//! * every change of state commits with its audit record.

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::model::{AuditRecord, NewAuditEvent, NewOperation, Operation};
use crate::{Backend, Store, StoreError, TenantId, sqlite};

/// The states of a revert. `Scheduled` and `Running` are open; the others are final.
pub mod revert_status {
    pub const SCHEDULED: &str = "Scheduled";
    pub const RUNNING: &str = "Running";
    pub const FIRED: &str = "Fired";
    pub const SKIPPED: &str = "Skipped";
    pub const FAILED: &str = "Failed";
    pub const CANCELLED: &str = "Cancelled";
    pub const ALL: [&str; 6] = [SCHEDULED, RUNNING, FIRED, SKIPPED, FAILED, CANCELLED];
}

/// A revert to schedule with its original operation.
#[derive(Clone, Debug)]
pub struct NewRevert {
    pub id: Uuid,
    pub tenant: String,
    pub product: String,
    pub action: String,
    pub inverse: String,
    /// The inverse's parameters (already redacted).
    pub params: Value,
    /// What the original acted on: `{param: [values]}`.
    pub target: Value,
    pub principal: String,
    pub due_at: OffsetDateTime,
}

/// A scheduled (or ended) revert.
/// Serialized in snake case, like operations on `/v1`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Revert {
    pub id: Uuid,
    pub operation_id: Uuid,
    pub tenant: String,
    pub product: String,
    pub action: String,
    pub inverse: String,
    pub params: Value,
    pub target: Value,
    pub principal: String,
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: OffsetDateTime,
    pub status: String,
    #[serde(skip)]
    pub claimed_by: Option<String>,
    #[serde(skip)]
    pub claimed_until: Option<OffsetDateTime>,
    pub revert_operation_id: Option<Uuid>,
    pub reason: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// Which reverts to list: newest first.
#[derive(Clone, Debug, Default)]
pub struct RevertFilter {
    /// Only these tenants (empty: all).
    pub tenants: Vec<TenantId>,
    pub status: Option<String>,
    pub operation_id: Option<Uuid>,
    pub limit: i64,
}

/// How a claimed revert ended.
#[derive(Clone, Debug)]
pub struct RevertEnd {
    pub status: &'static str,
    pub revert_operation_id: Option<Uuid>,
    pub reason: Option<String>,
}

impl Store {
    /// Inserts an operation, its `attempt` record, its revert and the revert's `scheduled`
    /// record in one transaction.
    pub async fn begin_operation_with_revert(
        &self,
        op: NewOperation,
        attempt: NewAuditEvent,
        revert: NewRevert,
        scheduled: NewAuditEvent,
    ) -> Result<(Operation, AuditRecord), StoreError> {
        let _writer = self.audit_writer.lock().await;
        self.sealed(async {
            match &self.backend {
                Backend::Sqlite(p) => {
                    sqlite::reverts::begin_with_revert(p, op, &attempt, revert, &scheduled, &self.replica).await
                }
                Backend::Postgres(p) => {
                    crate::postgres::reverts::begin_with_revert(p, op, &attempt, revert, &scheduled, &self.replica)
                        .await
                }
            }
        })
        .await
    }

    pub async fn revert(&self, id: Uuid) -> Result<Option<Revert>, StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => sqlite::reverts::get(p, id).await,
            Backend::Postgres(p) => crate::postgres::reverts::get(p, id).await,
        }
    }

    pub async fn list_reverts(&self, f: RevertFilter) -> Result<Vec<Revert>, StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => sqlite::reverts::list(p, f).await,
            Backend::Postgres(p) => crate::postgres::reverts::list(p, f).await,
        }
    }

    /// Claims the earliest revert due at `now` (or whose runner's lease ran out) for `owner`
    /// until `lease_until`; `None` when nothing is due.
    pub async fn claim_due_revert(
        &self,
        owner: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> Result<Option<Revert>, StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => sqlite::reverts::claim_due(p, owner, now, lease_until).await,
            Backend::Postgres(p) => crate::postgres::reverts::claim_due(p, owner, now, lease_until).await,
        }
    }

    /// Ends a revert this owner claimed, with its audit record. `Conflict` when the claim was
    /// lost (another runner took it over).
    pub async fn finish_revert(
        &self,
        id: Uuid,
        owner: &str,
        end: RevertEnd,
        record: NewAuditEvent,
    ) -> Result<Revert, StoreError> {
        let _writer = self.audit_writer.lock().await;
        self.sealed(async {
            match &self.backend {
                Backend::Sqlite(p) => sqlite::reverts::finish(p, id, owner, end, &record).await,
                Backend::Postgres(p) => crate::postgres::reverts::finish(p, id, owner, end, &record).await,
            }
        })
        .await
    }

    /// Changes a `Scheduled` revert: cancels it (`due_at: None`) or moves its due time, with its
    /// audit record. `Conflict` when it is no longer scheduled; `NotFound` when unknown.
    pub async fn reschedule_revert(
        &self,
        id: Uuid,
        due_at: Option<OffsetDateTime>,
        reason: Option<String>,
        record: NewAuditEvent,
    ) -> Result<Revert, StoreError> {
        let _writer = self.audit_writer.lock().await;
        self.sealed(async {
            match &self.backend {
                Backend::Sqlite(p) => sqlite::reverts::reschedule(p, id, due_at, reason, &record).await,
                Backend::Postgres(p) => crate::postgres::reverts::reschedule(p, id, due_at, reason, &record).await,
            }
        })
        .await
    }
}
