//! An operation step and its audit record, committed together, and steps of concurrent
//! operations committed together (`crate::group_commit`).
//!
//! The engine writes an operation row and its `attempt` record before the upstream call, and the
//! outcome with its `outcome` record after. Each pair is applied together (in one savepoint): the
//! two can never disagree after a crash. The steps queued meanwhile by other requests share the
//! transaction, so a batch of steps costs one durable commit (one fsync).

use std::collections::HashMap;
use std::sync::Arc;

use sqlx::sqlite::{SqliteConnection, SqlitePool};
use uuid::Uuid;

use super::audit::{append_audit_in, push_insert_rows};
use super::begin_write;
use super::operations::{insert_operation_in, operations_by_id_in, push_update_operation, update_operation_in};
use crate::StoreError;
use crate::chain::ChainRow;
use crate::codec;
use crate::error::conflict_on_unique;
use crate::group_commit::{Pending, ReadStep, Step, StepResult, fail_all, finished_read};
use crate::model::Operation;

/// Applies `batch` in order, each step in its own savepoint, commits once, then answers each
/// caller: a step's result is sent only after the commit made it durable.
pub(crate) async fn commit_batch(pool: &SqlitePool, batch: Vec<Pending>) {
    let batch = match commit_inline(pool, batch).await {
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

/// Any batch in two or three round trips to SQLite's worker thread, whatever its size: the
/// transaction's begin with the read of the audit head; the rows of the operations it finishes
/// (when it finishes any); then, as one multi-statement text, a multi-row insert of the new
/// operations (accepted, or reads already finished), an update per finished one, a multi-row
/// insert of the audit rows sealed in queue order, the head's move and the commit. Each round
/// trip costs two thread wake-ups, more than the commit's fsync at concurrency 1, and a step
/// by step batch made six to eight of them per step. On any failure nothing was committed and
/// the batch goes back to the caller for the step path, where a failing step fails alone and
/// gets its own error (a taken idempotency key, an unknown operation).
async fn commit_inline(pool: &SqlitePool, batch: Vec<Pending>) -> Result<(), Vec<Pending>> {
    if finishes_one_twice(&batch) {
        return Err(batch);
    }
    let steps: Vec<&Step> = batch.iter().map(|p| &p.step).collect();
    match write_inline(pool, &steps).await {
        Ok(answers) => {
            for (p, answer) in batch.into_iter().zip(answers) {
                let _ = p.reply.send(Ok(answer));
            }
            Ok(())
        }
        Err(e) => {
            tracing::debug!(error = %e, "the batch failed as a whole; committing it step by step");
            Err(batch)
        }
    }
}

/// Whether two steps of the batch finish one operation (the step path applies them in turn).
fn finishes_one_twice(batch: &[Pending]) -> bool {
    let mut seen = std::collections::HashSet::new();
    batch.iter().any(|p| matches!(&p.step, Step::Finish { id, .. } if !seen.insert(*id)))
}

/// Steps written per round trip: at most 16 + 2 × 15 numbered parameters a step (a read), so
/// one trip's numbers stay under SQLite's 32,766.
const STEPS_PER_TRIP: usize = 500;

/// How a step changes its operation's row.
enum RowWrite {
    /// A new row (an accepted operation, or a read already finished) with its owner.
    Insert(Operation, Arc<str>),
    /// The row as the step leaves it.
    Update(Operation),
}

async fn write_inline(pool: &SqlitePool, steps: &[&Step]) -> Result<Vec<StepAnswer>, StoreError> {
    let mut tx = InlineTx { conn: pool.acquire().await?, clean: false };
    match write_inline_in(&mut tx.conn, steps).await {
        Ok(answers) => {
            tx.clean = true;
            Ok(answers)
        }
        Err(e) => {
            tx.roll_back().await;
            Err(e)
        }
    }
}

async fn write_inline_in(conn: &mut SqliteConnection, steps: &[&Step]) -> Result<Vec<StepAnswer>, StoreError> {
    let head: Option<(i64, String)> = sqlx::query_as("BEGIN IMMEDIATE; SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_optional(&mut *conn)
        .await?;
    let (mut seq, mut prev) =
        head.ok_or_else(|| StoreError::invariant("audit_head row missing; run `riposte audit verify`"))?;
    let head_seq = seq;
    let mut current = fetch_finishing(conn, steps).await?;
    let mut writes = Vec::with_capacity(steps.len());
    let mut rows: Vec<Vec<ChainRow>> = Vec::with_capacity(steps.len());
    for step in steps {
        let (write, events) = match step {
            Step::Begin { op, attempt, owner } => {
                (RowWrite::Insert(Operation::accepted(op.clone(), codec::now()), owner.clone()), vec![attempt])
            }
            Step::Read(r) => (
                RowWrite::Insert(finished_read(r.op.clone(), r.update.clone()), r.owner.clone()),
                vec![&r.attempt, &r.outcome],
            ),
            Step::Finish { id, update, outcome } => {
                let mut op = current.remove(id).ok_or_else(|| StoreError::NotFound(format!("operation {id}")))?;
                op.apply(update.clone());
                (RowWrite::Update(op), outcome.iter().collect())
            }
        };
        let mut sealed = Vec::with_capacity(events.len());
        for e in events {
            seq += 1;
            let row = ChainRow::seal(e, seq, codec::now(), &prev)?;
            prev = row.hash.clone();
            sealed.push(row);
        }
        writes.push(write);
        rows.push(sealed);
    }
    // Every statement is built (values copied in) and every answer made before the first write:
    // nothing may fail once the commit has gone through.
    let trips = writes.len().div_ceil(STEPS_PER_TRIP);
    let mut texts = Vec::with_capacity(trips);
    for (n, (w, r)) in writes.chunks(STEPS_PER_TRIP).zip(rows.chunks(STEPS_PER_TRIP)).enumerate() {
        let mut qb = sqlx::QueryBuilder::<sqlx::Sqlite>::new("");
        push_row_writes(&mut qb, w)?;
        let sealed = r.concat();
        // (A batch of state changes alone, `Finish` without outcomes, appends nothing.)
        if !sealed.is_empty() {
            push_insert_rows(&mut qb, &sealed);
            qb.push("; ");
        }
        if n + 1 == trips {
            if seq != head_seq {
                qb.push("UPDATE audit_head SET seq = ").push_bind(seq);
                qb.push(", hash = ").push_bind(prev.as_str());
                qb.push(" WHERE id = 1; ");
            }
            qb.push("COMMIT");
        }
        texts.push(qb);
    }
    // Each step's answer: its operation as written, and its last audit record.
    let answers = writes
        .into_iter()
        .zip(rows)
        .map(|(w, mut r)| {
            let op = match w {
                RowWrite::Insert(op, _) | RowWrite::Update(op) => op,
            };
            Ok((op, r.pop().map(ChainRow::into_record).transpose()?))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    for mut qb in texts {
        qb.build().execute(&mut *conn).await?;
    }
    Ok(answers)
}

type StepAnswer = (Operation, Option<crate::model::AuditRecord>);

/// The rows of the operations the batch's `Finish` steps update, by id.
async fn fetch_finishing(conn: &mut SqliteConnection, steps: &[&Step]) -> Result<HashMap<Uuid, Operation>, StoreError> {
    let ids: Vec<Uuid> = steps
        .iter()
        .filter_map(|s| match s {
            Step::Finish { id, .. } => Some(*id),
            _ => None,
        })
        .collect();
    let mut found = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(STEPS_PER_TRIP) {
        found.extend(operations_by_id_in(conn, chunk).await?.into_iter().map(|op| (op.id, op)));
    }
    Ok(found)
}

/// Appends the inserts (one multi-row statement) and updates (one statement each) of `writes`.
fn push_row_writes(qb: &mut sqlx::QueryBuilder<sqlx::Sqlite>, writes: &[RowWrite]) -> Result<(), StoreError> {
    let inserts: Vec<(&Operation, &str)> = writes
        .iter()
        .filter_map(|w| match w {
            RowWrite::Insert(op, owner) => Some((op, &**owner)),
            RowWrite::Update(_) => None,
        })
        .collect();
    if !inserts.is_empty() {
        push_insert_finished(qb, inserts)?;
        qb.push("; ");
    }
    for w in writes {
        if let RowWrite::Update(op) = w {
            push_update_operation(qb, op)?;
            qb.push("; ");
        }
    }
    Ok(())
}

/// A connection in a transaction begun and committed in its statements' text (so they share
/// round trips with other statements), which sqlx does not track. Unless the commit went
/// through (`clean`), it is rolled back before the connection goes back to the pool; when even
/// that fails, or the future is dropped half way, the connection is closed instead, and closing
/// rolls the transaction back.
struct InlineTx {
    conn: sqlx::pool::PoolConnection<sqlx::Sqlite>,
    clean: bool,
}

impl InlineTx {
    async fn roll_back(&mut self) {
        self.clean = match sqlx::query("ROLLBACK").execute(&mut *self.conn).await {
            Ok(_) => true,
            // It failed before `BEGIN` took effect, or SQLite already rolled it back.
            Err(e) => e.to_string().contains("no transaction is active"),
        };
    }
}

impl Drop for InlineTx {
    fn drop(&mut self) {
        if !self.clean {
            self.conn.close_on_drop();
        }
    }
}

/// Appends one `INSERT` of new operation rows, each with its owner, to `qb`: 16 numbered
/// parameters a row.
fn push_insert_finished<'r>(
    qb: &mut sqlx::QueryBuilder<sqlx::Sqlite>,
    ops: impl IntoIterator<Item = (&'r Operation, &'r str)>,
) -> Result<(), StoreError> {
    qb.push(
        "INSERT INTO operations (id, tenant, product, action, params, principal, idempotency_key, status, result,
         error, upstream_request_ids, tracking, created_at, updated_at, request_hash, owner) ",
    );
    let mut failed = None;
    qb.push_values(ops, |mut b, (op, owner)| {
        let stamp = codec::format_ts(op.created_at).unwrap_or_else(|e| {
            failed = Some(e);
            String::new()
        });
        b.push_bind(op.id.hyphenated().to_string())
            .push_bind(op.tenant.as_str())
            .push_bind(op.product.as_str())
            .push_bind(op.action.as_str())
            .push_bind(codec::canonical_json(&op.params))
            .push_bind(op.principal.as_str())
            .push_bind(op.idempotency_key.as_deref())
            .push_bind(op.status.as_str())
            .push_bind(op.result.as_ref().map(codec::canonical_json))
            .push_bind(op.error.as_ref().map(codec::canonical_json))
            .push_bind(codec::string_list_json(&op.upstream_request_ids))
            .push_bind(op.tracking.as_ref().map(codec::canonical_json))
            .push_bind(stamp.clone())
            .push_bind(stamp)
            .push_bind(op.request_hash.as_deref())
            .push_bind(owner);
    });
    failed.map_or(Ok(()), Err)
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
async fn insert_finished_in(conn: &mut SqliteConnection, op: &Operation, owner: &str) -> Result<(), StoreError> {
    let mut qb = sqlx::QueryBuilder::<sqlx::Sqlite>::new("");
    push_insert_finished(&mut qb, [(op, owner)])?;
    qb.build()
        .execute(conn)
        .await
        .map_err(|e| conflict_on_unique(e, || format!("operation {} already exists", op.id)))?;
    Ok(())
}
