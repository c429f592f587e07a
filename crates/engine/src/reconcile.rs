//! Start-up reconciliation: every operation a crash left `Queued` or `Running` is brought to an end.
//!
//! The store is the durable queue. At start-up, before any new request is served:
//! - `Queued`: no upstream call was made. It runs now, unless a secret parameter it needs was never
//!   stored (secrets live only in memory); then it ends `Cancelled`, saying to submit it again.
//! - `Running`, and safe to repeat (reads; GET, PUT, PATCH to a fixed value, DELETE; a POST the
//!   catalog marks `repeatable`, such as MDE's create-or-update indicator submit): it runs again.
//! - `Running`, an MDE machine action: it runs again in *resume* mode. Each action carries
//!   `[riposte:{operation}]` in its comment; before submitting for a device, MDE is asked for an
//!   action on that machine created since the operation started with that marker, and a match is
//!   attached and tracked instead of submitted twice (`plan::call_once`).
//! - `Running`, a resumable procedure (Incident's bulk forms; incident tags, a set union or
//!   difference): it runs again, skipping the items its stored progress says are done, and
//!   checking the one in flight before repeating it.
//! - `Running`, anything else (a POST whose effect cannot be looked up, a multi-step procedure): it
//!   ends `Unknown`, with an `outcome` audit record that says why and what to check. Never re-run
//!   silently, never left `Running`.

use crate::executor::Job;
use crate::{Engine, EngineError, Principal, Role, status};
use catalog::{ActionSpec, Catalog, Completion, Method, Params, Plan, Product, Risk};
use serde::Serialize;
use serde_json::{Value, json};
use store::{Operation, OperationUpdate};

/// What reconciliation did, for the start-up log.
#[derive(Debug, Default, Clone, Serialize)]
pub struct ReconcileReport {
    /// Queued operations started now.
    pub started: usize,
    /// Running operations run again (idempotent) or resumed (machine actions by marker).
    pub rerun: usize,
    /// Operations ended `Unknown` or `Cancelled`, each with its reason in the audit.
    pub ended: usize,
}

