//! Bulk triage of incidents and alerts: one Graph PATCH per item (Graph has no batch endpoint
//! for these), a result per item, and progress kept in the operation so a restart resumes.
//!
//! Durability: before an item's PATCH the operation records it as in flight
//! (`tracking.bulk.inFlight`), and after it the item's row. A run started again after a crash
//! skips every item with a row, and for the one in flight first reads the item back: if it
//! already has every value the PATCH sets, the PATCH landed before the crash and is not sent
//! again. So no item is PATCHed twice, and none is left out.
//!
//! Budget: incident PATCHes draw both the Graph `/security` limit (150/min) and the XDR
//! incidents limit (50/min, 1,500/h); alert PATCHes the `/security` one (`upstream/budget.rs`
//! picks them by path). Items go one at a time: the budget, not concurrency, sets the pace.

use super::encode;
use crate::plan::Carried;
use crate::procedures::{Args, Ctx, Procedure, Read, optional, required};
use crate::{EngineError, status};
use catalog::{ParamError, Params, ProcedureId};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::marker::PhantomData;
use store::OperationUpdate;
use upstream::{Api, ApiRequest, Budget, Method};

/// What a bulk form acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Incidents,
    Alerts,
}

impl Target {
    fn path(self, id: &str) -> String {
        match self {
            Target::Incidents => format!("/v1.0/security/incidents/{}", encode(id)),
            Target::Alerts => format!("/v1.0/security/alerts_v2/{}", encode(id)),
        }
    }

    /// Incidents draw the XDR incidents limit besides Graph's `/security` one; alerts only the latter.
    fn budget(self) -> Budget {
        match self {
            Target::Incidents => Budget::Incidents,
            Target::Alerts => Budget::Default,
        }
    }

    fn ids_param(self) -> &'static str {
        match self {
            Target::Incidents => "incidentIds",
            Target::Alerts => "alertIds",
        }
    }
}

/// One bulk form, said as data: what it acts on, what every item's body carries.
pub trait Form: Send + Sync + 'static {
    const ID: ProcedureId;
    const READS: &'static [Read];
    const TARGET: Target;
    /// Fields every body carries: (Graph field, JSON literal).
    const FIXED: &'static [(&'static str, &'static str)] = &[];
    /// Fields copied from parameters when given: (Graph field, parameter).
    const FIELDS: &'static [(&'static str, &'static str)] = &[];
    /// Whether the seed's `updates` object is read (its fields, then the typed ones over them).
    const UPDATES: bool = false;
}

/// Incident fields an `updates` object may set (§4.5).
const INCIDENT_FIELDS: &[&str] = &["status", "assignedTo", "classification", "determination", "customTags"];
const TRIAGE: &[(&str, &str)] = &[("classification", "classification"), ("determination", "determination")];

macro_rules! form {
    ($name:ident, $key:literal, $target:expr, reads: [$($read:expr),*], fixed: $fixed:expr, fields: $fields:expr, updates: $updates:expr) => {
        pub struct $name;
        impl Form for $name {
            const ID: ProcedureId = ProcedureId($key);
            const READS: &'static [Read] = &[$($read),*];
            const TARGET: Target = $target;
            const FIXED: &'static [(&'static str, &'static str)] = $fixed;
            const FIELDS: &'static [(&'static str, &'static str)] = $fields;
            const UPDATES: bool = $updates;
        }
    };
}

form!(UpdateIncidents, "incident.bulk.update_incidents", Target::Incidents,
    reads: [required("incidentIds"), optional("updates"), optional("status"), optional("assignedTo"),
            optional("classification"), optional("determination"), optional("customTags")],
    fixed: &[],
    fields: &[("status", "status"), ("assignedTo", "assignedTo"), ("classification", "classification"),
              ("determination", "determination"), ("customTags", "customTags")],
    updates: true);
form!(AssignIncidents, "incident.bulk.assign_incidents", Target::Incidents,
    reads: [required("incidentIds"), required("assignedTo")],
    fixed: &[], fields: &[("assignedTo", "assignedTo")], updates: false);
form!(ResolveIncidents, "incident.bulk.resolve_incidents", Target::Incidents,
    reads: [required("incidentIds"), optional("classification"), optional("determination")],
    fixed: &[("status", "\"resolved\"")], fields: TRIAGE, updates: false);
form!(ReopenIncidents, "incident.bulk.reopen_incidents", Target::Incidents,
    reads: [required("incidentIds")],
    fixed: &[("status", "\"active\"")], fields: &[], updates: false);
