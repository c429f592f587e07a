//! Group commit: concurrent operation steps share one transaction and one durable commit.
//!
//! Every operation step (an operation row plus its audit record) must be durable before the
//! caller is answered. Committed one by one, each step costs one fsync (a few ms on this
//! machine's disk), and the audit chain's single writer turns that into a queue: sixteen
//! concurrent requests waited for sixteen fsyncs in a row. Here a step is queued and the first
//! caller to take the writer lock becomes the leader: it takes every queued step, applies them
//! in queue order inside one transaction (each in its own savepoint, so one failing step does not
//! fail its neighbours) and commits once. Every caller is answered only after that commit, so
//! "durable before acknowledged" holds exactly as before; the chain stays linear because the
//! appends run one after the other inside the batch, under the same lock as every other append.
//!
//! The batch runs in a spawned task: a caller whose request is cancelled mid-batch cannot abort
//! its neighbours' commit, and a queued step is never left behind without a leader.
//!
//! PostgreSQL gets the same batching: its own group commit (`commit_delay`) only merges the WAL
//! flushes of transactions that commit concurrently, and the audit head's row lock makes our
//! appends commit one after another, so without batching each step still waits for its own flush.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use tokio::sync::oneshot;
use uuid::Uuid;

use crate::model::{AuditRecord, NewAuditEvent, NewOperation, Operation, OperationUpdate};
use crate::{Backend, Store, StoreError};

/// One operation step waiting for the next batch.
#[derive(Debug)]
pub(crate) enum Step {
    /// A new operation owned by `owner`, with its `attempt` record.
    Begin { op: NewOperation, attempt: NewAuditEvent, owner: Arc<str> },
    /// An update of operation `id`, with its `outcome` record; without one for a change that
    /// ends no step (the worker's `Running`, a tracking poll's progress): such a change shares
    /// the batch's commit too, instead of a transaction of its own that would wait for SQLite's
    /// write lock between two batches.
    Finish { id: Uuid, update: OperationUpdate, outcome: Option<NewAuditEvent> },
    /// A read carried out: the new operation, its `attempt`, its update and its `outcome`
    /// together ([`Store::record_read`]).
    Read(Box<ReadStep>),
}

/// A read's whole record (boxed in [`Step`]: it is the largest step by far).
#[derive(Debug)]
pub(crate) struct ReadStep {
    pub(crate) op: NewOperation,
    pub(crate) attempt: NewAuditEvent,
    pub(crate) update: OperationUpdate,
    pub(crate) outcome: NewAuditEvent,
    pub(crate) owner: Arc<str>,
}

/// What a step yields once its batch committed: the operation as written, and the step's last
/// audit record (none for a `Finish` without an outcome).
pub(crate) type StepResult = Result<(Operation, Option<AuditRecord>), StoreError>;

/// A queued step and where its result goes.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) step: Step,
    pub(crate) reply: oneshot::Sender<StepResult>,
}

/// The steps queued since the last batch; shared by every clone of a [`Store`].
#[derive(Debug, Default)]
pub(crate) struct Queue {
    pending: std::sync::Mutex<Vec<Pending>>,
    /// Whether a leader task is running (or about to): a step queued meanwhile is its to take.
    leading: AtomicBool,
    /// Batches committed since the last WAL checkpoint (SQLite).
    since_checkpoint: AtomicU32,
}

/// SQLite: a WAL checkpoint after every this many batches, once their callers are answered
/// (`sqlite::checkpoint`). A read writes about fifteen pages, so SQLite's own checkpoint (at
/// 1,000) seldom comes due in a commit.
const CHECKPOINT_EVERY_BATCHES: u32 = 16;

impl Queue {
    fn push(&self, p: Pending) {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).push(p);
    }

    /// Counts a committed batch; whether a checkpoint is due after it.
    fn checkpoint_due(&self) -> bool {
        // Called by the batch's leader only, under the writer lock: no race between the two.
        let due = self.since_checkpoint.fetch_add(1, Ordering::Relaxed) + 1 >= CHECKPOINT_EVERY_BATCHES;
        if due {
            self.since_checkpoint.store(0, Ordering::Relaxed);
        }
        due
    }

    fn take(&self) -> Vec<Pending> {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn is_empty(&self) -> bool {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).is_empty()
    }

    /// Whether the caller became the leader (none was running).
    fn claim_lead(&self) -> bool {
        !self.leading.swap(true, Ordering::AcqRel)
    }
}

/// Held by the leader task: when it ends, even by a panic, the lead is given up, and steps still
/// queued (pushed while it was finishing) get a leader of their own.
struct Lead(Store);

