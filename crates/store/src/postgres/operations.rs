//! Operations: one row per accepted action request, written before any upstream call.

use sqlx::postgres::{PgConnection, PgPool, PgRow};
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use super::{col, error_mentions};
use crate::StoreError;
use crate::codec;
use crate::error::conflict_on_unique;
use crate::model::{NewOperation, Operation, OperationFilter, OperationUpdate, effective_limit};

macro_rules! op_cols {
    () => {
        "id, tenant, product, action, params, principal, idempotency_key, status, result, error, \
         upstream_request_ids, tracking, created_at, updated_at, request_hash"
    };
}

pub(crate) async fn insert_operation(pool: &PgPool, op: NewOperation) -> Result<Operation, StoreError> {
    let mut conn = pool.acquire().await?;
    insert_operation_in(&mut conn, op).await
}

/// The insert on a connection the caller holds, so it can share a transaction with an audit append.
pub(crate) async fn insert_operation_in(conn: &mut PgConnection, op: NewOperation) -> Result<Operation, StoreError> {
    let new = Operation::accepted(op, codec::now());
    let stamp = codec::format_ts(new.created_at)?;
    sqlx::query(concat!(
        "INSERT INTO operations (",
        op_cols!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL, '[]', NULL, $9, $9, $10)"
    ))
    .bind(new.id.hyphenated().to_string())
    .bind(&new.tenant)
    .bind(&new.product)
    .bind(&new.action)
    .bind(codec::canonical_json(&new.params))
    .bind(&new.principal)
    .bind(&new.idempotency_key)
    .bind(&new.status)
    .bind(stamp)
    .bind(&new.request_hash)
    .execute(conn)
    .await
    .map_err(|e| insert_conflict(e, &new))?;
    Ok(new)
}

/// Says which uniqueness rule an insert broke, so the engine can answer the right 409.
fn insert_conflict(e: sqlx::Error, op: &Operation) -> StoreError {
    let on_idempotency = error_mentions(&e, "idempotency_key");
    conflict_on_unique(e, || match (&op.idempotency_key, on_idempotency) {
        (Some(key), true) => format!("idempotency key {key:?} was already used for tenant {:?}", op.tenant),
        _ => format!("operation {} already exists", op.id),
    })
}

pub(crate) async fn operation_by_idempotency(
    pool: &PgPool,
    tenant: &str,
    key: &str,
) -> Result<Option<Operation>, StoreError> {
    let row =
        sqlx::query(concat!("SELECT ", op_cols!(), " FROM operations WHERE tenant = $1 AND idempotency_key = $2"))
            .bind(tenant)
            .bind(key)
            .fetch_optional(pool)
            .await?;
    row.as_ref().map(operation_from_row).transpose()
}

pub(crate) async fn get_operation(pool: &PgPool, id: Uuid) -> Result<Option<Operation>, StoreError> {
    let mut conn = pool.acquire().await?;
    fetch_operation(&mut conn, id).await
}