form!(ClassifyIncidents, "incident.bulk.classify_incidents", Target::Incidents,
    reads: [required("incidentIds"), required("classification"), optional("determination")],
    fixed: &[], fields: TRIAGE, updates: false);
form!(ResolveAlerts, "incident.bulk.resolve_alerts", Target::Alerts,
    reads: [required("alertIds"), optional("classification"), optional("determination")],
    fixed: &[("status", "\"resolved\"")], fields: TRIAGE, updates: false);
form!(ClassifyAlerts, "incident.bulk.classify_alerts", Target::Alerts,
    reads: [required("alertIds"), required("classification"), optional("determination")],
    fixed: &[], fields: TRIAGE, updates: false);
form!(AssignAlerts, "incident.bulk.assign_alerts", Target::Alerts,
    reads: [required("alertIds"), required("assignedTo")],
    fixed: &[], fields: &[("assignedTo", "assignedTo")], updates: false);

/// A bulk run of form `F`: the ids and the body every item gets.
pub struct Bulk<F> {
    ids: Vec<String>,
    body: Map<String, Value>,
    form: PhantomData<F>,
}

impl<F: Form> TryFrom<&Params> for Bulk<F> {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        let mut body = Map::new();
        if F::UPDATES
            && let Some(updates) = args.opt_value("updates")?
        {
            body.extend(checked_updates(updates)?);
        }
        for (field, literal) in F::FIXED {
            let v = serde_json::from_str(literal).map_err(|e| EngineError::Internal(format!("{}: {e}", F::ID)))?;
            body.insert((*field).to_string(), v);
        }
        for (field, param) in F::FIELDS {
            if let Some(v) = args.opt_value(param)? {
                body.insert((*field).to_string(), v);
            }
        }
        Ok(Bulk { ids: args.strings(F::TARGET.ids_param())?, body, form: PhantomData })
    }
}

impl<F: Form> Procedure for Bulk<F> {
    const ID: ProcedureId = F::ID;
    const READS: &'static [Read] = F::READS;
    const RESUMABLE: bool = true;
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        // Only BulkUpdateIncidents can arrive with nothing to set (its fields are all optional).
        if self.body.is_empty() {
            return Err(EngineError::InvalidParam(ParamError {
                field: "updates".into(),
                message: "nothing to change on the items".into(),
                hint: format!("give at least one of {}", INCIDENT_FIELDS.join(", ")),
            }));
        }
        run(ctx, F::TARGET, &self.ids, &self.body).await
    }
}

/// The seed's `updates` object: only the incident fields Graph lets a PATCH set.
fn checked_updates(updates: Value) -> Result<Map<String, Value>, EngineError> {
    let Value::Object(map) = updates else {
        return Err(bad_updates("must be a JSON object".into()));
    };
    let mut out = Map::new();
    for (k, v) in map {
        let Some(field) = INCIDENT_FIELDS.iter().find(|f| f.eq_ignore_ascii_case(&k)) else {
            return Err(bad_updates(format!("has '{k}', which an incident PATCH cannot set")));
        };
        let ok = if *field == "customTags" {
            v.as_array().is_some_and(|a| a.iter().all(Value::is_string))
        } else {
            v.is_string() || v.is_null()
        };
        if !ok {
            return Err(bad_updates(format!("'{field}' has the wrong type")));
        }
        out.insert((*field).to_string(), v);
    }
    Ok(out)
}

fn bad_updates(message: String) -> EngineError {
    EngineError::InvalidParam(ParamError {
        field: "updates".into(),
        message,
        hint: format!(
            "e.g. {{\"status\": \"resolved\", \"classification\": \"truePositive\"}}; fields: {}",
            INCIDENT_FIELDS.join(", ")
        ),
    })
}

/// Progress of one bulk operation, kept in `operations.tracking` under `bulk`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Progress {
    /// One row per item done (succeeded or failed), in order.
    rows: Vec<Value>,
    /// The item whose PATCH may have been sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    in_flight: Option<String>,
}

impl Progress {
    async fn load(ctx: &Ctx<'_>) -> Result<Progress, EngineError> {
        let op = ctx.engine.operation(ctx.operation).await?;
        let stored = op.tracking.as_ref().and_then(|t| t.get("bulk")).cloned();
        Ok(stored.and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default())
    }

    async fn save(&self, ctx: &Ctx<'_>) -> Result<(), EngineError> {
        let tracking = json!({ "bulk": self });
        let update = OperationUpdate { status: status::RUNNING.into(), tracking: Some(tracking), ..Default::default() };
        ctx.engine.store().update_operation(ctx.operation, update).await?;
        Ok(())
    }