/// What to do with one unfinished operation.
#[derive(Debug, PartialEq, Eq)]
enum Decision {
    Run { resume: bool },
    End { status: &'static str, reason: String },
}

/// At start-up: this replica's own leftovers (a restart) and any whose owner stopped beating,
/// claimed in the store first, so no live replica's work is ever taken (`crate::replica`).
pub(crate) async fn reconcile(engine: &Engine) -> Result<ReconcileReport, EngineError> {
    let open = crate::replica::claim_open(engine, true).await?;
    reconcile_claimed(engine, open).await
}

/// Brings operations this replica just claimed to an end (run, resume or end them).
pub(crate) async fn reconcile_claimed(engine: &Engine, open: Vec<Operation>) -> Result<ReconcileReport, EngineError> {
    let mut report = ReconcileReport::default();
    for op in open {
        let spec = Product::parse(&op.product).and_then(|p| Catalog::global().resolve(Some(p), &op.action).ok());
        let params = spec.and_then(|s| stored_params(s, &op.params));
        match (spec, params) {
            (Some(spec), Some(params)) => match decide(&op, spec) {
                Decision::Run { resume } => {
                    // The caller was authorized when the operation was accepted; the audit keeps its
                    // name, and the run needs no more of it than that.
                    let principal = Principal { name: op.principal.clone(), role: Role::Admin, tenants: vec![] };
                    let job = Job {
                        op: op.id,
                        tenant: op.tenant.clone(),
                        principal,
                        spec,
                        params,
                        resume,
                        reveal: false,
                        running: None,
                    };
                    if op.status == status::QUEUED {
                        report.started += 1;
                    } else {
                        report.rerun += 1;
                    }
                    tracing::info!(operation = %op.id, action = spec.name, resume, "reconcile: running an operation a restart interrupted");
                    engine.inner.executor.submit(engine, job, None);
                }
                Decision::End { status, reason } => {
                    end(engine, &op, status, &reason).await?;
                    report.ended += 1;
                }
            },
            (None, _) => {
                end(engine, &op, status::UNKNOWN, "the action is no longer in the catalog; check the target upstream")
                    .await?;
                report.ended += 1;
            }
            (Some(_), None) => {
                let (state, reason) = if op.status == status::QUEUED {
                    (
                        status::CANCELLED,
                        "a restart came before the action started, and its secret parameters are never stored; submit it again",
                    )
                } else {
                    (
                        status::UNKNOWN,
                        "a restart interrupted the action, and its secret parameters are never stored, so it cannot be run again; check the target upstream",
                    )
                };
                end(engine, &op, state, reason).await?;
                report.ended += 1;
            }
        }
    }
    Ok(report)
}

fn decide(op: &Operation, spec: &ActionSpec) -> Decision {
    if op.status == status::QUEUED || spec.risk == Risk::Read {
        return Decision::Run { resume: false };
    }
    match spec.plan {
        Plan::Call(call) if call.method != Method::Post || call.repeatable => Decision::Run { resume: false },
        Plan::Call(call) if spec.completion == Completion::MachineAction && call.api == catalog::Api::Mde => {
            Decision::Run { resume: true }
        }
        Plan::Call(call) => Decision::End {
            status: status::UNKNOWN,
            reason: format!(
                "a restart interrupted {} (POST {}) after it may have reached Microsoft, and its effect cannot be looked up; check the target before repeating it",
                spec.name, call.path
            ),
        },
        // A resumable procedure keeps its progress in the operation and skips what landed.
        Plan::Procedure(id) if crate::procedures::find(id).is_some_and(|e| e.resumable) => {
            Decision::Run { resume: true }
        }
        Plan::Procedure(_) => Decision::End {
            status: status::UNKNOWN,
            reason: format!(
                "a restart interrupted {}, a multi-step procedure, part-way; check the target (for live response, the machine's sessions carrying [riposte:{}]) before repeating it",
                spec.name, op.id
            ),
        },
        Plan::Unsupported { .. } => {
            Decision::End { status: status::CANCELLED, reason: format!("{} is not supported", spec.name) }
        }
    }
}

/// The validated params as stored, unless redaction took something the action needs.
pub(crate) fn stored_params(spec: &ActionSpec, stored: &Value) -> Option<Params> {
    let map = stored.as_object()?;
    let mut params = Params::new();
    for p in spec.params {
        if let Some(v) = map.get(p.name) {
            if is_redacted(v) {
                return None;
            }
            params.insert(p.name, v.clone());
        }
    }
    Some(params)
}

/// Markers `redact::params` leaves in place of values it never stores.
fn is_redacted(v: &Value) -> bool {
    v.as_str().is_some_and(|s| s == "[redacted]" || (s.starts_with('[') && s.ends_with("stored in the library]")))
}

/// End an operation with its reason, the state and its audit record in one transaction.
async fn end(engine: &Engine, op: &Operation, state: &str, reason: &str) -> Result<(), EngineError> {
    tracing::warn!(operation = %op.id, action = %op.action, state, reason, "reconcile: operation ended");
    let error = json!({ "code": "InterruptedByRestart", "message": reason });
    let update = OperationUpdate { status: state.into(), error: Some(error.clone()), ..Default::default() };
    let record =
        crate::outcome_record(op, state, vec![], None, json!({ "reason": reason, "previousState": op.status }));
    engine.store().finish_step(op.id, update, record).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(status: &str) -> Operation {
        Operation {
            id: uuid::Uuid::now_v7(),
            tenant: "t".into(),
            product: "MDE".into(),
            action: "x".into(),
            params: json!({}),
            principal: "p".into(),
            idempotency_key: None,
            request_hash: None,
            status: status.into(),
            result: None,
            error: None,
            upstream_request_ids: vec![],
            tracking: None,
            created_at: time::OffsetDateTime::now_utc(),
            updated_at: time::OffsetDateTime::now_utc(),
        }
    }

    fn spec(name: &str) -> &'static ActionSpec {
        Catalog::global().resolve(Some(Product::Mde), name).expect("in the catalog")
    }

    #[test]
    fn queued_runs_reads_and_repeatable_posts_rerun_machine_actions_resume_other_posts_end_unknown() {
        assert_eq!(decide(&op(status::QUEUED), spec("IsolateDevice")), Decision::Run { resume: false });
        assert_eq!(decide(&op(status::RUNNING), spec("GetAllDevices")), Decision::Run { resume: false });
        assert_eq!(decide(&op(status::RUNNING), spec("IsolateDevice")), Decision::Run { resume: true });
        // MDE's indicator submit creates or updates: repeating it is safe.
        assert_eq!(decide(&op(status::RUNNING), spec("AddIndicator")), Decision::Run { resume: false });
        assert_eq!(decide(&op(status::RUNNING), spec("AddFileIndicator")), Decision::Run { resume: false });
        let posted = spec("CreateCustomDetectionRule");
        assert!(
            matches!(posted.plan, Plan::Call(c) if c.method == Method::Post)
                || matches!(posted.plan, Plan::Procedure(_))
        );
        assert!(matches!(decide(&op(status::RUNNING), posted), Decision::End { status: "Unknown", .. }));
    }

    #[test]
    fn redacted_params_cannot_be_run_again() {
        let s = spec("IsolateDevice");
        assert!(stored_params(s, &json!({"deviceIds": ["a"], "comment": "c"})).is_some());
        assert!(is_redacted(&json!("[redacted]")));
        assert!(!is_redacted(&json!("fine")));
    }
}
