//! The tracker: operations accepted upstream are polled until they reach a terminal state.
//!
//! Machine actions are polled per tenant, not per action: one paged `GET /api/machineactions`
//! filtered on creation time answers for every watched action of that tenant, so tracking 50
//! actions costs one call per interval instead of 50 (MDE allows 100 calls a minute per tenant).
//! ARM long-running operations and Graph 202s are polled one monitor each, no sooner than
//! Microsoft's `Retry-After` asks (`completion::poll`).
//!
//! Polls draw on the same budget as the actions (MDE counts `GET /api/machineactions` in the
//! 100/min and 1,500/h of the machine actions). While a bulk job drains a tenant at that floor,
//! a poll every interval would take a share of the hour window from the job itself (one per 5 s
//! is 720 of its 1,500 calls an hour), and nobody waits for a bulk item's final state: its job
//! item ended when the action was accepted. So a tenant whose watched actions are all bulk items
//! is polled once its job no longer draws on it, or every [`BULK_POLL_EVERY`] intervals before
//! that; one interactive action watched in the tenant brings back the ordinary interval (the
//! same list call answers for every action of the tenant).

use crate::completion::{self, Progress, Tracking};
use crate::{Engine, EngineError, status};
use parking_lot::Mutex;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use std::time::Instant;
use store::{Operation, OperationUpdate};
use tokio::sync::Notify;
use upstream::{ApiRequest, Budget};
use uuid::Uuid;

/// How often watched operations are polled.
#[derive(Debug, Clone)]
pub struct TrackerConfig {
    pub poll_interval: Duration,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig { poll_interval: Duration::from_secs(5) }
    }
}

/// While a bulk job draws on a tenant, its bulk actions are polled once per this many intervals.
const BULK_POLL_EVERY: u32 = 60;

pub(crate) struct Tracker {
    config: TrackerConfig,
    watched: Mutex<HashMap<Uuid, Watched>>,
    /// Monitors that asked us (Retry-After) not to poll before an instant.
    not_before: Mutex<HashMap<Uuid, std::time::Instant>>,
    /// When each tenant's machine actions were last polled.
    polled: Mutex<HashMap<String, Instant>>,
    wake: Arc<Notify>,
}

/// A watched operation: whether a bulk job's item started it, and once read, its tenant and
/// whether it is followed by the tenant's machine-action poll (not a monitor of its own).
#[derive(Debug, Clone)]
struct Watched {
    bulk: bool,
    tenant: Option<(String, bool)>,
}

/// Whether the operation is followed by its tenant's machine-action poll.
fn by_tenant_poll(op: &Operation) -> bool {
    !matches!(Tracking::of(op.tracking.as_ref()), Some(Tracking::ArmOperation(_) | Tracking::GraphAccepted(_)))
}

impl Tracker {
    pub fn new(config: TrackerConfig) -> Tracker {
        Tracker {
            config,
            watched: Mutex::new(HashMap::new()),
            not_before: Mutex::new(HashMap::new()),
            polled: Mutex::new(HashMap::new()),
            wake: Arc::new(Notify::new()),
        }
    }

    /// Follow an operation to its end; one a bulk job's item started (run under
    /// `upstream::budget::as_bulk`) is polled as [bulk](self) work.
    pub fn watch(&self, id: Uuid) {
        let bulk = upstream::budget::is_bulk();
        self.watched.lock().insert(id, Watched { bulk, tenant: None });
        self.wake.notify_one();
    }

    fn snapshot(&self) -> Vec<(Uuid, Watched)> {
        self.watched.lock().iter().map(|(id, w)| (*id, w.clone())).collect()
    }

    fn learn(&self, op: &Operation) {
        if let Some(w) = self.watched.lock().get_mut(&op.id) {
            w.tenant = Some((op.tenant.clone(), by_tenant_poll(op)));
        }
    }

    /// Whether the bulk actions of `tenant` wait for a later pass: a job still draws on its
    /// budget and they were polled less than [`BULK_POLL_EVERY`] intervals ago.
    fn defers_bulk(&self, engine: &Engine, tenant: &str) -> bool {
        if !engine.inner.jobs.bulk_busy(tenant) {
            return false;
        }
        let every = self.config.poll_interval * BULK_POLL_EVERY;
        // A tenant never polled counts from now: its job has only just begun drawing on it.
        let last = *self.polled.lock().entry(tenant.to_owned()).or_insert_with(Instant::now);
        last.elapsed() < every
    }

    /// How long an effect check may take to show: ten polls, at least 3 s.
    pub fn verify_within(&self) -> Duration {
        (self.config.poll_interval * 10).max(Duration::from_secs(3))
    }

    fn forget(&self, id: Uuid) {
        self.watched.lock().remove(&id);
        self.not_before.lock().remove(&id);
    }

    fn due(&self, id: Uuid) -> bool {
        self.not_before.lock().get(&id).is_none_or(|t| std::time::Instant::now() >= *t)
    }
}

