//! Carrying out a catalog [`Call`] plan: fill the template, fan out per target, gather results.
//!
//! Nothing here knows one API family from another. What a family adds (MDE: a marker in a machine
//! action's comment, looking for that marker on a resumed run, explaining a conflict with the
//! pending action) sits behind [`ApiHooks`], chosen by the call's API ([`hooks`]); bodies are
//! filled from their templates in [`body`].

pub(crate) mod body;
mod mde;

use crate::completion::Tracking;
use crate::{EngineError, status};
use catalog::{ActionSpec, Api, Call, Completion, Params, Plan};
use futures::StreamExt;
use futures::future::BoxFuture;
use serde_json::{Map, Value, json};
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

/// `(by alice@contoso.com via Riposte)`: who asked (the principal's name, an API key's name or
/// an Entra ID user's UPN), as MDE shows it in a machine action's comment, so Defender's own
/// history says who acted; empty when nobody is named.
pub fn by_line(by: &str) -> String {
    let by = by.trim();
    if by.is_empty() { String::new() } else { format!("(by {by} via Riposte)") }
}

pub async fn carry_out(
    upstream: &Upstream,
    creds: &TenantCredentials,
    spec: &'static ActionSpec,
    params: &Params,
    marker: Marker,
) -> Result<Carried, EngineError> {
    carry_out_by(upstream, creds, spec, params, marker, "").await
}

/// [`carry_out`] on behalf of `by` (the principal's name), which MDE machine actions name in
/// their comment ([`by_line`]).
pub async fn carry_out_by(
    upstream: &Upstream,
    creds: &TenantCredentials,
    spec: &'static ActionSpec,
    params: &Params,
    marker: Marker,
    by: &str,
) -> Result<Carried, EngineError> {
    let Plan::Call(call) = spec.plan else {
        return Err(EngineError::Internal(format!("{} has no plan", spec.name)));
    };
    let origin = Origin { marker, by };
    match call.each {
        Some(list_param) => fan_out(upstream, creds, spec, &call, params, list_param, origin).await,
        None if call.paged => read_all_pages(upstream, creds, &call, params).await,
        None => single(upstream, creds, spec, &call, params, origin).await,
    }
}

/// Which operation a call belongs to and on whose behalf it is made.
#[derive(Clone, Copy)]
struct Origin<'a> {
    marker: Marker,
    by: &'a str,
}

/// One target's call, as an API's hooks see it.
pub(crate) struct Target<'a> {
    pub upstream: &'a Upstream,
    pub creds: &'a TenantCredentials,
    pub spec: &'a ActionSpec,
    pub call: &'a Call,
    pub params: &'a Params,
    /// The list parameter fanned out over, and this target's element of it.
    pub each: Option<(&'a str, &'a str)>,
    pub marker: Marker,
    /// Who asked (the principal's name; empty when nobody is named).
    pub by: &'a str,
}

/// What one API family adds to carrying out a call; every hook defaults to doing nothing.
pub(crate) trait ApiHooks: Sync {
    /// Tag the request so a later run can recognise it upstream.
    fn mark(&self, _target: &Target<'_>, _req: &mut ApiRequest) {}

    /// Before sending, on a resumed run: the answer to a call this operation already made.
    fn already_done<'a>(
        &'a self,
        _target: &'a Target<'a>,
    ) -> BoxFuture<'a, Result<Option<upstream::ApiResponse>, EngineError>> {
        Box::pin(async { Ok(None) })
    }

    /// After upstream refused the call: the operation's own earlier call adopted, or the refusal
    /// explained (a conflict naming what is pending), or the refusal as it was.
    fn refused<'a>(
        &'a self,
        _target: &'a Target<'a>,
        err: EngineError,
    ) -> BoxFuture<'a, Result<upstream::ApiResponse, EngineError>> {
        Box::pin(async move { Err(err) })
    }
}

/// A family with nothing to add.
struct Plain;
impl ApiHooks for Plain {}

/// The hooks of the API a call goes to.
fn hooks(api: Api) -> &'static dyn ApiHooks {
    match api {
        Api::Mde => &mde::Mde,
        _ => &Plain,
    }
}

/// One target's call: a resumed run first asks whether it already happened; a refusal goes
/// through the API's hooks.
async fn call_once(target: &Target<'_>) -> Result<upstream::ApiResponse, EngineError> {
    let hooks = hooks(target.call.api);
    if let Some(done) = hooks.already_done(target).await? {
        return Ok(done);
    }
    let mut req = request(target.call, target.params, target.each)?;
    hooks.mark(target, &mut req);
    match target.upstream.call(target.creds, req).await {
        Ok(resp) => Ok(resp),
        Err(e) => hooks.refused(target, EngineError::from(e)).await,
    }
}

