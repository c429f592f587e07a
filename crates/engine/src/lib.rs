//! The engine: runs an action from request to audited outcome.
//!
//! The story of one action (`Engine::execute`):
//! 1. resolve the name in the catalog, refuse unsupported actions (501);
//! 2. authorize: the key's tenant scope and role against the action's risk class;
//! 3. validate the parameters against their declared types;
//! 4. honour an idempotency key: the same key and request is the same operation, whatever its
//!    state; the same key with another request is a 422;
//! 5. accept: store the operation `Queued` with its `attempt` audit record (durable before
//!    irreversible) and hand it to the executor, which runs it detached from this request;
//! 6. the worker carries out the plan through `upstream`, the only door to the clouds, and stores
//!    the result with its `outcome` audit record;
//! 7. machine actions go to the tracker, which polls them to a terminal state;
//! 8. the caller waits for a terminal state up to a bound (`wait`, default 20 s); past it, it gets
//!    the operation as it stands (a surface answers 202 with its URL). A read nobody waits for any
//!    more is cancelled (429 with Retry-After).
//!
//! At start-up [`reconcile`] brings every `Queued`/`Running` operation a crash left behind to an
//! end: re-run when safe, re-attached by its marker when MDE has it, `Unknown` (with the reason)
//! when its effect cannot be discovered. Nothing stays `Running`.

mod approvals;
mod clock;
pub mod completion;
mod doctor;
mod dryrun;
mod error;
mod executor;
mod hunt;
mod jobs;
mod plan;
mod principal;
mod procedures;
mod read_once;
mod reconcile;
mod redact;
mod replica;
mod reverts;
mod scope;
mod state;
mod tenants;
mod track;

pub use approvals::{ApprovalMetrics, BreakGlass, Policy as ApprovalPolicy, PolicyError, take_break_glass};
pub use clock::Clock;
pub use doctor::{DoctorReport, Finding, Missing};
pub use dryrun::{DRY_RUN_AUDIT_KIND, DryRun, JobDryRun, PermissionCheck};
pub use error::EngineError;
pub use hunt::{Column, HuntOutcome, MAX_MERGED_ROWS, TenantChoice, TenantStatus, parse_tenants};
pub use jobs::{JobSpec, JobTargets, JobView};
pub use principal::{Principal, Role};
pub use procedures::{HistoryFilter, SavedQueryView, builtins as builtin_queries};
pub use reconcile::ReconcileReport;
pub use redact::reveal_requested;
pub use reverts::{Extension, MAX_REVERT_AFTER, parse_revert_after, take_revert_after};
pub use state::{OpState, status};
pub use tenants::TenantDirectory;
pub use track::TrackerConfig;

use catalog::{ActionSpec, Catalog, Completion, Product};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use serde::Serialize;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::{NewAuditEvent, NewOperation, Operation, OperationUpdate, Store};
use upstream::Upstream;
use uuid::Uuid;

/// What a surface hands the engine: the same shape whichever route the request came in by.
#[derive(Debug, Clone)]
pub struct ActionRequest {
    pub tenant: String,
    /// `None` when the surface did not say (the orchestrator routes without `service`).
    pub product: Option<Product>,
    pub action: String,
    pub params: Map<String, Value>,
    pub principal: Principal,
    pub idempotency_key: Option<String>,
    /// How long the caller waits for a terminal state (`Prefer: wait=N`); `None` is the default.
    pub wait: Option<Duration>,
    /// The caller asked to see sensitive result fields once (`Prefer: reveal-secrets`). They are
    /// redacted in the store, the audit and every later read regardless.
    pub reveal: bool,
}

impl ActionRequest {
    /// Undo the action after `after` (a time-boxed action; only actions with an inverse). The
    /// same as a `revertAfter` parameter in seconds, which every surface accepts (the engine
    /// takes it out of `params` before validation; see `reverts`).
    pub fn with_revert_after(mut self, after: Duration) -> ActionRequest {
        self.params.insert("revertAfter".into(), Value::from(after.as_secs()));
        self
    }
}

/// How long a caller waits for a terminal state unless it says otherwise.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(20);
/// The longest wait a caller may ask for: inside Azure Functions' 230 s limit, which the seed's
/// clients were built around.
pub const MAX_WAIT: Duration = Duration::from_secs(200);
/// How long a waiter that finds its operation ended in the store waits for the worker to
/// publish the same end (with its typed error) before answering from the store alone.
const PUBLICATION_GRACE: Duration = Duration::from_secs(10);

