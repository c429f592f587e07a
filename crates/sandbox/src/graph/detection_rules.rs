//! Custom detection rules: Graph beta `security/rules/detectionRules` (list, get, create,
//! update, delete).
//!
//! Documented defaults and choices: `isEnabled` defaults to true when omitted; `schedule.period`
//! takes `0` (near real time), `1H`, `3H`, `12H` or `24H`; `organizationalScope` defaults to
//! null (all devices) and `responseActions` to an empty list. The sandbox does not run the
//! query, so `lastRunDetails` stays empty until a rule exists long enough — it is reported as
//! never run (all null), which is what a freshly created rule shows.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};
use time::{Duration, OffsetDateTime};

use super::{bad_request, forbidden};
use crate::auth::GraphCaller;
use crate::clock::fmt_mde;
use crate::errors::{self, json_response};
use crate::query::Params;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/beta/security/rules/detectionRules", get(list).post(create))
        .route("/beta/security/rules/detectionRules/{id}", get(get_one).patch(update).delete(remove))
}

/// A tenant's rules (stored as their Graph JSON) and the next id (ids are numeric strings).
#[derive(Clone, Debug, Default)]
pub struct Rules {
    pub items: Vec<Value>,
    next_id: u64,
}

const READ: &[&str] = &["CustomDetection.Read.All", "CustomDetection.ReadWrite.All"];
const WRITE: &[&str] = &["CustomDetection.ReadWrite.All"];
const PERIODS: &[&str] = &["0", "1H", "3H", "12H", "24H"];
const SEVERITIES: &[&str] = &["informational", "low", "medium", "high"];
const TOP_LEVEL: &[&str] = &["displayName", "isEnabled", "queryCondition", "schedule", "detectionAction"];

fn period_seconds(p: &str) -> i64 {
    match p {
        "1H" => 3600,
        "3H" => 3 * 3600,
        "12H" => 12 * 3600,
        "24H" => 24 * 3600,
        _ => 0,
    }
}

/// Validates a create (all required) or update (only what is sent) body and merges it into
/// `rule`. Errors name the property.
fn merge(
    rule: &mut Map<String, Value>,
    body: &[u8],
    create: bool,
    headers: &HeaderMap,
    now: OffsetDateTime,
) -> Result<(), Response> {
    let bad = |m: String| bad_request("BadRequest", m, headers);
    let map = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return Err(bad("The request body must be a JSON object.".into())),
        Err(e) => return Err(bad(format!("Unable to read JSON request payload: {e}."))),
    };
    for k in map.keys() {
        if k != "@odata.type" && !TOP_LEVEL.contains(&k.as_str()) {
            return Err(bad(format!(
                "Property '{k}' does not exist or is read-only on 'microsoft.graph.security.detectionRule'. Writable: {}.",
                TOP_LEVEL.join(", ")
            )));
        }
    }
    let need = |k: &str| -> Result<Option<&Value>, Response> {
        match map.get(k) {
            None if create => Err(bad(format!("Property '{k}' is required."))),
            v => Ok(v),
        }
    };
    if let Some(v) = need("displayName")? {
        match v.as_str() {
            Some(s) if !s.trim().is_empty() => rule.insert("displayName".into(), s.into()),
            _ => return Err(bad("Property 'displayName' must be a non-empty string.".into())),
        };
    }
    match map.get("isEnabled") {
        None if create => {
            rule.insert("isEnabled".into(), true.into());
        }
        None => {}
        Some(Value::Bool(b)) => {
            rule.insert("isEnabled".into(), (*b).into());
        }
        Some(_) => return Err(bad("Property 'isEnabled' must be a boolean.".into())),
    }
    if let Some(v) = need("queryCondition")? {
        let q = v.get("queryText").and_then(Value::as_str).filter(|s| !s.trim().is_empty());
        let Some(q) = q else {
            return Err(bad("Property 'queryCondition.queryText' is required (the KQL query of the rule).".into()));
        };
        rule.insert("queryCondition".into(), json!({"queryText": q, "lastModifiedDateTime": fmt_mde(now)}));
    }
    if let Some(v) = need("schedule")? {
        let p = v.get("period").and_then(Value::as_str).unwrap_or("");
        let Some(p) = PERIODS.iter().find(|x| x.eq_ignore_ascii_case(p)) else {
            return Err(bad(format!("Property 'schedule.period' must be one of {} (got '{p}').", PERIODS.join(", "))));
        };
        let next = now + Duration::seconds(period_seconds(p));
        rule.insert("schedule".into(), json!({"period": p, "nextRunDateTime": fmt_mde(next)}));
    }
    if let Some(v) = need("detectionAction")? {
        let t = v
            .get("alertTemplate")
            .ok_or_else(|| bad("Property 'detectionAction.alertTemplate' is required.".into()))?;
        let title = t.get("title").and_then(Value::as_str).filter(|s| !s.trim().is_empty());
        if title.is_none() {
            return Err(bad("Property 'detectionAction.alertTemplate.title' is required.".into()));
        }
        let sev = t.get("severity").and_then(Value::as_str).unwrap_or("");
        let Some(sev) = SEVERITIES.iter().find(|x| x.eq_ignore_ascii_case(sev)) else {
            return Err(bad(format!(
                "Property 'detectionAction.alertTemplate.severity' must be one of {}.",
                SEVERITIES.join(", ")
            )));
        };
        if t.get("category").and_then(Value::as_str).is_none_or(|s| s.trim().is_empty()) {
            return Err(
                bad("Property 'detectionAction.alertTemplate.category' is required (e.g. 'Execution').".into()),
            );
        }
        let assets = t.get("impactedAssets").cloned().unwrap_or(json!([]));
        if !assets.as_array().is_some_and(|a| a.iter().all(|x| x.get("identifier").and_then(Value::as_str).is_some())) {
            return Err(bad("Property 'detectionAction.alertTemplate.impactedAssets' must be an array of objects with an 'identifier' (e.g. 'deviceId').".into()));
        }
        let actions = v.get("responseActions").cloned().unwrap_or(json!([]));
        if !actions.is_array() {
            return Err(bad("Property 'detectionAction.responseActions' must be an array.".into()));
        }
        let mut template = t.clone();
        if let Some(o) = template.as_object_mut() {
            o.insert("severity".into(), (*sev).into());
            o.entry("description").or_insert(Value::Null);
            o.entry("recommendedActions").or_insert(Value::Null);
            o.entry("mitreTechniques").or_insert(json!([]));
            o.insert("impactedAssets".into(), assets);
        }
        rule.insert(
            "detectionAction".into(),
            json!({
                "alertTemplate": template,
                "organizationalScope": v.get("organizationalScope").cloned().unwrap_or(Value::Null),
                "responseActions": actions,
            }),
        );
    }
    Ok(())
}

