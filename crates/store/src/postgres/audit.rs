//! The audit log: append-only rows chained by hash, plus the `audit_head` tip.

use sqlx::postgres::{PgConnection, PgPool, PgRow};
use sqlx::{Postgres, QueryBuilder};

use super::{begin_write, col};
use crate::StoreError;
use crate::chain::{ChainRow, Head, Verifier};
use crate::codec;
use crate::model::{AuditFilter, AuditRecord, NewAuditEvent, VerifyReport, effective_limit};

macro_rules! audit_cols {
    () => {
        "seq, at, operation_id, kind, principal, tenant, product, action, params, outcome, \
         upstream_request_ids, duration_ms, detail, prev_hash, hash"
    };
}

/// Rows read per round trip while verifying, so memory stays flat on a large log.
const VERIFY_BATCH: i64 = 1_000;

/// Appends one record. The head row is locked, the tail read and the head moved inside one
/// transaction, so two writers (even on two replicas) can never chain onto the same tail.
pub(crate) async fn append_audit(pool: &PgPool, e: &NewAuditEvent) -> Result<AuditRecord, StoreError> {
    let mut tx = begin_write(pool).await?;
    let record = append_audit_in(&mut tx, e).await?;
    tx.commit().await?;
    Ok(record)
}

/// The append inside a write transaction the caller holds (and commits).
pub(crate) async fn append_audit_in(tx: &mut PgConnection, e: &NewAuditEvent) -> Result<AuditRecord, StoreError> {
    let head = lock_head(tx)
        .await?
        .ok_or_else(|| StoreError::invariant("audit_head row missing; run `riposte audit verify`"))?;
    let row = ChainRow::seal(e, head.seq + 1, codec::now(), &head.hash)?;
    insert_row(tx, &row).await?;
    sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(row.seq)
        .bind(&row.hash)
        .execute(&mut *tx)
        .await?;
    row.into_record()
}

/// The head, locked until the transaction ends: the one point every replica's appends queue on.
async fn lock_head(conn: &mut PgConnection) -> Result<Option<Head>, StoreError> {
    let head: Option<(i64, String)> =
        sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE").fetch_optional(conn).await?;
    Ok(head.map(|(seq, hash)| Head { seq, hash }))
}

async fn read_head(conn: &mut PgConnection) -> Result<Option<Head>, StoreError> {
    let head: Option<(i64, String)> =
        sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1").fetch_optional(conn).await?;
    Ok(head.map(|(seq, hash)| Head { seq, hash }))
}

async fn insert_row(conn: &mut PgConnection, r: &ChainRow) -> Result<(), StoreError> {
    sqlx::query(concat!(
        "INSERT INTO audit_log (",
        audit_cols!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
    ))
    .bind(r.seq)
    .bind(&r.at)
    .bind(&r.operation_id)
    .bind(&r.kind)
    .bind(&r.principal)
    .bind(&r.tenant)
    .bind(&r.product)
    .bind(&r.action)
    .bind(&r.params)
    .bind(&r.outcome)
    .bind(&r.upstream_request_ids)
    .bind(r.duration_ms)
    .bind(&r.detail)
    .bind(&r.prev_hash)
    .bind(&r.hash)
    .execute(conn)
    .await?;
    Ok(())
}

/// The newest `limit` matching records, returned oldest first.
pub(crate) async fn query_audit(pool: &PgPool, f: AuditFilter) -> Result<Vec<AuditRecord>, StoreError> {
    let mut qb = QueryBuilder::<Postgres>::new(concat!(
        "SELECT ",
        audit_cols!(),
        " FROM (SELECT ",
        audit_cols!(),
        " FROM audit_log WHERE 1 = 1"
    ));
    if let Some(tenant) = f.tenant {
        // Older rows keep the tenant as the caller spelled it; the filter is already lower-case.
        qb.push(" AND lower(tenant) = ").push_bind(tenant.as_str().to_string());
    }
    if let Some(action) = f.action {
        qb.push(" AND action = ").push_bind(action);
    }
    if let Some(id) = f.operation_id {
        qb.push(" AND operation_id = ").push_bind(id.hyphenated().to_string());
    }
    if let Some(since) = f.since {
        qb.push(" AND at >= ").push_bind(codec::format_ts(since)?);
    }
    qb.push(" ORDER BY seq DESC LIMIT ").push_bind(effective_limit(f.limit)).push(") AS newest ORDER BY seq ASC");
    let rows = qb.build().fetch_all(pool).await?;
    rows.iter().map(|r| chain_row(r).and_then(ChainRow::into_record)).collect()
}

/// Walks the whole chain inside one repeatable-read transaction, so the rows and the head are
/// the same snapshot even while other replicas keep appending.
pub(crate) async fn verify_audit(pool: &PgPool) -> Result<VerifyReport, StoreError> {
    let mut tx = pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await?;
    let head = read_head(&mut tx).await?;
    let mut verifier = Verifier::new();
    let mut after = i64::MIN;
    loop {
        let rows =
            sqlx::query(concat!("SELECT ", audit_cols!(), " FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"))
                .bind(after)
                .bind(VERIFY_BATCH)
                .fetch_all(&mut *tx)
                .await?;
        for row in &rows {
            let seq: i64 = col(row, "seq")?;
            match chain_row(row) {
                Ok(decoded) => verifier.check(&decoded),
                Err(e) => verifier.unreadable(seq, col(row, "hash").ok(), &crate::error::describe(&e)),
            }
            after = seq;
        }
        if (rows.len() as i64) < VERIFY_BATCH {
            break;
        }
    }
    tx.rollback().await?;
    Ok(verifier.finish(head))
}

pub(crate) fn chain_row(row: &PgRow) -> Result<ChainRow, StoreError> {
    Ok(ChainRow {
        seq: col(row, "seq")?,
        at: col(row, "at")?,
        operation_id: col(row, "operation_id")?,
        kind: col(row, "kind")?,
        principal: col(row, "principal")?,
        tenant: col(row, "tenant")?,
        product: col(row, "product")?,
        action: col(row, "action")?,
        params: col(row, "params")?,
        outcome: col(row, "outcome")?,
        upstream_request_ids: col(row, "upstream_request_ids")?,
        duration_ms: col(row, "duration_ms")?,
        detail: col(row, "detail")?,
        prev_hash: col(row, "prev_hash")?,
        hash: col(row, "hash")?,
    })
}
