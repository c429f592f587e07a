//! SQLite statements for replica ownership (`crate::replicas`). Same SQL as `postgres::replicas`
//! but for the row locks SQLite does not need (one writer at a time).

use sqlx::sqlite::{SqliteConnection, SqlitePool};
use sqlx::{QueryBuilder, Sqlite};
use time::OffsetDateTime;
use uuid::Uuid;

use super::operations::operation_from_row;
use crate::StoreError;
use crate::codec;
use crate::model::{Operation, effective_limit};

/// Stamps the accepting replica on a just-inserted operation (inside the accepting transaction).
pub(crate) async fn stamp_owner_in(conn: &mut SqliteConnection, id: Uuid, owner: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE operations SET owner = $2 WHERE id = $1")
        .bind(id.hyphenated().to_string())
        .bind(owner)
        .execute(conn)
        .await?;
    Ok(())
}

pub(crate) async fn heartbeat(pool: &SqlitePool, id: &str, until: OffsetDateTime) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO replicas (id, started_at, heartbeat_until) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET heartbeat_until = excluded.heartbeat_until",
    )
    .bind(id)
    .bind(codec::format_ts(codec::now())?)
    .bind(codec::format_ts(until)?)
    .execute(pool)
    .await?;
    Ok(())
}

pub(crate) async fn claim_orphaned(
    pool: &SqlitePool,
    me: &str,
    statuses: &[&str],
    include_own: bool,
    now: OffsetDateTime,
    limit: i64,
) -> Result<Vec<Operation>, StoreError> {
    let mut qb = QueryBuilder::<Sqlite>::new("UPDATE operations SET owner = ");
    qb.push_bind(me.to_string());
    qb.push(" WHERE id IN (SELECT id FROM operations WHERE status IN (");
    let mut list = qb.separated(", ");
    for s in statuses {
        list.push_bind(s.to_string());
    }
    qb.push(") AND (owner IS NULL OR (owner = ").push_bind(me.to_string()).push(" AND ").push_bind(include_own);
    qb.push(") OR (owner <> ").push_bind(me.to_string());
    qb.push(" AND owner NOT IN (SELECT id FROM replicas WHERE heartbeat_until > ")
        .push_bind(codec::format_ts(now)?)
        .push(")))");
    qb.push(" ORDER BY created_at, id LIMIT ").push_bind(effective_limit(limit)).push(")");
    qb.push(concat!(
        " RETURNING id, tenant, product, action, params, principal, idempotency_key, status, result, error, ",
        "upstream_request_ids, tracking, created_at, updated_at, request_hash"
    ));
    let rows = qb.build().fetch_all(pool).await?;
    rows.iter().map(operation_from_row).collect()
}

pub(crate) async fn owner(pool: &SqlitePool, id: Uuid) -> Result<Option<String>, StoreError> {
    let owner: Option<Option<String>> = sqlx::query_scalar("SELECT owner FROM operations WHERE id = $1")
        .bind(id.hyphenated().to_string())
        .fetch_optional(pool)
        .await?;
    Ok(owner.flatten())
}
