//! Carrying out a catalog [`Call`] plan: fill the template, fan out per device, gather results.

use crate::completion::Tracking;
use crate::{status, EngineError};
use catalog::{ActionSpec, Api, BodyValue, Call, Completion, Method, Params, Plan};
use futures::StreamExt;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;
use upstream::{ApiRequest, TenantCredentials, Upstream};
use uuid::Uuid;

/// How many per-device calls of one request run at once; the upstream budget still applies.
const FAN_OUT_CONCURRENCY: usize = 8;
/// Upper bound on items gathered by a paged read.
const MAX_PAGED_ITEMS: usize = 100_000;

/// What a plan produced upstream.
pub struct Carried {
    pub data: Value,
    pub request_ids: Vec<String>,
    /// Machine-action ids to track to a terminal state.
    pub machine_action_ids: Vec<String>,
    pub failed_targets: usize,
    /// An ARM or Graph long-running operation to follow (`completion::Tracking::from_answer`).
    pub follow: Option<Tracking>,
}

impl Carried {
    pub fn status(&self, spec: &ActionSpec) -> String {
        if spec.completion == Completion::MachineAction && !self.machine_action_ids.is_empty() {
            status::IN_PROGRESS.into()
        } else if self.follow.is_some() {
            // Microsoft accepted it (ARM 201/202, Graph 202): the tracker follows the monitor.
            status::IN_PROGRESS.into()
        } else if spec.completion == Completion::LiveResponse {
            // A live-response session is queued, then carried on in the background.
            status::IN_PROGRESS.into()
        } else if self.failed_targets > 0 {
            status::PARTIALLY_SUCCEEDED.into()
        } else {
            status::SUCCEEDED.into()
        }
    }

    pub fn tracking(&self) -> Option<Value> {
        if !self.machine_action_ids.is_empty() {
            return Some(Tracking::MachineActions(self.machine_action_ids.clone()).to_json());
        }
        self.follow.as_ref().map(Tracking::to_json)
    }
}

/// Which operation a call belongs to. MDE machine actions carry `[riposte:{op}]` in their
/// comment, so after a crash the engine can ask MDE whether the action was created before
/// submitting it again (`resume_since`: the operation's creation time, set on a resumed run).
#[derive(Debug, Clone, Copy)]
pub struct Marker {
    pub op: Uuid,
    pub resume_since: Option<OffsetDateTime>,
}

impl Marker {
    pub fn tag(&self) -> String {
        format!("[riposte:{}]", self.op)
    }
}

pub async fn carry_out(
    upstream: &Upstream,
    creds: &TenantCredentials,
    spec: &'static ActionSpec,
    params: &Params,
    marker: Marker,
) -> Result<Carried, EngineError> {
    let Plan::Call(call) = spec.plan else {
        return Err(EngineError::Internal(format!("{} has no plan", spec.name)));
    };
    match call.each {
        Some(list_param) => fan_out(upstream, creds, spec, &call, params, list_param, marker).await,
        None if call.paged => read_all_pages(upstream, creds, &call, params).await,
        None => single(upstream, creds, spec, &call, params, marker).await,
    }
}

/// Whether a call creates an MDE machine action (and so carries the marker in its comment).
fn creates_machine_action(spec: &ActionSpec, call: &Call) -> bool {
    spec.completion == Completion::MachineAction && call.api == Api::Mde && call.method == Method::Post
}

/// The request for one target, with the operation's marker appended to a machine action's comment.
fn marked_request(spec: &ActionSpec, call: &Call, params: &Params, each: Option<(&str, &str)>, marker: Marker) -> Result<ApiRequest, EngineError> {
    let mut req = request(call, params, each)?;
    if creates_machine_action(spec, call) {
        if let Some(Value::Object(body)) = req.body.as_mut() {
            let comment = body.get("Comment").and_then(Value::as_str).unwrap_or_default().trim().to_string();
            let tagged = if comment.is_empty() { marker.tag() } else { format!("{comment} {}", marker.tag()) };
            body.insert("Comment".into(), Value::String(tagged));
        }
    }
    Ok(req)
}

/// On a resumed run: the machine action this operation already created on `machine_id`, if MDE
/// has one carrying its marker (created since the operation started).
async fn already_created(upstream: &Upstream, creds: &TenantCredentials, machine_id: &str, marker: Marker) -> Result<Option<Value>, EngineError> {
    let Some(since) = marker.resume_since else { return Ok(None) };
    let since = (since - time::Duration::minutes(5)).format(&time::format_description::well_known::Rfc3339).map_err(|e| EngineError::Internal(e.to_string()))?;
    let req = ApiRequest {
        api: Api::Mde,
        method: Method::Get,
        path: "/api/machineactions".into(),
        query: vec![("$filter".into(), format!("machineId eq '{machine_id}' and creationDateTimeUtc ge {since}"))],
        body: None,
        group: catalog::Budget::Default,
    };
    let tag = marker.tag();
    let page = upstream.get_paged(creds, req, 1000).await?;
    Ok(page.items.into_iter().find(|a| a["requestorComment"].as_str().is_some_and(|c| c.contains(&tag))))
}

