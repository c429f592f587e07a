//! Plain reads in one durable commit (issue 12 §5: a gateway that adds almost nothing).
//!
//! An action is accepted durably before its first call (`Queued` + `attempt`), then its outcome
//! is committed after: two commits, two fsyncs. For a write the first is what makes "accepted
//! means it will finish" and "durable before irreversible" true. A plain read has nothing
//! irreversible and nothing to finish after a crash (a restart would only run it again for
//! nobody), so here its operation row, `attempt`, update and `outcome` are written together,
//! after the call, in one step of the group commit (`Store::record_read`). What still holds:
//! the answer is given only after that commit, so every answered read is durable and audited,
//! in the same records as before (an `attempt` and an `outcome`, in that order in the chain).
//! What changes: while the read is on its way its operation is not in the store yet, and a crash
//! mid-read leaves no record of a read whose answer nobody received.
//!
//! Which reads: one catalog `Call` (or its pages) answered at once, without an idempotency key
//! (a replay under a key finds the operation by the key, so it must exist from the start).
//! Procedures (they may write under the operation's id) and tracked completions take the
//! ordinary path. The read runs on a task of its own, so a caller that hangs up does not cut its
//! record short; past the caller's wait it is cancelled, recorded `Cancelled`, and answered 429,
//! as on the ordinary path.

use std::time::{Duration, Instant};

use catalog::{ActionSpec, Completion, Plan, Risk};
use serde_json::Value;
use store::{NewAuditEvent, NewOperation, OperationUpdate};
use tokio::sync::{oneshot, watch};

use crate::{ActionRequest, Engine, EngineError, Outcome, error_json, jobs, plan, redact, status};

/// How long a cancelled read may take to record its end before the caller is answered anyway.
const CANCEL_GRACE: Duration = Duration::from_secs(5);

/// Whether `req` is a plain read that may be recorded in one commit.
pub(crate) fn applies(req: &ActionRequest, spec: &ActionSpec) -> bool {
    spec.risk == Risk::Read
        && req.idempotency_key.is_none()
        && matches!(spec.plan, Plan::Call(_))
        && spec.completion == Completion::Immediate
}

/// Where the read's task is: its answer, and the switch that cancels it.
struct Running {
    answer: oneshot::Receiver<Result<Outcome, EngineError>>,
    cancel: watch::Sender<bool>,
}

