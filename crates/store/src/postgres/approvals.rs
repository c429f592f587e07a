//! PostgreSQL statements for approvals by policy (`crate::approvals`): the SQLite ones. A
//! decision is one conditional `UPDATE … WHERE status = 'Pending'`, which PostgreSQL row-locks, so
//! two replicas never both decide.

use sqlx::postgres::{PgConnection, PgPool, PgRow};
use sqlx::{Postgres, QueryBuilder};
use time::OffsetDateTime;
use uuid::Uuid;

use super::audit::append_audit_in;
use super::operations::{insert_operation_in, update_operation_in};
use super::{begin_write, col};
use crate::StoreError;
use crate::approvals::{Approval, ApprovalDecision, ApprovalFilter, NewApproval, approval_kind, approval_status};
use crate::codec;
use crate::jobs::{Job, NewJob, item_state, job_state};
use crate::model::{AuditRecord, NewAuditEvent, NewOperation, Operation, OperationUpdate, effective_limit};

macro_rules! cols {
    () => {
        "id, kind, subject_id, tenants, product, action, params, targets, requester, reasons, status, decided_by, \
         reason, expires_at, decided_at, created_at, updated_at"
    };
}

pub(crate) async fn hold_operation(
    pool: &PgPool,
    op: NewOperation,
    held: serde_json::Value,
    attempt: &NewAuditEvent,
    approval: NewApproval,
    requested: &NewAuditEvent,
    owner: &str,
) -> Result<(Operation, Approval), StoreError> {
    let mut tx = begin_write(pool).await?;
    let status = op.status.clone();
    let op = insert_operation_in(&mut tx, op).await?;
    super::replicas::stamp_owner_in(&mut tx, op.id, owner).await?;
    let op = update_operation_in(&mut tx, op.id, OperationUpdate { status, result: Some(held), ..Default::default() })
        .await?;
    append_audit_in(&mut tx, attempt).await?;
    let approval = insert(&mut tx, approval_kind::OPERATION, op.id, approval).await?;
    append_audit_in(&mut tx, requested).await?;
    tx.commit().await?;
    Ok((op, approval))
}

pub(crate) async fn hold_job(
    pool: &PgPool,
    job: NewJob,
    created: &NewAuditEvent,
    approval: NewApproval,
    requested: &NewAuditEvent,
) -> Result<(Job, Approval), StoreError> {
    let mut tx = begin_write(pool).await?;
    let mut job = super::jobs::create_in(&mut tx, job, created).await?;
    sqlx::query("UPDATE jobs SET state = $2 WHERE id = $1")
        .bind(job.id.hyphenated().to_string())
        .bind(job_state::AWAITING_APPROVAL)
        .execute(&mut *tx)
        .await?;
    job.state = job_state::AWAITING_APPROVAL.into();
    let approval = insert(&mut tx, approval_kind::JOB, job.id, approval).await?;
    append_audit_in(&mut tx, requested).await?;
    tx.commit().await?;
    Ok((job, approval))
}

async fn insert(conn: &mut PgConnection, kind: &str, subject: Uuid, a: NewApproval) -> Result<Approval, StoreError> {
    let stamp = codec::format_ts(codec::now())?;
    let row = sqlx::query(concat!(
        "INSERT INTO approvals (",
        cols!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, NULL, $12, NULL, $13, $13) RETURNING ",
        cols!()
    ))
    .bind(a.id.hyphenated().to_string())
    .bind(kind)
    .bind(subject.hyphenated().to_string())
    .bind(codec::string_list_json(&a.tenants))
    .bind(&a.product)
    .bind(&a.action)
    .bind(codec::canonical_json(&a.params))
    .bind(a.targets)
    .bind(&a.requester)
    .bind(codec::canonical_json(&a.reasons))
    .bind(approval_status::PENDING)
    .bind(codec::format_ts(a.expires_at)?)
    .bind(stamp)
    .fetch_one(conn)
    .await?;
    from_row(&row)
}

pub(crate) async fn get(pool: &PgPool, id: Uuid) -> Result<Option<Approval>, StoreError> {
    let row = sqlx::query(concat!("SELECT ", cols!(), " FROM approvals WHERE id = $1"))
        .bind(id.hyphenated().to_string())
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub(crate) async fn of_subject(pool: &PgPool, subject: Uuid) -> Result<Option<Approval>, StoreError> {
    let row = sqlx::query(concat!("SELECT ", cols!(), " FROM approvals WHERE subject_id = $1"))
        .bind(subject.hyphenated().to_string())
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub(crate) async fn list(pool: &PgPool, f: ApprovalFilter) -> Result<Vec<Approval>, StoreError> {
    let mut qb = QueryBuilder::<Postgres>::new(concat!("SELECT ", cols!(), " FROM approvals WHERE 1 = 1"));
    if let Some(status) = f.status {
        qb.push(" AND status = ").push_bind(status);
    }
    qb.push(" ORDER BY created_at DESC, id DESC LIMIT ").push_bind(effective_limit(f.limit));
    let rows = qb.build().fetch_all(pool).await?;
    rows.iter().map(from_row).collect()
}

pub(crate) async fn expired(pool: &PgPool, now: OffsetDateTime, limit: i64) -> Result<Vec<Approval>, StoreError> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        cols!(),
        " FROM approvals WHERE status = $1 AND expires_at <= $2 ORDER BY expires_at, id LIMIT $3"
    ))
    .bind(approval_status::PENDING)
    .bind(codec::format_ts(now)?)
    .bind(effective_limit(limit))
    .fetch_all(pool)
    .await?;
    rows.iter().map(from_row).collect()
}

