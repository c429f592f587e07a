//! Approvals by policy (issue 15 §2): actions and bulk jobs a policy says need a second person.
//!
//! The story of a held action:
//! 1. `Engine::execute` resolves and validates as ever; then [`check_action`] asks the policy
//!    ([`policy`]) about the action, its risk, how many targets it has and whether any is tier-0
//!    (the devices' names, tags and groups read from MDE, the users' from Graph: [`targets`]);
//! 2. held: the operation is written `AwaitingApproval` with its `attempt` record, its approval
//!    row and an `approval_requested` record, in one transaction ([`hold_action`]). Nothing is
//!    sent upstream. The caller gets 202, the operation and `/v1/approvals/{id}`;
//! 3. an approver (a role the policy names, never the requester's key) approves or rejects with a
//!    reason ([`Engine::decide_approval`]); the decision, the operation's new state and the
//!    `approved`/`rejected` record commit together. Approved, the operation is `Queued` and runs
//!    through the executor like any accepted action (a restart finds it `Queued` and runs it);
//!    rejected, it is `Rejected` and never runs;
//! 4. undecided at its expiry (on the engine clock, which follows the sandbox's in tests), the
//!    expiry loop makes it `Expired` with an `approval_expired` record; it never runs.
//!
//! A bulk job is judged once, when it is created ([`Engine::job_verdict`]): held, the job and
//! its items are written `AwaitingApproval` (no item is claimed in that state) and approving
//! makes it `Running`; rejecting or expiry ends it with every item `Cancelled`. Its items then
//! run without asking again.
//!
//! Break-glass: an admin may send `breakGlass: {justification}` to run a held action at once.
//! It is loud: a `break_glass` audit record with the justification and what the policy said, a
//! warn log line and the `riposte_approvals{event="break_glass"}` counter.
//!
//! The policy file is TOML (`[approvals] policy = ...` or `RIPOSTE_APPROVALS_POLICY`), re-read
//! when its modification time or size changes ([`reload`]); a file that does not parse keeps the
//! previous policy, logs the error and shows it on `GET /v1/approvals/policy`.

pub mod policy;
mod reload;
mod targets;

pub use policy::{Policy, PolicyError, Reason};

use crate::executor::Job;
use crate::{ActionRequest, Engine, EngineError, Outcome, Principal, Role, status};
use catalog::{ActionSpec, Catalog, ParamError, Params, Product, Risk};
use parking_lot::{Mutex, RwLock};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use serde_json::{Map, Value, json};
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use store::{
    Approval, ApprovalDecision, ApprovalFilter, AuditKind, NewApproval, NewAuditEvent, NewJob, NewOperation, Operation,
    OperationUpdate, approval_kind, approval_status, job_state,
};
use upstream::TenantCredentials;
use uuid::Uuid;

/// The name decisions made by Riposte itself (expiry) are recorded under.
pub const SYSTEM_PRINCIPAL: &str = "riposte";

/// The longest justification or reason kept.
const MAX_TEXT: usize = 2000;

/// What the engine keeps for approvals in this process.
#[derive(Default)]
pub(crate) struct Runtime {
    policy: RwLock<Arc<Policy>>,
    /// Where the policy came from and how its last read went (`reload`).
    source: Mutex<Option<reload::Source>>,
    /// Unredacted params of held operations whose secret parameters are never stored: an
    /// approval in this process runs them; after a restart they end `Cancelled`, saying why.
    held: Mutex<HashMap<Uuid, Params>>,
}

impl Runtime {
    pub(crate) fn policy(&self) -> Arc<Policy> {
        self.policy.read().clone()
    }

    fn set_policy(&self, p: Policy) {
        *self.policy.write() = Arc::new(p);
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    event: String,
}

/// `riposte_approvals{event}`: requested, approved, rejected, expired, break_glass,
/// policy_loaded, policy_refused.
#[derive(Default)]
pub struct ApprovalMetrics {
    events: Family<EventLabels, Counter>,
}

impl ApprovalMetrics {
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "riposte_approvals",
            "Approval requests, decisions, break-glass bypasses and policy reloads",
            self.events.clone(),
        );
    }

    pub(crate) fn count(&self, event: &str) {
        self.events.get_or_create(&EventLabels { event: event.into() }).inc();
    }
}