async fn single(
    upstream: &Upstream,
    creds: &TenantCredentials,
    spec: &ActionSpec,
    call: &Call,
    params: &Params,
    origin: Origin<'_>,
) -> Result<Carried, EngineError> {
    let Origin { marker, by } = origin;
    let resp = call_once(&Target { upstream, creds, spec, call, params, each: None, marker, by }).await?;
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

/// One call per element of a list parameter (per device, per user, ...), with per-target results.
async fn fan_out(
    upstream: &Upstream,
    creds: &TenantCredentials,
    spec: &'static ActionSpec,
    call: &Call,
    params: &Params,
    list_param: &str,
    origin: Origin<'_>,
) -> Result<Carried, EngineError> {
    let Origin { marker, by } = origin;
    let targets: Vec<String> = params
        .get(list_param)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
        .unwrap_or_default();
    let results: Vec<(String, Result<upstream::ApiResponse, EngineError>)> = futures::stream::iter(targets)
        .map(|target| async move {
            let each = Some((list_param, target.as_str()));
            let outcome = call_once(&Target { upstream, creds, spec, call, params, each, marker, by }).await;
            (target, outcome)
        })
        .buffered(FAN_OUT_CONCURRENCY)
        .collect()
        .await;
    gather(spec, list_param, results)
}

/// How per-target rows name their target: the singular of the list fanned out over
/// (`deviceIds` → `deviceId`; the catalog holds every `each` to a plural name).
fn row_key(list_param: &str) -> &str {
    list_param.strip_suffix('s').unwrap_or(list_param)
}

/// How the answer counts targets: `deviceIds` → `deviceCount`, `userIds` → `userCount`.
fn count_key(list_param: &str) -> String {
    let one = row_key(list_param);
    format!("{}Count", one.strip_suffix("Id").unwrap_or(one))
}

fn gather(
    spec: &ActionSpec,
    list_param: &str,
    results: Vec<(String, Result<upstream::ApiResponse, EngineError>)>,
) -> Result<Carried, EngineError> {
    let total = results.len();
    let key_of_target = row_key(list_param);
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
                    key_of_target: target, "success": true, "actionId": id,
                    "status": resp.body.get("status").or_else(|| resp.body.get("state")).cloned().unwrap_or(Value::Null),
                });
                row[key] = resp.body;
                rows.push(row);
            }
            Err(e) => {
                rows.push(json!({ key_of_target: target, "success": false, "error": crate::error_json(&e) }));
                errors.push(e);
            }
        }
    }
    // A request that failed for every target is an error, the first one speaking for all.
    if errors.len() == total
        && let Some(first) = errors.into_iter().next()
    {
        return Err(first);
    }
    // Machine actions count a target without an action id as failed; other calls count errors.
    let failed_targets = if spec.completion == Completion::MachineAction {
        total - action_ids.len().min(total)
    } else {
        rows.iter().filter(|r| r["success"] != true).count()
    };
    let mut data = Map::new();
    data.insert(count_key(list_param), total.into());
    data.insert("actionIds".into(), json!(action_ids));
    if total == 1 {
        data.insert("actionId".into(), json!(action_ids.first()));
    }
    data.insert("results".into(), Value::Array(rows));
    Ok(Carried { data: Value::Object(data), request_ids, machine_action_ids: action_ids, failed_targets, follow: None })
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
        body: body::body(call, params, OffsetDateTime::now_utc())?,
        group: call.budget,
    })
}

/// Query parameters from params, with `filter_eq` clauses folded into `$filter`.
fn query(call: &Call, params: &Params) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> =
        call.query.iter().filter_map(|(name, p)| params.get(p).map(|v| (name.to_string(), scalar_text(v)))).collect();
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

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Percent-encode one path segment (ids and UPNs only need the unreserved set plus '@').
pub(crate) fn encode_segment(s: &str) -> String {
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
    use catalog::Method;

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

    fn accepted(id: &str) -> upstream::ApiResponse {
        upstream::ApiResponse {
            status: 201,
            body: json!({"id": id, "status": "Pending"}),
            request_id: None,
            location: None,
            async_operation: None,
            retry_after: None,
            attempts: 0,
        }
    }

    #[test]
    fn fanned_out_rows_are_keyed_by_the_list_they_came_from() {
        let spec = catalog::Catalog::global().get(catalog::Product::Mde, "IsolateDevice").expect("IsolateDevice");
        let results =
            vec![("m1".to_string(), Ok(accepted("a1"))), ("m2".to_string(), Err(EngineError::UpstreamTimeout))];
        let carried = gather(spec, "deviceIds", results).unwrap();
        assert_eq!(carried.data["deviceCount"], 2);
        assert_eq!(carried.data["results"][0]["deviceId"], "m1");
        assert_eq!(carried.data["results"][1]["deviceId"], "m2");
        assert_eq!(carried.failed_targets, 1);
        let carried = gather(spec, "userIds", vec![("u1".to_string(), Ok(accepted("a2")))]).unwrap();
        assert_eq!(carried.data["userCount"], 1);
        assert_eq!(carried.data["results"][0]["userId"], "u1");
        assert!(carried.data["results"][0].get("deviceId").is_none());
    }
}