impl Engine {
    /// Carry out a plain read and record it once (see the module). `rows` are the operation and
    /// its `attempt` record as the ordinary path would have written them first.
    pub(crate) async fn read_once(
        &self,
        req: ActionRequest,
        spec: &'static ActionSpec,
        params: catalog::Params,
        rows: (NewOperation, NewAuditEvent),
        wait: Duration,
        gate: Option<jobs::InteractiveGuard>,
    ) -> Result<Outcome, EngineError> {
        let mut running = self.spawn_read(req, spec, params, rows, gate);
        match tokio::time::timeout(wait, &mut running.answer).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => Err(EngineError::Internal("the read's task ended without an answer".into())),
            Err(_) => {
                // Nobody waits any longer: cancel it, unless it ends first.
                let _ = running.cancel.send(true);
                match tokio::time::timeout(CANCEL_GRACE, running.answer).await {
                    Ok(Ok(Ok(o))) if o.status != status::CANCELLED => Ok(o),
                    _ => Err(EngineError::NotAdmitted { retry_after: CANCEL_GRACE }),
                }
            }
        }
    }

    fn spawn_read(
        &self,
        req: ActionRequest,
        spec: &'static ActionSpec,
        params: catalog::Params,
        (op, attempt): (NewOperation, NewAuditEvent),
        gate: Option<jobs::InteractiveGuard>,
    ) -> Running {
        let (cancel, mut cancelled) = watch::channel(false);
        let (tx, answer) = oneshot::channel();
        let engine = self.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let carried = tokio::select! {
                r = engine.carry_read(&req, spec, &params, op.id) => Some(r),
                // Cancelled, or the caller is gone (the switch dropped): nobody reads the answer.
                _ = cancelled.wait_for(|c| *c) => None,
            };
            drop(gate); // the tenant's bulk items may go again
            let answer = match carried {
                Some(result) => engine.record_read(&req, spec, op, attempt, result, started).await,
                None => engine.record_read_cancelled(spec, op, attempt).await,
            };
            let _ = tx.send(answer);
        });
        Running { answer, cancel }
    }

    async fn carry_read(
        &self,
        req: &ActionRequest,
        spec: &'static ActionSpec,
        params: &catalog::Params,
        op: uuid::Uuid,
    ) -> Result<plan::Carried, EngineError> {
        let creds = self.inner.tenants.get(&req.tenant)?;
        let marker = plan::Marker { op, resume_since: None };
        let carried =
            plan::carry_out_by(&self.inner.upstream, creds, spec, params, marker, &req.principal.name).await?;
        self.verify_effect(creds, spec, params, carried).await
    }

    /// The read's whole record in one commit, then its answer (as `record_outcome` gives it).
    async fn record_read(
        &self,
        req: &ActionRequest,
        spec: &'static ActionSpec,
        op: NewOperation,
        attempt: NewAuditEvent,
        result: Result<plan::Carried, EngineError>,
        started: Instant,
    ) -> Result<Outcome, EngineError> {
        let duration_ms = started.elapsed().as_millis() as u64;
        let (state, data, error, request_ids) = match &result {
            Ok(c) => (c.status(spec), c.data.clone(), None, c.request_ids.clone()),
            Err(e) => (status::FAILED.to_string(), Value::Null, Some(error_json(e)), vec![]),
        };
        // Sensitive result fields (`ActionSpec::sensitive_results`) never reach the store.
        let stored = redact::result(spec, &data);
        let update = OperationUpdate {
            status: state.clone(),
            result: Some(stored.clone()),
            error: error.clone(),
            upstream_request_ids: request_ids.clone(),
            tracking: None,
        };
        let outcome =
            outcome_of(&attempt, &state, request_ids.clone(), Some(duration_ms as i64), error.unwrap_or(Value::Null));
        let id = op.id;
        let (updated, _) = self.inner.store.record_read(op, attempt, update, outcome).await?;
        let label = match &result {
            Ok(_) => updated.status.clone(),
            Err(e) => crate::error_label(e).to_string(),
        };
        self.inner.metrics.count(spec.product, spec.name, &label);
        let carried = result?;
        Ok(Outcome {
            operation_id: id,
            product: spec.product,
            action: spec.name,
            tenant: req.tenant.clone(),
            status: updated.status,
            // The one-time reveal: only the caller who asked, only in this answer.
            data: if req.reveal { carried.data } else { stored },
            upstream_request_ids: request_ids,
            duration_ms,
            replayed: false,
        })
    }

    /// A read cancelled before its answer: recorded `Cancelled` with the reason, as the ordinary
    /// path's `cancel_job` does.
    async fn record_read_cancelled(
        &self,
        spec: &'static ActionSpec,
        op: NewOperation,
        attempt: NewAuditEvent,
    ) -> Result<Outcome, EngineError> {
        let error = serde_json::json!({ "code": "NotAdmitted", "message": "cancelled: the caller's wait ended before the read could run within the tenant's rate budget; nobody was left to read its answer" });
        let update =
            OperationUpdate { status: status::CANCELLED.into(), error: Some(error.clone()), ..Default::default() };
        let outcome = outcome_of(&attempt, status::CANCELLED, vec![], None, error);
        self.inner.store.record_read(op, attempt, update, outcome).await?;
        self.inner.metrics.count(spec.product, spec.name, status::CANCELLED);
        Err(EngineError::NotAdmitted { retry_after: CANCEL_GRACE })
    }
}

/// The `outcome` record of a read, from its `attempt` (the same who, where, what and redacted
/// params, as `outcome_record` takes them from the stored operation).
fn outcome_of(
    attempt: &NewAuditEvent,
    state: &str,
    upstream_request_ids: Vec<String>,
    duration_ms: Option<i64>,
    detail: Value,
) -> NewAuditEvent {
    NewAuditEvent {
        kind: store::AuditKind::Outcome,
        outcome: Some(state.to_string()),
        upstream_request_ids,
        duration_ms,
        detail,
        ..attempt.clone()
    }
}
