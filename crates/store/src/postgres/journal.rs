//! An operation step and its audit record, committed together, and steps of concurrent
//! operations committed together (`crate::group_commit`).
//!
//! The engine writes an operation row and its `attempt` record before the upstream call, and the
//! outcome with its `outcome` record after. Each pair is applied together (in one savepoint): the
//! two can never disagree after a crash. The steps queued meanwhile by other requests share the
//! transaction, so a batch of steps costs one durable commit (one fsync).
//! PostgreSQL: the first audit append locks the audit head row `FOR UPDATE`, serialising
//! batches across replicas.

use sqlx::postgres::{PgConnection, PgPool};

use super::audit::append_audit_in;
use super::begin_write;
use super::operations::{insert_operation_in, update_operation_in};
use crate::StoreError;
use crate::codec;
use crate::error::conflict_on_unique;
use crate::group_commit::{Pending, ReadStep, Step, StepResult, fail_all, finished_read};
use crate::model::Operation;

/// Applies `batch` in order, each step in its own savepoint, commits once, then answers each
/// caller: a step's result is sent only after the commit made it durable.
pub(crate) async fn commit_batch(pool: &PgPool, batch: Vec<Pending>) {
    let (steps, replies): (Vec<Step>, Vec<_>) = batch.into_iter().map(|p| (p.step, p.reply)).unzip();
    let mut tx = match begin_write(pool).await {
        Ok(tx) => tx,
        Err(e) => return fail_all(replies, e),
    };
    let single = steps.len() == 1;
    let mut results = Vec::with_capacity(steps.len());
    for step in steps {
        // A step alone needs no savepoint (two statements fewer): if it fails, the whole
        // transaction is rolled back and nothing else was in it.
        let applied = if single { Ok(apply(&mut tx, step).await) } else { apply_in_savepoint(&mut tx, step).await };
        match applied {
            Ok(r) => results.push(r),
            Err(e) => return fail_all(replies, e),
        }
    }
    if single && results.first().is_some_and(|r| r.is_err()) {
        let _ = tx.rollback().await;
        for (reply, result) in replies.into_iter().zip(results) {
            let _ = reply.send(result);
        }
        return;
    }
    if let Err(e) = tx.commit().await {
        return fail_all(replies, e.into());
    }
    for (reply, result) in replies.into_iter().zip(results) {
        let _ = reply.send(result);
    }
}

/// Runs one step; when it fails, its writes (and its audit append) are rolled back alone.
/// The outer `Err` is a failure of the savepoint itself, which dooms the whole batch.
async fn apply_in_savepoint(conn: &mut PgConnection, step: Step) -> Result<StepResult, StoreError> {
    sqlx::query("SAVEPOINT step").execute(&mut *conn).await?;
    let result = apply(conn, step).await;
    if result.is_err() {
        sqlx::query("ROLLBACK TO SAVEPOINT step").execute(&mut *conn).await?;
    }
    sqlx::query("RELEASE SAVEPOINT step").execute(&mut *conn).await?;
    Ok(result)
}

async fn apply(conn: &mut PgConnection, step: Step) -> StepResult {
    match step {
        Step::Begin { op, attempt, owner } => {
            let op = insert_operation_in(conn, op).await?;
            // The accepting replica owns it from the first commit on (`crate::replicas`).
            super::replicas::stamp_owner_in(conn, op.id, &owner).await?;
            let record = append_audit_in(conn, &attempt).await?;
            Ok((op, Some(record)))
        }
        Step::Finish { id, update, outcome } => {
            let op = update_operation_in(conn, id, update).await?;
            let record = match outcome {
                Some(outcome) => Some(append_audit_in(conn, &outcome).await?),
                None => None,
            };
            Ok((op, record))
        }
        Step::Read(read) => {
            let ReadStep { op, attempt, update, outcome, owner } = *read;
            // A read's whole story at once: accepted, attempted, answered (`Store::record_read`).
            let op = finished_read(op, update);
            insert_finished_in(conn, &op, &owner).await?;
            append_audit_in(conn, &attempt).await?;
            let record = append_audit_in(conn, &outcome).await?;
            Ok((op, Some(record)))
        }
    }
}

/// Inserts a finished operation with its owner in one statement (a read, `Step::Read`).
async fn insert_finished_in(conn: &mut PgConnection, op: &Operation, owner: &str) -> Result<(), StoreError> {
    let stamp = codec::format_ts(op.created_at)?;
    sqlx::query(
        "INSERT INTO operations (id, tenant, product, action, params, principal, idempotency_key, status, result,
         error, upstream_request_ids, tracking, created_at, updated_at, request_hash, owner)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14, $15)",
    )
    .bind(op.id.hyphenated().to_string())
    .bind(&op.tenant)
    .bind(&op.product)
    .bind(&op.action)
    .bind(codec::canonical_json(&op.params))
    .bind(&op.principal)
    .bind(&op.idempotency_key)
    .bind(&op.status)
    .bind(op.result.as_ref().map(codec::canonical_json))
    .bind(op.error.as_ref().map(codec::canonical_json))
    .bind(codec::string_list_json(&op.upstream_request_ids))
    .bind(op.tracking.as_ref().map(codec::canonical_json))
    .bind(stamp)
    .bind(&op.request_hash)
    .bind(owner)
    .execute(conn)
    .await
    .map_err(|e| conflict_on_unique(e, || format!("operation {} already exists", op.id)))?;
    Ok(())
}
