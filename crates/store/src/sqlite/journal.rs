//! An operation step and its audit record, committed together, and steps of concurrent
//! operations committed together (`crate::group_commit`).
//!
//! The engine writes an operation row and its `attempt` record before the upstream call, and the
//! outcome with its `outcome` record after. Each pair is applied together (in one savepoint): the
//! two can never disagree after a crash. The steps queued meanwhile by other requests share the
//! transaction, so a batch of steps costs one durable commit (one fsync).

use sqlx::sqlite::{SqliteConnection, SqlitePool};

use super::audit::{append_audit_in, insert_rows, read_head, set_head};
use super::begin_write;
use super::operations::{insert_operation_in, update_operation_in};
use crate::StoreError;
use crate::chain::ChainRow;
use crate::codec;
use crate::error::conflict_on_unique;
use crate::group_commit::{Pending, ReadStep, Step, StepResult, fail_all, finished_read};
use crate::model::Operation;

/// Applies `batch` in order, each step in its own savepoint, commits once, then answers each
/// caller: a step's result is sent only after the commit made it durable.
pub(crate) async fn commit_batch(pool: &SqlitePool, batch: Vec<Pending>) {
    let batch = match commit_reads(pool, batch).await {
        Ok(()) => return,
        Err(batch) => batch,
    };
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

/// A batch of reads only (the common case under read load) in five statements, whatever its
/// size: one multi-row insert of the finished operations, one of the audit rows sealed in order
/// from one read of the head, one head update, and the transaction's begin and commit. Each
/// statement is a round trip to SQLite's worker thread, so per-step statements made the batch's
/// own length the bound on throughput. Anything else (or any failure: nothing was committed)
/// goes back to the caller for the step-by-step path, where a failing step fails alone.
async fn commit_reads(pool: &SqlitePool, batch: Vec<Pending>) -> Result<(), Vec<Pending>> {
    if batch.len() < 2 || !batch.iter().all(|p| matches!(p.step, Step::Read(_))) {
        return Err(batch);
    }
    let mut reads = Vec::with_capacity(batch.len());
    let mut replies = Vec::with_capacity(batch.len());
    for p in batch {
        if let Step::Read(read) = p.step {
            let ReadStep { op, attempt, update, outcome, owner } = *read;
            reads.push((finished_read(op, update), attempt, outcome, owner));
            replies.push(p.reply);
        }
    }
    match write_reads(pool, &reads).await {
        Ok(records) => {
            for ((reply, (op, ..)), record) in replies.into_iter().zip(reads).zip(records) {
                let _ = reply.send(Ok((op, record)));
            }
            Ok(())
        }
        Err(e) => {
            tracing::debug!(error = %e, "batched reads failed as a whole; committing them step by step");
            // Rebuilt as steps: the operations keep their ids, attempts and outcomes.
            Err(replies
                .into_iter()
                .zip(reads)
                .map(|(reply, (op, attempt, outcome, owner))| Pending {
                    step: Step::Read(Box::new(ReadStep {
                        op: unfinished(&op),
                        attempt,
                        update: update_of(&op),
                        outcome,
                        owner,
                    })),
                    reply,
                })
                .collect())
        }
    }
}

type FinishedRead = (Operation, crate::model::NewAuditEvent, crate::model::NewAuditEvent, std::sync::Arc<str>);

async fn write_reads(pool: &SqlitePool, reads: &[FinishedRead]) -> Result<Vec<crate::model::AuditRecord>, StoreError> {
    let mut tx = begin_write(pool).await?;
    // 16 parameters a row, well under SQLite's 32,766 per statement.
    for chunk in reads.chunks(1_000) {
        let mut qb = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO operations (id, tenant, product, action, params, principal, idempotency_key, status, result,
             error, upstream_request_ids, tracking, created_at, updated_at, request_hash, owner) ",
        );
        let mut failed = None;
        qb.push_values(chunk, |mut b, (op, _, _, owner)| {
            let stamp = codec::format_ts(op.created_at).unwrap_or_else(|e| {
                failed = Some(e);
                String::new()
            });
            b.push_bind(op.id.hyphenated().to_string())
                .push_bind(op.tenant.clone())
                .push_bind(op.product.clone())
                .push_bind(op.action.clone())
                .push_bind(codec::canonical_json(&op.params))
                .push_bind(op.principal.clone())
                .push_bind(op.idempotency_key.clone())
                .push_bind(op.status.clone())
                .push_bind(op.result.as_ref().map(codec::canonical_json))
                .push_bind(op.error.as_ref().map(codec::canonical_json))
                .push_bind(codec::string_list_json(&op.upstream_request_ids))
                .push_bind(op.tracking.as_ref().map(codec::canonical_json))
                .push_bind(stamp.clone())
                .push_bind(stamp)
                .push_bind(op.request_hash.clone())
                .push_bind(owner.to_string());
        });
        if let Some(e) = failed {
            return Err(e);
        }
        qb.build().execute(&mut *tx).await?;
    }
    let head = read_head(&mut tx)
        .await?
        .ok_or_else(|| StoreError::invariant("audit_head row missing; run `riposte audit verify`"))?;
    let (mut seq, mut prev) = (head.seq, head.hash);
    let mut rows = Vec::with_capacity(reads.len() * 2);
    for (_, attempt, outcome, _) in reads {
        for e in [attempt, outcome] {
            seq += 1;
            let row = ChainRow::seal(e, seq, codec::now(), &prev)?;
            prev = row.hash.clone();
            rows.push(row);
        }
    }
    insert_rows(&mut tx, &rows).await?;
    set_head(&mut tx, seq, &prev).await?;
    tx.commit().await?;
    // Each read's outcome record (the second of its pair), as the step path answers.
    rows.into_iter().skip(1).step_by(2).map(ChainRow::into_record).collect()
}

