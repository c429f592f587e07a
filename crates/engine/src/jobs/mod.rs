//! Bulk jobs: one action over many targets across tenants (isolate 400 devices across 20
//! customers, block a hash everywhere, undo it all tomorrow).
//!
//! A job is written with one durable item per target (`store::jobs`); the scheduler
//! ([`scheduler`]) drains items under each tenant's rate budgets, round-robin across tenants
//! with work, and holds a tenant's bulk items back while an interactive action of that tenant is
//! on its way (the priority gate, [`Runtime::interactive`]). Each item runs as an ordinary
//! operation (`Engine::execute`: validated, authorized, audited, tracked) under the idempotency
//! key `job:{job}:{seq}:{attempt}`, so an item taken over after a crash finds the operation it
//! started and is done exactly once.

mod scheduler;
mod seed_forms;
mod targets;
mod view;

/// A job's items expanded and validated without storing it (the dry run of a job, `dryrun.rs`).
pub(crate) use targets::build as build_job;
pub use targets::{JobSpec, Targets as JobTargets};
pub use view::JobView;

use crate::executor::Published;
use crate::{Engine, EngineError, Principal};
use parking_lot::Mutex;
use serde_json::{Map, Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use store::{Job, NewAuditEvent, job_state};
use tokio::sync::{Notify, watch};
use uuid::Uuid;

/// What the engine keeps for jobs in this process.
pub(crate) struct Runtime {
    /// Wakes the scheduler: a job was created, resumed or retried, or an item ended.
    pub(crate) wake: Notify,
    /// Interactive actions on their way, per tenant: while any is, that tenant's bulk items wait.
    interactive: Arc<Mutex<HashMap<String, usize>>>,
    /// This process's name on the leases it takes.
    pub(crate) owner: String,
    /// Bulk items on their way in this process, per tenant (the scheduler's count).
    pub(crate) in_flight: Arc<Mutex<HashMap<String, usize>>>,
    /// Tenants with items waiting to be claimed, as of the scheduler's last pass.
    pending: Mutex<HashSet<String>>,
}

impl Default for Runtime {
    fn default() -> Runtime {
        Runtime {
            wake: Notify::new(),
            interactive: Arc::default(),
            owner: format!("riposte-{}-{}", std::process::id(), Uuid::new_v4().simple()),
            in_flight: Arc::default(),
            pending: Mutex::default(),
        }
    }
}

/// Held while an interactive action is on its way to Microsoft; dropping it lets the tenant's
/// bulk items go again.
pub(crate) struct InteractiveGuard {
    tenant: String,
    map: Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for InteractiveGuard {
    fn drop(&mut self) {
        let mut map = self.map.lock();
        if let Some(n) = map.get_mut(&self.tenant) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.tenant);
            }
        }
    }
}

impl Runtime {
    /// An interactive action for `tenant` starts: its bulk items wait until the guard drops.
    pub(crate) fn interactive(&self, tenant: &str) -> InteractiveGuard {
        let tenant = tenant.trim().to_ascii_lowercase();
        *self.interactive.lock().entry(tenant.clone()).or_default() += 1;
        InteractiveGuard { tenant, map: self.interactive.clone() }
    }

    pub(crate) fn interactive_busy(&self, tenant: &str) -> bool {
        self.interactive.lock().contains_key(&tenant.trim().to_ascii_lowercase())
    }

    /// The scheduler's pass saw these tenants with items waiting to be claimed.
    pub(crate) fn set_pending(&self, tenants: &[String]) {
        *self.pending.lock() = tenants.iter().map(|t| t.trim().to_ascii_lowercase()).collect();
    }

    /// Whether a bulk job is drawing on `tenant`'s budgets here: items of it wait to be claimed
    /// or are on their way. The tracker polls such a tenant's bulk actions sparingly (`track`).
    pub(crate) fn bulk_busy(&self, tenant: &str) -> bool {
        let tenant = tenant.trim().to_ascii_lowercase();
        self.pending.lock().contains(&tenant) || self.in_flight.lock().get(&tenant).is_some_and(|n| *n > 0)
    }
}