/// One target's call, unless a resumed run finds MDE already has it.
async fn call_once(upstream: &Upstream, creds: &TenantCredentials, spec: &ActionSpec, call: &Call, params: &Params, each: Option<(&str, &str)>, marker: Marker) -> Result<upstream::ApiResponse, EngineError> {
    if creates_machine_action(spec, call) {
        let machine = match each {
            Some((_, target)) => Some(target.to_string()),
            None => params.values().find_map(|v| v.as_str().filter(|s| catalog::params::is_machine_id(s)).map(String::from)),
        };
        if let Some(machine) = machine {
            if let Some(found) = already_created(upstream, creds, &machine, marker).await? {
                tracing::info!(operation = %marker.op, machine = %machine, "resumed: machine action already in MDE, attached");
                return Ok(attached(found));
            }
        }
    }
    match upstream.call(creds, marked_request(spec, call, params, each, marker)?).await {
        Ok(resp) => Ok(resp),
        Err(e) => {
            let e = EngineError::from(e);
            // A request sent before a crash may land after the restart looked for it: MDE then
            // refuses the second one as a duplicate, and the pending action carrying our marker
            // is this operation's own.
            if let (true, EngineError::UpstreamRejected { code, .. }) = (creates_machine_action(spec, call), &e) {
                if code == "ActiveRequestAlreadyExists" {
                    if let Some((_, machine)) = each {
                        if let Some(p) = find_pending_action(upstream, creds, machine).await {
                            if p["requestorComment"].as_str().is_some_and(|c| c.contains(&marker.tag())) {
                                return Ok(attached(p));
                            }
                        }
                    }
                }
            }
            Err(e)
        }
    }
}

/// A machine action found upstream, as if this run had just created it.
fn attached(action: Value) -> upstream::ApiResponse {
    upstream::ApiResponse { status: 201, body: action, request_id: None, location: None, async_operation: None, retry_after: None, attempts: 0 }
}

async fn single(
    upstream: &Upstream,
    creds: &TenantCredentials,
    spec: &ActionSpec,
    call: &Call,
    params: &Params,
    marker: Marker,
) -> Result<Carried, EngineError> {
    let resp = call_once(upstream, creds, spec, call, params, None, marker).await?;
    let machine_action_ids = machine_action_id(spec, &resp.body).into_iter().collect();
    let follow = Tracking::from_answer(spec.completion, &resp);
    Ok(Carried {
        data: resp.body,
        request_ids: resp.request_id.into_iter().collect(),
        machine_action_ids,
        failed_targets: 0,
        follow,
    })
}

async fn read_all_pages(
    upstream: &Upstream,
    creds: &TenantCredentials,
    call: &Call,
    params: &Params,
) -> Result<Carried, EngineError> {
    let max = params.get("top").and_then(Value::as_u64).map(|t| t as usize).unwrap_or(MAX_PAGED_ITEMS);
    let paged = upstream.get_paged(creds, request(call, params, None)?, max).await?;
    Ok(Carried {
        data: json!({ "count": paged.items.len(), "truncated": paged.truncated, "value": paged.items }),
        request_ids: paged.request_ids,
        machine_action_ids: vec![],
        failed_targets: 0,
        follow: None,
    })
}

/// One call per element of a list parameter (e.g. per device), with per-target results.
async fn fan_out(
    upstream: &Upstream,
    creds: &TenantCredentials,
    spec: &'static ActionSpec,
    call: &Call,
    params: &Params,
    list_param: &str,
    marker: Marker,
) -> Result<Carried, EngineError> {
    let targets: Vec<String> = params
        .get(list_param)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
        .unwrap_or_default();
    let results: Vec<(String, Result<upstream::ApiResponse, EngineError>)> = futures::stream::iter(targets)
        .map(|target| async move {
            let outcome = match call_once(upstream, creds, spec, call, params, Some((list_param, &target)), marker).await {
                Ok(resp) => Ok(resp),
                Err(e) => Err(explain_conflict(upstream, creds, spec, &target, e).await),
            };
            (target, outcome)
        })
        .buffered(FAN_OUT_CONCURRENCY)
        .collect()
        .await;
    gather(spec, results)
}

