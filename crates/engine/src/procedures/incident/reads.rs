//! Reads one Graph call cannot shape: an incident's alerts and comments, its timeline, and
//! statistics over every page of incidents or alerts. Timeline and statistics are computed by
//! Riposte (Graph has neither); each answer says so in `computedBy` and names its `basis`.

use super::incident_path;
use crate::EngineError;
use crate::plan::Carried;
use crate::procedures::{Args, Ctx, Procedure, Read, optional, required};
use catalog::{Params, ProcedureId};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use upstream::{Api, ApiRequest, Budget};

/// Statistics read every page, up to this many items (a tenant's open backlog fits).
const STATISTICS_MAX: usize = 20_000;
const COMPUTED_BY: &str = "Riposte";

/// An incident read with its alerts.
async fn incident_with_alerts(ctx: &Ctx<'_>, id: &str) -> Result<(Value, Vec<String>), EngineError> {
    let req =
        ApiRequest::get(Api::Graph, incident_path(id)).with_query("$expand", "alerts").with_group(Budget::Incidents);
    let resp = ctx.engine.upstream().call(ctx.creds, req).await?;
    Ok((resp.body, resp.request_id.into_iter().collect()))
}

fn carried(data: Value, request_ids: Vec<String>) -> Carried {
    Carried { data, request_ids, machine_action_ids: vec![], failed_targets: 0, follow: None }
}

fn list(v: &Value, key: &str) -> Vec<Value> {
    v[key].as_array().cloned().unwrap_or_default()
}

/// `GetIncidentAlerts`.
pub struct IncidentAlerts {
    id: String,
}

impl TryFrom<&Params> for IncidentAlerts {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        Ok(IncidentAlerts { id: Args::of::<Self>(params).text("incidentId")? })
    }
}

impl Procedure for IncidentAlerts {
    const ID: ProcedureId = ProcedureId("incident.incidents.alerts");
    const READS: &'static [Read] = &[required("incidentId")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let (incident, ids) = incident_with_alerts(ctx, &self.id).await?;
        let alerts = list(&incident, "alerts");
        Ok(carried(json!({ "incidentId": self.id, "alertCount": alerts.len(), "alerts": alerts }), ids))
    }
}

/// `GetIncidentComments`.
pub struct IncidentComments {
    id: String,
}

impl TryFrom<&Params> for IncidentComments {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        Ok(IncidentComments { id: Args::of::<Self>(params).text("incidentId")? })
    }
}

impl Procedure for IncidentComments {
    const ID: ProcedureId = ProcedureId("incident.incidents.comments");
    const READS: &'static [Read] = &[required("incidentId")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let req = ApiRequest::get(Api::Graph, incident_path(&self.id)).with_group(Budget::Incidents);
        let resp = ctx.engine.upstream().call(ctx.creds, req).await?;
        let comments = list(&resp.body, "comments");
        Ok(carried(
            json!({ "incidentId": self.id, "count": comments.len(), "comments": comments }),
            resp.request_id.into_iter().collect(),
        ))
    }
}

/// `GetIncidentTimeline`: the incident's, its alerts', their evidence's and its comments'
/// timestamps as events, oldest first.
pub struct Timeline {
    id: String,
}

impl TryFrom<&Params> for Timeline {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        Ok(Timeline { id: Args::of::<Self>(params).text("incidentId")? })
    }
}

impl Procedure for Timeline {
    const ID: ProcedureId = ProcedureId("incident.incidents.timeline");
    const READS: &'static [Read] = &[required("incidentId")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let (incident, ids) = incident_with_alerts(ctx, &self.id).await?;
        let events = timeline(&incident);
        Ok(carried(
            json!({
                "incidentId": self.id,
                "computedBy": COMPUTED_BY,
                "basis": "the incident's createdDateTime/resolvedDateTime, each alert's activity, creation and resolution times, each evidence's createdDateTime, and the comments (Graph has no timeline API)",
                "count": events.len(),
                "events": events,
            }),
            ids,
        ))
    }
}

/// One event: when, what kind, and what it is about.
fn event(at: &Value, kind: &str, detail: Value) -> Option<Value> {
    let at = at.as_str()?;
    Some(json!({ "time": at, "event": kind, "detail": detail }))
}

/// Events of an incident read with `$expand=alerts`, sorted by time (RFC 3339 UTC sorts as text).
pub(crate) fn timeline(incident: &Value) -> Vec<Value> {
    let mut events = Vec::new();
    let name = json!({ "displayName": incident["displayName"] });
    events.extend(event(&incident["createdDateTime"], "incidentCreated", name.clone()));
    events.extend(event(&incident["resolvedDateTime"], "incidentResolved", name));
    for a in list(incident, "alerts") {
        let about = json!({
            "alertId": a["id"], "title": a["title"], "serviceSource": a["serviceSource"], "severity": a["severity"],
        });
        events.extend(event(&a["firstActivityDateTime"], "alertFirstActivity", about.clone()));
        events.extend(event(&a["createdDateTime"], "alertCreated", about.clone()));
        events.extend(event(&a["lastActivityDateTime"], "alertLastActivity", about.clone()));
        events.extend(event(&a["resolvedDateTime"], "alertResolved", about));
        for e in list(&a, "evidence") {
            let kind = e["@odata.type"].as_str().unwrap_or("").rsplit('.').next().unwrap_or("").to_string();
            let detail = json!({ "alertId": a["id"], "evidenceType": kind, "verdict": e["verdict"] });
            events.extend(event(&e["createdDateTime"], "evidenceObserved", detail));
        }
    }
    for c in list(incident, "comments") {
        let detail = json!({ "comment": c["comment"], "by": c["createdByDisplayName"] });
        events.extend(event(&c["createdDateTime"], "comment", detail));
    }
    events.sort_by(|x, y| x["time"].as_str().cmp(&y["time"].as_str()));
    events
}