/// The result of an accepted action, rendered by each surface in its own envelope.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub operation_id: Uuid,
    pub product: Product,
    pub action: &'static str,
    pub tenant: String,
    pub status: String,
    pub data: Value,
    pub upstream_request_ids: Vec<String>,
    pub duration_ms: u64,
    /// True when the outcome was replayed for a repeated idempotency key.
    pub replayed: bool,
}

impl Outcome {
    /// Terminal: the surface answers 200; otherwise 202 with the operation's URL.
    pub fn is_terminal(&self) -> bool {
        status::is_terminal(&self.status)
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabels {
    product: String,
    action: String,
    outcome: String,
}

/// Engine metrics: actions by product, action and outcome.
#[derive(Default)]
pub struct EngineMetrics {
    actions: Family<ActionLabels, Counter>,
    /// Approval requests, decisions, break-glass bypasses and policy reloads (`approvals`).
    pub approvals: ApprovalMetrics,
}

impl EngineMetrics {
    pub fn register(&self, registry: &mut Registry) {
        registry.register("riposte_actions", "Actions by product, action and outcome", self.actions.clone());
        self.approvals.register(registry);
    }

    fn count(&self, product: Product, action: &str, outcome: &str) {
        self.actions
            .get_or_create(&ActionLabels {
                product: product.key().into(),
                action: action.into(),
                outcome: outcome.into(),
            })
            .inc();
    }
}

/// Shared engine state; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    catalog: &'static Catalog,
    store: Store,
    upstream: Upstream,
    tenants: TenantDirectory,
    metrics: Arc<EngineMetrics>,
    tracker: track::Tracker,
    executor: executor::Executor,
    /// Live-response sessions in flight and the file library.
    live: procedures::live_response::Runtime,
    /// The hunting archive, when one is kept (`hunt/archive.rs`).
    archive: std::sync::OnceLock<archive::Archive>,
    /// "Now" for schedules (time-boxed actions); follows the sandbox's clock in tests.
    clock: Clock,
    /// Bulk jobs: the scheduler's wake-up, the interactive priority gate, the lease owner.
    jobs: jobs::Runtime,
    /// The approval policy in force and held operations' secrets (`approvals`).
    approvals: approvals::Runtime,
}

impl Engine {
    pub fn new(
        store: Store,
        upstream: Upstream,
        tenants: TenantDirectory,
        metrics: Arc<EngineMetrics>,
        tracker: TrackerConfig,
    ) -> Engine {
        let live = procedures::live_response::Runtime::new(tracker.poll_interval);
        let tracker = track::Tracker::new(tracker);
        Engine {
            inner: Arc::new(Inner {
                catalog: Catalog::global(),
                store,
                upstream,
                tenants,
                metrics,
                tracker,
                executor: executor::Executor::new(executor::DEFAULT_WORKERS),
                live,
                archive: std::sync::OnceLock::new(),
                clock: Clock::default(),
                jobs: jobs::Runtime::default(),
                approvals: approvals::Runtime::default(),
            }),
        }
    }

    /// Install the file library (live-response scripts, retrieved files, signed links); once.
    pub fn set_library(&self, library: library::Library) -> bool {
        self.inner.live.set_library(library)
    }

    /// The file library, if one was installed.
    pub fn library(&self) -> Result<&library::Library, EngineError> {
        self.inner.live.library()
    }

    pub(crate) fn live_response(&self) -> &procedures::live_response::Runtime {
        &self.inner.live
    }

    /// The clock schedules read (see [`Clock`]).
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn tenants(&self) -> &TenantDirectory {
        &self.inner.tenants
    }

    pub fn upstream(&self) -> &Upstream {
        &self.inner.upstream
    }

    /// Bring back what a restart left: reconcile `Queued`/`Running` operations, resume tracking
    /// of machine actions and live-response sessions, and start the background tracker.
    pub async fn start_tracking(&self) -> Result<ReconcileReport, EngineError> {
        // Claims this replica's leftovers and dead replicas' work (`replica`); `InProgress` ones
        // are watched there. Live-response sessions resume on their own (they fetch results).
        // Budget windows go to the database first on PostgreSQL, before any call (`replica`).
        replica::share_budgets(self);
        let report = reconcile::reconcile(self).await?;
        procedures::live_response::resume(self).await?;
        track::spawn(self.clone());
        reverts::spawn(self.clone());
        self.start_jobs();
        self.start_approvals();
        replica::spawn(self.clone());
        Ok(report)
    }

