//! Dry runs: the story of an action up to the point of no return, and the requests it would
//! send, without sending them (`POST .../actions/...?dryRun=true`, `riposte action --dry-run`,
//! bulk jobs with `dryRun: true`).
//!
//! The same steps as [`Engine::execute`] up to acceptance: resolve the name, refuse unsupported
//! actions, authorize the caller's role and scope, validate, resolve targets (a device named by
//! DNS name becomes its machine id: those reads are sent, they change nothing). Then, instead of
//! recording an operation and handing it to the executor, the plan (a templated call or a
//! procedure, whatever the product) runs inside `upstream::dry_run::record`: the one door to the
//! clouds writes every write down instead of sending it (EC2 writes go with AWS's own
//! `DryRun=true`, which checks IAM and parameters and changes nothing). So rendering is one
//! place, not a code path per product.
//!
//! Nothing durable is created: no operation, no idempotency key taken. One `dry_run` audit record
//! says who previewed what. The permission check is the doctor's (`doctor.rs`) for this action on
//! this tenant, plus what EC2's validation answered.

use crate::doctor::Missing;
use crate::{ActionRequest, Engine, EngineError, authorize, plan, procedures, redact, refuse_unsupported, reverts};
use catalog::{ActionSpec, Completion, Params, Plan, Product, Risk};
use serde::Serialize;
use serde_json::{Value, json};
use std::time::Instant;
use store::NewAuditEvent;
use upstream::RenderedRequest;
use uuid::Uuid;

/// The audit kind of a dry run's record.
pub const DRY_RUN_AUDIT_KIND: &str = "dry_run";

/// What a dry run shows.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DryRun {
    /// Always true: nothing was changed, nothing was recorded but the audit record.
    pub dry_run: bool,
    /// Names this preview in the audit record (no operation exists).
    pub id: Uuid,
    pub tenant: String,
    pub product: Product,
    pub action: &'static str,
    pub risk: Risk,
    /// The validated parameters after target resolution (secrets redacted).
    pub params: Value,
    /// The requests that would change something, in order, as they would go out (no headers:
    /// never an `Authorization`; secrets redacted). Not sent, except EC2 writes in AWS's
    /// `DryRun` mode (`sent: true`, with AWS's `validation`).
    pub requests: Vec<RenderedRequest>,
    /// Reads the dry run did send to resolve targets and plan the writes.
    pub reads: Vec<RenderedRequest>,
    /// What would change: the action's summary, its targets, how it is undone, the read-back
    /// that would confirm it.
    pub expected_change: Value,
    /// The permission the action needs and what of it the tenant lacks.
    pub permission: PermissionCheck,
    /// False when the plan could not be rendered to its end: a later request depends on an
    /// answer only the real call gives (an id Microsoft assigns); `stoppedAt` says where.
    pub complete: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<Value>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionCheck {
    pub declared: &'static str,
    /// True when nothing required is known to be missing.
    pub ok: bool,
    pub missing: Vec<Missing>,
}

/// When to come back after a dry run the tenant's rate budget held past the caller's wait.
const NOT_ADMITTED_RETRY: std::time::Duration = std::time::Duration::from_secs(5);

impl Engine {
    /// Render `req` without carrying it out (see the module docs).
    pub async fn dry_run(&self, mut req: ActionRequest) -> Result<DryRun, EngineError> {
        let started = Instant::now();
        let revert_after = reverts::take_revert_after(&mut req.params)?;
        let spec = self.resolve(req.product, &req.action)?;
        refuse_unsupported(spec)?;
        authorize(&req.principal, &req.tenant, spec)?;
        let creds = self.tenants().get(&req.tenant)?;
        let params = spec.validate(&req.params)?;
        reverts::plan(spec, &params, revert_after)?;
        if spec.completion == Completion::LiveResponse {
            return Err(EngineError::Unsupported {
                action: spec.name.into(),
                reason: "a live-response command cannot be dry-run: each command is sent only after the session \
                         Microsoft opens answers, and runs on in the background"
                    .into(),
                nearest: None,
            });
        }
        let id = Uuid::now_v7();
        // Bounded by the caller's wait like a real run: under throttling the reads wait on the
        // tenant's budget, and a dry run must answer (schemathesis found one held past 60 s).
        let wait = req.wait.unwrap_or(crate::DEFAULT_WAIT).min(crate::MAX_WAIT);
        let recording = upstream::dry_run::record(self.render(&req, spec, params, id));
        let Ok((rendered, recorded)) = tokio::time::timeout(wait, recording).await else {
            // Nothing is left running: the reads are dropped with the future, and writes are never sent.
            return Err(EngineError::NotAdmitted { retry_after: NOT_ADMITTED_RETRY });
        };
        // Resolution failures (an unknown or ambiguous target) are the caller's answer, as for a real run.
        let (params, carried) = rendered?;
        let mut missing = self.missing_grants(creds, spec).await;
        missing.extend(refused_validations(&recorded));
        let secrets = secret_values(spec, &params);
        let (requests, reads): (Vec<_>, Vec<_>) =
            recorded.into_iter().map(|r| scrub(r, &secrets)).partition(|r| r.is_write() || r.validation.is_some());
        let stopped_at = carried.err().map(|e| crate::error_json(&e));
        let preview = DryRun {
            dry_run: true,
            id,
            tenant: creds.tenant_id.clone(),
            product: spec.product,
            action: spec.name,
            risk: spec.risk,
            params: redact::params(spec, &params),
            expected_change: expected_change(spec, &params),
            permission: PermissionCheck { declared: spec.permission, ok: missing.is_empty(), missing },
            complete: stopped_at.is_none(),
            stopped_at,
            requests,
            reads,
        };
        self.audit_dry_run(&req, spec, &preview, started).await?;
        Ok(preview)
    }