/// Run the polling loop in the background for the engine's lifetime.
pub(crate) fn spawn(engine: Engine) {
    tokio::spawn(async move {
        loop {
            let interval = engine.inner.tracker.config.poll_interval;
            if engine.inner.tracker.snapshot().is_empty() {
                engine.inner.tracker.wake.notified().await;
            }
            tokio::time::sleep(interval).await;
            if let Err(e) = poll_once(&engine).await {
                tracing::warn!(error = %e, "machine-action tracking pass failed; will retry");
            }
        }
    });
}

/// One pass: load watched operations, poll each tenant once, record what changed.
///
/// Bulk-only tenants a job still draws on are left for a later pass without reading their
/// operations (see the module's note); an operation's tenant is learnt on its first read.
pub(crate) async fn poll_once(engine: &Engine) -> Result<(), EngineError> {
    let tracker = &engine.inner.tracker;
    let watched = tracker.snapshot();
    // Tenants with an interactive action watched are polled at the ordinary interval.
    let mut interactive: HashSet<String> = HashSet::new();
    let mut first_reads = Vec::new();
    let mut known = Vec::new();
    for (id, w) in watched {
        match &w.tenant {
            Some((t, by_poll)) => {
                if !w.bulk && *by_poll {
                    interactive.insert(t.clone());
                }
                known.push((id, w));
            }
            None => match engine.inner.store.get_operation(id).await? {
                Some(op) => {
                    tracker.learn(&op);
                    let by_poll = by_tenant_poll(&op);
                    if !w.bulk && by_poll {
                        interactive.insert(op.tenant.clone());
                    }
                    first_reads.push((op, w.bulk && by_poll));
                }
                None => tracker.forget(id),
            },
        }
    }
    let mut deferred: HashMap<String, bool> = HashMap::new();
    // `bulk`: a bulk item's machine actions (monitors draw on other budgets and are never deferred).
    let mut defer = |tenant: &str, bulk: bool| {
        bulk && !interactive.contains(tenant)
            && *deferred.entry(tenant.to_owned()).or_insert_with(|| tracker.defers_bulk(engine, tenant))
    };
    let mut ops = Vec::new();
    for (op, bulk) in first_reads {
        if !defer(&op.tenant, bulk) {
            ops.push(op);
        }
    }
    for (id, w) in known {
        let (tenant, by_poll) = w.tenant.as_ref().expect("known entries carry their tenant");
        if defer(tenant, w.bulk && *by_poll) {
            continue;
        }
        match engine.inner.store.get_operation(id).await? {
            Some(op) => ops.push(op),
            None => tracker.forget(id),
        }
    }
    let mut by_tenant: BTreeMap<String, Vec<Operation>> = BTreeMap::new();
    for op in ops {
        if status::is_terminal(&op.status) {
            tracker.forget(op.id);
            continue;
        }
        match Tracking::of(op.tracking.as_ref()) {
            Some(t @ (Tracking::ArmOperation(_) | Tracking::GraphAccepted(_))) => {
                if tracker.due(op.id)
                    && let Err(e) = follow_monitor(engine, &op, &t).await
                {
                    tracing::warn!(operation = %op.id, error = %e, "could not poll a long-running operation");
                }
            }
            _ => by_tenant.entry(op.tenant.clone()).or_default().push(op),
        }
    }
    for (tenant, ops) in by_tenant {
        tracker.polled.lock().insert(tenant.clone(), Instant::now());
        if let Err(e) = poll_tenant(engine, &tenant, ops).await {
            tracing::warn!(tenant = %tenant, error = %e, "could not poll machine actions");
        }
    }
    Ok(())
}

/// One poll of an ARM or Graph monitor; at the end, the final state and its `completed` record
/// are committed together.
async fn follow_monitor(engine: &Engine, op: &Operation, tracking: &Tracking) -> Result<(), EngineError> {
    let creds = engine.inner.tenants.get(&op.tenant)?;
    match completion::poll(&engine.inner.upstream, creds, tracking).await? {
        Progress::Running { retry_after } => {
            if let Some(wait) = retry_after {
                engine.inner.tracker.not_before.lock().insert(op.id, std::time::Instant::now() + wait);
            }
            Ok(())
        }
        Progress::Done { state, body, error } => {
            let mut result = op.result.clone().unwrap_or(Value::Null);
            if !body.is_null() {
                result = json!({ "accepted": result, "final": body });
            }
            let update = OperationUpdate {
                status: state.as_str().into(),
                result: Some(result),
                error: error.clone(),
                upstream_request_ids: vec![],
                tracking: op.tracking.clone(),
            };
            let completed =
                crate::completed_record(op, state.as_str(), vec![], json!({ "tracking": op.tracking, "error": error }));
            engine.inner.store.finish_step(op.id, update, completed).await?;
            engine.inner.tracker.forget(op.id);
            engine.inner.executor.finished(op.id);
            Ok(())
        }
    }
}

