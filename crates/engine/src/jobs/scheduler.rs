//! The bulk scheduler: drains job items at the floor the rate budgets allow, fairly.
//!
//! * **Budgets pace it.** Each item is an ordinary operation; `upstream` admits its call under
//!   the tenant's documented windows (sliding logs, Retry-After honoured). The scheduler keeps
//!   some items per tenant on their way so a window never idles waiting for the next claim, and
//!   no more, so a tenant's queue stays in the database, not in memory.
//! * **Round-robin across tenants with work**: each pass claims for every tenant in turn,
//!   starting one further along each pass, so a 10,000-item tenant never starves a 10-item one:
//!   every tenant with work keeps at least [`MIN_PER_TENANT`] items on their way.
//! * **The largest tenant sets the floor**, so it gets the most room: a tenant's allowance of
//!   items on their way grows with the square of its size against the largest's, up to
//!   [`MAX_PER_TENANT`] for the largest ([`allowance`]). Each tenant is paced by its own budget anyway; what the allowance
//!   divides is this process's own time (store commits, CPU), and the tenant with the most calls
//!   left is the one whose windows must never wait for it. Equal shares let the small tenants'
//!   early bursts hold the largest one back by many seconds, which its hourly window then repeats.
//! * **Interactive first**: while an interactive action of a tenant is on its way (accepted, its
//!   first call not yet made), that tenant's bulk items are not claimed, and the items already on
//!   their way run as bulk work (`upstream::budget::as_bulk`): while an interactive call waits for
//!   the tenant's budget they take no slot, so it has the next free one, never a place behind them.
//! * **Exactly once**: items are claimed with a lease this process renews while it runs them
//!   (a heartbeat). After a crash the lease runs out and the item is claimed again with the same
//!   attempt number, and the idempotency key `job:{job}:{seq}:{attempt}` returns the operation
//!   the first run started (which the engine's reconciliation already brought to an end).

use crate::{ActionRequest, Engine, EngineError, Principal, Role, error_json, status};
use catalog::Product;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use store::{ItemEnd, Job, JobItem, item_state};
use uuid::Uuid;

/// Items on their way at once for the tenant with the most open items.
pub(crate) const MAX_PER_TENANT: usize = 128;
/// Items on their way at once for any tenant with work, however small.
pub(crate) const MIN_PER_TENANT: usize = 4;
/// How often the open items per tenant are counted again (for the allowances).
const RECOUNT: Duration = Duration::from_millis(500);
/// How long a claim holds without a heartbeat.
const LEASE: time::Duration = time::Duration::seconds(15);
/// The heartbeat that renews this process's leases.
const HEARTBEAT: Duration = Duration::from_secs(5);
/// Throttling and timeouts retry under a new attempt, this many times in all.
const MAX_ATTEMPTS: i64 = 5;
/// An item refused because another action is pending on its target (MDE's
/// `ActiveRequestAlreadyExists`) is attempted again after this, times its attempts so far.
const CONFLICT_BACKOFF: Duration = Duration::from_secs(2);

pub(crate) fn spawn(engine: Engine) {
    let beat = engine.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(HEARTBEAT).await;
            let until = time::OffsetDateTime::now_utc() + LEASE;
            if let Err(e) = beat.store().renew_job_leases(&beat.inner.jobs.owner, until).await {
                tracing::warn!(error = %e, "job scheduler: lease heartbeat failed");
            }
        }
    });
    let (ends, queue) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(record_ends(engine.clone(), queue));
    tokio::spawn(async move {
        let mut scheduler = Scheduler {
            in_flight: engine.inner.jobs.in_flight.clone(),
            engine,
            jobs: HashMap::new(),
            turn: 0,
            ends,
            open: HashMap::new(),
            counted: None,
        };
        loop {
            let progressed = match scheduler.pass().await {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(error = %e, "job scheduler: will retry");
                    false
                }
            };
            if !progressed {
                let wake = scheduler.engine.inner.jobs.wake.notified();
                let _ = tokio::time::timeout(Duration::from_millis(250), wake).await;
            }
        }
    });
}

