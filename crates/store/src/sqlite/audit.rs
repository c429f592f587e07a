//! The audit log: append-only rows chained by hash, plus the `audit_head` tip.

use sqlx::sqlite::{SqliteConnection, SqlitePool, SqliteRow};
use sqlx::{QueryBuilder, Sqlite};

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

/// Appends one record. The tail is read and the head moved inside one `BEGIN IMMEDIATE`
/// transaction, so two writers (even in two processes) can never chain onto the same tail.
pub(crate) async fn append_audit(pool: &SqlitePool, e: &NewAuditEvent) -> Result<AuditRecord, StoreError> {
    let mut tx = begin_write(pool).await?;
    let record = append_audit_in(&mut tx, e).await?;
    tx.commit().await?;
    Ok(record)
}

/// The append inside a write transaction the caller holds (and commits).
pub(crate) async fn append_audit_in(tx: &mut SqliteConnection, e: &NewAuditEvent) -> Result<AuditRecord, StoreError> {
    let head = read_head(tx)
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

pub(crate) async fn read_head(conn: &mut SqliteConnection) -> Result<Option<Head>, StoreError> {
    let head: Option<(i64, String)> =
        sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1").fetch_optional(conn).await?;
    Ok(head.map(|(seq, hash)| Head { seq, hash }))
}

async fn insert_row(conn: &mut SqliteConnection, r: &ChainRow) -> Result<(), StoreError> {
    let mut qb = QueryBuilder::<Sqlite>::new("");
    push_insert_rows(&mut qb, std::slice::from_ref(r));
    qb.build().execute(conn).await?;
    Ok(())
}

/// Appends one `INSERT` of `rows` (at least one) to `qb`: 15 numbered parameters a row.
pub(crate) fn push_insert_rows(qb: &mut QueryBuilder<Sqlite>, rows: &[ChainRow]) {
    qb.push(concat!("INSERT INTO audit_log (", audit_cols!(), ") "));
    qb.push_values(rows, |mut b, r| {
        b.push_bind(r.seq)
            .push_bind(&r.at)
            .push_bind(&r.operation_id)
            .push_bind(&r.kind)
            .push_bind(&r.principal)
            .push_bind(&r.tenant)
            .push_bind(&r.product)
            .push_bind(&r.action)
            .push_bind(&r.params)
            .push_bind(&r.outcome)
            .push_bind(&r.upstream_request_ids)
            .push_bind(r.duration_ms)
            .push_bind(&r.detail)
            .push_bind(&r.prev_hash)
            .push_bind(&r.hash);
    });
}

/// The newest `limit` matching records, returned oldest first.
pub(crate) async fn query_audit(pool: &SqlitePool, f: AuditFilter) -> Result<Vec<AuditRecord>, StoreError> {
    let mut qb = QueryBuilder::<Sqlite>::new(concat!(
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

/// Walks the whole chain inside one read transaction, so the rows and the head are the same
/// snapshot even while appends continue (WAL readers do not block the writer).
pub(crate) async fn verify_audit(pool: &SqlitePool) -> Result<VerifyReport, StoreError> {
    let mut tx = pool.begin().await?;
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

pub(crate) fn chain_row(row: &SqliteRow) -> Result<ChainRow, StoreError> {
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
