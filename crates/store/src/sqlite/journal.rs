//! An operation step and its audit record, committed together, and steps of concurrent
//! operations committed together (`crate::group_commit`).
//!
//! The engine writes an operation row and its `attempt` record before the upstream call, and the
//! outcome with its `outcome` record after. Each pair is applied together (in one savepoint): the
//! two can never disagree after a crash. The steps queued meanwhile by other requests share the
//! transaction, so a batch of steps costs one durable commit (one fsync).

use sqlx::sqlite::{SqliteConnection, SqlitePool};

use super::audit::{append_audit_in, push_insert_rows};
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

/// A batch of reads only (the common case: a read alone too) in five statements, whatever its
/// size, sent in two round trips (`write_reads`): one multi-row insert of the finished
/// operations, one of the audit rows sealed in order from one read of the head, one head update,
/// and the transaction's begin and commit. Each round trip to SQLite's worker thread costs, so
/// per-step statements made the batch's own length the bound on throughput. Anything else (or
/// any failure: nothing was committed) goes back to the caller for the step-by-step path, where
/// a failing step fails alone.
async fn commit_reads(pool: &SqlitePool, batch: Vec<Pending>) -> Result<(), Vec<Pending>> {
    if !batch.iter().all(|p| matches!(p.step, Step::Read(_))) {
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

/// Reads written per round trip: 16 numbered parameters an operation and 2 × 15 its audit pair,
/// so one trip's numbers stay under SQLite's 32,766.
const READS_PER_TRIP: usize = 500;

/// The reads in two round trips to SQLite's worker thread (for up to [`READS_PER_TRIP`]): the
/// transaction's begin with the read of the audit head, then the rows, the head's move and the
/// commit. At concurrency 1 each trip is a wake-up of two threads, which cost more than the
/// commit's fsync: six trips made most of the latency a read adds.
async fn write_reads(pool: &SqlitePool, reads: &[FinishedRead]) -> Result<Vec<crate::model::AuditRecord>, StoreError> {
    let mut tx = InlineTx { conn: pool.acquire().await?, committed: false };
    let head: Option<(i64, String)> = sqlx::query_as("BEGIN IMMEDIATE; SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_optional(&mut *tx.conn)
        .await?;
    let (mut seq, mut prev) =
        head.ok_or_else(|| StoreError::invariant("audit_head row missing; run `riposte audit verify`"))?;
    let mut rows = Vec::with_capacity(reads.len() * 2);
    for (_, attempt, outcome, _) in reads {
        for e in [attempt, outcome] {
            seq += 1;
            let row = ChainRow::seal(e, seq, codec::now(), &prev)?;
            prev = row.hash.clone();
            rows.push(row);
        }
    }
    let trips = reads.chunks(READS_PER_TRIP).zip(rows.chunks(READS_PER_TRIP * 2));
    let last = reads.len().div_ceil(READS_PER_TRIP);
    for (n, (ops, audit)) in trips.enumerate() {
        let mut qb = sqlx::QueryBuilder::<sqlx::Sqlite>::new("");
        push_insert_finished(&mut qb, ops.iter().map(|(op, _, _, owner)| (op, &**owner)))?;
        qb.push("; ");
        push_insert_rows(&mut qb, audit);
        if n + 1 == last {
            qb.push("; UPDATE audit_head SET seq = ").push_bind(seq);
            qb.push(", hash = ").push_bind(prev.as_str());
            qb.push(" WHERE id = 1; COMMIT");
        }
        qb.build().execute(&mut *tx.conn).await?;
    }
    tx.committed = true;
    // Each read's outcome record (the second of its pair), as the step path answers.
    rows.into_iter().skip(1).step_by(2).map(ChainRow::into_record).collect()
}

/// A connection in a transaction begun and committed in its statements' text (so they share
/// round trips with other statements), which sqlx does not track: unless the commit went
/// through, the connection is closed rather than returned to the pool, and closing rolls the
/// transaction back.
struct InlineTx {
    conn: sqlx::pool::PoolConnection<sqlx::Sqlite>,
    committed: bool,
}

impl Drop for InlineTx {
    fn drop(&mut self) {
        if !self.committed {
            self.conn.close_on_drop();
        }
    }
}

/// Appends one `INSERT` of finished operations (reads), each with its owner, to `qb`.
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
    let mut qb = sqlx::QueryBuilder::<sqlx::Sqlite>::new("");
    push_insert_finished(&mut qb, [(op, owner)])?;
    qb.build()
        .execute(conn)
        .await
        .map_err(|e| conflict_on_unique(e, || format!("operation {} already exists", op.id)))?;
    Ok(())
}