struct Scheduler {
    engine: Engine,
    /// Items on their way, per tenant.
    in_flight: Arc<parking_lot::Mutex<HashMap<String, usize>>>,
    /// Jobs by id (their shared parameters), read once.
    jobs: HashMap<Uuid, Arc<Job>>,
    turn: usize,
    /// Item ends on their way to the store (see [`record_ends`]).
    ends: EndSender,
    /// Open items per tenant over the running jobs, as last counted, and when.
    open: HashMap<String, i64>,
    counted: Option<std::time::Instant>,
}

/// How many items of a tenant with `open` items may be on their way, when the tenant with the
/// most has `largest`: by the square of its size against the largest's, between the bounds.
/// Squared, because this process's throughput is shared in proportion to the items on their way:
/// linear shares over Zipf-sized tenants leave the largest under a third of it (1 / H(20)), and
/// it needs its full budget from the first second to meet the floor; squared it gets half or
/// more (1 / Σ 1/i²), while every other tenant, which has time to spare, keeps some.
fn allowance(open: i64, largest: i64) -> usize {
    if largest <= 0 {
        return MIN_PER_TENANT;
    }
    let ratio = open.max(0) as f64 / largest as f64;
    let share = (MAX_PER_TENANT as f64 * ratio * ratio).ceil() as usize;
    share.clamp(MIN_PER_TENANT, MAX_PER_TENANT)
}

/// An item's end, and where to say whether it was recorded.
type EndSender = tokio::sync::mpsc::UnboundedSender<(Uuid, i64, ItemEnd)>;

/// Records item ends in batches: whatever ended while the previous batch was being written goes
/// in one transaction (one fsync for the lot), then each job of the batch is ended if that was
/// its last item. An end that is not recorded (the store failed) leaves the item leased: it is
/// taken over when the lease runs out and finds its operation by the idempotency key.
async fn record_ends(engine: Engine, mut queue: tokio::sync::mpsc::UnboundedReceiver<(Uuid, i64, ItemEnd)>) {
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        while batch.len() < 512
            && let Ok(next) = queue.try_recv()
        {
            batch.push(next);
        }
        let mut jobs: Vec<Uuid> = batch.iter().map(|(job, _, _)| *job).collect();
        jobs.sort();
        jobs.dedup();
        if let Err(e) = engine.store().finish_job_items(&engine.inner.jobs.owner, batch).await {
            tracing::warn!(error = %e, "job item ends not recorded; they will be taken over");
            continue;
        }
        for job in jobs {
            super::complete_if_done(&engine, job).await;
        }
        engine.inner.jobs.wake.notify_one();
    }
}

impl Scheduler {
    /// One round over the tenants with work; whether anything was claimed.
    async fn pass(&mut self) -> Result<bool, EngineError> {
        let mut tenants = self.engine.store().tenants_with_job_work().await?;
        self.engine.inner.jobs.set_pending(&tenants);
        if tenants.is_empty() {
            return Ok(false);
        }
        tenants.sort();
        self.turn = self.turn.wrapping_add(1);
        let start = self.turn % tenants.len();
        tenants.rotate_left(start);
        self.recount().await?;
        let largest = self.open.values().copied().max().unwrap_or(0);
        let mut claimed = false;
        for tenant in tenants {
            if self.engine.inner.jobs.interactive_busy(&tenant) {
                continue;
            }
            let busy = self.in_flight.lock().get(&tenant).copied().unwrap_or(0);
            // A tenant not counted yet (its job is newer than the count) gets the largest room.
            let open = self.open.get(&tenant).copied().unwrap_or(largest);
            let free = allowance(open, largest).saturating_sub(busy);
            if free == 0 {
                continue;
            }
            let lease = time::OffsetDateTime::now_utc() + LEASE;
            let owner = self.engine.inner.jobs.owner.clone();
            let items = self.engine.store().claim_job_items(&tenant, &owner, free as i64, lease).await?;
            for item in items {
                claimed = true;
                let job = self.job(item.job_id).await?;
                *self.in_flight.lock().entry(tenant.clone()).or_default() += 1;
                let (engine, in_flight, tenant) = (self.engine.clone(), self.in_flight.clone(), tenant.clone());
                let ends = self.ends.clone();
                tokio::spawn(async move {
                    // Bulk: its calls yield the tenant's budget to interactive ones (`upstream::budget`).
                    upstream::budget::as_bulk(run_item(&engine, &job, item, &ends)).await;
                    if let Some(n) = in_flight.lock().get_mut(&tenant) {
                        *n = n.saturating_sub(1);
                    }
                    engine.inner.jobs.wake.notify_one();
                });
            }
        }
        Ok(claimed)
    }