    fn done(&self, id: &str) -> bool {
        self.rows.iter().any(|r| r["id"] == id)
    }
}

async fn run(ctx: &Ctx<'_>, target: Target, ids: &[String], body: &Map<String, Value>) -> Result<Carried, EngineError> {
    let mut progress = Progress::load(ctx).await?;
    let mut request_ids = Vec::new();
    let mut first_error = None;
    for id in ids {
        if progress.done(id) {
            continue;
        }
        let landed = progress.in_flight.as_deref() == Some(id.as_str()) && already_set(ctx, target, id, body).await;
        if landed {
            progress.rows.push(json!({ "id": id, "success": true, "confirmedAfterRestart": true }));
        } else {
            progress.in_flight = Some(id.clone());
            progress.save(ctx).await?;
            match patch(ctx, target, id, body).await {
                Ok(resp) => {
                    request_ids.extend(resp.request_id);
                    progress.rows.push(json!({ "id": id, "success": true }));
                }
                Err(e) => {
                    progress.rows.push(json!({ "id": id, "success": false, "error": crate::error_json(&e) }));
                    first_error.get_or_insert(e);
                }
            }
        }
        progress.in_flight = None;
        progress.save(ctx).await?;
    }
    finish(progress.rows, request_ids, first_error)
}

async fn patch(
    ctx: &Ctx<'_>,
    target: Target,
    id: &str,
    body: &Map<String, Value>,
) -> Result<upstream::ApiResponse, EngineError> {
    let req = ApiRequest::new(Api::Graph, Method::Patch, target.path(id))
        .with_body(Value::Object(body.clone()))
        .with_group(target.budget());
    Ok(ctx.engine.upstream().call(ctx.creds, req).await?)
}

/// Whether the item already has every value the PATCH would set (the PATCH landed before a
/// restart). Any doubt (a failed read, a different value) answers no, and the PATCH is sent.
async fn already_set(ctx: &Ctx<'_>, target: Target, id: &str, body: &Map<String, Value>) -> bool {
    let Ok(current) = ctx
        .engine
        .upstream()
        .call(ctx.creds, ApiRequest::get(Api::Graph, target.path(id)).with_group(target.budget()))
        .await
    else {
        return false;
    };
    body.iter().all(|(k, want)| same(&current.body[k.as_str()], want))
}

fn same(have: &Value, want: &Value) -> bool {
    match (have, want) {
        (Value::String(a), Value::String(b)) => a.eq_ignore_ascii_case(b),
        (Value::Array(a), Value::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y)),
        (a, b) => a == b,
    }
}

/// Rows into an outcome: every item failed is the first error (with the rows in its message's
/// place, the caller sees why); some failed is `PartiallySucceeded` with the failures in `results`.
fn finish(
    rows: Vec<Value>,
    request_ids: Vec<String>,
    first_error: Option<EngineError>,
) -> Result<Carried, EngineError> {
    let failed = rows.iter().filter(|r| r["success"] != true).count();
    if let (true, Some(e)) = (failed == rows.len(), first_error) {
        return Err(e);
    }
    Ok(Carried {
        data: json!({ "count": rows.len(), "succeeded": rows.len() - failed, "failed": failed, "results": rows }),
        request_ids,
        machine_action_ids: vec![],
        failed_targets: failed,
        follow: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_take_only_incident_fields_of_the_right_type() {
        let ok = checked_updates(json!({"Status": "resolved", "customTags": ["a"]})).unwrap();
        assert_eq!(ok["status"], "resolved");
        assert!(checked_updates(json!({"severity": "high"})).is_err());
        assert!(checked_updates(json!({"customTags": "a"})).is_err());
        assert!(checked_updates(json!(["status"])).is_err());
    }

    #[test]
    fn a_value_read_back_matches_ignoring_case() {
        assert!(same(&json!("TruePositive"), &json!("truePositive")));
        assert!(same(&json!(["x"]), &json!(["X"])));
        assert!(!same(&json!(null), &json!("resolved")));
    }

    #[test]
    fn all_failed_is_an_error_some_failed_is_partial() {
        let rows = vec![json!({"id": "1", "success": true}), json!({"id": "2", "success": false})];
        let c = finish(rows, vec![], Some(EngineError::Internal("x".into()))).unwrap();
        assert_eq!(c.failed_targets, 1);
        assert_eq!(c.data["succeeded"], 1);
        let rows = vec![json!({"id": "2", "success": false})];
        assert!(finish(rows, vec![], Some(EngineError::Internal("x".into()))).is_err());
    }
}
