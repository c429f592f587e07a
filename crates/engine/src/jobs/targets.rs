//! From a `POST /v1/jobs` body to a job with one item per target: parsing, the targets a filter
//! selects, and every target validated and authorized before anything is written.

use crate::{ActionRequest, Engine, EngineError, Principal, reverts};
use catalog::{ActionSpec, ParamError, Product};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::time::Duration;
use store::{Job, NewJob, NewJobItem, item_state};
use uuid::Uuid;

/// The most targets one job may have.
pub const MAX_TARGETS: usize = 100_000;

/// A job as asked for.
#[derive(Debug, Clone)]
pub struct JobSpec {
    pub name: Option<String>,
    pub product: Product,
    pub action: String,
    /// Parameters every target shares.
    pub params: Map<String, Value>,
    pub targets: Targets,
    pub revert_after: Option<Duration>,
    pub priority: i64,
}

/// Where the targets come from.
#[derive(Debug, Clone)]
pub enum Targets {
    /// `[{tenant, ...per-target params}]`.
    List(Vec<Map<String, Value>>),
    /// Every machine a filter selects in these tenants (`None`: every tenant the key may use).
    Filter { tenants: Option<Vec<String>>, filter: String },
}

fn bad(field: &str, message: impl Into<String>, hint: &str) -> EngineError {
    EngineError::InvalidParam(ParamError { field: field.into(), message: message.into(), hint: hint.into() })
}

impl JobSpec {
    /// Read a `POST /v1/jobs` body (the product already parsed by the surface). Every refusal
    /// names its field.
    pub fn from_body(product: Product, mut body: Map<String, Value>) -> Result<JobSpec, EngineError> {
        let revert_after = reverts::take_revert_after(&mut body)?;
        let text = |v: Option<&Value>, field: &str| -> Result<Option<String>, EngineError> {
            match v {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_string())),
                Some(other) => Err(bad(field, format!("{other} is not a non-empty string"), "a string")),
            }
        };
        let action = text(body.get("action"), "action")?
            .ok_or_else(|| bad("action", "action is required", "e.g. \"action\": \"IsolateDevice\""))?;
        let name = text(body.get("name"), "name")?;
        let params = match body.get("params") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(other) => return Err(bad("params", format!("{other} is not an object"), "{\"comment\": \"...\"}")),
        };
        let priority = match body.get("priority") {
            None | Some(Value::Null) => 0,
            Some(Value::Number(n)) if n.as_i64().is_some_and(|p| (-100..=100).contains(&p)) => n.as_i64().unwrap_or(0),
            Some(other) => {
                return Err(bad(
                    "priority",
                    format!("{other} is not a priority"),
                    "a whole number from -100 to 100 (higher runs first)",
                ));
            }
        };
        let targets = match (body.get("targets"), body.get("filter")) {
            (Some(Value::Array(list)), None) => Targets::List(target_list(list)?),
            (Some(Value::Object(sel)), None) => selection(sel)?,
            (None, Some(_)) => selection(&body)?,
            (Some(_), Some(_)) => {
                return Err(bad(
                    "filter",
                    "give targets or a filter, not both",
                    "targets: [{tenant, deviceId}] or tenants + filter",
                ));
            }
            (Some(other), None) => {
                return Err(bad(
                    "targets",
                    format!("{other} is not a list of targets"),
                    "[{\"tenant\": \"...\", \"deviceId\": \"...\"}]",
                ));
            }
            (None, None) => {
                return Err(bad(
                    "targets",
                    "targets are required",
                    "targets: [{tenant, deviceId}], or {tenants: \"all\", filter: \"osPlatform eq 'Windows10'\"}",
                ));
            }
        };
        Ok(JobSpec { name, product, action, params, targets, revert_after, priority })
    }
}

fn target_list(list: &[Value]) -> Result<Vec<Map<String, Value>>, EngineError> {
    if list.is_empty() || list.len() > MAX_TARGETS {
        return Err(bad("targets", format!("{} targets", list.len()), "between 1 and 100000 targets"));
    }
    list.iter()
        .enumerate()
        .map(|(i, t)| {
            t.as_object().cloned().ok_or_else(|| {
                bad(
                    &format!("targets[{i}]"),
                    format!("{t} is not an object"),
                    "{\"tenant\": \"...\", \"deviceId\": \"...\"}",
                )
            })
        })
        .collect()
}

