//! The engine: runs an action from request to audited outcome.
//!
//! The story of one action (`Engine::execute`):
//! 1. resolve the name in the catalog, refuse unsupported actions (501);
//! 2. authorize: the key's tenant scope and role against the action's risk class;
//! 3. validate the parameters against their declared types;
//! 4. honour an idempotency key (a retried request returns the first outcome);
//! 5. store the operation and its `attempt` audit record (durable before irreversible);
//! 6. carry out the plan through `upstream`, the only door to the clouds;
//! 7. store the result and the `outcome` audit record;
//! 8. for machine actions, hand the action ids to the tracker, which polls them to a terminal state.

mod error;
mod hunt;
mod plan;
mod principal;
mod procedures;
mod redact;
mod tenants;
mod track;

pub use error::EngineError;
pub use hunt::{parse_tenants, Column, HuntOutcome, TenantChoice, TenantStatus, MAX_MERGED_ROWS};
pub use procedures::{builtins as builtin_queries, HistoryFilter, SavedQueryView};
pub use principal::{Principal, Role};
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
use std::time::Instant;
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
}

/// Operation states. Terminal ones end tracking.
pub mod status {
    pub const RUNNING: &str = "Running";
    pub const IN_PROGRESS: &str = "InProgress";
    pub const SUCCEEDED: &str = "Succeeded";
    pub const PARTIALLY_SUCCEEDED: &str = "PartiallySucceeded";
    pub const FAILED: &str = "Failed";
    pub const TIMEOUT: &str = "TimeOut";
    pub const CANCELLED: &str = "Cancelled";

    pub fn is_terminal(s: &str) -> bool {
        matches!(s, SUCCEEDED | PARTIALLY_SUCCEEDED | FAILED | TIMEOUT | CANCELLED)
    }
}

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
}