async fn poll_tenant(engine: &Engine, tenant: &str, ops: Vec<Operation>) -> Result<(), EngineError> {
    let creds = engine.inner.tenants.get(tenant)?;
    let since = ops.iter().filter_map(earliest_creation).min();
    let mut query = vec![];
    if let Some(since) = since {
        query.push(("$filter".to_string(), format!("creationDateTimeUtc ge {since}")));
    }
    let req = ApiRequest {
        api: upstream::Api::Mde,
        method: upstream::Method::Get,
        path: "/api/machineactions".into(),
        query,
        body: None,
        group: Budget::Default,
    };
    let page = engine.inner.upstream.get_paged(creds, req, 10_000).await?;
    let latest: HashMap<&str, &Value> =
        page.items.iter().filter_map(|a| a.get("id").and_then(Value::as_str).map(|id| (id, a))).collect();
    for op in ops {
        apply(engine, op, &latest, &page.request_ids).await?;
    }
    Ok(())
}

/// The earliest `creationDateTimeUtc` among an operation's machine actions.
fn earliest_creation(op: &Operation) -> Option<String> {
    let results = op.result.as_ref()?.get("results")?.as_array()?;
    let single = op.result.as_ref().and_then(|r| r.get("creationDateTimeUtc")).and_then(Value::as_str);
    results
        .iter()
        .filter_map(|r| r["machineAction"]["creationDateTimeUtc"].as_str())
        .chain(single)
        .min()
        .map(String::from)
}

async fn apply(
    engine: &Engine,
    op: Operation,
    latest: &HashMap<&str, &Value>,
    request_ids: &[String],
) -> Result<(), EngineError> {
    let ids = tracked_ids(&op);
    let states: Vec<Option<&str>> =
        ids.iter().map(|id| latest.get(id.as_str()).and_then(|a| a["status"].as_str())).collect();
    let mut result = op.result.clone().unwrap_or(Value::Null);
    refresh_rows(&mut result, latest);
    let overall = aggregate(&states);
    let done = status::is_terminal(&overall);
    let update = OperationUpdate {
        status: overall.clone(),
        result: Some(result),
        error: None,
        upstream_request_ids: if done { request_ids.to_vec() } else { vec![] },
        tracking: op.tracking.clone(),
    };
    if !done {
        engine.inner.store.update_operation(op.id, update).await?;
        return Ok(());
    }
    // The final state and its `completed` record are committed together.
    let detail = json!({ "machineActions": ids.iter().zip(&states).map(|(i, s)| json!({"id": i, "status": s})).collect::<Vec<_>>() });
    let completed = crate::completed_record(&op, &overall, request_ids.to_vec(), detail);
    engine.inner.store.finish_step(op.id, update, completed).await?;
    engine.inner.tracker.forget(op.id);
    engine.inner.executor.finished(op.id);
    Ok(())
}

fn tracked_ids(op: &Operation) -> Vec<String> {
    match Tracking::of(op.tracking.as_ref()) {
        Some(Tracking::MachineActions(ids)) => ids,
        _ => vec![],
    }
}

/// Update each per-device row with the action's latest status.
fn refresh_rows(result: &mut Value, latest: &HashMap<&str, &Value>) {
    let Some(rows) = result.get_mut("results").and_then(Value::as_array_mut) else { return };
    for row in rows {
        let Some(id) = row.get("actionId").and_then(Value::as_str).map(String::from) else { continue };
        if let Some(action) = latest.get(id.as_str()) {
            row["status"] = action["status"].clone();
            row["machineAction"] = (*action).clone();
        }
    }
}

/// The operation's status from its machine actions' statuses (unknown ones count as pending).
pub(crate) fn aggregate(states: &[Option<&str>]) -> String {
    let terminal = |s: &Option<&str>| matches!(s, Some("Succeeded" | "Failed" | "TimeOut" | "Cancelled"));
    if states.is_empty() {
        return status::SUCCEEDED.into();
    }
    if !states.iter().all(terminal) {
        return status::IN_PROGRESS.into();
    }
    let all = |want: &str| states.iter().all(|s| *s == Some(want));
    // MDE's `TimeOut` (the device never picked the action up) is a failure in our states.
    for (mde, ours) in [("Succeeded", status::SUCCEEDED), ("Cancelled", status::CANCELLED)] {
        if all(mde) {
            return ours.into();
        }
    }
    if states.contains(&Some("Succeeded")) { status::PARTIALLY_SUCCEEDED.into() } else { status::FAILED.into() }
}

#[cfg(test)]
mod tests {
    use super::aggregate;

    #[test]
    fn aggregate_waits_for_every_action() {
        assert_eq!(aggregate(&[Some("Succeeded"), Some("Pending")]), "InProgress");
        assert_eq!(aggregate(&[Some("Succeeded"), None]), "InProgress");
        assert_eq!(aggregate(&[Some("Succeeded"), Some("Succeeded")]), "Succeeded");
        assert_eq!(aggregate(&[Some("TimeOut")]), "Failed");
        assert_eq!(aggregate(&[Some("Succeeded"), Some("Failed")]), "PartiallySucceeded");
        assert_eq!(aggregate(&[Some("Cancelled"), Some("Failed")]), "Failed");
    }
}