fn not_found(id: &str, headers: &HeaderMap) -> Response {
    errors::graph(StatusCode::NOT_FOUND, "NotFound", format!("Detection rule '{id}' was not found."), headers)
}

fn ctx(state: &AppState, fragment: &str) -> String {
    format!("{}/beta/$metadata#{fragment}", state.base_url)
}

fn with_entity_ctx(state: &AppState, mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.insert("@odata.context".into(), ctx(state, "security/rules/detectionRules/$entity").into());
    }
    v
}

/// `$filter` / `$orderby` properties. Page sizes are not documented for this beta list; we use
/// 100 by default and at most 1,000 (the shared Graph security list options apply).
const FILTERABLE: &[&str] = &["id", "displayName", "isEnabled", "createdBy", "createdDateTime", "lastModifiedDateTime"];
const PAGE: (usize, usize) = (100, 1_000);

/// A collection through the shared entity-set layer: the set costs this handler and the
/// `FILTERABLE` row above.
async fn list(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    c.require(READ)?;
    let params = Params::parse(q.as_deref());
    super::security::check_options(&params, &["$filter", "$top", "$skip", "$orderby", "$count", "$select"], &headers)?;
    let items = {
        let world = state.world.lock();
        let t = world.tenant(&c.tenant_id).ok_or_else(|| forbidden(&headers))?;
        t.graph.detection_rules.items.clone()
    };
    let context = ctx(&state, "security/rules/detectionRules");
    super::security::page(
        &state,
        &uri,
        &headers,
        &params,
        items,
        FILTERABLE,
        "microsoft.graph.security.detectionRule",
        PAGE,
        context,
    )
}

async fn get_one(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !c.has_any_role(READ) {
        return forbidden(&headers);
    }
    let world = state.world.lock();
    let Some(t) = world.tenant(&c.tenant_id) else { return forbidden(&headers) };
    match t.graph.detection_rules.items.iter().find(|r| r["id"] == id.as_str()) {
        Some(r) => json_response(StatusCode::OK, with_entity_ctx(&state, r.clone())),
        None => not_found(&id, &headers),
    }
}

async fn create(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !c.has_any_role(WRITE) {
        return forbidden(&headers);
    }
    let now = state.clock.now();
    let mut rule = Map::new();
    if let Err(r) = merge(&mut rule, &body, true, &headers, now) {
        return r;
    }
    let mut world = state.world.lock();
    let Some(t) = world.tenant_mut(&c.tenant_id) else { return forbidden(&headers) };
    t.graph.detection_rules.next_id += 1;
    let id = 1000 + t.graph.detection_rules.next_id;
    let mut v = json!({
        "@odata.type": "#microsoft.graph.security.detectionRule",
        "id": id.to_string(),
        "createdBy": c.app_id,
        "createdDateTime": fmt_mde(now),
        "lastModifiedBy": c.app_id,
        "lastModifiedDateTime": fmt_mde(now),
        "detectorId": uuid::Uuid::new_v4().to_string(),
        "lastRunDetails": {"lastRunDateTime": null, "status": null, "failureReason": null, "errorCode": null},
    });
    if let Some(o) = v.as_object_mut() {
        o.extend(rule);
    }
    t.graph.detection_rules.items.push(v.clone());
    json_response(StatusCode::CREATED, with_entity_ctx(&state, v))
}

async fn update(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !c.has_any_role(WRITE) {
        return forbidden(&headers);
    }
    let now = state.clock.now();
    let mut world = state.world.lock();
    let Some(t) = world.tenant_mut(&c.tenant_id) else { return forbidden(&headers) };
    let Some(rule) = t.graph.detection_rules.items.iter_mut().find(|r| r["id"] == id.as_str()) else {
        return not_found(&id, &headers);
    };
    let mut updated = rule.as_object().cloned().unwrap_or_default();
    if let Err(r) = merge(&mut updated, &body, false, &headers, now) {
        return r;
    }
    updated.insert("lastModifiedBy".into(), c.app_id.clone().into());
    updated.insert("lastModifiedDateTime".into(), fmt_mde(now).into());
    *rule = Value::Object(updated);
    json_response(StatusCode::OK, with_entity_ctx(&state, rule.clone()))
}

async fn remove(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !c.has_any_role(WRITE) {
        return forbidden(&headers);
    }
    let mut world = state.world.lock();
    let Some(t) = world.tenant_mut(&c.tenant_id) else { return forbidden(&headers) };
    let before = t.graph.detection_rules.items.len();
    t.graph.detection_rules.items.retain(|r| r["id"] != id.as_str());
    if t.graph.detection_rules.items.len() == before {
        return not_found(&id, &headers);
    }
    StatusCode::NO_CONTENT.into_response()
}