pub(crate) async fn decide(
    pool: &PgPool,
    id: Uuid,
    d: ApprovalDecision,
    record: &NewAuditEvent,
    owner: &str,
) -> Result<(Approval, AuditRecord), StoreError> {
    let mut tx = begin_write(pool).await?;
    let approval = mark(&mut tx, id, &d).await?;
    match approval.kind.as_str() {
        approval_kind::OPERATION => {
            let update = OperationUpdate { status: d.subject_state.into(), error: d.error, ..Default::default() };
            update_operation_in(&mut tx, approval.subject_id, update).await?;
            if d.status == approval_status::APPROVED {
                // The approving replica runs it; a restart or a take-over finds it `Queued`.
                super::replicas::stamp_owner_in(&mut tx, approval.subject_id, owner).await?;
            }
        }
        _ => set_job(&mut tx, approval.subject_id, d.subject_state).await?,
    }
    let record = append_audit_in(&mut tx, record).await?;
    tx.commit().await?;
    Ok((approval, record))
}

/// `Pending` → the decision, in one conditional statement.
async fn mark(conn: &mut PgConnection, id: Uuid, d: &ApprovalDecision) -> Result<Approval, StoreError> {
    let stamp = codec::format_ts(codec::now())?;
    let row = sqlx::query(concat!(
        "UPDATE approvals SET status = $2, decided_by = $3, reason = $4, decided_at = $5, updated_at = $5
         WHERE id = $1 AND status = $6 RETURNING ",
        cols!()
    ))
    .bind(id.hyphenated().to_string())
    .bind(d.status)
    .bind(&d.decided_by)
    .bind(&d.reason)
    .bind(stamp)
    .bind(approval_status::PENDING)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => from_row(&row),
        None => {
            let now: Option<String> = sqlx::query_scalar("SELECT status FROM approvals WHERE id = $1")
                .bind(id.hyphenated().to_string())
                .fetch_optional(&mut *conn)
                .await?;
            Err(match now {
                Some(status) => StoreError::Conflict(format!("approval {id} is already {status}")),
                None => StoreError::NotFound(format!("approval {id}")),
            })
        }
    }
}

/// The held job's new state; a job that will never run has its items `Cancelled`.
async fn set_job(conn: &mut PgConnection, job: Uuid, to: &str) -> Result<(), StoreError> {
    let stamp = codec::format_ts(codec::now())?;
    let ends = to != job_state::RUNNING;
    let finished = ends.then(|| stamp.clone());
    sqlx::query("UPDATE jobs SET state = $2, updated_at = $3, finished_at = $4 WHERE id = $1 AND state = $5")
        .bind(job.hyphenated().to_string())
        .bind(to)
        .bind(&stamp)
        .bind(finished)
        .bind(job_state::AWAITING_APPROVAL)
        .execute(&mut *conn)
        .await?;
    if ends {
        sqlx::query(
            "UPDATE job_items SET state = $2, updated_at = $3, finished_at = $3 WHERE job_id = $1 AND state = $4",
        )
        .bind(job.hyphenated().to_string())
        .bind(item_state::CANCELLED)
        .bind(&stamp)
        .bind(item_state::PENDING)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

fn from_row(row: &PgRow) -> Result<Approval, StoreError> {
    Ok(Approval {
        id: codec::parse_uuid("approvals.id", &col::<String>(row, "id")?)?,
        kind: col(row, "kind")?,
        subject_id: codec::parse_uuid("approvals.subject_id", &col::<String>(row, "subject_id")?)?,
        tenants: codec::parse_string_list("approvals.tenants", &col::<String>(row, "tenants")?)?,
        product: col(row, "product")?,
        action: col(row, "action")?,
        params: codec::parse_json("approvals.params", &col::<String>(row, "params")?)?,
        targets: col(row, "targets")?,
        requester: col(row, "requester")?,
        reasons: codec::parse_json("approvals.reasons", &col::<String>(row, "reasons")?)?,
        status: col(row, "status")?,
        decided_by: col(row, "decided_by")?,
        reason: col(row, "reason")?,
        expires_at: codec::parse_ts("approvals.expires_at", &col::<String>(row, "expires_at")?)?,
        decided_at: codec::parse_ts_opt("approvals.decided_at", col(row, "decided_at")?)?,
        created_at: codec::parse_ts("approvals.created_at", &col::<String>(row, "created_at")?)?,
        updated_at: codec::parse_ts("approvals.updated_at", &col::<String>(row, "updated_at")?)?,
    })
}
