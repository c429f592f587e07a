//! The revert runner: claims due reverts and runs their inverse once; and the caller-facing
//! list, cancel and extend.

use super::{rfc3339, touches};
use crate::{ActionRequest, Engine, EngineError, Principal, Role, status};
use catalog::Product;
use serde_json::{Value, json};
use std::time::Duration;
use store::{NewAuditEvent, Operation, Revert, RevertEnd, RevertFilter, TenantId, revert_status};
use uuid::Uuid;

/// How often the runner looks for due reverts (real time).
const TICK: Duration = Duration::from_millis(250);
/// How long a claim holds before another runner may take the revert over (its runner died).
const LEASE: time::Duration = time::Duration::seconds(60);
/// How long the runner waits for the inverse's first answer.
const WAIT: Duration = Duration::from_secs(20);

/// Start the runner: from now on, due reverts fire (including those a restart left behind).
pub(crate) fn spawn(engine: Engine) {
    let owner = format!("riposte-{}-{}", std::process::id(), Uuid::new_v4().simple());
    tokio::spawn(async move {
        loop {
            if let Err(e) = run_due(&engine, &owner).await {
                tracing::warn!(error = %e, "revert runner: will retry");
            }
            tokio::time::sleep(TICK).await;
        }
    });
}

/// Fire every revert due now, one at a time (each is one upstream action).
async fn run_due(engine: &Engine, owner: &str) -> Result<(), EngineError> {
    loop {
        let lease = time::OffsetDateTime::now_utc() + LEASE;
        let Some(revert) = engine.store().claim_due_revert(owner, engine.clock().now(), lease).await? else {
            return Ok(());
        };
        let end = fire(engine, &revert).await;
        let record = record(&revert, end.status, kind_of(end.status), &end);
        match engine.store().finish_revert(revert.id, owner, end, record).await {
            Ok(_) | Err(store::StoreError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

fn kind_of(status: &str) -> &'static str {
    match status {
        revert_status::FIRED => "revert_fired",
        revert_status::SKIPPED => "revert_skipped",
        _ => "revert_failed",
    }
}

/// Decide and run one revert: skip it when the original never took effect or the target changed
/// since; otherwise run the inverse (idempotently: `revert:{id}`).
async fn fire(engine: &Engine, r: &Revert) -> RevertEnd {
    let original = match engine.store().get_operation(r.operation_id).await {
        Ok(Some(op)) => op,
        Ok(None) => return skipped(format!("the original operation {} is not in the store", r.operation_id)),
        Err(e) => return failed(None, format!("reading the original operation: {e}")),
    };
    if !took_effect(&original.status) {
        return skipped(format!(
            "the original {} ended {}; there is nothing to undo",
            original.action, original.status
        ));
    }
    match newer_action(engine, r, &original).await {
        Ok(Some(reason)) => return skipped(reason),
        Ok(None) => {}
        Err(e) => return failed(None, format!("checking the target for newer actions: {e}")),
    }
    let Some(product) = Product::parse(&r.product) else {
        return failed(None, format!("unknown product {}", r.product));
    };
    let mut params = r.params.as_object().cloned().unwrap_or_default();
    if let Ok(inverse) = engine.resolve(Some(product), &r.inverse)
        && inverse.params.iter().any(|p| p.name == "comment")
    {
        params.insert(
            "comment".into(),
            Value::String(format!("Riposte: time box of operation {} ended (revert {})", r.operation_id, r.id)),
        );
    }
    let req = ActionRequest {
        tenant: r.tenant.clone(),
        product: Some(product),
        action: r.inverse.clone(),
        params,
        // The original requester, acting through the schedule they set (their role was checked
        // when the time box was accepted).
        principal: Principal { name: r.principal.clone(), role: Role::Admin, tenants: vec![] },
        idempotency_key: Some(format!("revert:{}", r.id)),
        wait: Some(WAIT),
        reveal: false,
    };
    match engine.execute(req).await {
        Ok(outcome) if outcome.status == status::FAILED => {
            failed(Some(outcome.operation_id), format!("{} failed: {}", r.inverse, outcome.data))
        }
        Ok(outcome) => {
            RevertEnd { status: revert_status::FIRED, revert_operation_id: Some(outcome.operation_id), reason: None }
        }
        Err(e) => {
            let op = engine.store().operation_by_idempotency(&r.tenant, &format!("revert:{}", r.id)).await;
            failed(op.ok().flatten().map(|o| o.id), e.to_string())
        }
    }
}

/// Whether an operation's action reached Microsoft (a machine action still tracked counts).
fn took_effect(s: &str) -> bool {
    [status::SUCCEEDED, status::PARTIALLY_SUCCEEDED, status::IN_PROGRESS].contains(&s)
}

/// A later, separate action on the same target: the same action again (undoing it would undo the
/// newer one) or its inverse (already undone). The reason to skip, if any.
async fn newer_action(engine: &Engine, r: &Revert, original: &Operation) -> Result<Option<String>, EngineError> {
    let filter = store::OperationFilter {
        tenant: Some(TenantId::new(&r.tenant)),
        product: Some(r.product.clone()),
        since: Some(original.created_at),
        limit: 10_000,
        ..Default::default()
    };
    let own_key = format!("revert:{}", r.id);
    let later = engine.store().list_operations(filter).await?;
    // Newest first: the latest action on the target decides.
    let newest = later.iter().find(|op| {
        op.id != original.id
            && op.id > original.id
            && op.idempotency_key.as_deref() != Some(own_key.as_str())
            && (op.action == r.action || op.action == r.inverse)
            && took_effect(&op.status)
            && touches(&r.target, &op.params)
    });
    Ok(newest.map(|op| {
        let at = rfc3339(op.created_at);
        if op.action == r.action {
            format!(
                "{} was applied again to the same target by operation {} at {at}; undoing it now would undo that newer action",
                op.action, op.id
            )
        } else {
            format!("the target was already undone by {} (operation {}) at {at}", op.action, op.id)
        }
    }))
}

fn skipped(reason: String) -> RevertEnd {
    RevertEnd { status: revert_status::SKIPPED, revert_operation_id: None, reason: Some(reason) }
}

fn failed(op: Option<Uuid>, reason: String) -> RevertEnd {
    RevertEnd { status: revert_status::FAILED, revert_operation_id: op, reason: Some(reason) }
}

/// An audit record about a revert, on the original operation's id (the link to the original).
fn record(r: &Revert, outcome: &str, kind: &str, end: &RevertEnd) -> NewAuditEvent {
    NewAuditEvent {
        operation_id: Some(r.operation_id),
        kind: store::AuditKind::Other(kind.into()),
        principal: r.principal.clone(),
        tenant: Some(r.tenant.clone()),
        product: Some(r.product.clone()),
        action: Some(r.inverse.clone()),
        params: r.params.clone(),
        outcome: Some(outcome.into()),
        upstream_request_ids: vec![],
        duration_ms: None,
        detail: json!({
            "revertId": r.id,
            "originalOperationId": r.operation_id,
            "revertOperationId": end.revert_operation_id,
            "reason": end.reason,
            "dueAt": rfc3339(r.due_at),
        }),
    }
}

/// How a caller moves a scheduled revert.
#[derive(Debug, Clone, Copy)]
pub enum Extension {
    /// Later by this much.
    By(Duration),
    /// At this instant (in the engine's clock).
    Until(time::OffsetDateTime),
}

impl Engine {
    /// Reverts within the caller's tenant scope, newest first (`GET /v1/reverts`).
    pub async fn list_reverts(
        &self,
        principal: &Principal,
        mut filter: RevertFilter,
    ) -> Result<Vec<Revert>, EngineError> {
        if !principal.tenants.is_empty() {
            let scope: Vec<TenantId> = principal.tenants.iter().map(|t| TenantId::new(t)).collect();
            filter.tenants = if filter.tenants.is_empty() {
                scope
            } else {
                filter.tenants.into_iter().filter(|t| scope.contains(t)).collect()
            };
            if filter.tenants.is_empty() {
                return Ok(vec![]);
            }
        }
        Ok(self.store().list_reverts(filter).await?)
    }

    /// One revert the caller may see.
    pub async fn revert_for(&self, principal: &Principal, id: Uuid) -> Result<Revert, EngineError> {
        let r = self.store().revert(id).await?.ok_or_else(|| EngineError::NotFound(format!("revert {id}")))?;
        if !principal.may_access(&r.tenant) {
            // Out of scope looks the same as absent.
            return Err(EngineError::NotFound(format!("revert {id}")));
        }
        Ok(r)
    }

    /// Cancel a scheduled revert: the original action stays in effect.
    pub async fn cancel_revert(&self, principal: &Principal, id: Uuid) -> Result<Revert, EngineError> {
        let r = self.changeable_revert(principal, id).await?;
        let reason = format!("cancelled by {}", principal.name);
        let end =
            RevertEnd { status: revert_status::CANCELLED, revert_operation_id: None, reason: Some(reason.clone()) };
        let mut rec = record(&r, revert_status::CANCELLED, "revert_cancelled", &end);
        rec.principal = principal.name.clone();
        self.store().reschedule_revert(id, None, Some(reason), rec).await.map_err(conflict)
    }

    /// Move a scheduled revert later (or to a given time, which must be in the future).
    pub async fn extend_revert(&self, principal: &Principal, id: Uuid, ext: Extension) -> Result<Revert, EngineError> {
        let r = self.changeable_revert(principal, id).await?;
        let due = match ext {
            Extension::By(d) => r.due_at + time::Duration::seconds(d.as_secs() as i64),
            Extension::Until(t) => t,
        };
        if due <= self.clock().now() {
            return Err(EngineError::InvalidParam(catalog::ParamError {
                field: "until".into(),
                message: format!("{} is not in the future", rfc3339(due)),
                hint: "give a time after now, or 'by' with a duration".into(),
            }));
        }
        let end = RevertEnd { status: revert_status::SCHEDULED, revert_operation_id: None, reason: None };
        let mut rec = record(&r, revert_status::SCHEDULED, "revert_extended", &end);
        rec.principal = principal.name.clone();
        rec.detail["previousDueAt"] = rfc3339(r.due_at).into();
        rec.detail["dueAt"] = rfc3339(due).into();
        self.store().reschedule_revert(id, Some(due), None, rec).await.map_err(conflict)
    }

    /// A revert the caller may change: in scope, and their role may run its inverse.
    async fn changeable_revert(&self, principal: &Principal, id: Uuid) -> Result<Revert, EngineError> {
        let r = self.revert_for(principal, id).await?;
        let product =
            Product::parse(&r.product).ok_or_else(|| EngineError::Internal(format!("product {}", r.product)))?;
        let inverse = self.resolve(Some(product), &r.inverse)?;
        crate::authorize(principal, &r.tenant, inverse)?;
        if r.status != revert_status::SCHEDULED {
            return Err(EngineError::Conflict(format!(
                "revert {id} is {}{}; only a Scheduled revert can be changed",
                r.status,
                r.reason.as_deref().map(|x| format!(" ({x})")).unwrap_or_default()
            )));
        }
        Ok(r)
    }
}

fn conflict(e: store::StoreError) -> EngineError {
    match e {
        store::StoreError::Conflict(m) => EngineError::Conflict(m),
        store::StoreError::NotFound(m) => EngineError::NotFound(m),
        other => other.into(),
    }
}