    /// Target resolution and the plan, inside the recorder: writes are written down, not sent.
    async fn render(
        &self,
        req: &ActionRequest,
        spec: &'static ActionSpec,
        params: Params,
        id: Uuid,
    ) -> Result<(Params, Result<(), EngineError>), EngineError> {
        let upstream = self.upstream();
        let creds = self.tenants().get(&req.tenant)?;
        let params = procedures::resolve::machine_params(upstream, creds, spec, params).await?;
        let params = procedures::entra::users::user_params(upstream, creds, spec, params).await?;
        let params = procedures::intune::devices::managed_device_params(upstream, creds, spec, params).await?;
        let carried = match spec.plan {
            Plan::Procedure(procedure) => {
                let ctx = procedures::Ctx {
                    engine: self,
                    tenant: &req.tenant,
                    principal: &req.principal,
                    creds,
                    spec,
                    operation: id,
                };
                procedures::run(&ctx, procedure, &params).await.map(drop)
            }
            _ => plan::carry_out(upstream, creds, spec, &params, plan::Marker { op: id, resume_since: None })
                .await
                .map(drop),
        };
        Ok((params, carried))
    }

    async fn audit_dry_run(
        &self,
        req: &ActionRequest,
        spec: &ActionSpec,
        preview: &DryRun,
        started: Instant,
    ) -> Result<(), EngineError> {
        let record = NewAuditEvent {
            operation_id: None,
            kind: store::AuditKind::Other(DRY_RUN_AUDIT_KIND.into()),
            principal: req.principal.name.clone(),
            tenant: Some(req.tenant.clone()),
            product: Some(spec.product.key().into()),
            action: Some(spec.name.into()),
            params: preview.params.clone(),
            outcome: Some("DryRun".into()),
            upstream_request_ids: vec![],
            duration_ms: Some(started.elapsed().as_millis() as i64),
            detail: json!({
                "dryRunId": preview.id,
                "role": req.principal.role.as_str(),
                "risk": spec.risk,
                "requests": preview.requests.iter().map(|r| format!("{} {}", r.method, r.url)).collect::<Vec<_>>(),
                "reads": preview.reads.len(),
                "permissionOk": preview.permission.ok,
                "complete": preview.complete,
            }),
        };
        self.store().append_audit(record).await?;
        Ok(())
    }
}

/// EC2's validation refusals (`UnauthorizedOperation`, ...) as missing grants.
fn refused_validations(recorded: &[RenderedRequest]) -> Vec<Missing> {
    recorded
        .iter()
        .filter_map(|r| {
            let v = r.validation.as_ref()?;
            if v["ok"] == true {
                return None;
            }
            let action = r.body.as_ref().and_then(|b| b["Action"].as_str()).unwrap_or("the call");
            let code = v["code"].as_str().unwrap_or("refused");
            let permission = format!("ec2:{action}");
            Some(Missing {
                on: "AWS IAM".into(),
                any_of: vec![permission.clone()],
                fix: if code == "UnauthorizedOperation" {
                    format!("allow {permission} in the IAM policy of the tenant's user or role")
                } else {
                    format!("EC2 refused the dry run of {action}: {code}: {}", v["message"].as_str().unwrap_or(""))
                },
            })
        })
        .collect()
}

