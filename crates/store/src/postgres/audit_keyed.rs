//! The keyed audit chain on PostgreSQL (migration 0017, the port of SQLite's): whether the
//! chain is keyed, the one-time re-key of a chain written unkeyed, and marking keyed a chain
//! whose rows are HMACs already.

use sqlx::postgres::PgPool;

use super::audit::chain_row;
use super::begin_write;
use crate::StoreError;
use crate::audit_key::AuditKey;
use crate::chain::GENESIS;

/// Whether every row's hash is an HMAC under the store's key.
pub(crate) async fn is_keyed(pool: &PgPool) -> Result<bool, StoreError> {
    let keyed: Option<i64> =
        sqlx::query_scalar("SELECT keyed FROM audit_head WHERE id = 1").fetch_optional(pool).await?;
    Ok(keyed == Some(1))
}

/// Recomputes every row's `prev_hash` and `hash` under `key` in one transaction that holds the
/// head's row lock (so no replica appends meanwhile), and marks the chain keyed. The caller
/// has verified the unkeyed chain first. Returns the rows re-keyed (0 when another replica
/// keyed it first). Audit rows are updatable only while `rekeying` is raised (migration 0017).
pub(crate) async fn rekey(pool: &PgPool, key: &AuditKey) -> Result<i64, StoreError> {
    let mut tx = begin_write(pool).await?;
    let keyed: i64 =
        sqlx::query_scalar("SELECT keyed FROM audit_head WHERE id = 1 FOR UPDATE").fetch_one(&mut *tx).await?;
    if keyed == 1 {
        return Ok(0);
    }
    sqlx::query("UPDATE audit_head SET rekeying = 1 WHERE id = 1").execute(&mut *tx).await?;
    let rows = sqlx::query(
        "SELECT seq, at, operation_id, kind, principal, tenant, product, action, params, outcome, \
         upstream_request_ids, duration_ms, detail, prev_hash, hash FROM audit_log ORDER BY seq",
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut prev = GENESIS.to_string();
    let mut count = 0;
    for row in &rows {
        let mut r = chain_row(row)?;
        r.prev_hash = prev;
        r.hash = r.compute_hash_with(Some(key));
        sqlx::query("UPDATE audit_log SET prev_hash = $1, hash = $2 WHERE seq = $3")
            .bind(&r.prev_hash)
            .bind(&r.hash)
            .bind(r.seq)
            .execute(&mut *tx)
            .await?;
        prev = r.hash;
        count += 1;
    }
    sqlx::query("UPDATE audit_head SET hash = $1, keyed = 1, rekeying = 0 WHERE id = 1")
        .bind(&prev)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(count)
}

/// Marks keyed a chain whose rows the caller verified as HMACs under the key: PostgreSQL
/// databases written before migration 0017 were sealed under the key already, without the flag.
pub(crate) async fn mark_keyed(pool: &PgPool) -> Result<(), StoreError> {
    sqlx::query("UPDATE audit_head SET keyed = 1 WHERE id = 1").execute(pool).await?;
    Ok(())
}
