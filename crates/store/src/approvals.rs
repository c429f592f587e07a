//! Approvals by policy: actions and bulk jobs held for a second person (`engine::approvals`).
//!
//! The store keeps the requests and their decisions; the engine decides what needs approval, who
//! may decide, and what runs after. Rules upheld here:
//! * a held operation (`AwaitingApproval`) or job (`AwaitingApproval`, none of its items
//!   claimable) is written in the same transaction as its approval row and both audit records
//!   (`attempt` / `job_created`, then `approval_requested`): nothing is held without a request, and
//!   no request exists without its subject;
//! * a decision moves the approval out of `Pending` with one conditional statement, in the same
//!   transaction as the subject's new state and the decision's audit record: two approvers, or an
//!   approver and the expiry, never both decide, and the chain always says who decided.

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::jobs::{Job, NewJob};
use crate::model::{AuditRecord, NewAuditEvent, NewOperation, Operation};
use crate::{Backend, Store, StoreError, sqlite};

/// The states of an approval: `Pending` is open, the others final.
pub mod approval_status {
    pub const PENDING: &str = "Pending";
    pub const APPROVED: &str = "Approved";
    pub const REJECTED: &str = "Rejected";
    pub const EXPIRED: &str = "Expired";
    pub const ALL: [&str; 4] = [PENDING, APPROVED, REJECTED, EXPIRED];
}

/// What an approval holds back.
pub mod approval_kind {
    pub const OPERATION: &str = "operation";
    pub const JOB: &str = "job";
}

/// An approval request, written with the subject it holds.
#[derive(Clone, Debug)]
pub struct NewApproval {
    pub id: Uuid,
    pub tenants: Vec<String>,
    pub product: String,
    pub action: String,
    /// Already redacted.
    pub params: Value,
    pub targets: i64,
    pub requester: String,
    /// The policy rules that matched (JSON list), for the approver to read.
    pub reasons: Value,
    pub expires_at: OffsetDateTime,
}

/// A stored approval (snake case on `/v1`, like operations and jobs).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Approval {
    pub id: Uuid,
    /// `operation` or `job` ([`approval_kind`]).
    pub kind: String,
    pub subject_id: Uuid,
    pub tenants: Vec<String>,
    pub product: String,
    pub action: String,
    pub params: Value,
    pub targets: i64,
    pub requester: String,
    pub reasons: Value,
    pub status: String,
    pub decided_by: Option<String>,
    pub reason: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub decided_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// Which approvals to list, newest first.
#[derive(Clone, Debug, Default)]
pub struct ApprovalFilter {
    pub status: Option<String>,
    /// Maximum rows; `<= 0` means the default (100).
    pub limit: i64,
}

/// A decision on a pending approval, and what it does to the subject.
#[derive(Clone, Debug)]
pub struct ApprovalDecision {
    /// `Approved`, `Rejected` or `Expired`.
    pub status: &'static str,
    pub decided_by: String,
    pub reason: Option<String>,
    /// The subject's new state: an operation `Queued` (it runs), `Rejected` or `Expired`; a job
    /// `Running`, `Rejected` or `Expired` (its items then `Cancelled`).
    pub subject_state: &'static str,
    /// Stored as the operation's `error` when it will never run.
    pub error: Option<Value>,
}

impl Store {
    /// Writes a held operation (`AwaitingApproval`, `result` = `held`), its `attempt` record, its
    /// approval and the `approval_requested` record in one transaction. A reused idempotency key
    /// is a `Conflict`, as for [`Store::begin_operation`].
    pub async fn hold_operation(
        &self,
        op: NewOperation,
        held: Value,
        attempt: NewAuditEvent,
        approval: NewApproval,
        requested: NewAuditEvent,
    ) -> Result<(Operation, Approval), StoreError> {
        let _writer = self.audit_writer.lock().await;
        self.sealed(async {
            match &self.backend {
                Backend::Sqlite(p) => {
                    sqlite::approvals::hold_operation(p, op, held, &attempt, approval, &requested, &self.replica).await
                }
                Backend::Postgres(p) => {
                    crate::postgres::approvals::hold_operation(
                        p,
                        op,
                        held,
                        &attempt,
                        approval,
                        &requested,
                        &self.replica,
                    )
                    .await
                }
            }
        })
        .await
    }

    /// Writes a held job (`AwaitingApproval`: its items are never claimed in that state) with its
    /// items and `job_created` record, its approval and the `approval_requested` record in one
    /// transaction.
    pub async fn hold_job(
        &self,
        job: NewJob,
        created: NewAuditEvent,
        approval: NewApproval,
        requested: NewAuditEvent,
    ) -> Result<(Job, Approval), StoreError> {
        let _writer = self.audit_writer.lock().await;
        self.sealed(async {
            match &self.backend {
                Backend::Sqlite(p) => sqlite::approvals::hold_job(p, job, &created, approval, &requested).await,
                Backend::Postgres(p) => {
                    crate::postgres::approvals::hold_job(p, job, &created, approval, &requested).await
                }
            }
        })
        .await
    }

    pub async fn approval(&self, id: Uuid) -> Result<Option<Approval>, StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => sqlite::approvals::get(p, id).await,
            Backend::Postgres(p) => crate::postgres::approvals::get(p, id).await,
        }
    }

    /// The approval that holds (or held) this operation or job.
    pub async fn approval_of(&self, subject: Uuid) -> Result<Option<Approval>, StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => sqlite::approvals::of_subject(p, subject).await,
            Backend::Postgres(p) => crate::postgres::approvals::of_subject(p, subject).await,
        }
    }

    /// Approvals matching the filter, newest first.
    pub async fn list_approvals(&self, f: ApprovalFilter) -> Result<Vec<Approval>, StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => sqlite::approvals::list(p, f).await,
            Backend::Postgres(p) => crate::postgres::approvals::list(p, f).await,
        }
    }

    /// Pending approvals whose time ran out at `now` (the engine's clock), oldest first.
    pub async fn expired_approvals(&self, now: OffsetDateTime, limit: i64) -> Result<Vec<Approval>, StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => sqlite::approvals::expired(p, now, limit).await,
            Backend::Postgres(p) => crate::postgres::approvals::expired(p, now, limit).await,
        }
    }

    /// Decides a pending approval: the approval, its subject's new state and the decision's audit
    /// record in one transaction. `Conflict` when it is no longer pending (someone decided first);
    /// `NotFound` when unknown. An approved operation is stamped as this replica's, which runs it.
    pub async fn decide_approval(
        &self,
        id: Uuid,
        decision: ApprovalDecision,
        record: NewAuditEvent,
    ) -> Result<(Approval, AuditRecord), StoreError> {
        let _writer = self.audit_writer.lock().await;
        self.sealed(async {
            match &self.backend {
                Backend::Sqlite(p) => sqlite::approvals::decide(p, id, decision, &record, &self.replica).await,
                Backend::Postgres(p) => {
                    crate::postgres::approvals::decide(p, id, decision, &record, &self.replica).await
                }
            }
        })
        .await
    }
}