    /// Count the open items per tenant again when the last count is older than [`RECOUNT`].
    async fn recount(&mut self) -> Result<(), EngineError> {
        if self.counted.is_some_and(|at| at.elapsed() < RECOUNT) {
            return Ok(());
        }
        let mut open: HashMap<String, i64> = HashMap::new();
        for job in self.engine.store().list_jobs(&[store::job_state::RUNNING], 1_000).await? {
            let counts = self.engine.store().job_counts(job.id).await?;
            for (tenant, states) in counts.by_tenant {
                let n: i64 = [item_state::PENDING, item_state::RUNNING]
                    .iter()
                    .map(|s| states.get(*s).copied().unwrap_or(0))
                    .sum();
                *open.entry(tenant).or_default() += n;
            }
        }
        self.open = open;
        self.counted = Some(std::time::Instant::now());
        Ok(())
    }

    async fn job(&mut self, id: Uuid) -> Result<Arc<Job>, EngineError> {
        if let Some(j) = self.jobs.get(&id) {
            return Ok(j.clone());
        }
        let job = self.engine.store().job(id).await?.ok_or_else(|| EngineError::NotFound(format!("job {id}")))?;
        let job = Arc::new(job);
        self.jobs.insert(id, job.clone());
        Ok(job)
    }
}

/// Carry out one item and hand its end to the recorder.
async fn run_item(engine: &Engine, job: &Job, item: JobItem, ends: &EndSender) {
    let end = match carry_out(engine, job, &item).await {
        Ok((op, state)) if took_effect(&state) => {
            ItemEnd { state: item_state::SUCCEEDED, operation_id: Some(op), status: Some(state), error: None }
        }
        Ok((op, state)) => {
            let stored = engine.store().get_operation(op).await.ok().flatten();
            let again = stored.as_ref().and_then(|o| again_after_operation(o, item.attempts));
            let error = stored.and_then(|o| o.error);
            match again {
                Some(after) => {
                    tokio::time::sleep(after).await;
                    ItemEnd { state: item_state::PENDING, operation_id: Some(op), status: None, error }
                }
                None => ItemEnd { state: item_state::FAILED, operation_id: Some(op), status: Some(state), error },
            }
        }
        Err((op, e)) if let Some(after) = again_after_error(&e, item.attempts) => {
            tokio::time::sleep(after).await;
            ItemEnd { state: item_state::PENDING, operation_id: op, status: None, error: Some(error_json(&e)) }
        }
        Err((op, e)) => ItemEnd {
            state: item_state::FAILED,
            operation_id: op,
            status: Some(status::FAILED.into()),
            error: Some(error_json(&e)),
        },
    };
    if ends.send((item.job_id, item.seq, end)).is_err() {
        tracing::warn!(job = %item.job_id, seq = item.seq, "job item end not recorded; it will be taken over");
    }
}

/// The item's action as an operation, up to its first step (the call made; tracking goes on in
/// the engine): the operation and its status then.
async fn carry_out(engine: &Engine, job: &Job, item: &JobItem) -> Result<(Uuid, String), (Option<Uuid>, EngineError)> {
    let product = Product::parse(&job.product)
        .ok_or_else(|| (None, EngineError::Internal(format!("product {}", job.product))))?;
    let mut params: Map<String, Value> = job.params.as_object().cloned().unwrap_or_default();
    params.extend(item.params.as_object().cloned().unwrap_or_default());
    if let Some(s) = job.revert_after_seconds {
        params.insert("revertAfter".into(), Value::from(s));
    }
    let key = format!("job:{}:{}:{}", job.id, item.seq, item.attempts);
    let spec = engine.resolve(Some(product), &job.action).map_err(|e| (None, e))?;
    // A read would be cancelled by a zero wait; it waits for its answer instead.
    let wait = if spec.risk == catalog::Risk::Read { crate::MAX_WAIT } else { Duration::ZERO };
    let req = ActionRequest {
        tenant: item.tenant.clone(),
        product: Some(product),
        action: job.action.clone(),
        params,
        principal: Principal {
            name: job.principal.clone(),
            role: Role::parse(&job.role).unwrap_or(Role::Reader),
            tenants: vec![],
        },
        idempotency_key: Some(key.clone()),
        wait: Some(wait),
        reveal: false,
    };
    let outcome = engine.execute_bulk(req).await.map_err(|e| (None, e))?;
    let op = outcome.operation_id;
    first_step(engine, op).await.map(|s| (op, s)).map_err(|e| (Some(op), e))
}