/// A break-glass bypass: an admin runs a held action at once, with a justification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakGlass {
    pub justification: String,
}

/// The spellings of the break-glass key a request may carry beside its parameters.
const BREAK_GLASS_KEYS: [&str; 2] = ["breakglass", "break_glass"];

fn bad(field: &str, message: impl Into<String>, hint: &str) -> EngineError {
    EngineError::InvalidParam(ParamError { field: field.into(), message: message.into(), hint: hint.into() })
}

/// Take `breakGlass: {justification}` out of a request's parameters (before validation, like
/// `revertAfter`). A present key without a non-empty justification is a 400 naming it.
pub fn take_break_glass(params: &mut Map<String, Value>) -> Result<Option<BreakGlass>, EngineError> {
    let key = params.keys().find(|k| BREAK_GLASS_KEYS.contains(&k.to_ascii_lowercase().as_str())).cloned();
    let Some(value) = key.and_then(|k| params.remove(&k)) else { return Ok(None) };
    let hint = "\"breakGlass\": {\"justification\": \"why this cannot wait for an approver\"}";
    let text = match &value {
        Value::Object(m) => m.get("justification").and_then(Value::as_str).map(str::trim),
        _ => return Err(bad("breakGlass", format!("{value} is not an object"), hint)),
    };
    match text {
        Some(t) if !t.is_empty() && t.chars().count() <= MAX_TEXT => Ok(Some(BreakGlass { justification: t.into() })),
        Some(t) if !t.is_empty() => Err(bad(
            "breakGlass.justification",
            format!("the justification is longer than {MAX_TEXT} characters"),
            "say why in fewer words",
        )),
        _ => Err(bad("breakGlass.justification", "a break-glass bypass needs a justification", hint)),
    }
}

/// What the policy says about a request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Verdict {
    Run,
    /// Held for approval, with every reason.
    Hold(Vec<Reason>),
    /// Held, but an admin broke the glass: runs now, loudly audited.
    BreakGlass(Vec<Reason>, BreakGlass),
}

/// Only an admin may break the glass; anyone else asking is refused whatever the policy says.
fn verdict(principal: &Principal, reasons: Vec<Reason>, glass: Option<&BreakGlass>) -> Result<Verdict, EngineError> {
    if glass.is_some() && principal.role != Role::Admin {
        return Err(EngineError::Forbidden(format!(
            "key '{}' has role '{}'; only an admin key may use breakGlass",
            principal.name,
            principal.role.as_str()
        )));
    }
    Ok(match (reasons.is_empty(), glass) {
        (true, _) => Verdict::Run,
        (false, Some(g)) => Verdict::BreakGlass(reasons, g.clone()),
        (false, None) => Verdict::Hold(reasons),
    })
}

/// Step 1 for an action: what the policy says, after its targets were resolved.
pub(crate) async fn check_action(
    engine: &Engine,
    req: &ActionRequest,
    spec: &'static ActionSpec,
    params: &Params,
    creds: &TenantCredentials,
    glass: Option<&BreakGlass>,
) -> Result<Verdict, EngineError> {
    let policy = engine.inner.approvals.policy();
    let mut unchecked = Vec::new();
    let (devices, users) = if spec.risk == Risk::Read {
        (vec![], vec![])
    } else {
        let up = engine.upstream();
        let d = targets::devices(up, creds, &policy, spec, params, &mut unchecked).await;
        let u = targets::users(up, creds, &policy, spec, params, &mut unchecked).await;
        (d, u)
    };
    let subject = policy::Subject {
        product: spec.product,
        action: spec.name,
        risk: spec.risk,
        targets: targets::count(spec, params),
        tenants: 1,
        job: false,
        devices: &devices,
        users: &users,
        unchecked: &unchecked,
    };
    verdict(&req.principal, policy.evaluate(&subject), glass)
}

