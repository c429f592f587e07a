//! The executor: accepted operations run here, detached from the HTTP request that asked.
//!
//! Accepting an action means writing it `Queued` (with its `attempt` audit record) and handing it
//! to [`Executor::submit`], which runs it on a task of its own. The caller only *waits* for the
//! outcome, for a bounded time ([`crate::Engine::await_outcome`]); a disconnect, a client timeout
//! or a slow rate budget drops the wait, never the work. What a crash interrupts is picked up by
//! [`crate::reconcile`] from the durable queue (the `Queued`/`Running` rows of the store).
//!
//! Every operation in flight has an entry here: a `watch` channel on which the worker publishes
//! the first step's result (the outcome, or the typed error a waiter turns into its answer), and
//! a cancel switch a waiter pulls when nobody is left to wait for a read. The entry is dropped when
//! the operation is terminal, which wakes every waiter (a dropped sender is a notification).

use crate::{Engine, EngineError, Outcome, Principal};
use catalog::{ActionSpec, Params};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use uuid::Uuid;

/// How many operations carry out upstream calls at once. Waiting for a rate budget holds a slot,
/// so this is generous: budgets, not this pool, pace the clouds.
pub const DEFAULT_WORKERS: usize = 256;

/// One accepted operation, as the worker needs it. Params are the validated, unredacted ones:
/// secrets live only in memory, never in the queue.
pub(crate) struct Job {
    pub op: Uuid,
    pub tenant: String,
    pub principal: Principal,
    pub spec: &'static ActionSpec,
    pub params: Params,
    /// A restart interrupted this operation while `Running`: find its effects before acting again.
    pub resume: bool,
    /// Show sensitive result fields in the first answer (never stored).
    pub reveal: bool,
    /// The operation as accepted `Running`, its worker's slot taken before the accept
    /// ([`Executor::try_slot`]): the worker has no `Running` write to make, nor a row to read.
    pub running: Option<store::Operation>,
}

/// A worker's slot taken before an operation is accepted, so that it is accepted `Running`:
/// one durable write fewer per action than `Queued` then `Running`, and the state still says
/// exactly "a worker holds it; calls may have begun" (what a restart must know, `reconcile`).
pub(crate) struct Slot(OwnedSemaphorePermit);

/// What a worker publishes: the first step's result, shared by every waiter.
pub(crate) type Published = Option<Arc<Result<Outcome, EngineError>>>;

struct Entry {
    result: watch::Sender<Published>,
    cancel: watch::Sender<bool>,
}

/// A waiter's view of one operation in flight.
pub(crate) struct Subscription {
    pub result: watch::Receiver<Published>,
    cancel: watch::Sender<bool>,
}

impl Subscription {
    /// Ask the worker to stop (reads nobody waits for any more). The worker records `Cancelled`.
    pub fn cancel(&self) {
        self.cancel.send_replace(true);
    }
}

pub(crate) struct Executor {
    slots: Arc<Semaphore>,
    inflight: Mutex<HashMap<Uuid, Arc<Entry>>>,
}

impl Executor {
    pub fn new(workers: usize) -> Executor {
        Executor { slots: Arc::new(Semaphore::new(workers.max(1))), inflight: Mutex::new(HashMap::new()) }
    }

    /// A free worker's slot, if one is free now.
    pub fn try_slot(&self) -> Option<Slot> {
        self.slots.clone().try_acquire_owned().ok().map(Slot)
    }

    /// Run a job on its own task, in `slot` when one was taken for it. The submitter's
    /// subscription is made before the task starts: a worker that ends at once (a quick refusal
    /// upstream) drops its entry before a later `subscribe` could find it, and its waiter would
    /// then have only the store's status, without the typed error.
    ///
    /// An operation runs at most once at a time here: one already in flight is not started
    /// again (its entry would be replaced, and its waiters would lose what it publishes); the
    /// caller follows the run under way.
    pub fn submit(&self, engine: &Engine, job: Job, slot: Option<Slot>) -> Subscription {
        let (result, first_step) = watch::channel(None);
        let (cancel, cancelled) = watch::channel(false);
        let mine = Subscription { result: first_step, cancel: cancel.clone() };
        {
            let mut inflight = self.inflight.lock();
            if let Some(running) = inflight.get(&job.op) {
                tracing::warn!(operation = %job.op, action = job.spec.name, "already running in this process; not started twice");
                return Subscription { result: running.result.subscribe(), cancel: running.cancel.clone() };
            }
            inflight.insert(job.op, Arc::new(Entry { result, cancel }));
        }
        let engine = engine.clone();
        let slots = self.slots.clone();
        // A bulk job's item stays bulk on the worker's task: its calls yield to interactive ones.
        let bulk = upstream::budget::is_bulk();
        tokio::spawn(async move {
            let op = job.op;
            let outcome = tokio::select! {
                outcome = async {
                    let _slot = match slot {
                        Some(Slot(taken)) => taken,
                        None => slots.acquire_owned().await.expect("the executor's semaphore is never closed"),
                    };
                    if bulk { upstream::budget::as_bulk(engine.run_job(&job)).await } else { engine.run_job(&job).await }
                } => outcome,
                () = until_cancelled(cancelled) => engine.cancel_job(&job).await,
            };
            engine.inner.executor.publish(op, outcome);
        });
        mine
    }

    /// The worker's result for waiters; a terminal outcome (or an error) also ends the entry.
    fn publish(&self, op: Uuid, outcome: Result<Outcome, EngineError>) {
        let done = outcome.as_ref().map_or(true, |o| crate::status::is_terminal(&o.status));
        if let Some(entry) = self.inflight.lock().get(&op) {
            entry.result.send_replace(Some(Arc::new(outcome)));
        }
        if done {
            self.finished(op);
        }
    }

    /// The operation reached a terminal state (tracking, live response): wake and release waiters.
    pub fn finished(&self, op: Uuid) {
        self.inflight.lock().remove(&op);
    }

    /// Follow an operation in flight; `None` when it is not running here (finished, or left by a
    /// restart and tracked elsewhere): the waiter then reads the store.
    pub fn subscribe(&self, op: Uuid) -> Option<Subscription> {
        let entry = self.inflight.lock().get(&op).cloned()?;
        Some(Subscription { result: entry.result.subscribe(), cancel: entry.cancel.clone() })
    }

    /// Operations currently carried out or waited on by this process.
    pub fn in_flight(&self) -> usize {
        self.inflight.lock().len()
    }
}

async fn until_cancelled(mut cancelled: watch::Receiver<bool>) {
    // A dropped sender means the entry is gone: the work is finishing, never cancel it then.
    if cancelled.wait_for(|c| *c).await.is_err() {
        std::future::pending::<()>().await;
    }
}