async fn fetch_operation(conn: &mut PgConnection, id: Uuid) -> Result<Option<Operation>, StoreError> {
    let row = sqlx::query(concat!("SELECT ", op_cols!(), " FROM operations WHERE id = $1"))
        .bind(id.hyphenated().to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(operation_from_row).transpose()
}

/// The row, locked until the caller's transaction ends (read-modify-write across replicas).
async fn lock_operation(conn: &mut PgConnection, id: Uuid) -> Result<Option<Operation>, StoreError> {
    let row = sqlx::query(concat!("SELECT ", op_cols!(), " FROM operations WHERE id = $1 FOR UPDATE"))
        .bind(id.hyphenated().to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(operation_from_row).transpose()
}

/// The update on a connection (inside a write transaction) the caller holds.
pub(crate) async fn update_operation_in(
    conn: &mut PgConnection,
    id: Uuid,
    u: OperationUpdate,
) -> Result<Operation, StoreError> {
    let mut op = lock_operation(conn, id).await?.ok_or_else(|| StoreError::NotFound(format!("operation {id}")))?;
    op.apply(u);
    sqlx::query(
        "UPDATE operations SET status = $2, result = $3, error = $4, upstream_request_ids = $5,
         tracking = $6, updated_at = $7 WHERE id = $1",
    )
    .bind(id.hyphenated().to_string())
    .bind(&op.status)
    .bind(op.result.as_ref().map(codec::canonical_json))
    .bind(op.error.as_ref().map(codec::canonical_json))
    .bind(codec::string_list_json(&op.upstream_request_ids))
    .bind(op.tracking.as_ref().map(codec::canonical_json))
    .bind(codec::format_ts(op.updated_at)?)
    .execute(conn)
    .await?;
    Ok(op)
}

/// Oldest first, so a restarted tracker resumes in arrival order.
pub(crate) async fn operations_in_status(
    pool: &PgPool,
    statuses: &[&str],
    limit: i64,
) -> Result<Vec<Operation>, StoreError> {
    if statuses.is_empty() {
        return Ok(Vec::new());
    }
    let mut qb = QueryBuilder::<Postgres>::new(concat!("SELECT ", op_cols!(), " FROM operations WHERE status IN ("));
    let mut list = qb.separated(", ");
    for status in statuses {
        list.push_bind(status.to_string());
    }
    qb.push(") ORDER BY created_at, id LIMIT ");
    qb.push_bind(effective_limit(limit));
    let rows = qb.build().fetch_all(pool).await?;
    rows.iter().map(operation_from_row).collect()
}

/// Newest first: the console and CLI show recent operations.
pub(crate) async fn list_operations(pool: &PgPool, f: OperationFilter) -> Result<Vec<Operation>, StoreError> {
    let mut qb = QueryBuilder::<Postgres>::new(concat!("SELECT ", op_cols!(), " FROM operations WHERE 1 = 1"));
    // Rows keep the tenant as the caller spelled it; the filter's ids are already lower-case.
    if let Some(tenant) = f.tenant {
        qb.push(" AND lower(tenant) = ").push_bind(tenant.as_str().to_string());
    }
    if !f.tenants.is_empty() {
        qb.push(" AND lower(tenant) IN (");
        let mut list = qb.separated(", ");
        for t in f.tenants {
            list.push_bind(t.as_str().to_string());
        }
        qb.push(")");
    }
    if let Some(product) = f.product {
        qb.push(" AND product = ").push_bind(product);
    }
    if let Some(action) = f.action {
        qb.push(" AND action = ").push_bind(action);
    }
    if let Some(before) = f.before {
        qb.push(" AND id < ").push_bind(before.hyphenated().to_string());
    }
    if let Some(status) = f.status {
        qb.push(" AND status = ").push_bind(status.as_str());
    }
    if let Some(since) = f.since {
        qb.push(" AND created_at >= ").push_bind(codec::format_ts(since)?);
    }
    qb.push(" ORDER BY created_at DESC, id DESC LIMIT ").push_bind(effective_limit(f.limit));
    let rows = qb.build().fetch_all(pool).await?;
    rows.iter().map(operation_from_row).collect()
}

pub(crate) fn operation_from_row(row: &PgRow) -> Result<Operation, StoreError> {
    Ok(Operation {
        id: codec::parse_uuid("operations.id", &col::<String>(row, "id")?)?,
        tenant: col(row, "tenant")?,
        product: col(row, "product")?,
        action: col(row, "action")?,
        params: codec::parse_json("operations.params", &col::<String>(row, "params")?)?,
        principal: col(row, "principal")?,
        idempotency_key: col(row, "idempotency_key")?,
        request_hash: col(row, "request_hash")?,
        status: col(row, "status")?,
        result: codec::parse_json_opt("operations.result", col(row, "result")?)?,
        error: codec::parse_json_opt("operations.error", col(row, "error")?)?,
        upstream_request_ids: codec::parse_string_list(
            "operations.upstream_request_ids",
            &col::<String>(row, "upstream_request_ids")?,
        )?,
        tracking: codec::parse_json_opt("operations.tracking", col(row, "tracking")?)?,
        created_at: codec::parse_ts("operations.created_at", &col::<String>(row, "created_at")?)?,
        updated_at: codec::parse_ts("operations.updated_at", &col::<String>(row, "updated_at")?)?,
    })
}