/// The `approval` object a held operation's answer (and its stored result) carries.
fn held_answer(approval: Uuid, expires_at: time::OffsetDateTime, reasons: &[Reason], policy: &Policy) -> Value {
    json!({
        "approval": {
            "id": approval,
            "href": format!("/v1/approvals/{approval}"),
            "status": approval_status::PENDING,
            "expiresAt": rfc3339(expires_at),
            "reasons": reasons,
            "approverRoles": policy.approver_roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        }
    })
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// Step 2 for an action: write it `AwaitingApproval` with its approval, durably, and answer.
pub(crate) async fn hold_action(
    engine: &Engine,
    req: &ActionRequest,
    spec: &'static ActionSpec,
    params: &Params,
    fingerprint: &str,
    reasons: Vec<Reason>,
) -> Result<Outcome, EngineError> {
    let policy = engine.inner.approvals.policy();
    let redacted = crate::redact::params(spec, params);
    let (op_id, approval_id) = (Uuid::now_v7(), Uuid::now_v7());
    let expires_at = engine.clock().now() + policy.expires_after;
    let held = held_answer(approval_id, expires_at, &reasons, &policy);
    let targets = targets::count(spec, params) as i64;
    let op = NewOperation {
        id: op_id,
        tenant: req.tenant.clone(),
        product: spec.product.key().into(),
        action: spec.name.into(),
        params: redacted.clone(),
        principal: req.principal.name.clone(),
        idempotency_key: req.idempotency_key.clone(),
        request_hash: Some(fingerprint.to_string()),
        status: status::AWAITING_APPROVAL.into(),
    };
    let record = |kind: AuditKind, outcome: Option<&str>, detail: Value| NewAuditEvent {
        operation_id: Some(op_id),
        kind,
        principal: req.principal.name.clone(),
        tenant: Some(req.tenant.clone()),
        product: Some(spec.product.key().into()),
        action: Some(spec.name.into()),
        params: redacted.clone(),
        outcome: outcome.map(String::from),
        upstream_request_ids: vec![],
        duration_ms: None,
        detail,
    };
    let attempt = record(
        AuditKind::Attempt,
        None,
        json!({ "role": req.principal.role.as_str(), "risk": spec.risk, "awaitingApproval": approval_id }),
    );
    let requested = record(
        AuditKind::ApprovalRequested,
        Some(approval_status::PENDING),
        json!({ "approval": approval_id, "reasons": reasons, "expiresAt": rfc3339(expires_at), "targets": targets }),
    );
    let approval = NewApproval {
        id: approval_id,
        tenants: vec![req.tenant.clone()],
        product: spec.product.key().into(),
        action: spec.name.into(),
        params: redacted.clone(),
        targets,
        requester: req.principal.name.clone(),
        reasons: json!(reasons),
        expires_at,
    };
    let op = match engine.store().hold_operation(op, held, attempt, approval, requested).await {
        Ok((op, _)) => op,
        // A concurrent request with the same idempotency key won: its operation is this one.
        Err(store::StoreError::Conflict(what)) => match &req.idempotency_key {
            Some(key) => {
                let op = engine.store().operation_by_idempotency(&req.tenant, key).await?;
                return op.map(|op| Outcome::from_stored(&op, true)).ok_or(EngineError::Internal(what));
            }
            None => return Err(EngineError::Internal(what)),
        },
        Err(e) => return Err(e.into()),
    };
    if crate::reconcile::stored_params(spec, &redacted).is_none() {
        engine.inner.approvals.held.lock().insert(op.id, params.clone());
    }
    engine.inner.metrics.approvals.count("requested");
    tracing::info!(operation = %op.id, approval = %approval_id, action = spec.name, tenant = %req.tenant,
        requester = %req.principal.name, ?reasons, "action held for approval");
    Ok(Outcome::from_stored(&op, false))
}

/// A break-glass bypass, once the operation is accepted: the audit record, the log line, the metric.
pub(crate) async fn record_break_glass(
    engine: &Engine,
    op: &Operation,
    principal: &Principal,
    reasons: &[Reason],
    glass: &BreakGlass,
) -> Result<(), EngineError> {
    tracing::warn!(operation = %op.id, action = %op.action, tenant = %op.tenant, principal = %principal.name,
        justification = %glass.justification, ?reasons, "BREAK-GLASS: an action the approval policy holds ran without approval");
    engine.inner.metrics.approvals.count("break_glass");
    let record = NewAuditEvent {
        operation_id: Some(op.id),
        kind: AuditKind::BreakGlass,
        principal: principal.name.clone(),
        tenant: Some(op.tenant.clone()),
        product: Some(op.product.clone()),
        action: Some(op.action.clone()),
        params: op.params.clone(),
        outcome: None,
        upstream_request_ids: vec![],
        duration_ms: None,
        detail: json!({ "justification": glass.justification, "reasons": reasons, "role": principal.role.as_str() }),
    };
    engine.store().append_audit(record).await?;
    Ok(())
}

/// Whether the caller may see an approval: every tenant it touches in the key's scope, or its own.
fn visible(principal: &Principal, a: &Approval) -> bool {
    a.requester == principal.name || a.tenants.iter().all(|t| principal.may_access(t))
}

impl Engine {
    /// Use the policy file at `path` and re-read it when it changes. A file that cannot be read
    /// or parsed at start is an error (there is no previous policy to keep).
    pub fn load_approval_policy(&self, path: PathBuf) -> Result<(), String> {
        reload::start(self, path)
    }

    /// The policy in force (the empty policy when none was configured).
    pub fn approval_policy(&self) -> Arc<Policy> {
        self.inner.approvals.policy()
    }

    /// Where the policy came from, when it was read and the last reload error (`GET /v1/approvals/policy`).
    pub fn approval_policy_status(&self) -> Value {
        let policy = self.approval_policy();
        let source = self.inner.approvals.source.lock().as_ref().map(reload::Source::describe);
        json!({
            "source": source,
            "expiresAfterSeconds": policy.expires_after.as_secs(),
            "approverRoles": policy.approver_roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            "rules": policy.rules.iter().map(|r| json!({
                "name": r.name,
                "risk": r.risks,
                "products": r.products.iter().map(|p| p.key()).collect::<Vec<_>>(),
                "actions": r.actions,
            })).collect::<Vec<_>>(),
            "blastRadius": { "maxTargets": policy.max_targets, "maxJobTenants": policy.max_job_tenants },
            "tier0": {
                "devices": tier0_json(&policy.devices),
                "users": tier0_json(&policy.users),
            },
        })
    }

    /// Approvals the caller may see, newest first.
    pub async fn list_approvals(
        &self,
        principal: &Principal,
        status: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Approval>, EngineError> {
        let status = status.map(approval_state).transpose()?;
        let all = self.store().list_approvals(ApprovalFilter { status: status.map(String::from), limit }).await?;
        Ok(all.into_iter().filter(|a| visible(principal, a)).collect())
    }

    /// One approval the caller may see.
    pub async fn approval_for(&self, principal: &Principal, id: Uuid) -> Result<Approval, EngineError> {
        match self.store().approval(id).await? {
            Some(a) if visible(principal, &a) => Ok(a),
            _ => Err(EngineError::NotFound(format!("approval {id}"))),
        }
    }

    /// The approval holding (or that held) an operation or job, when the caller may see it.
    pub async fn approval_of(&self, principal: &Principal, subject: Uuid) -> Result<Option<Approval>, EngineError> {
        Ok(self.store().approval_of(subject).await?.filter(|a| visible(principal, a)))
    }

    /// Approve (`approve = true`) or reject a pending request, with a reason. The approver needs
    /// a role the policy names and may not be the requester; an expired request is expired now
    /// and refused. Approved, the held operation runs (or the held job starts).
    pub async fn decide_approval(
        &self,
        principal: &Principal,
        id: Uuid,
        approve: bool,
        reason: &str,
    ) -> Result<Approval, EngineError> {
        let approval = self.approval_for(principal, id).await?;
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > MAX_TEXT {
            return Err(bad(
                "reason",
                format!("a decision needs a reason of 1 to {MAX_TEXT} characters"),
                "{\"reason\": \"ticket INC-1234: confirmed with the device owner\"}",
            ));
        }
        if approval.requester == principal.name {
            return Err(EngineError::Forbidden(format!(
                "key '{}' requested this {}; a second person must decide on it (the approver is never the requester)",
                principal.name, approval.action
            )));
        }
        let policy = self.approval_policy();
        if !policy.may_approve(principal.role) {
            return Err(EngineError::Forbidden(format!(
                "key '{}' has role '{}'; approvals are decided by {} keys (the policy's approver_roles)",
                principal.name,
                principal.role.as_str(),
                policy.approver_roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(" or ")
            )));
        }
        // An approver vouches for the action: only one their own role could run.
        let spec =
            Product::parse(&approval.product).and_then(|p| Catalog::global().resolve(Some(p), &approval.action).ok());
        if let Some(spec) = spec.filter(|s| !principal.role.allows(s.risk)) {
            return Err(EngineError::Forbidden(format!(
                "key '{}' has role '{}', which may not run {} itself, so it may not approve it",
                principal.name,
                principal.role.as_str(),
                spec.name
            )));
        }
        if approval.status != approval_status::PENDING {
            return Err(EngineError::Conflict(format!(
                "approval {id} is already {} (by {})",
                approval.status,
                approval.decided_by.as_deref().unwrap_or("?")
            )));
        }
        if self.clock().now() >= approval.expires_at {
            self.expire(&approval).await?;
            return Err(EngineError::Conflict(format!(
                "approval {id} expired at {}; ask for the action again",
                rfc3339(approval.expires_at)
            )));
        }
        let is_job = approval.kind == approval_kind::JOB;
        let (verb, kind, subject_state, error) = if approve {
            let to = if is_job { job_state::RUNNING } else { status::QUEUED };
            (approval_status::APPROVED, AuditKind::Approved, to, None)
        } else {
            let error = json!({ "code": "Rejected", "message": format!("rejected by {}: {reason}", principal.name) });
            let to = if is_job { job_state::REJECTED } else { status::REJECTED };
            (approval_status::REJECTED, AuditKind::Rejected, to, Some(error))
        };
        let decision = ApprovalDecision {
            status: verb,
            decided_by: principal.name.clone(),
            reason: Some(reason.to_string()),
            subject_state,
            error,
        };
        let record = decision_record(&approval, kind, &principal.name, reason);
        let (decided, _) = self.store().decide_approval(id, decision, record).await.map_err(store_error)?;
        self.inner.metrics.approvals.count(if approve { "approved" } else { "rejected" });
        tracing::info!(approval = %id, subject = %approval.subject_id, action = %approval.action,
            decided_by = %principal.name, decision = verb, reason, "approval decided");
        match (approve, is_job) {
            (true, false) => self.run_approved(approval.subject_id).await?,
            (true, true) => self.inner.jobs.wake.notify_one(),
            (false, _) => {
                self.inner.approvals.held.lock().remove(&approval.subject_id);
            }
        }
        Ok(decided)
    }

    /// An approved operation runs like any accepted one; its secret parameters, never stored,
    /// are those this process kept, else it ends `Cancelled` saying to submit it again.
    async fn run_approved(&self, id: Uuid) -> Result<(), EngineError> {
        let op = self.operation(id).await?;
        let spec = Product::parse(&op.product)
            .and_then(|p| Catalog::global().resolve(Some(p), &op.action).ok())
            .ok_or_else(|| EngineError::Internal(format!("{} is no longer in the catalog", op.action)))?;
        let kept = self.inner.approvals.held.lock().remove(&id);
        let Some(params) = kept.or_else(|| crate::reconcile::stored_params(spec, &op.params)) else {
            let reason = "approved, but its secret parameters are kept only in memory and a restart came before the approval; submit it again";
            let error = json!({ "code": "SecretsNotKept", "message": reason });
            let update = OperationUpdate { status: status::CANCELLED.into(), error: Some(error), ..Default::default() };
            let record = crate::outcome_record(&op, status::CANCELLED, vec![], None, json!({ "reason": reason }));
            self.store().finish_step(id, update, record).await?;
            return Ok(());
        };
        // The requester was authorized when the action was accepted; the audit keeps its name.
        let principal = Principal { name: op.principal.clone(), role: Role::Admin, tenants: vec![] };
        let job = Job {
            op: id,
            tenant: op.tenant.clone(),
            principal,
            spec,
            params,
            resume: false,
            reveal: false,
            running: None,
        };
        self.inner.executor.submit(self, job, None);
        Ok(())
    }

    /// Nobody decided in time: `Expired`, with its record; it never runs.
    async fn expire(&self, approval: &Approval) -> Result<(), EngineError> {
        let reason = format!("no decision before {}", rfc3339(approval.expires_at));
        let is_job = approval.kind == approval_kind::JOB;
        let error = json!({ "code": "ApprovalExpired", "message": reason });
        let decision = ApprovalDecision {
            status: approval_status::EXPIRED,
            decided_by: SYSTEM_PRINCIPAL.into(),
            reason: Some(reason.clone()),
            subject_state: if is_job { job_state::EXPIRED } else { status::EXPIRED },
            error: Some(error),
        };
        let record = decision_record(approval, AuditKind::ApprovalExpired, SYSTEM_PRINCIPAL, &reason);
        match self.store().decide_approval(approval.id, decision, record).await {
            Ok(_) => {
                self.inner.metrics.approvals.count("expired");
                self.inner.approvals.held.lock().remove(&approval.subject_id);
                tracing::info!(approval = %approval.id, subject = %approval.subject_id, "approval expired");
                Ok(())
            }
            // Decided meanwhile (another replica, an approver): nothing to expire.
            Err(store::StoreError::Conflict(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Expire every pending approval whose time ran out on the engine clock.
    pub(crate) async fn expire_due_approvals(&self) -> Result<usize, EngineError> {
        let due = self.store().expired_approvals(self.clock().now(), 100).await?;
        for a in &due {
            self.expire(a).await?;
        }
        Ok(due.len())
    }

    /// What the policy says about a bulk job, judged once at creation: its action, how many
    /// items and tenants, and its targets against tier-0 (devices named by id are read from MDE).
    pub(crate) async fn job_verdict(
        &self,
        principal: &Principal,
        job: &NewJob,
        glass: Option<&BreakGlass>,
    ) -> Result<Verdict, EngineError> {
        let spec = Product::parse(&job.product)
            .and_then(|p| Catalog::global().resolve(Some(p), &job.action).ok())
            .ok_or_else(|| EngineError::Internal(format!("job action {} not in the catalog", job.action)))?;
        let policy = self.approval_policy();
        let tenants: BTreeSet<String> = job.items.iter().map(|i| i.tenant.to_ascii_lowercase()).collect();
        let mut unchecked = Vec::new();
        let mut devices = Vec::new();
        if spec.risk != Risk::Read && policy.watches_devices() {
            for tenant in &tenants {
                let ids = job_values(spec, job, tenant, &[catalog::ParamKind::DeviceId, catalog::ParamKind::DeviceIds]);
                let creds = self.tenants().get(tenant)?;
                devices.extend(targets::machines(self.upstream(), creds, &ids, &mut unchecked).await);
            }
        }
        let users: Vec<policy::User> = if spec.risk != Risk::Read && policy.watches_users() {
            // Named as given: a bulk item's user is resolved only when the item runs.
            tenants
                .iter()
                .flat_map(|t| job_values(spec, job, t, &[catalog::ParamKind::UserRef]))
                .map(|u| policy::User { id: u.clone(), upn: Some(u), ..Default::default() })
                .collect()
        } else {
            vec![]
        };
        let subject = policy::Subject {
            product: spec.product,
            action: spec.name,
            risk: spec.risk,
            targets: job.items.len(),
            tenants: tenants.len(),
            job: true,
            devices: &devices,
            users: &users,
            unchecked: &unchecked,
        };
        verdict(principal, policy.evaluate(&subject), glass)
    }

    /// Write a held job (`AwaitingApproval`, none of its items claimable) with its approval.
    pub(crate) async fn hold_job(
        &self,
        principal: &Principal,
        job: NewJob,
        created: NewAuditEvent,
        reasons: Vec<Reason>,
    ) -> Result<store::Job, EngineError> {
        let policy = self.approval_policy();
        let approval_id = Uuid::now_v7();
        let expires_at = self.clock().now() + policy.expires_after;
        let tenants: BTreeSet<String> = job.items.iter().map(|i| i.tenant.clone()).collect();
        let requested = NewAuditEvent {
            operation_id: Some(job.id),
            kind: AuditKind::ApprovalRequested,
            principal: principal.name.clone(),
            tenant: None,
            product: Some(job.product.clone()),
            action: Some(job.action.clone()),
            params: job.params.clone(),
            outcome: Some(approval_status::PENDING.into()),
            upstream_request_ids: vec![],
            duration_ms: None,
            detail: json!({ "approval": approval_id, "job": job.id, "reasons": reasons, "expiresAt": rfc3339(expires_at),
                "targets": job.items.len(), "tenants": tenants }),
        };
        let approval = NewApproval {
            id: approval_id,
            tenants: tenants.into_iter().collect(),
            product: job.product.clone(),
            action: job.action.clone(),
            params: job.params.clone(),
            targets: job.items.len() as i64,
            requester: principal.name.clone(),
            reasons: json!(reasons),
            expires_at,
        };
        let (job, _) = self.store().hold_job(job, created, approval, requested).await?;
        self.inner.metrics.approvals.count("requested");
        tracing::info!(job = %job.id, approval = %approval_id, action = %job.action, requester = %principal.name,
            ?reasons, "bulk job held for approval");
        Ok(job)
    }

    /// A break-glass bypass of a job: its record (the job id as `operation_id`), log and metric.
    pub(crate) async fn record_job_break_glass(
        &self,
        principal: &Principal,
        job: &store::Job,
        reasons: &[Reason],
        glass: &BreakGlass,
    ) -> Result<(), EngineError> {
        tracing::warn!(job = %job.id, action = %job.action, principal = %principal.name,
            justification = %glass.justification, ?reasons, "BREAK-GLASS: a bulk job the approval policy holds ran without approval");
        self.inner.metrics.approvals.count("break_glass");
        let record = NewAuditEvent {
            operation_id: Some(job.id),
            kind: AuditKind::BreakGlass,
            principal: principal.name.clone(),
            tenant: None,
            product: Some(job.product.clone()),
            action: Some(job.action.clone()),
            params: job.params.clone(),
            outcome: None,
            upstream_request_ids: vec![],
            duration_ms: None,
            detail: json!({ "justification": glass.justification, "reasons": reasons, "job": job.id }),
        };
        self.store().append_audit(record).await?;
        Ok(())
    }

    /// Start the expiry loop (with the tracker, at start-up).
    pub(crate) fn start_approvals(&self) {
        let engine = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = engine.expire_due_approvals().await {
                    tracing::warn!(error = %e, "expiring approvals failed; retrying");
                }
            }
        });
    }
}

/// Values of the job's target parameters of the given kinds for one tenant's items.
fn job_values(spec: &ActionSpec, job: &NewJob, tenant: &str, kinds: &[catalog::ParamKind]) -> Vec<String> {
    let names: Vec<&str> = spec.params.iter().filter(|p| kinds.contains(&p.kind)).map(|p| p.name).collect();
    let mut out = Vec::new();
    let mut take = |params: &Value| {
        for name in &names {
            match params.get(*name) {
                Some(Value::Array(a)) => out.extend(a.iter().filter_map(|v| v.as_str().map(String::from))),
                Some(Value::String(s)) => {
                    out.extend(s.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()))
                }
                _ => {}
            }
        }
    };
    take(&job.params);
    for item in job.items.iter().filter(|i| i.tenant.eq_ignore_ascii_case(tenant)) {
        take(&item.params);
    }
    out
}

/// The audit record of a decision on an approval (the subject's id as its `operation_id`).
fn decision_record(a: &Approval, kind: AuditKind, by: &str, reason: &str) -> NewAuditEvent {
    NewAuditEvent {
        operation_id: Some(a.subject_id),
        kind,
        principal: by.to_string(),
        tenant: (a.tenants.len() == 1).then(|| a.tenants[0].clone()),
        product: Some(a.product.clone()),
        action: Some(a.action.clone()),
        params: a.params.clone(),
        outcome: None,
        upstream_request_ids: vec![],
        duration_ms: None,
        detail: json!({ "approval": a.id, "kind": a.kind, "requester": a.requester, "reason": reason, "reasons": a.reasons }),
    }
}

fn tier0_json(t: &policy::Tier0) -> Value {
    json!({ "names": t.names, "tags": t.tags, "groups": t.groups, "patterns": t.patterns })
}

/// An approval state named by a caller, in its stored spelling.
fn approval_state(s: &str) -> Result<&'static str, EngineError> {
    approval_status::ALL.into_iter().find(|a| a.eq_ignore_ascii_case(s.trim())).ok_or_else(|| {
        bad("status", format!("'{s}' is not an approval state"), "one of Pending, Approved, Rejected, Expired")
    })
}

fn store_error(e: store::StoreError) -> EngineError {
    match e {
        store::StoreError::Conflict(m) => EngineError::Conflict(m),
        store::StoreError::NotFound(m) => EngineError::NotFound(m),
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role) -> Principal {
        Principal { name: "k".into(), role, tenants: vec![] }
    }

    #[test]
    fn break_glass_needs_a_justification() {
        let mut p = json!({ "deviceIds": ["x"], "breakGlass": { "justification": "  DC ransomware, CISO on call " } });
        let glass = take_break_glass(p.as_object_mut().unwrap()).unwrap();
        assert_eq!(glass, Some(BreakGlass { justification: "DC ransomware, CISO on call".into() }));
        assert!(p.get("breakGlass").is_none(), "taken out before validation");
        let field = |v: Value| match take_break_glass(v.as_object().cloned().as_mut().unwrap()) {
            Err(EngineError::InvalidParam(e)) => e.field,
            other => panic!("refused, not {other:?}"),
        };
        assert_eq!(field(json!({ "breakGlass": { "justification": " " } })), "breakGlass.justification");
        assert_eq!(field(json!({ "breakGlass": {} })), "breakGlass.justification");
        assert_eq!(field(json!({ "breakGlass": "because" })), "breakGlass");
        assert_eq!(take_break_glass(&mut Map::new()).unwrap(), None);
    }

    #[test]
    fn only_admins_break_the_glass_and_only_held_requests_use_it() {
        let glass = BreakGlass { justification: "j".into() };
        let held = vec![Reason { rule: "rules.x".into(), why: "w".into() }];
        assert!(matches!(
            verdict(&principal(Role::Responder), held.clone(), Some(&glass)),
            Err(EngineError::Forbidden(_))
        ));
        assert!(matches!(verdict(&principal(Role::Responder), vec![], Some(&glass)), Err(EngineError::Forbidden(_))));
        assert_eq!(verdict(&principal(Role::Responder), held.clone(), None).unwrap(), Verdict::Hold(held.clone()));
        assert_eq!(
            verdict(&principal(Role::Admin), held.clone(), Some(&glass)).unwrap(),
            Verdict::BreakGlass(held, glass.clone())
        );
        assert_eq!(verdict(&principal(Role::Admin), vec![], Some(&glass)).unwrap(), Verdict::Run);
    }

    #[test]
    fn approval_states_parse_in_any_case() {
        assert_eq!(approval_state("pending").unwrap(), "Pending");
        assert!(approval_state("waiting").is_err());
    }
}