    /// Resolve an action name (canonical or seed alias) to its declaration.
    pub fn resolve(&self, product: Option<Product>, name: &str) -> Result<&'static ActionSpec, EngineError> {
        self.inner.catalog.resolve(product, name).map_err(|e| match e {
            catalog::ResolveError::UnknownAction { product, name, close } => {
                EngineError::UnknownAction { name, product, close }
            }
            catalog::ResolveError::Ambiguous { name, products } => EngineError::AmbiguousAction {
                name,
                products: products.iter().map(|p| p.key()).collect::<Vec<_>>().join(", "),
            },
        })
    }

    /// Carry out one action request: accept it durably, run it detached, wait a bounded time.
    pub async fn execute(&self, req: ActionRequest) -> Result<Outcome, EngineError> {
        // Interactive: the tenant's bulk items wait until this one's call is made.
        let gate = self.inner.jobs.interactive(&req.tenant);
        self.execute_with(req, Some(gate)).await
    }

    /// A bulk job's item: the same story, without holding the tenant's bulk items back.
    pub(crate) async fn execute_bulk(&self, req: ActionRequest) -> Result<Outcome, EngineError> {
        self.execute_with(req, None).await
    }

    async fn execute_with(
        &self,
        mut req: ActionRequest,
        gate: Option<jobs::InteractiveGuard>,
    ) -> Result<Outcome, EngineError> {
        let revert_after = reverts::take_revert_after(&mut req.params)?;
        let break_glass = approvals::take_break_glass(&mut req.params)?;
        let spec = self.resolve(req.product, &req.action)?;
        refuse_unsupported(spec)?;
        authorize(&req.principal, &req.tenant, spec)?;
        let creds = self.inner.tenants.get(&req.tenant)?;
        let params = spec.validate(&req.params)?;
        let revert = reverts::plan(spec, &params, revert_after)?;
        let wait = req.wait.unwrap_or(DEFAULT_WAIT).min(MAX_WAIT);
        let fingerprint = fingerprint(spec, &params);
        if let Some(op) = self.same_request(&req, spec, &fingerprint).await? {
            if op.status == status::AWAITING_APPROVAL {
                return Ok(Outcome::from_stored(&op, true)); // nothing to wait for until someone decides
            }
            return self.await_outcome(op.id, spec.risk, wait, true).await;
        }
        // Devices named by DNS name or IP become machine ids (reads only; ambiguity is a 400).
        let params = procedures::resolve::machine_params(&self.inner.upstream, creds, spec, params).await?;
        // Users named by UPN or mail become object ids (Entra ID; none or several is a 400).
        let params = procedures::entra::users::user_params(&self.inner.upstream, creds, spec, params).await?;
        // An Intune device named by any identity (MDE machine id, Entra id, DNS name) becomes its Intune id.
        let params =
            procedures::intune::devices::managed_device_params(&self.inner.upstream, creds, spec, params).await?;
        // The approval policy (`approvals`): interactive actions only; a bulk job is judged as a
        // whole when it is created, and its items run without asking again.
        let verdict = match gate {
            Some(_) => approvals::check_action(self, &req, spec, &params, creds, break_glass.as_ref()).await?,
            None => approvals::Verdict::Run,
        };
        if let approvals::Verdict::Hold(reasons) = verdict {
            if revert.is_some() {
                return Err(EngineError::InvalidParam(catalog::ParamError {
                    field: "revertAfter".into(),
                    message: format!("{} needs approval here, and a held action cannot be time-boxed yet", spec.name),
                    hint: "send it without revertAfter, and undo it once approved and done".into(),
                }));
            }
            return approvals::hold_action(self, &req, spec, &params, &fingerprint, reasons).await;
        }
        // A plain read is recorded once, after its call (`read_once`): one durable commit.
        if matches!(verdict, approvals::Verdict::Run) && revert.is_none() && read_once::applies(&req, spec) {
            let rows = attempt_rows(&req, spec, &params, &fingerprint);
            return self.read_once(req, spec, params, rows, wait, gate).await;
        }
        // A free worker takes it at once, so it is accepted `Running` (`executor::Slot`). A
        // break-glass run records its override between the accept and the worker, and a failure
        // there must leave it `Queued` (never begun), so it takes its slot later.
        let slot = match verdict {
            approvals::Verdict::BreakGlass(..) => None,
            _ => self.inner.executor.try_slot(),
        };
        let accepted_as = if slot.is_some() { status::RUNNING } else { status::QUEUED };
        let op = match self.record_attempt(&req, spec, &params, &fingerprint, revert.as_ref(), accepted_as).await? {
            Accepted::New(op) => op,
            // A concurrent request with the same key won the insert: this is its operation.
            Accepted::Existing(op) => return self.await_outcome(op.id, spec.risk, wait, true).await,
        };
        let job = executor::Job {
            op: op.id,
            tenant: req.tenant.clone(),
            principal: req.principal.clone(),
            spec,
            params,
            resume: false,
            reveal: req.reveal,
            running: slot.is_some().then(|| op.clone()),
        };
        if let approvals::Verdict::BreakGlass(reasons, glass) = &verdict {
            approvals::record_break_glass(self, &op, &req.principal, reasons, glass).await?;
        }
        let first_step = self.inner.executor.submit(self, job, slot);
        if let Some(gate) = gate {
            self.release_after_first_step(first_step.result.clone(), gate);
        }
        self.await_published(op.id, spec.risk, wait, false, Some(first_step)).await
    }