fn selection(sel: &Map<String, Value>) -> Result<Targets, EngineError> {
    let tenants = match sel.get("tenants") {
        None => None,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("all") => None,
        Some(Value::Array(a)) if !a.is_empty() && a.iter().all(Value::is_string) => {
            Some(a.iter().filter_map(|t| t.as_str().map(String::from)).collect())
        }
        Some(other) => {
            return Err(bad("tenants", format!("{other} is not a tenant list"), "\"all\" or [\"tenant-id\", ...]"));
        }
    };
    let filter = match sel.get("filter") {
        Some(Value::String(f)) if !f.trim().is_empty() => f.trim().to_string(),
        _ => {
            return Err(bad(
                "filter",
                "a filter is required with tenants",
                "an OData $filter on machines, e.g. osPlatform eq 'Windows10'",
            ));
        }
    };
    Ok(Targets::Filter { tenants, filter })
}

/// The tenant a target names (`tenant`, `tenantId`), taken out of its parameters.
fn take_tenant(target: &mut Map<String, Value>, i: usize) -> Result<String, EngineError> {
    let key = ["tenant", "tenantId", "tenant_id"].into_iter().find(|k| target.contains_key(*k));
    match key.and_then(|k| target.remove(k)) {
        Some(Value::String(t)) if !t.trim().is_empty() => Ok(t.trim().to_string()),
        _ => Err(bad(
            &format!("targets[{i}].tenant"),
            "every target names its tenant",
            "{\"tenant\": \"<tenant id>\", ...}",
        )),
    }
}

/// The job to write: targets resolved, each validated against the action and authorized.
pub(crate) async fn build(engine: &Engine, principal: &Principal, spec: JobSpec) -> Result<NewJob, EngineError> {
    let action = engine.resolve(Some(spec.product), &spec.action)?;
    crate::refuse_unsupported(action)?;
    if action.params.iter().any(|p| p.kind.is_secret()) {
        return Err(bad(
            "action",
            format!("{} takes secret parameters, which a job would have to store", action.name),
            "run it as single actions",
        ));
    }
    if spec.revert_after.is_some() {
        reverts::inverse_of(action)?;
    }
    let targets = match &spec.targets {
        Targets::List(list) => list.clone(),
        Targets::Filter { tenants, filter } => selected(engine, principal, action, tenants.as_deref(), filter).await?,
    };
    let mut items = Vec::with_capacity(targets.len());
    for (i, mut target) in targets.into_iter().enumerate() {
        let tenant = take_tenant(&mut target, i)?;
        engine.tenants().get(&tenant).map_err(|_| {
            bad(
                &format!("targets[{i}].tenant"),
                format!("tenant '{tenant}' is not configured"),
                "GET /v1/tenants lists them",
            )
        })?;
        crate::authorize(principal, &tenant, action)?;
        let mut merged = spec.params.clone();
        merged.extend(target.clone());
        action.validate(&merged).map_err(|e| bad(&format!("targets[{i}].{}", e.field), e.message, &e.hint))?;
        items.push(NewJobItem { tenant, params: Value::Object(target) });
    }
    let mut params = spec.params.clone();
    // Validated above; the shared parameters are stored as given (no secrets: refused above).
    params.remove("revertAfter");
    Ok(NewJob {
        id: Uuid::now_v7(),
        name: spec.name,
        product: action.product.key().into(),
        action: action.name.into(),
        params: Value::Object(params),
        principal: principal.name.clone(),
        role: principal.role.as_str().into(),
        priority: spec.priority,
        revert_after_seconds: spec.revert_after.map(|d| d.as_secs() as i64),
        undo_of: None,
        items,
    })
}