fn gather(spec: &ActionSpec, results: Vec<(String, Result<upstream::ApiResponse, EngineError>)>) -> Result<Carried, EngineError> {
    let total = results.len();
    let mut rows = Vec::with_capacity(total);
    let mut request_ids = Vec::new();
    let mut action_ids = Vec::new();
    let mut errors = Vec::new();
    for (target, outcome) in results {
        match outcome {
            Ok(resp) => {
                request_ids.extend(resp.request_id.clone());
                let id = machine_action_id(spec, &resp.body);
                action_ids.extend(id.clone());
                // A machine action answers a MachineAction; other per-device calls (startInvestigation:
                // an Investigation) answer their own entity.
                let key = if spec.completion == Completion::MachineAction { "machineAction" } else { "response" };
                let mut row = json!({
                    "deviceId": target, "success": true, "actionId": id,
                    "status": resp.body.get("status").or_else(|| resp.body.get("state")).cloned().unwrap_or(Value::Null),
                });
                row[key] = resp.body;
                rows.push(row);
            }
            Err(e) => {
                rows.push(json!({ "deviceId": target, "success": false, "error": crate::error_json(&e) }));
                errors.push(e);
            }
        }
    }
    // A request that failed for every target is an error, the first one speaking for all.
    if errors.len() == total {
        if let Some(first) = errors.into_iter().next() {
            return Err(first);
        }
    }
    // Machine actions count a target without an action id as failed; other calls count errors.
    let failed_targets = if spec.completion == Completion::MachineAction {
        total - action_ids.len().min(total)
    } else {
        rows.iter().filter(|r| r["success"] != true).count()
    };
    let mut data = Map::new();
    data.insert("deviceCount".into(), total.into());
    data.insert("actionIds".into(), json!(action_ids));
    if total == 1 {
        data.insert("actionId".into(), json!(action_ids.first()));
    }
    data.insert("results".into(), Value::Array(rows));
    Ok(Carried { data: Value::Object(data), request_ids, machine_action_ids: action_ids, failed_targets, follow: None })
}

/// Turn MDE's `ActiveRequestAlreadyExists` into a conflict that names the pending action.
async fn explain_conflict(
    upstream: &Upstream,
    creds: &TenantCredentials,
    spec: &ActionSpec,
    machine_id: &str,
    err: EngineError,
) -> EngineError {
    let EngineError::UpstreamRejected { code, .. } = &err else { return err };
    if code != "ActiveRequestAlreadyExists" {
        return err;
    }
    let pending = find_pending_action(upstream, creds, machine_id).await;
    let message = match &pending {
        Some(p) => format!(
            "{} on machine {machine_id} conflicts with pending action {} ({}, {}) requested by {}",
            spec.name,
            p["id"].as_str().unwrap_or("?"),
            p["type"].as_str().unwrap_or("?"),
            p["status"].as_str().unwrap_or("?"),
            p["requestor"].as_str().unwrap_or("?"),
        ),
        None => format!("{} on machine {machine_id} conflicts with an action already pending there", spec.name),
    };
    EngineError::PendingConflict { message, pending }
}

async fn find_pending_action(upstream: &Upstream, creds: &TenantCredentials, machine_id: &str) -> Option<Value> {
    let req = ApiRequest {
        api: Api::Mde,
        method: Method::Get,
        path: "/api/machineactions".into(),
        query: vec![("$filter".into(), format!("machineId eq '{machine_id}'"))],
        body: None,
        group: catalog::Budget::Default,
    };
    let page = upstream.get_paged(creds, req, 1000).await.ok()?;
    page.items
        .into_iter()
        .filter(|a| matches!(a["status"].as_str(), Some("Pending" | "InProgress")))
        .max_by(|a, b| a["creationDateTimeUtc"].as_str().cmp(&b["creationDateTimeUtc"].as_str()))
}

fn machine_action_id(spec: &ActionSpec, body: &Value) -> Option<String> {
    if spec.completion != Completion::MachineAction {
        return None;
    }
    body.get("id").and_then(Value::as_str).map(String::from)
}

/// Fill a call template: path placeholders, query and body from validated params.
pub fn request(call: &Call, params: &Params, each: Option<(&str, &str)>) -> Result<ApiRequest, EngineError> {
    // The catalog and upstream share one vocabulary (`crates/vocab`): nothing to translate.
    Ok(ApiRequest {
        api: call.api,
        method: call.method,
        path: fill_path(call.path, params, each)?,
        query: query(call, params),
        body: body(call, params)?,
        group: call.budget,
    })
}