    /// The operation as stored, with its current status.
    pub async fn operation(&self, id: Uuid) -> Result<Operation, EngineError> {
        self.inner.store.get_operation(id).await?.ok_or_else(|| EngineError::OperationNotFound(id.to_string()))
    }

    /// The operation an earlier request with this idempotency key created, if the request is the
    /// same; a different request under the same key is refused.
    async fn same_request(
        &self,
        req: &ActionRequest,
        spec: &ActionSpec,
        fingerprint: &str,
    ) -> Result<Option<Operation>, EngineError> {
        let Some(key) = &req.idempotency_key else { return Ok(None) };
        let Some(op) = self.inner.store.operation_by_idempotency(&req.tenant, key).await? else {
            return Ok(None);
        };
        let same = op.product == spec.product.key() && op.action == spec.name;
        if !same || op.request_hash.as_deref().is_some_and(|h| h != fingerprint) {
            return Err(EngineError::IdempotencyMismatch {
                key: key.clone(),
                operation: op.id.to_string(),
                action: op.action,
            });
        }
        Ok(Some(op))
    }

    /// Wait for the operation to reach a terminal state, up to `wait`. Past the bound a write is
    /// answered as it stands (the surface says 202 and where to look); a read nobody waits for
    /// any more is cancelled and answered 429.
    pub(crate) async fn await_outcome(
        &self,
        id: Uuid,
        risk: catalog::Risk,
        wait: Duration,
        replayed: bool,
    ) -> Result<Outcome, EngineError> {
        let sub = self.inner.executor.subscribe(id);
        self.await_published(id, risk, wait, replayed, sub).await
    }