/// An audit record about a job (its id as the record's `operation_id`).
fn job_record(job_id: Uuid, principal: &str, product: &str, action: &str, kind: &str, detail: Value) -> NewAuditEvent {
    NewAuditEvent {
        operation_id: Some(job_id),
        kind: store::AuditKind::Other(kind.into()),
        principal: principal.into(),
        tenant: None,
        product: Some(product.into()),
        action: Some(action.into()),
        params: Value::Object(Map::new()),
        outcome: None,
        upstream_request_ids: vec![],
        duration_ms: None,
        detail,
    }
}

/// Ends a running job whose items have all ended, with its `job_completed` record; a job with
/// work left (or not running) is left as it is. Called when items end, and when a job is
/// resumed: its last items may have ended while it was paused.
async fn complete_if_done(engine: &Engine, job: Uuid) {
    let record = |j: &Job, c: &store::JobCounts| {
        job_record(
            j.id,
            &j.principal,
            &j.product,
            &j.action,
            "job_completed",
            json!({ "state": j.state, "counts": c.by_state }),
        )
    };
    if let Err(e) = engine.store().complete_job_if_done(job, record).await {
        tracing::warn!(error = %e, %job, "job completion not recorded");
    }
}

impl Engine {
    /// Create a job (`POST /v1/jobs`): every target validated and authorized first, then the job
    /// and its items written in one transaction. The scheduler starts on it at once.
    pub async fn create_job(&self, principal: &Principal, spec: JobSpec) -> Result<JobView, EngineError> {
        self.create_job_with(principal, spec, None).await
    }

    /// [`Engine::create_job`], judged by the approval policy (`crate::approvals`): a held job is
    /// written `AwaitingApproval`; `breakGlass` (an admin's justification) runs it at once, loudly.
    pub async fn create_job_with(
        &self,
        principal: &Principal,
        spec: JobSpec,
        break_glass: Option<crate::BreakGlass>,
    ) -> Result<JobView, EngineError> {
        let job = targets::build(self, principal, spec).await?;
        let verdict = self.job_verdict(principal, &job, break_glass.as_ref()).await?;
        let detail =
            json!({ "name": job.name, "total": job.items.len(), "tenants": targets::tenant_counts(&job.items) });
        let record = job_record(job.id, &principal.name, &job.product, &job.action, "job_created", detail);
        if let crate::approvals::Verdict::Hold(reasons) = verdict {
            let job = self.hold_job(principal, job, record, reasons).await?;
            return self.job_view(principal, job.id).await;
        }
        let job = self.store().create_job(job, record).await?;
        if let crate::approvals::Verdict::BreakGlass(reasons, glass) = &verdict {
            self.record_job_break_glass(principal, &job, reasons, glass).await?;
        }
        self.inner.jobs.wake.notify_one();
        self.job_view(principal, job.id).await
    }

    /// Jobs the caller may see, newest first.
    pub async fn list_jobs(&self, principal: &Principal, limit: i64) -> Result<Vec<Job>, EngineError> {
        let jobs = self.store().list_jobs(&[], limit).await?;
        let mut visible = Vec::new();
        for job in jobs {
            if self.may_see_job(principal, &job).await? {
                visible.push(job);
            }
        }
        Ok(visible)
    }

    /// A job the caller may see: every tenant of its items within the key's scope.
    pub(crate) async fn job_for(&self, principal: &Principal, id: Uuid) -> Result<Job, EngineError> {
        let job = self.store().job(id).await?.ok_or_else(|| EngineError::NotFound(format!("job {id}")))?;
        if !self.may_see_job(principal, &job).await? {
            return Err(EngineError::NotFound(format!("job {id}")));
        }
        Ok(job)
    }