/// The machines an OData filter selects in each tenant, as targets of a device action.
async fn selected(
    engine: &Engine,
    principal: &Principal,
    action: &ActionSpec,
    tenants: Option<&[String]>,
    filter: &str,
) -> Result<Vec<Map<String, Value>>, EngineError> {
    let device_param = ["deviceId", "deviceIds"].into_iter().find(|n| action.params.iter().any(|p| p.name == *n));
    let (Product::Mde, Some(device_param)) = (action.product, device_param) else {
        return Err(bad(
            "filter",
            format!("a filter selects MDE machines; {} does not act on machines", action.name),
            "list the targets instead",
        ));
    };
    let tenants: Vec<String> = match tenants {
        Some(t) => t.to_vec(),
        None => engine.visible_tenants(principal).into_iter().map(String::from).collect(),
    };
    let mut targets = Vec::new();
    for tenant in tenants {
        let req = ActionRequest {
            tenant: tenant.clone(),
            product: Some(Product::Mde),
            action: "GetAllDevices".into(),
            params: json!({ "filter": filter }).as_object().cloned().unwrap_or_default(),
            principal: principal.clone(),
            idempotency_key: None,
            wait: Some(crate::MAX_WAIT),
            reveal: false,
        };
        let outcome = engine.execute(req).await?;
        let machines =
            outcome.data.get("value").or(Some(&outcome.data)).and_then(Value::as_array).cloned().unwrap_or_default();
        for m in machines {
            if let Some(id) = m.get("id").and_then(Value::as_str) {
                let value = if device_param == "deviceIds" { json!([id]) } else { json!(id) };
                targets.push(json!({ "tenant": tenant, device_param: value }).as_object().cloned().unwrap_or_default());
            }
        }
    }
    if targets.is_empty() || targets.len() > MAX_TARGETS {
        return Err(bad(
            "filter",
            format!("the filter selected {} machines", targets.len()),
            "between 1 and 100000 machines; check the filter with GetAllDevices",
        ));
    }
    Ok(targets)
}

/// The undo of a finished job: each succeeded item's inverse, as a job of its own.
pub(super) async fn undo_of(engine: &Engine, principal: &Principal, job: &Job) -> Result<NewJob, EngineError> {
    if [store::job_state::RUNNING, store::job_state::PAUSED].contains(&job.state.as_str()) {
        return Err(EngineError::Conflict(format!(
            "job {} is {}; undo a job once it has ended (cancel it first to stop it)",
            job.id, job.state
        )));
    }
    let product =
        Product::parse(&job.product).ok_or_else(|| EngineError::Internal(format!("product {}", job.product)))?;
    let action = engine.resolve(Some(product), &job.action)?;
    let inverse = reverts::inverse_of(action).map_err(|_| {
        EngineError::Conflict(format!("{} has no inverse, so job {} cannot be undone", action.name, job.id))
    })?;
    let mut items = Vec::new();
    let mut after = 0;
    loop {
        let page = engine.store().job_items(job.id, Some(item_state::SUCCEEDED), after, 5_000).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for item in page {
            crate::authorize(principal, &item.tenant, inverse)?;
            let mut merged = job.params.clone();
            if let (Some(m), Some(p)) = (merged.as_object_mut(), item.params.as_object()) {
                m.extend(p.clone());
            }
            let params = reverts::inverse_params(inverse, &merged);
            items.push(NewJobItem { tenant: item.tenant, params: Value::Object(params) });
        }
    }
    if items.is_empty() {
        return Err(EngineError::Conflict(format!("job {} has no succeeded items to undo", job.id)));
    }
    Ok(NewJob {
        id: Uuid::now_v7(),
        name: Some(format!("undo of {}", job.name.clone().unwrap_or_else(|| job.id.to_string()))),
        product: job.product.clone(),
        action: inverse.name.into(),
        params: json!({}),
        principal: principal.name.clone(),
        role: principal.role.as_str().into(),
        priority: job.priority,
        revert_after_seconds: None,
        undo_of: Some(job.id),
        items,
    })
}

/// Items per tenant (for the `job_created` record).
pub(super) fn tenant_counts(items: &[NewJobItem]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for item in items {
        *counts.entry(item.tenant.clone()).or_default() += 1;
    }
    counts
}