    /// [`Engine::await_outcome`] with the subscription already in hand (the submitter's).
    async fn await_published(
        &self,
        id: Uuid,
        risk: catalog::Risk,
        wait: Duration,
        replayed: bool,
        mut sub: Option<executor::Subscription>,
    ) -> Result<Outcome, EngineError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Nothing published yet: wait for the worker rather than read the store (most actions
            // end here, with one store read fewer per request); on a quiet second, read the store.
            let unpublished = sub.as_ref().is_some_and(|s| s.result.borrow().is_none());
            if let (true, Some(s)) = (unpublished && tokio::time::Instant::now() < deadline, sub.as_mut()) {
                let tick = (tokio::time::Instant::now() + Duration::from_secs(1)).min(deadline);
                let closed = tokio::select! {
                    changed = s.result.changed() => changed.is_err(),
                    () = tokio::time::sleep_until(tick) => false,
                };
                if closed {
                    tracing::warn!(operation = %id, "the operation's run ended here without publishing; answering from the store");
                    sub = None;
                }
                if sub.as_ref().is_some_and(|s| s.result.borrow().is_some()) {
                    continue;
                }
            }
            if let Some(answer) = published_answer(sub.as_ref(), replayed) {
                return answer;
            }
            let op = self.operation(id).await?;
            // The worker may have published while the store was read (its end is then in the
            // store too): its answer carries the typed error, the store's only the status.
            if let Some(answer) = published_answer(sub.as_ref(), replayed) {
                return answer;
            }
            if status::is_terminal(&op.status) && sub.as_ref().is_some_and(|s| s.result.borrow().is_none()) {
                // The worker stores the end first and publishes it right after: wait for the
                // publication, which carries the typed error this caller should be answered with.
                // Generous, for a loaded machine: the answer is ready, only its form is awaited.
                let published = match sub.as_mut() {
                    Some(s) => tokio::time::timeout(PUBLICATION_GRACE, s.result.wait_for(Option::is_some))
                        .await
                        .is_ok_and(|r| r.is_ok()),
                    None => false,
                };
                if !published {
                    sub = None; // the store's word is final
                }
                continue;
            }
            if status::is_terminal(&op.status) || tokio::time::Instant::now() >= deadline {
                if risk == catalog::Risk::Read && !status::is_terminal(&op.status) {
                    return self.give_up_read(sub, id).await;
                }
                return Ok(Outcome::from_stored(&op, replayed));
            }
            // Woken by the worker, or by the entry ending (terminal); re-read the store at least
            // every second for progress made elsewhere (tracking, a restart's reconciliation).
            let tick = (tokio::time::Instant::now() + Duration::from_secs(1)).min(deadline);
            match sub.as_mut() {
                Some(s) => {
                    tokio::select! {
                        changed = s.result.changed() => if changed.is_err() { sub = None },
                        () = tokio::time::sleep_until(tick) => {}
                    }
                }
                None => tokio::time::sleep_until(tick).await,
            }
        }
    }

    /// The caller's bound passed before a read finished: cancel it and say when to retry.
    async fn give_up_read(&self, sub: Option<executor::Subscription>, id: Uuid) -> Result<Outcome, EngineError> {
        if let Some(mut s) = sub {
            s.cancel();
            // The worker records the cancellation (or its outcome, if it won the race).
            let _ = tokio::time::timeout(Duration::from_secs(5), s.result.wait_for(Option::is_some)).await;
        }
        let op = self.operation(id).await?;
        if status::is_terminal(&op.status) && op.status != status::CANCELLED {
            return Ok(Outcome::from_stored(&op, false));
        }
        Err(EngineError::NotAdmitted { retry_after: Duration::from_secs(5) })
    }

    /// Durable before irreversible: the operation (`accepted_as`: `Queued`, or `Running` when a
    /// worker's slot is already taken for it) and its attempt record exist before any call. A
    /// concurrent request that used the same idempotency key first yields its operation.
    async fn record_attempt(
        &self,
        req: &ActionRequest,
        spec: &ActionSpec,
        params: &catalog::Params,
        fingerprint: &str,
        revert: Option<&reverts::Planned>,
        accepted_as: &str,
    ) -> Result<Accepted, EngineError> {
        let (mut op, attempt) = attempt_rows(req, spec, params, fingerprint);
        op.status = accepted_as.into();
        let begun = match revert {
            Some(r) => {
                let (row, scheduled) = r.rows(self, spec, &op, &req.principal);
                self.inner.store.begin_operation_with_revert(op, attempt, row, scheduled).await
            }
            None => self.inner.store.begin_operation(op, attempt).await,
        };
        match begun {
            Ok((op, _)) => Ok(Accepted::New(op)),
            Err(store::StoreError::Conflict(what)) => match &req.idempotency_key {
                Some(key) => self
                    .inner
                    .store
                    .operation_by_idempotency(&req.tenant, key)
                    .await?
                    .map(Accepted::Existing)
                    .ok_or_else(|| EngineError::Internal(what)),
                None => Err(EngineError::Internal(what)),
            },
            Err(e) => Err(e.into()),
        }
    }

    /// The worker's story for one job: take it `Running`, carry it out, record the outcome.
    pub(crate) async fn run_job(&self, job: &executor::Job) -> Result<Outcome, EngineError> {
        let spec = job.spec;
        let op = match &job.running {
            // Accepted `Running`: nothing to write or read.
            Some(op) => op.clone(),
            // Reads skip the `Running` commit: a restart runs a read again whether it was queued
            // or running, so the state would cost a durable write and buy nothing.
            None if spec.risk == catalog::Risk::Read => self.operation(job.op).await?,
            None => {
                let running = OperationUpdate { status: status::RUNNING.into(), ..Default::default() };
                self.inner.store.update_operation(job.op, running).await?
            }
        };
        let creds = self.inner.tenants.get(&job.tenant)?;
        let started = Instant::now();
        let result = match spec.plan {
            catalog::Plan::Procedure(procedure) => {
                let ctx = procedures::Ctx {
                    engine: self,
                    tenant: &job.tenant,
                    principal: &job.principal,
                    creds,
                    spec,
                    operation: op.id,
                };
                procedures::run(&ctx, procedure, &job.params).await
            }
            _ => {
                plan::carry_out_by(
                    &self.inner.upstream,
                    creds,
                    spec,
                    &job.params,
                    plan::Marker { op: op.id, resume_since: job.resume.then_some(op.created_at) },
                    &job.principal.name,
                )
                .await
            }
        };
        let result = match result {
            Ok(carried) => self.verify_effect(creds, spec, &job.params, carried).await,
            Err(e) => Err(e),
        };
        let outcome = self.record_outcome(job, op, result, started).await;
        if let (Ok(o), catalog::Plan::Procedure(_)) = (&outcome, spec.plan) {
            // A live-response command continues in the background once its outcome is durable.
            if spec.completion == Completion::LiveResponse && o.status == status::IN_PROGRESS {
                procedures::live_response::continue_in_background(self, o.operation_id);
            }
        }
        let label = match &outcome {
            Ok(o) => o.status.clone(),
            Err(e) => error_label(e).to_string(),
        };
        self.inner.metrics.count(spec.product, spec.name, &label);
        outcome
    }

    /// Read the target back when the action declares a check (`catalog::verify`) and it finished
    /// at once: the record keeps what was read, and an effect that never shows is `NotVerified`.
    async fn verify_effect(
        &self,
        creds: &upstream::TenantCredentials,
        spec: &'static ActionSpec,
        params: &catalog::Params,
        mut carried: plan::Carried,
    ) -> Result<plan::Carried, EngineError> {
        if carried.status(spec) != status::SUCCEEDED {
            return Ok(carried);
        }
        let within = self.inner.tracker.verify_within();
        let Some(v) = completion::verify(&self.inner.upstream, creds, spec, params, within).await else {
            return Ok(carried);
        };
        if !v.verified {
            return Err(EngineError::NotVerified {
                action: spec.name.into(),
                within_secs: within.as_secs(),
                read: serde_json::json!(v),
            });
        }
        let verification = serde_json::json!(v);
        carried.data = match carried.data {
            Value::Object(mut m) => {
                m.insert("verification".into(), verification);
                Value::Object(m)
            }
            other => serde_json::json!({ "response": other, "verification": verification }),
        };
        Ok(carried)
    }

    /// A waiter gave up on a read before it finished: record it `Cancelled`, with the reason.
    pub(crate) async fn cancel_job(&self, job: &executor::Job) -> Result<Outcome, EngineError> {
        let error = serde_json::json!({ "code": "NotAdmitted", "message": "cancelled: the caller's wait ended before the read could run within the tenant's rate budget; nobody was left to read its answer" });
        let op = self.operation(job.op).await?;
        if status::is_terminal(&op.status) {
            return Ok(Outcome::from_stored(&op, false));
        }
        let update =
            OperationUpdate { status: status::CANCELLED.into(), error: Some(error.clone()), ..Default::default() };
        let record = outcome_record(&op, status::CANCELLED, vec![], None, error);
        let (op, _) = self.inner.store.finish_step(job.op, update, record).await?;
        self.inner.metrics.count(job.spec.product, job.spec.name, status::CANCELLED);
        Ok(Outcome::from_stored(&op, false))
    }

    async fn record_outcome(
        &self,
        job: &executor::Job,
        op: Operation,
        result: Result<plan::Carried, EngineError>,
        started: Instant,
    ) -> Result<Outcome, EngineError> {
        let spec = job.spec;
        let duration_ms = started.elapsed().as_millis() as u64;
        let (status, data, error, request_ids, tracking) = match &result {
            Ok(c) => (c.status(spec), c.data.clone(), None, c.request_ids.clone(), c.tracking()),
            Err(e) => (status::FAILED.to_string(), Value::Null, Some(error_json(e)), vec![], None),
        };
        // Sensitive result fields (`ActionSpec::sensitive_results`) never reach the store.
        let stored = redact::result(spec, &data);
        let update = OperationUpdate {
            status: status.clone(),
            result: Some(stored.clone()),
            error: error.clone(),
            upstream_request_ids: request_ids.clone(),
            tracking: tracking.clone(),
        };
        let record =
            outcome_record(&op, &status, request_ids.clone(), Some(duration_ms as i64), error.unwrap_or(Value::Null));
        let (updated, _) = self.inner.store.finish_step(op.id, update, record).await?;
        if tracking.is_some()
            && matches!(
                spec.completion,
                Completion::MachineAction | Completion::ArmOperation | Completion::GraphAccepted
            )
        {
            self.inner.tracker.watch(op.id);
        }
        let carried = result?;
        Ok(Outcome {
            operation_id: op.id,
            product: spec.product,
            action: spec.name,
            tenant: job.tenant.clone(),
            status: updated.status,
            // The one-time reveal: only the caller who asked, only in this answer.
            data: if job.reveal { carried.data } else { stored },
            upstream_request_ids: request_ids,
            duration_ms,
            replayed: false,
        })
    }

    /// Operations in flight in this process (accepted, not yet terminal).
    pub fn in_flight(&self) -> usize {
        self.inner.executor.in_flight()
    }

    /// Operations within a caller's tenant scope, newest first (`GET /v1/operations`).
    pub async fn list_operations(
        &self,
        principal: &Principal,
        mut filter: store::OperationFilter,
    ) -> Result<Vec<Operation>, EngineError> {
        if !principal.tenants.is_empty() {
            match &filter.tenant {
                Some(t) if !principal.may_access(t.as_str()) => {
                    return Err(EngineError::Forbidden(format!(
                        "key '{}' is not scoped to tenant '{t}'",
                        principal.name
                    )));
                }
                Some(_) => {}
                None => filter.tenants = principal.tenants.iter().map(|t| store::TenantId::new(t)).collect(),
            }
        }
        Ok(self.inner.store.list_operations(filter).await?)
    }
}