    async fn may_see_job(&self, principal: &Principal, job: &Job) -> Result<bool, EngineError> {
        if principal.tenants.is_empty() || job.principal == principal.name {
            return Ok(true);
        }
        let counts = self.store().job_counts(job.id).await?;
        Ok(counts.by_tenant.keys().all(|t| principal.may_access(t)))
    }

    /// `pause` / `resume` / `cancel`.
    pub async fn change_job(&self, principal: &Principal, id: Uuid, verb: &str) -> Result<JobView, EngineError> {
        let job = self.job_for(principal, id).await?;
        let (from, to): (&[&str], &str) = match verb {
            "pause" => (&[job_state::RUNNING], job_state::PAUSED),
            "resume" => (&[job_state::PAUSED], job_state::RUNNING),
            "cancel" => (&[job_state::RUNNING, job_state::PAUSED], job_state::CANCELLED),
            other => return Err(EngineError::NotFound(format!("job verb '{other}'"))),
        };
        let kind = format!("job_{verb}");
        let record =
            job_record(id, &principal.name, &job.product, &job.action, &kind, json!({ "from": job.state, "to": to }));
        self.store().set_job_state(id, from, to, record).await.map_err(store_conflict)?;
        if to == job_state::RUNNING {
            complete_if_done(self, id).await;
        }
        self.inner.jobs.wake.notify_one();
        self.job_view(principal, id).await
    }

    /// Failed items run again (a new attempt, a new action); the job runs again if it had ended.
    pub async fn retry_failed_items(&self, principal: &Principal, id: Uuid) -> Result<JobView, EngineError> {
        let job = self.job_for(principal, id).await?;
        if job.state == job_state::CANCELLED {
            return Err(EngineError::Conflict(format!("job {id} was cancelled; create a new job instead")));
        }
        let record = job_record(id, &principal.name, &job.product, &job.action, "job_retry_failed", json!({}));
        let n = self.store().retry_failed_items(id, record).await?;
        if n == 0 {
            return Err(EngineError::Conflict(format!("job {id} has no failed items")));
        }
        self.inner.jobs.wake.notify_one();
        self.job_view(principal, id).await
    }

    /// Undo a job: every succeeded item's inverse, as a job of its own.
    pub async fn undo_job(&self, principal: &Principal, id: Uuid) -> Result<JobView, EngineError> {
        let job = self.job_for(principal, id).await?;
        let undo = targets::undo_of(self, principal, &job).await?;
        let detail = json!({ "undoes": id, "total": undo.items.len() });
        let record = job_record(undo.id, &principal.name, &undo.product, &undo.action, "job_created", detail);
        let created = self.store().create_job(undo, record).await?;
        self.inner.jobs.wake.notify_one();
        self.job_view(principal, created.id).await
    }

    /// Items of a job, by `seq`.
    pub async fn job_items(
        &self,
        principal: &Principal,
        id: Uuid,
        state: Option<&str>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<store::JobItem>, EngineError> {
        self.job_for(principal, id).await?;
        Ok(self.store().job_items(id, state, after, limit).await?)
    }

    /// Start the scheduler (with the tracker, at start-up).
    pub(crate) fn start_jobs(&self) {
        scheduler::spawn(self.clone());
    }
}

fn store_conflict(e: store::StoreError) -> EngineError {
    match e {
        store::StoreError::Conflict(m) => EngineError::Conflict(m),
        store::StoreError::NotFound(m) => EngineError::NotFound(m),
        other => other.into(),
    }
}

impl Engine {
    /// An interactive action's guard lives until its first step is published (its call made),
    /// not for the whole wait: bulk items of the tenant resume as soon as it is on its way.
    pub(crate) fn release_after_first_step(&self, mut first_step: watch::Receiver<Published>, guard: InteractiveGuard) {
        tokio::spawn(async move {
            let _ = first_step.wait_for(Option::is_some).await;
            drop(guard);
        });
    }
}