impl Drop for Lead {
    fn drop(&mut self) {
        self.0.group.leading.store(false, Ordering::Release);
        if !self.0.group.is_empty() && self.0.group.claim_lead() {
            // The leader is a task, so this runs inside its runtime; a runtime shutting down
            // has none, and the steps then wait for the next caller's leader.
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                let store = self.0.clone();
                rt.spawn(async move { store.lead_batches().await });
            } else {
                self.0.group.leading.store(false, Ordering::Release);
            }
        }
    }
}

/// A read's operation row as it ends: the new operation with its update applied (the rules of
/// `update_operation`: status set, optional fields when given, request ids appended once), so
/// the journal inserts it once, finished, instead of inserting, re-reading and updating it.
/// Stamped when recorded (the read has been carried out by then).
pub(crate) fn finished_read(op: NewOperation, u: OperationUpdate) -> Operation {
    let mut read = Operation::accepted(op, crate::codec::now());
    read.apply(u);
    // Recorded at once: its row carries one instant in both stamps (`push_insert_finished`).
    read.updated_at = read.created_at;
    read
}

/// The result of a step that appends a record: the record is there.
pub(crate) fn recorded(r: StepResult) -> Result<(Operation, AuditRecord), StoreError> {
    let (op, record) = r?;
    Ok((op, record.ok_or_else(|| StoreError::invariant("a recorded step committed without its audit record"))?))
}

/// Answers every step of a batch whose transaction failed as a whole (begin or commit): none of
/// them is durable. `sqlx::Error` is not `Clone`, so the others get its text.
pub(crate) fn fail_all(replies: Vec<oneshot::Sender<StepResult>>, e: StoreError) {
    let text = e.to_string();
    let detail = std::error::Error::source(&e).map(|s| format!("{text}: {s}")).unwrap_or(text);
    let mut first = Some(e);
    for reply in replies {
        let err = first.take().unwrap_or_else(|| {
            StoreError::Db(sqlx::Error::Io(std::io::Error::other(format!("group commit failed: {detail}"))))
        });
        let _ = reply.send(Err(err));
    }
}

impl Store {
    /// A read's operation, `attempt`, update and `outcome` in one step, written after the call:
    /// one durable commit per read instead of two. A read changes nothing upstream, so nothing is
    /// irreversible before its record; and its answer is given only after this commit, so every
    /// answered read is durable and audited. A crash mid-read leaves no trace, as it disclosed
    /// nothing (the engine's `read_once` decides which reads may).
    pub async fn record_read(
        &self,
        op: NewOperation,
        attempt: NewAuditEvent,
        update: OperationUpdate,
        outcome: NewAuditEvent,
    ) -> Result<(Operation, AuditRecord), StoreError> {
        recorded(
            self.commit_step(Step::Read(Box::new(ReadStep {
                op,
                attempt,
                update,
                outcome,
                owner: self.replica.clone(),
            })))
            .await,
        )
    }

    /// Queues `step`, and returns once the batch holding it has committed (or failed).
    pub(crate) async fn commit_step(&self, step: Step) -> StepResult {
        let (reply, answer) = oneshot::channel();
        self.group.push(Pending { step, reply });
        // One leader at a time, spawned only when none runs: a step per spawned task made every
        // step's task wake, wait for the writer lock and mostly find its step already taken.
        if self.group.claim_lead() {
            let store = self.clone();
            tokio::spawn(async move { store.lead_batches().await });
        }
        answer.await.unwrap_or_else(|_| {
            // The leader died (panicked) with this step in its batch: nothing of it committed.
            Err(StoreError::Db(sqlx::Error::Io(std::io::Error::other(
                "group commit: the batch's leader stopped before answering",
            ))))
        })
    }

    /// The leader: takes the writer lock and commits whatever is queued, batch after batch, until
    /// the queue is empty. The lock is given back between batches, so the other writers of the
    /// audit chain (jobs, approvals, reverts) are not starved by a busy queue.
    async fn lead_batches(&self) {
        let _lead = Lead(self.clone());
        loop {
            let writer = self.audit_writer.lock().await;
            let batch = self.group.take();
            if batch.is_empty() {
                return;
            }
            self.sealed(async {
                match &self.backend {
                    Backend::Sqlite(p) => {
                        crate::sqlite::commit_batch(self.committer.as_ref().unwrap_or(p), batch).await
                    }
                    Backend::Postgres(p) => crate::postgres::commit_batch(p, batch).await,
                }
            })
            .await;
            // The callers are answered; the WAL is copied back before the next batch, off their path.
            if let Backend::Sqlite(p) = &self.backend
                && self.group.checkpoint_due()
            {
                crate::sqlite::checkpoint(self.committer.as_ref().unwrap_or(p)).await;
            }
            drop(writer);
        }
    }
}