/// A request's operation row (`Queued`) and its `attempt` record, params redacted.
fn attempt_rows(
    req: &ActionRequest,
    spec: &ActionSpec,
    params: &catalog::Params,
    fingerprint: &str,
) -> (NewOperation, NewAuditEvent) {
    let redacted = redact::params(spec, params);
    let op = NewOperation {
        id: Uuid::now_v7(),
        tenant: req.tenant.clone(),
        product: spec.product.key().into(),
        action: spec.name.into(),
        params: redacted.clone(),
        principal: req.principal.name.clone(),
        idempotency_key: req.idempotency_key.clone(),
        request_hash: Some(fingerprint.to_string()),
        status: status::QUEUED.into(),
    };
    let attempt = NewAuditEvent {
        operation_id: Some(op.id),
        kind: store::AuditKind::Attempt,
        principal: req.principal.name.clone(),
        tenant: Some(req.tenant.clone()),
        product: Some(spec.product.key().into()),
        action: Some(spec.name.into()),
        params: redacted,
        outcome: None,
        upstream_request_ids: vec![],
        duration_ms: None,
        detail: serde_json::json!({ "role": req.principal.role.as_str(), "risk": spec.risk }),
    };
    (op, attempt)
}

/// What accepting a request produced.
enum Accepted {
    New(Operation),
    /// The idempotency key was taken by a concurrent request: its operation.
    Existing(Operation),
}