/// Query parameters from params, with `filter_eq` clauses folded into `$filter`.
fn query(call: &Call, params: &Params) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = call
        .query
        .iter()
        .filter_map(|(name, p)| params.get(p).map(|v| (name.to_string(), scalar_text(v))))
        .collect();
    let clauses: Vec<String> = call
        .filter_eq
        .iter()
        .filter_map(|(field, p)| params.get(p).map(|v| format!("{field} eq '{}'", scalar_text(v).replace('\'', "''"))))
        .collect();
    if clauses.is_empty() {
        return pairs;
    }
    let joined = clauses.join(" and ");
    match pairs.iter_mut().find(|(k, _)| k == "$filter") {
        Some((_, existing)) => *existing = format!("({existing}) and {joined}"),
        None => pairs.push(("$filter".into(), joined)),
    }
    pairs
}

fn fill_path(template: &str, params: &Params, each: Option<(&str, &str)>) -> Result<String, EngineError> {
    let mut out = String::with_capacity(template.len() + 40);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .map(|e| start + e)
            .ok_or_else(|| EngineError::Internal(format!("bad path template {template}")))?;
        let name = &rest[start + 1..end];
        let value = match each {
            Some((p, v)) if p == name => v.to_string(),
            _ => params
                .get(name)
                .map(scalar_text)
                .ok_or_else(|| EngineError::Internal(format!("path parameter {name} missing after validation")))?,
        };
        out.push_str(&encode_segment(&value));
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn body(call: &Call, params: &Params) -> Result<Option<Value>, EngineError> {
    if call.body.is_empty() {
        return Ok(match call.method {
            Method::Post => Some(json!({})),
            _ => None,
        });
    }
    let mut map = Map::new();
    for (key, source) in call.body {
        let value = match source {
            BodyValue::Param(p) => match params.get(p) {
                Some(v) => v.clone(),
                None => continue,
            },
            BodyValue::Literal(lit) => serde_json::from_str(lit)
                .map_err(|e| EngineError::Internal(format!("bad literal {lit} in catalog: {e}")))?,
        };
        insert_at(&mut map, key, value);
    }
    Ok(Some(Value::Object(map)))
}

/// Put `value` at a body key; a key with `/` is a path into nested objects (Graph bodies such as
/// `queryCondition/queryText`), so one flat template can describe a nested body. `*` as the key
/// merges a JSON object param into the body root (a caller's Graph PATCH properties).
fn insert_at(map: &mut Map<String, Value>, key: &str, value: Value) {
    if key == "*" {
        if let Value::Object(fields) = value {
            for (k, v) in fields {
                map.entry(k).or_insert(v);
            }
        }
        return;
    }
    match key.split_once('/') {
        None => {
            map.insert(key.to_string(), value);
        }
        Some((head, rest)) => {
            let slot = map.entry(head.to_string()).or_insert_with(|| Value::Object(Map::new()));
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            if let Value::Object(inner) = slot {
                insert_at(inner, rest, value);
            }
        }
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Percent-encode one path segment (ids and UPNs only need the unreserved set plus '@').
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'@' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_placeholders_are_filled_and_encoded() {
        let mut p = Params::new();
        p.insert("userId", json!("a b@contoso.com"));
        let path = fill_path("/v1.0/users/{userId}/revokeSignInSessions", &p, None).unwrap();
        assert_eq!(path, "/v1.0/users/a%20b@contoso.com/revokeSignInSessions");
        let path = fill_path("/api/machines/{deviceIds}/isolate", &p, Some(("deviceIds", "abc"))).unwrap();
        assert_eq!(path, "/api/machines/abc/isolate");
        assert!(fill_path("/api/machines/{missing}", &p, None).is_err());
    }

    #[test]
    fn slash_keys_build_nested_bodies_and_star_merges() {
        let mut m = Map::new();
        insert_at(&mut m, "displayName", json!("r"));
        insert_at(&mut m, "queryCondition/queryText", json!("T | take 1"));
        insert_at(&mut m, "detectionAction/alertTemplate/title", json!("t"));
        insert_at(&mut m, "detectionAction/alertTemplate/severity", json!("high"));
        insert_at(&mut m, "*", json!({"displayName": "ignored: explicit keys win", "isEnabled": false}));
        assert_eq!(
            Value::Object(m),
            json!({"displayName": "r", "isEnabled": false, "queryCondition": {"queryText": "T | take 1"},
                   "detectionAction": {"alertTemplate": {"title": "t", "severity": "high"}}})
        );
    }

    #[test]
    fn equality_filters_join_the_caller_filter() {
        let call = Call::new(Api::Mde, Method::Get, "/api/machineactions")
            .query(&[("$filter", "filter")])
            .filter_eq(&[("machineId", "deviceId")]);
        let mut p = Params::new();
        p.insert("deviceId", json!("abc"));
        assert_eq!(query(&call, &p), vec![("$filter".to_string(), "machineId eq 'abc'".to_string())]);
        p.insert("filter", json!("status eq 'Pending'"));
        assert_eq!(query(&call, &p)[0].1, "(status eq 'Pending') and machineId eq 'abc'");
    }
}
