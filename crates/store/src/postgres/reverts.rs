//! PostgreSQL statements for time-boxed actions (`crate::reverts`): the SQLite ones, with row
//! locks where SQLite relies on its single writer (`FOR UPDATE SKIP LOCKED` to claim, so replicas
//! never claim the same revert and never wait on each other's claims).

use sqlx::postgres::{PgPool, PgRow};
use sqlx::{Postgres, QueryBuilder};
use time::OffsetDateTime;
use uuid::Uuid;

use super::audit::append_audit_in;
use super::operations::insert_operation_in;
use super::{begin_write, col};
use crate::StoreError;
use crate::codec;
use crate::model::{AuditRecord, NewAuditEvent, NewOperation, Operation, effective_limit};
use crate::reverts::{NewRevert, Revert, RevertEnd, RevertFilter, revert_status};

macro_rules! cols {
    () => {
        "id, operation_id, tenant, product, action, inverse, params, target, principal, due_at, status, \
         claimed_by, claimed_until, revert_operation_id, reason, created_at, updated_at"
    };
}

pub(crate) async fn begin_with_revert(
    pool: &PgPool,
    op: NewOperation,
    attempt: &NewAuditEvent,
    r: NewRevert,
    scheduled: &NewAuditEvent,
    owner: &str,
) -> Result<(Operation, AuditRecord), StoreError> {
    let mut tx = begin_write(pool).await?;
    let op = insert_operation_in(&mut tx, op).await?;
    super::replicas::stamp_owner_in(&mut tx, op.id, owner).await?;
    let record = append_audit_in(&mut tx, attempt).await?;
    let stamp = codec::format_ts(codec::now())?;
    sqlx::query(
        "INSERT INTO reverts (id, operation_id, tenant, product, action, inverse, params, target, principal,
         due_at, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
    )
    .bind(r.id.hyphenated().to_string())
    .bind(op.id.hyphenated().to_string())
    .bind(&r.tenant)
    .bind(&r.product)
    .bind(&r.action)
    .bind(&r.inverse)
    .bind(codec::canonical_json(&r.params))
    .bind(codec::canonical_json(&r.target))
    .bind(&r.principal)
    .bind(codec::format_ts(r.due_at)?)
    .bind(revert_status::SCHEDULED)
    .bind(stamp)
    .execute(&mut *tx)
    .await?;
    append_audit_in(&mut tx, scheduled).await?;
    tx.commit().await?;
    Ok((op, record))
}