/// Wait until the operation's first step is recorded: its status then, or the typed error.
async fn first_step(engine: &Engine, op: Uuid) -> Result<String, EngineError> {
    if let Some(mut sub) = engine.inner.executor.subscribe(op) {
        let published = sub.result.wait_for(Option::is_some).await.ok().and_then(|r| r.clone());
        if let Some(result) = published {
            return match &*result {
                Ok(o) => Ok(o.status.clone()),
                Err(e) => Err(e.clone()),
            };
        }
    }
    // Not running here (already ended, or being reconciled after a restart): the store's word.
    loop {
        let stored = engine.operation(op).await?;
        if stored.status != status::QUEUED && stored.status != status::RUNNING {
            return Ok(stored.status);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn took_effect(s: &str) -> bool {
    [status::SUCCEEDED, status::PARTIALLY_SUCCEEDED, status::IN_PROGRESS].contains(&s)
}

/// When an item whose operation ended without effect is worth another attempt (a new operation
/// under the next attempt key): refused by the tenant's budget (or Microsoft's throttling)
/// before any call of it was answered, at once (under a long job a waiter can lose the window to
/// its neighbours past its patience); refused because another action was pending on its target,
/// once that action has had time to end. Either way nothing was done upstream.
fn again_after_operation(op: &store::Operation, attempts: i64) -> Option<Duration> {
    let code = op.error.as_ref().and_then(|e| e["code"].as_str());
    match code {
        _ if attempts >= MAX_ATTEMPTS => None,
        Some("Throttled" | "NotAdmitted") if op.upstream_request_ids.is_empty() => Some(Duration::ZERO),
        Some("ActiveRequestAlreadyExists") => Some(conflict_backoff(attempts)),
        _ => None,
    }
}

/// The same for an item whose action failed before it became an operation's first step:
/// Microsoft throttled past our patience or did not answer (at once), or another action was
/// pending on the target (after a while).
fn again_after_error(e: &EngineError, attempts: i64) -> Option<Duration> {
    match e {
        _ if attempts >= MAX_ATTEMPTS => None,
        EngineError::Throttled { .. } | EngineError::NotAdmitted { .. } | EngineError::UpstreamTimeout => {
            Some(Duration::ZERO)
        }
        EngineError::UpstreamFailed { status, .. } if *status >= 500 => Some(Duration::ZERO),
        EngineError::PendingConflict { .. } => Some(conflict_backoff(attempts)),
        _ => None,
    }
}

fn conflict_backoff(attempts: i64) -> Duration {
    CONFLICT_BACKOFF * attempts.clamp(1, MAX_ATTEMPTS) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_refused_for_a_pending_action_waits_longer_each_attempt_then_fails() {
        let conflict = EngineError::PendingConflict { message: "pending".into(), pending: None };
        assert_eq!(again_after_error(&conflict, 1), Some(CONFLICT_BACKOFF));
        assert_eq!(again_after_error(&conflict, 2), Some(CONFLICT_BACKOFF * 2));
        assert_eq!(again_after_error(&conflict, MAX_ATTEMPTS), None);
        assert_eq!(again_after_error(&EngineError::UpstreamTimeout, 1), Some(Duration::ZERO));
        assert_eq!(again_after_error(&EngineError::Internal("x".into()), 1), None);
    }

    #[test]
    fn the_largest_tenant_gets_the_most_room_and_every_tenant_some() {
        assert_eq!(allowance(2779, 2779), MAX_PER_TENANT);
        assert_eq!(allowance(1390, 2779), MAX_PER_TENANT / 4 + 1);
        assert_eq!(allowance(1, 2779), MIN_PER_TENANT);
        assert_eq!(allowance(0, 0), MIN_PER_TENANT);
        assert!(allowance(139, 2779) >= MIN_PER_TENANT);
    }
}