/// `GetIncidentStatistics`: every page of incidents (with their alerts), counted.
pub struct IncidentStatistics {
    filter: Option<String>,
}

impl TryFrom<&Params> for IncidentStatistics {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        Ok(IncidentStatistics { filter: Args::of::<Self>(params).opt_text("filter")? })
    }
}

impl Procedure for IncidentStatistics {
    const ID: ProcedureId = ProcedureId("incident.stats.incidents");
    const READS: &'static [Read] = &[optional("filter")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let req = with_filter(
            ApiRequest::get(Api::Graph, "/v1.0/security/incidents")
                .with_query("$expand", "alerts")
                .with_group(Budget::Incidents),
            self.filter,
        );
        let page = ctx.engine.upstream().get_paged(ctx.creds, req, STATISTICS_MAX).await?;
        let mut data = count_by(&page.items, &["status", "severity", "classification", "determination", "assignedTo"]);
        let products: Vec<Value> = page.items.iter().flat_map(|i| list(i, "alerts")).collect();
        data.insert("alertsByServiceSource".into(), counts(&products, "serviceSource"));
        stamp(&mut data, page.items.len(), page.truncated, "every page of GET /security/incidents?$expand=alerts");
        Ok(carried(Value::Object(data), page.request_ids))
    }
}

/// `GetAlertStatistics`: every page of alerts_v2, counted.
pub struct AlertStatistics {
    filter: Option<String>,
}

impl TryFrom<&Params> for AlertStatistics {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        Ok(AlertStatistics { filter: Args::of::<Self>(params).opt_text("filter")? })
    }
}

impl Procedure for AlertStatistics {
    const ID: ProcedureId = ProcedureId("incident.stats.alerts");
    const READS: &'static [Read] = &[optional("filter")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let req = with_filter(ApiRequest::get(Api::Graph, "/v1.0/security/alerts_v2"), self.filter);
        let page = ctx.engine.upstream().get_paged(ctx.creds, req, STATISTICS_MAX).await?;
        let mut data = count_by(
            &page.items,
            &["status", "severity", "classification", "determination", "serviceSource", "category"],
        );
        stamp(&mut data, page.items.len(), page.truncated, "every page of GET /security/alerts_v2");
        Ok(carried(Value::Object(data), page.request_ids))
    }
}

fn with_filter(req: ApiRequest, filter: Option<String>) -> ApiRequest {
    match filter {
        Some(f) => req.with_query("$filter", f),
        None => req,
    }
}

/// `{"byStatus": {...}, "bySeverity": {...}, ...}` for the given fields.
fn count_by(items: &[Value], fields: &[&str]) -> Map<String, Value> {
    let mut out = Map::new();
    for f in fields {
        let mut key = String::from("by");
        key.push_str(&f[..1].to_ascii_uppercase());
        key.push_str(&f[1..]);
        out.insert(key, counts(items, f));
    }
    out
}

/// How many items have each value of `field` (absent or null counted as `"none"`).
fn counts(items: &[Value], field: &str) -> Value {
    let mut by: BTreeMap<String, u64> = BTreeMap::new();
    for i in items {
        let k = match &i[field] {
            Value::String(s) => s.clone(),
            Value::Null => "none".into(),
            other => other.to_string(),
        };
        *by.entry(k).or_default() += 1;
    }
    json!(by)
}

fn stamp(data: &mut Map<String, Value>, total: usize, truncated: bool, basis: &str) {
    data.insert("total".into(), total.into());
    data.insert("truncated".into(), truncated.into());
    data.insert("computedBy".into(), COMPUTED_BY.into());
    data.insert("basis".into(), basis.into());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeline_orders_incident_alert_evidence_and_comment_events() {
        let incident = json!({
            "displayName": "x",
            "createdDateTime": "2026-01-01T10:00:00Z",
            "resolvedDateTime": null,
            "comments": [{"comment": "c", "createdByDisplayName": "me", "createdDateTime": "2026-01-01T12:00:00Z"}],
            "alerts": [{
                "id": "a1", "title": "t", "serviceSource": "microsoftDefenderForIdentity", "severity": "high",
                "firstActivityDateTime": "2026-01-01T09:00:00Z", "createdDateTime": "2026-01-01T09:30:00Z",
                "evidence": [{"@odata.type": "#microsoft.graph.security.ipEvidence", "createdDateTime": "2026-01-01T09:10:00Z", "verdict": "malicious"}],
            }],
        });
        let kinds: Vec<String> = timeline(&incident).iter().map(|e| e["event"].as_str().unwrap().to_string()).collect();
        assert_eq!(kinds, ["alertFirstActivity", "evidenceObserved", "alertCreated", "incidentCreated", "comment"]);
    }

    #[test]
    fn statistics_count_each_value_and_missing_ones() {
        let items = vec![json!({"status": "active"}), json!({"status": "active"}), json!({"status": null})];
        let m = count_by(&items, &["status"]);
        assert_eq!(m["byStatus"], json!({"active": 2, "none": 1}));
    }
}