pub(crate) async fn get(pool: &PgPool, id: Uuid) -> Result<Option<Revert>, StoreError> {
    let row = sqlx::query(concat!("SELECT ", cols!(), " FROM reverts WHERE id = $1"))
        .bind(id.hyphenated().to_string())
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub(crate) async fn list(pool: &PgPool, f: RevertFilter) -> Result<Vec<Revert>, StoreError> {
    let mut qb = QueryBuilder::<Postgres>::new(concat!("SELECT ", cols!(), " FROM reverts WHERE 1 = 1"));
    if !f.tenants.is_empty() {
        qb.push(" AND lower(tenant) IN (");
        let mut list = qb.separated(", ");
        for t in f.tenants {
            list.push_bind(t.as_str().to_string());
        }
        qb.push(")");
    }
    if let Some(status) = f.status {
        qb.push(" AND status = ").push_bind(status);
    }
    if let Some(op) = f.operation_id {
        qb.push(" AND operation_id = ").push_bind(op.hyphenated().to_string());
    }
    qb.push(" ORDER BY created_at DESC, id DESC LIMIT ").push_bind(effective_limit(f.limit));
    let rows = qb.build().fetch_all(pool).await?;
    rows.iter().map(from_row).collect()
}

/// One statement picks and takes the row; a row another replica is claiming right now is skipped,
/// so two runners never claim the same revert.
pub(crate) async fn claim_due(
    pool: &PgPool,
    owner: &str,
    now: OffsetDateTime,
    lease_until: OffsetDateTime,
) -> Result<Option<Revert>, StoreError> {
    let now = codec::format_ts(now)?;
    let row = sqlx::query(concat!(
        "UPDATE reverts SET status = $1, claimed_by = $2, claimed_until = $3, updated_at = $4
         WHERE id = (SELECT id FROM reverts
                     WHERE (status = $5 AND due_at <= $6) OR (status = $1 AND claimed_until < $4)
                     ORDER BY due_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
        ",
        " RETURNING ",
        cols!()
    ))
    .bind(revert_status::RUNNING)
    .bind(owner)
    .bind(codec::format_ts(lease_until)?)
    .bind(codec::format_ts(codec::now())?)
    .bind(revert_status::SCHEDULED)
    .bind(now)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub(crate) async fn finish(
    pool: &PgPool,
    id: Uuid,
    owner: &str,
    end: RevertEnd,
    record: &NewAuditEvent,
) -> Result<Revert, StoreError> {
    let mut tx = begin_write(pool).await?;
    let row = sqlx::query(concat!(
        "UPDATE reverts SET status = $3, revert_operation_id = $4, reason = $5, claimed_until = NULL, updated_at = $6
         WHERE id = $1 AND claimed_by = $2 AND status = $7",
        " RETURNING ",
        cols!()
    ))
    .bind(id.hyphenated().to_string())
    .bind(owner)
    .bind(end.status)
    .bind(end.revert_operation_id.map(|u| u.hyphenated().to_string()))
    .bind(end.reason)
    .bind(codec::format_ts(codec::now())?)
    .bind(revert_status::RUNNING)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| StoreError::Conflict(format!("revert {id} is no longer claimed by {owner}")))?;
    append_audit_in(&mut tx, record).await?;
    tx.commit().await?;
    from_row(&row)
}

pub(crate) async fn reschedule(
    pool: &PgPool,
    id: Uuid,
    due_at: Option<OffsetDateTime>,
    reason: Option<String>,
    record: &NewAuditEvent,
) -> Result<Revert, StoreError> {
    let mut tx = begin_write(pool).await?;
    let current = sqlx::query(concat!("SELECT ", cols!(), " FROM reverts WHERE id = $1 FOR UPDATE"))
        .bind(id.hyphenated().to_string())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("revert {id}")))?;
    let current = from_row(&current)?;
    if current.status != revert_status::SCHEDULED {
        return Err(StoreError::Conflict(format!("revert {id} is {}, not Scheduled", current.status)));
    }
    let (status, due) = match due_at {
        Some(due) => (revert_status::SCHEDULED, due),
        None => (revert_status::CANCELLED, current.due_at),
    };
    let row = sqlx::query(concat!(
        "UPDATE reverts SET status = $2, due_at = $3, reason = COALESCE($4, reason), updated_at = $5
         WHERE id = $1",
        " RETURNING ",
        cols!()
    ))
    .bind(id.hyphenated().to_string())
    .bind(status)
    .bind(codec::format_ts(due)?)
    .bind(reason)
    .bind(codec::format_ts(codec::now())?)
    .fetch_one(&mut *tx)
    .await?;
    append_audit_in(&mut tx, record).await?;
    tx.commit().await?;
    from_row(&row)
}

fn from_row(row: &PgRow) -> Result<Revert, StoreError> {
    let uuid = |name: &str, s: String| codec::parse_uuid(name, &s);
    Ok(Revert {
        id: uuid("reverts.id", col(row, "id")?)?,
        operation_id: uuid("reverts.operation_id", col(row, "operation_id")?)?,
        tenant: col(row, "tenant")?,
        product: col(row, "product")?,
        action: col(row, "action")?,
        inverse: col(row, "inverse")?,
        params: codec::parse_json("reverts.params", &col::<String>(row, "params")?)?,
        target: codec::parse_json("reverts.target", &col::<String>(row, "target")?)?,
        principal: col(row, "principal")?,
        due_at: codec::parse_ts("reverts.due_at", &col::<String>(row, "due_at")?)?,
        status: col(row, "status")?,
        claimed_by: col(row, "claimed_by")?,
        claimed_until: codec::parse_ts_opt("reverts.claimed_until", col(row, "claimed_until")?)?,
        revert_operation_id: col::<Option<String>>(row, "revert_operation_id")?
            .map(|s| uuid("reverts.revert_operation_id", s))
            .transpose()?,
        reason: col(row, "reason")?,
        created_at: codec::parse_ts("reverts.created_at", &col::<String>(row, "created_at")?)?,
        updated_at: codec::parse_ts("reverts.updated_at", &col::<String>(row, "updated_at")?)?,
    })
}