/// The operation as the step path takes it again: new, with its end as an update.
fn unfinished(op: &Operation) -> crate::model::NewOperation {
    crate::model::NewOperation {
        id: op.id,
        tenant: op.tenant.clone(),
        product: op.product.clone(),
        action: op.action.clone(),
        params: op.params.clone(),
        principal: op.principal.clone(),
        idempotency_key: op.idempotency_key.clone(),
        request_hash: op.request_hash.clone(),
        status: op.status.clone(),
    }
}

fn update_of(op: &Operation) -> crate::model::OperationUpdate {
    crate::model::OperationUpdate {
        status: op.status.clone(),
        result: op.result.clone(),
        error: op.error.clone(),
        upstream_request_ids: op.upstream_request_ids.clone(),
        tracking: op.tracking.clone(),
    }
}

/// Runs one step; when it fails, its writes (and its audit append) are rolled back alone.
/// The outer `Err` is a failure of the savepoint itself, which dooms the whole batch.
async fn apply_in_savepoint(conn: &mut SqliteConnection, step: Step) -> Result<StepResult, StoreError> {
    sqlx::query("SAVEPOINT step").execute(&mut *conn).await?;
    let result = apply(conn, step).await;
    if result.is_err() {
        sqlx::query("ROLLBACK TO SAVEPOINT step").execute(&mut *conn).await?;
    }
    sqlx::query("RELEASE SAVEPOINT step").execute(&mut *conn).await?;
    Ok(result)
}

async fn apply(conn: &mut SqliteConnection, step: Step) -> StepResult {
    match step {
        Step::Begin { op, attempt, owner } => {
            let op = insert_operation_in(conn, op).await?;
            // The accepting replica owns it from the first commit on (`crate::replicas`).
            super::replicas::stamp_owner_in(conn, op.id, &owner).await?;
            let record = append_audit_in(conn, &attempt).await?;
            Ok((op, record))
        }
        Step::Finish { id, update, outcome } => {
            let op = update_operation_in(conn, id, update).await?;
            let record = append_audit_in(conn, &outcome).await?;
            Ok((op, record))
        }
        Step::Read(read) => {
            let ReadStep { op, attempt, update, outcome, owner } = *read;
            // A read's whole story at once: accepted, attempted, answered (`Store::record_read`).
            let op = finished_read(op, update);
            insert_finished_in(conn, &op, &owner).await?;
            append_audit_in(conn, &attempt).await?;
            let record = append_audit_in(conn, &outcome).await?;
            Ok((op, record))
        }
    }
}

/// Inserts a finished operation with its owner in one statement (a read, `Step::Read`).
async fn insert_finished_in(conn: &mut SqliteConnection, op: &Operation, owner: &str) -> Result<(), StoreError> {
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