/// A fingerprint of the validated request: the same key must come with the same request.
fn fingerprint(spec: &ActionSpec, params: &catalog::Params) -> String {
    use sha2::{Digest, Sha256};
    let canonical = serde_json::json!({ "product": spec.product.key(), "action": spec.name, "params": redact::params(spec, params) });
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// The `outcome` audit record of a step, with the operation's (already redacted) params.
pub(crate) fn outcome_record(
    op: &Operation,
    status: &str,
    upstream_request_ids: Vec<String>,
    duration_ms: Option<i64>,
    detail: Value,
) -> NewAuditEvent {
    NewAuditEvent { duration_ms, ..step_record(op, store::AuditKind::Outcome, status, upstream_request_ids, detail) }
}

/// An audit record about an operation's step: who, where and what come from the stored operation
/// (params already redacted), so every record of an operation agrees with the operation.
fn step_record(
    op: &Operation,
    kind: store::AuditKind,
    status: &str,
    upstream_request_ids: Vec<String>,
    detail: Value,
) -> NewAuditEvent {
    NewAuditEvent {
        operation_id: Some(op.id),
        kind,
        principal: op.principal.clone(),
        tenant: Some(op.tenant.clone()),
        product: Some(op.product.clone()),
        action: Some(op.action.clone()),
        params: op.params.clone(),
        outcome: Some(status.to_string()),
        upstream_request_ids,
        duration_ms: None,
        detail,
    }
}

impl Outcome {
    /// The outcome as the store has it (a replay, a terminal state reached by tracking, or the
    /// state at the end of the caller's wait).
    fn from_stored(op: &Operation, replayed: bool) -> Outcome {
        let catalog = Catalog::global();
        let spec = Product::parse(&op.product).and_then(|p| catalog.resolve(Some(p), &op.action).ok());
        let elapsed = (op.updated_at - op.created_at).whole_milliseconds().max(0) as u64;
        Outcome {
            operation_id: op.id,
            product: spec.map_or(Product::Mde, |s| s.product),
            action: spec.map_or("Unknown", |s| s.name),
            tenant: op.tenant.clone(),
            status: op.status.clone(),
            data: op.result.clone().or_else(|| op.error.clone()).unwrap_or(Value::Null),
            upstream_request_ids: op.upstream_request_ids.clone(),
            duration_ms: elapsed,
            replayed,
        }
    }
}

/// The answer a worker published, once it is final: its typed error, or a terminal outcome. A
/// first step still under way (a machine action being tracked) is no answer yet.
fn published_answer(sub: Option<&executor::Subscription>, replayed: bool) -> Option<Result<Outcome, EngineError>> {
    let published = sub?.result.borrow().clone()?;
    match &*published {
        Err(e) => Some(Err(e.clone())),
        Ok(o) if status::is_terminal(&o.status) => Some(Ok(Outcome { replayed, ..o.clone() })),
        Ok(_) => None,
    }
}

fn refuse_unsupported(spec: &ActionSpec) -> Result<(), EngineError> {
    match spec.plan {
        catalog::Plan::Unsupported { reason, nearest } => Err(EngineError::Unsupported {
            action: spec.name.into(),
            reason: reason.into(),
            nearest: nearest.map(str::to_string),
        }),
        catalog::Plan::Call(_) | catalog::Plan::Procedure(_) => Ok(()),
    }
}

pub(crate) fn authorize(p: &Principal, tenant: &str, spec: &ActionSpec) -> Result<(), EngineError> {
    if !p.may_access(tenant) {
        return Err(EngineError::Forbidden(format!("key '{}' is not scoped to tenant '{tenant}'", p.name)));
    }
    if !p.role.allows(spec.risk) {
        return Err(EngineError::Forbidden(format!(
            "key '{}' has role '{}', which may not run {} actions like {}",
            p.name,
            p.role.as_str(),
            serde_json::to_value(spec.risk).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default(),
            spec.name
        )));
    }
    Ok(())
}

/// The stable short label of an error, for metrics and operation records.
pub fn error_label(e: &EngineError) -> &'static str {
    match e {
        EngineError::UnknownTenant(_) => "UnknownTenant",
        EngineError::UnknownAction { .. } => "UnknownAction",
        EngineError::AmbiguousAction { .. } => "AmbiguousAction",
        EngineError::InvalidParam(_) => "InvalidParameter",
        EngineError::Forbidden(_) => "Forbidden",
        EngineError::Unsupported { .. } => "NotSupported",
        EngineError::PendingConflict { .. } => "ActiveRequestAlreadyExists",
        EngineError::UpstreamRejected { .. } => "UpstreamRejected",
        EngineError::UpstreamFailed { .. } => "UpstreamFailed",
        EngineError::Throttled { .. } => "Throttled",
        EngineError::IdempotencyMismatch { .. } => "IdempotencyKeyReused",
        EngineError::NotAdmitted { .. } => "NotAdmitted",
        EngineError::NotVerified { .. } => "NotVerified",
        EngineError::UpstreamTimeout => "UpstreamTimeout",
        EngineError::HuntFailed { all_throttled: true, .. } => "HuntThrottled",
        EngineError::HuntFailed { .. } => "HuntFailed",
        EngineError::OperationNotFound(_) | EngineError::NotFound(_) => "NotFound",
        EngineError::Conflict(_) => "Conflict",
        EngineError::Library(e) => library_label(e),
        EngineError::Store(_) | EngineError::Internal(_) => "Internal",
    }
}