impl EngineMetrics {
    pub fn register(&self, registry: &mut Registry) {
        registry.register("riposte_actions", "Actions by product, action and outcome", self.actions.clone());
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
    /// Live-response sessions in flight and the file library.
    live: procedures::live_response::Runtime,
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
                live,
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

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn tenants(&self) -> &TenantDirectory {
        &self.inner.tenants
    }

    pub fn upstream(&self) -> &Upstream {
        &self.inner.upstream
    }

    /// Start the background tracker and resume tracking operations left in flight by a restart.
    pub async fn start_tracking(&self) -> Result<(), EngineError> {
        let pending = self.inner.store.operations_in_status(&[status::IN_PROGRESS], 10_000).await?;
        // Live-response sessions resume on their own (they finish by fetching results).
        for op in pending.iter().filter(|op| !procedures::live_response::is_session(op)) {
            self.inner.tracker.watch(op.id);
        }
        procedures::live_response::resume(self).await?;
        track::spawn(self.clone());
        Ok(())
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

    /// Carry out one action request, start to audited finish.
    pub async fn execute(&self, req: ActionRequest) -> Result<Outcome, EngineError> {
        let spec = self.resolve(req.product, &req.action)?;
        refuse_unsupported(spec)?;
        authorize(&req.principal, &req.tenant, spec)?;
        let creds = self.inner.tenants.get(&req.tenant)?;
        let params = spec.validate(&req.params)?;
        if let Some(replayed) = self.replay_idempotent(&req, spec).await? {
            return Ok(replayed);
        }
        // Devices named by DNS name or IP become machine ids (reads only; ambiguity is a 400).
        let params = procedures::resolve::machine_params(&self.inner.upstream, creds, spec, params).await?;

        let started = Instant::now();
        let op = self.record_attempt(&req, spec, &params).await?;
        let result = match spec.plan {
            catalog::Plan::Procedure(procedure) => {
                let ctx = procedures::Ctx { engine: self, tenant: &req.tenant, principal: &req.principal, creds, spec, operation: op.id };
                procedures::run(&ctx, procedure, &params).await
            }
            _ => plan::carry_out(&self.inner.upstream, creds, spec, &params).await,
        };
        let outcome = self.record_outcome(&req, spec, op, result, started).await;
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

    /// The operation as stored, with its current status.
    pub async fn operation(&self, id: Uuid) -> Result<Operation, EngineError> {
        self.inner
            .store
            .get_operation(id)
            .await?
            .ok_or_else(|| EngineError::OperationNotFound(id.to_string()))
    }

    async fn replay_idempotent(&self, req: &ActionRequest, spec: &'static ActionSpec) -> Result<Option<Outcome>, EngineError> {
        let Some(key) = &req.idempotency_key else { return Ok(None) };
        let Some(op) = self.inner.store.operation_by_idempotency(&req.tenant, key).await? else {
            return Ok(None);
        };
        if op.action != spec.name {
            return Err(EngineError::InvalidParam(catalog::ParamError {
                field: "idempotencyKey".into(),
                message: format!("was already used for {} (operation {})", op.action, op.id),
                hint: "use a new idempotency key for a different action".into(),
            }));
        }
        Ok(Some(Outcome {
            operation_id: op.id,
            product: spec.product,
            action: spec.name,
            tenant: op.tenant.clone(),
            status: op.status.clone(),
            data: op.result.clone().unwrap_or(Value::Null),
            upstream_request_ids: op.upstream_request_ids.clone(),
            duration_ms: 0,
            replayed: true,
        }))
    }

    /// Durable before irreversible: the operation and its attempt record exist before any call.
    async fn record_attempt(&self, req: &ActionRequest, spec: &ActionSpec, params: &catalog::Params) -> Result<Operation, EngineError> {
        let redacted = redact::params(spec, params);
        let op = NewOperation {
            id: Uuid::now_v7(),
            tenant: req.tenant.clone(),
            product: spec.product.key().into(),
            action: spec.name.into(),
            params: redacted.clone(),
            principal: req.principal.name.clone(),
            idempotency_key: req.idempotency_key.clone(),
            status: status::RUNNING.into(),
        };
        let attempt = NewAuditEvent {
            operation_id: Some(op.id),
            kind: "attempt".into(),
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
        let (op, _) = self.inner.store.begin_operation(op, attempt).await?;
        Ok(op)
    }

    async fn record_outcome(
        &self,
        req: &ActionRequest,
        spec: &'static ActionSpec,
        op: Operation,
        result: Result<plan::Carried, EngineError>,
        started: Instant,
    ) -> Result<Outcome, EngineError> {
        let duration_ms = started.elapsed().as_millis() as u64;
        let (status, data, error, request_ids, tracking) = match &result {
            Ok(c) => (c.status(spec), c.data.clone(), None, c.request_ids.clone(), c.tracking()),
            Err(e) => (status::FAILED.to_string(), Value::Null, Some(error_json(e)), vec![], None),
        };
        let update = OperationUpdate {
            status: status.clone(),
            result: Some(data.clone()),
            error: error.clone(),
            upstream_request_ids: request_ids.clone(),
            tracking: tracking.clone(),
        };
        let record = NewAuditEvent {
            operation_id: Some(op.id),
            kind: "outcome".into(),
            principal: req.principal.name.clone(),
            tenant: Some(req.tenant.clone()),
            product: Some(spec.product.key().into()),
            action: Some(spec.name.into()),
            params: op.params.clone(),
            outcome: Some(status.clone()),
            upstream_request_ids: request_ids.clone(),
            duration_ms: Some(duration_ms as i64),
            detail: error.unwrap_or(Value::Null),
        };
        let (updated, _) = self.inner.store.finish_step(op.id, update, record).await?;
        if tracking.is_some() && spec.completion == Completion::MachineAction {
            self.inner.tracker.watch(op.id);
        }
        let carried = result?;
        Ok(Outcome {
            operation_id: op.id,
            product: spec.product,
            action: spec.name,
            tenant: req.tenant.clone(),
            status: updated.status,
            data: carried.data,
            upstream_request_ids: request_ids,
            duration_ms,
            replayed: false,
        })
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
        EngineError::UpstreamTimeout => "UpstreamTimeout",
        EngineError::OperationNotFound(_) => "NotFound",
        EngineError::Library(e) => library_label(e),
        EngineError::Internal(_) => "Internal",
    }
}

/// The `completed` audit record of an operation that tracking brought to its final state
/// (machine actions, live-response sessions). Commit it with the final update (`Store::finish_step`).
pub(crate) fn completed_record(op: &Operation, outcome: &str, upstream_request_ids: Vec<String>, detail: Value) -> NewAuditEvent {
    NewAuditEvent {
        operation_id: Some(op.id),
        kind: "completed".into(),
        principal: op.principal.clone(),
        tenant: Some(op.tenant.clone()),
        product: Some(op.product.clone()),
        action: Some(op.action.clone()),
        params: op.params.clone(),
        outcome: Some(outcome.to_string()),
        upstream_request_ids,
        duration_ms: None,
        detail,
    }
}

fn error_json(e: &EngineError) -> Value {
    let mut v = serde_json::json!({ "code": error_label(e), "message": e.to_string() });
    match e {
        EngineError::UpstreamRejected { code, request_id, .. } | EngineError::UpstreamFailed { code, request_id, .. } => {
            v["upstreamCode"] = code.clone().into();
            v["upstreamRequestId"] = request_id.clone().into();
        }
        EngineError::PendingConflict { pending, .. } => v["pending"] = pending.clone().unwrap_or(Value::Null),
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