/// The values of the action's secret parameters, to blank wherever a request carries them.
fn secret_values(spec: &ActionSpec, params: &Params) -> Vec<String> {
    params
        .iter()
        .filter(|(name, _)| {
            params.is_secret(name) || spec.params.iter().any(|p| p.name == **name && p.kind.is_secret())
        })
        .filter_map(|(_, v)| v.as_str().filter(|s| !s.is_empty()).map(String::from))
        .collect()
}

/// A rendered request with secrets redacted: declared secret values anywhere, secret-looking keys
/// of the body (a generated password in `passwordProfile`).
fn scrub(mut r: RenderedRequest, secrets: &[String]) -> RenderedRequest {
    for s in secrets {
        r.url = r.url.replace(s.as_str(), redact::REDACTED);
    }
    r.body = r.body.map(|b| blank(redact::free_form(&b), secrets));
    r
}

fn blank(v: Value, secrets: &[String]) -> Value {
    match v {
        Value::String(s) if secrets.contains(&s) => Value::String(redact::REDACTED.into()),
        Value::Array(items) => Value::Array(items.into_iter().map(|i| blank(i, secrets)).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, blank(v, secrets))).collect()),
        other => other,
    }
}

/// What would change: the summary, the targets, the inverse, and the read that would confirm it.
fn expected_change(spec: &ActionSpec, params: &Params) -> Value {
    let targets = match spec.plan {
        Plan::Call(call) => call.each.and_then(|each| params.get(each).cloned()),
        _ => None,
    };
    let confirm = catalog::verify::check_for(spec.product, spec.name).and_then(|check| {
        let read = plan::request(&check.read, params, None).ok()?;
        Some(json!({
            "read": format!("{} {}", check.read.method, read.path),
            "expect": check.expect.iter().map(|(pointer, value)| json!({ "at": pointer, "equals": serde_json::from_str::<Value>(value).unwrap_or(Value::Null) })).collect::<Vec<_>>(),
        }))
    });
    json!({
        "summary": spec.summary,
        "risk": spec.risk,
        "targets": targets,
        "undoneBy": spec.inverse,
        "confirmedBy": confirm,
    })
}

/// How many of a job's items a dry run renders in full; the rest are counted.
pub const JOB_PREVIEW_ITEMS: usize = 20;

/// A bulk job's dry run (`POST /v1/jobs` with `dryRun: true`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobDryRun {
    pub dry_run: bool,
    pub product: Product,
    pub action: String,
    /// Items the job would have, and per tenant.
    pub total: usize,
    pub tenants: std::collections::BTreeMap<String, usize>,
    /// The first [`JOB_PREVIEW_ITEMS`] items, each rendered like a single dry run.
    pub items: Vec<DryRun>,
    /// Items whose dry run was refused (an unknown target, a missing permission shows in the item).
    pub refused: Vec<Value>,
}

impl Engine {
    /// Expand and validate a job's targets as `create_job` would, then dry-run its first items.
    /// Nothing is stored but the items' `dry_run` audit records.
    pub async fn dry_run_job(
        &self,
        principal: &crate::Principal,
        spec: crate::JobSpec,
    ) -> Result<JobDryRun, EngineError> {
        let revert_after = spec.revert_after;
        let job = crate::jobs::build_job(self, principal, spec).await?;
        let product = Product::parse(&job.product).unwrap_or(Product::Mde);
        let mut tenants = std::collections::BTreeMap::new();
        for item in &job.items {
            *tenants.entry(item.tenant.clone()).or_insert(0) += 1;
        }
        let mut preview = JobDryRun {
            dry_run: true,
            product,
            action: job.action.clone(),
            total: job.items.len(),
            tenants,
            items: vec![],
            refused: vec![],
        };
        for (seq, item) in job.items.into_iter().take(JOB_PREVIEW_ITEMS).enumerate() {
            let mut params = job.params.as_object().cloned().unwrap_or_default();
            if let Value::Object(own) = item.params {
                params.extend(own);
            }
            let mut req = ActionRequest {
                tenant: item.tenant.clone(),
                product: Some(product),
                action: job.action.clone(),
                params,
                principal: principal.clone(),
                idempotency_key: None,
                wait: None,
                reveal: false,
            };
            if let Some(after) = revert_after {
                req = req.with_revert_after(after);
            }
            match self.dry_run(req).await {
                Ok(item) => preview.items.push(item),
                Err(e) => {
                    preview.refused.push(json!({ "seq": seq, "tenant": item.tenant, "error": crate::error_json(&e) }))
                }
            }
        }
        Ok(preview)
    }
}