/// The `completed` audit record of an operation that tracking brought to its final state
/// (machine actions, live-response sessions). Commit it with the final update (`Store::finish_step`).
pub(crate) fn completed_record(
    op: &Operation,
    outcome: &str,
    upstream_request_ids: Vec<String>,
    detail: Value,
) -> NewAuditEvent {
    step_record(op, store::AuditKind::Completed, outcome, upstream_request_ids, detail)
}

pub(crate) fn error_json(e: &EngineError) -> Value {
    let mut v = serde_json::json!({ "code": error_label(e), "message": e.to_string() });
    match e {
        EngineError::UpstreamRejected { code, request_id, .. }
        | EngineError::UpstreamFailed { code, request_id, .. } => {
            v["upstreamCode"] = code.clone().into();
            v["upstreamRequestId"] = request_id.clone().into();
        }
        EngineError::PendingConflict { pending, .. } => v["pending"] = pending.clone().unwrap_or(Value::Null),
        EngineError::NotVerified { read, .. } => v["verification"] = read.clone(),
        _ => {}
    }
    v
}

fn library_label(e: &library::LibraryError) -> &'static str {
    match e {
        library::LibraryError::InvalidName { .. } => "InvalidParameter",
        library::LibraryError::NotFound { .. } => "LibraryFileNotFound",
        library::LibraryError::TooLarge { .. } => "PayloadTooLarge",
        library::LibraryError::Storage(_) => "Internal",
    }
}
