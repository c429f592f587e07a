//! Azure Resource Manager (upstream-apis.md §5): a resource store behind ARM's generic
//! protocol, with provider rules for Microsoft.Network and Microsoft.Compute.
//!
//! Every request goes the same way: api-version present, path parsed ([`path`]), caller's
//! subscription, quota ([`quota`]), due operations settled ([`ops`]), then the target served:
//! ARM's own resources (subscription, resource groups) here, provider resources generically in
//! [`resource`] with per-type hooks ([`network`], [`compute`]) and api-versions checked
//! against [`types`]. Every answer carries `x-ms-request-id`, `x-ms-correlation-request-id`
//! and the remaining-quota header.

mod aks;
mod compute;
mod firewall;
mod hardening;
mod hybrid;
mod network;
mod ops;
mod path;
mod quota;
mod resource;
pub(crate) mod security;
mod sql;
mod storage;
mod types;
mod waf;
mod web;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{any, post};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::auth::ArmCaller;
use crate::errors::{self, json_response};
use crate::query::Params;
use crate::state::AppState;
use crate::world::Tenant;
use crate::world::arm::{ArmStore, Planned, RESOURCE_GROUPS};

use path::Target;

pub use ops::settle;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/subscriptions", any(handle))
        .route("/subscriptions/{*rest}", any(handle))
        .route("/_sandbox/arm/{tenant}/outcomes", post(inject_outcomes))
}

/// One ARM request, as the handlers need it.
pub(crate) struct Req {
    pub method: Method,
    pub api_version: String,
    pub params: Params,
    pub body: Bytes,
    pub base: String,
    pub now: OffsetDateTime,
    pub sub: String,
    pub run_seconds: i64,
    pub retry_after: u64,
}

impl Req {
    fn expand_instance_view(&self) -> bool {
        self.params.get("$expand").is_some_and(|e| e.eq_ignore_ascii_case("instanceView"))
    }
}

async fn handle(
    State(state): State<AppState>,
    ArmCaller(c): ArmCaller,
    method: Method,
    uri: Uri,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let class = quota::Class::of(&method);
    let (remaining, resp) = match serve(&state, &c.tenant_id, method, &uri, q, body) {
        Ok(pair) => pair,
        Err(resp) => (None, resp),
    };
    decorate(resp, &headers, class, remaining)
}

/// Request ids on every answer (the client's correlation id echoed, as ARM does) and the
/// remaining quota when the request was counted.
fn decorate(mut resp: Response, headers: &HeaderMap, class: quota::Class, remaining: Option<usize>) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let correlation = headers
        .get("x-ms-correlation-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| request_id.clone());
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert("x-ms-request-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(&correlation) {
        h.insert("x-ms-correlation-request-id", v);
    }
    if let Some(n) = remaining {
        h.insert(class.header(), HeaderValue::from(n));
    }
    resp
}

type Served = (Option<usize>, Response);

fn serve(
    state: &AppState,
    tenant_id: &str,
    method: Method,
    uri: &Uri,
    q: Option<String>,
    body: Bytes,
) -> Result<Served, Response> {
    let params = Params::parse(q.as_deref());
    let Some(api_version) = params.get("api-version").map(str::to_owned) else {
        return Err(errors::arm(
            StatusCode::BAD_REQUEST,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        ));
    };
    let (sub, target) = path::parse(uri.path()).ok_or_else(|| no_route(uri))?;
    let mut world = state.world.lock();
    let Some(sub) = sub else {
        let t = world.tenant(tenant_id).ok_or_else(unknown_tenant)?;
        types::check_resources_version(&api_version)?;
        let list = json!({"value": [subscription_json(t)], "count": {"type": "Total", "value": 1}});
        return Ok((None, ok_json(list)));
    };
    check_subscription(&world.tenants, tenant_id, &sub)?;
    let t = world.tenant_mut(tenant_id).ok_or_else(unknown_tenant)?;
    let remaining = quota::admit(state, &t.subscription_id, quota::Class::of(&method))?;
    let (run_seconds, retry_after) = {
        let s = state.settings.lock();
        (s.arm_operation_seconds, s.arm_retry_after_seconds)
    };
    let req = Req {
        method,
        api_version,
        params,
        body,
        base: state.base_url.clone(),
        now: state.clock.now(),
        sub: t.subscription_id.clone(),
        run_seconds,
        retry_after,
    };
    ops::settle(&mut t.arm, req.now);
    let subscription = subscription_json(t);
    let resp = match dispatch(&req, &mut t.arm, target, subscription) {
        Ok(r) | Err(r) => r,
    };
    if req.method == Method::POST && resp.status() == StatusCode::NO_CONTENT {
        // A Defender for Cloud alert's state action: Defender XDR's copy follows.
        crate::graph::cloud_alerts::sync_from_defender_for_cloud(t, req.now);
    }
    Ok((Some(remaining), resp))
}

fn dispatch(req: &Req, store: &mut ArmStore, target: Target, subscription: Value) -> Result<Response, Response> {
    match target {
        Target::Subscriptions => Err(no_route_text()),
        Target::Subscription => {
            only_get(req)?;
            types::check_resources_version(&req.api_version)?;
            Ok(ok_json(subscription))
        }
        Target::Groups => {
            only_get(req)?;
            types::check_resources_version(&req.api_version)?;
            let scope = store.subscription_scope();
            Ok(list_json(store.list(RESOURCE_GROUPS, &scope).into_iter().map(|r| r.body.clone())))
        }
        Target::Group(rg) => resource::group(req, store, &rg),
        Target::GenericResources(rg) => resource::generic_list(req, store, rg.as_deref()),
        Target::ProviderList { ns, ty } => resource::subscription_list(req, store, &ns, &ty),
        Target::Operation { ns, location: _, id, result } => poll(req, store, &ns, &id, result),
        Target::InGroup(p) => resource::in_group(req, store, &p),
        Target::Extension(e) if hardening::addresses(&e) => hardening::serve(req, store, &e),
        Target::Extension(e) => security::serve(req, store, &e),
    }
}

/// GET on an operation-status resource (`operations`) or its result (`operationResults`).
fn poll(req: &Req, store: &ArmStore, ns: &str, id: &str, result: bool) -> Result<Response, Response> {
    only_get(req)?;
    let versions = types::namespace_versions(ns);
    if types::namespace(ns).is_none() {
        return Err(types::unknown(ns, "locations/operations", &req.api_version));
    }
    let t =
        types::ResourceType { kind: "locations/operations", versions, writes: types::Writes::ReadOnly, tracked: false };
    types::check_version(&req.api_version, &t, "westeurope")?;
    let op = store.operation(id).filter(|o| o.namespace.eq_ignore_ascii_case(ns)).ok_or_else(|| {
        errors::arm(StatusCode::NOT_FOUND, "NotFound", format!("The operation '{id}' could not be found."))
    })?;
    if !result {
        return Ok(ops::poll_status(op, &req.sub, req.retry_after));
    }
    let body = store.get(&op.resource_id).map(|r| resource::render(store, r, false));
    let url = format!(
        "{}/subscriptions/{}/providers/{}/locations/{}/operationResults/{}?api-version={}",
        req.base, req.sub, op.namespace, op.location, op.id, req.api_version
    );
    Ok(ops::poll_result(op, body, &url, req.retry_after))
}

fn check_subscription(tenants: &[Tenant], tenant_id: &str, sub: &str) -> Result<(), Response> {
    let mine =
        tenants.iter().find(|t| t.tenant_id == tenant_id).is_some_and(|t| t.subscription_id.eq_ignore_ascii_case(sub));
    if mine {
        return Ok(());
    }
    if tenants.iter().any(|t| t.subscription_id.eq_ignore_ascii_case(sub)) {
        return Err(errors::arm(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationTokenTenant",
            format!(
                "The access token is from the wrong issuer. It must match the tenant associated with subscription '{sub}'."
            ),
        ));
    }
    Err(errors::arm(
        StatusCode::NOT_FOUND,
        "SubscriptionNotFound",
        format!("The subscription '{sub}' could not be found."),
    ))
}

fn unknown_tenant() -> Response {
    errors::arm(StatusCode::UNAUTHORIZED, "InvalidAuthenticationTokenTenant", "Unknown tenant.")
}

fn no_route(uri: &Uri) -> Response {
    errors::arm(
        StatusCode::NOT_FOUND,
        "NotFound",
        format!("No HTTP resource was found that matches the request URI '{}'.", uri.path()),
    )
}

fn no_route_text() -> Response {
    errors::arm(StatusCode::NOT_FOUND, "NotFound", "No HTTP resource was found that matches the request URI.")
}

pub(crate) fn only_get(req: &Req) -> Result<(), Response> {
    if req.method == Method::GET {
        return Ok(());
    }
    Err(method_not_allowed(&req.method))
}

pub(crate) fn method_not_allowed(method: &Method) -> Response {
    errors::arm(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        format!("The requested resource does not support http method '{method}'."),
    )
}

pub(crate) fn ok_json(body: Value) -> Response {
    json_response(StatusCode::OK, body)
}

pub(crate) fn list_json(items: impl Iterator<Item = Value>) -> Response {
    ok_json(json!({"value": items.collect::<Vec<_>>()}))
}

fn subscription_json(t: &Tenant) -> Value {
    json!({
        "id": format!("/subscriptions/{}", t.subscription_id),
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": t.subscription_id,
        "tenantId": t.tenant_id,
        "displayName": format!("{} Production", t.display_name),
        "state": "Enabled",
        "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off"},
    })
}

/// `POST /_sandbox/arm/{tenant}/outcomes`: how the next ARM operations of the tenant end.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OutcomeSpec {
    /// `Failed` or `Canceled`.
    status: String,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    /// How many operations (default 1).
    #[serde(default)]
    count: Option<usize>,
}

async fn inject_outcomes(State(state): State<AppState>, Path(tenant): Path<String>, body: Bytes) -> Response {
    let spec: OutcomeSpec = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => return errors::admin(StatusCode::BAD_REQUEST, format!("invalid body: {e}")),
    };
    let code = spec.code.unwrap_or_else(|| "InternalServerError".into());
    let planned = match spec.status.to_ascii_lowercase().as_str() {
        "failed" => Planned::Fail {
            code,
            message: spec.message.unwrap_or_else(|| "An internal execution error occurred. Please retry later.".into()),
        },
        "canceled" => Planned::Cancel {
            code: if code == "InternalServerError" { "OperationCanceled".into() } else { code },
            message: spec.message.unwrap_or_else(|| "The operation was canceled.".into()),
        },
        other => {
            return errors::admin(StatusCode::BAD_REQUEST, format!("status must be Failed or Canceled, not '{other}'"));
        }
    };
    let mut world = state.world.lock();
    let Some(t) = world.tenant_mut(&tenant) else {
        return errors::admin(StatusCode::NOT_FOUND, format!("no tenant {tenant}"));
    };
    for _ in 0..spec.count.unwrap_or(1) {
        t.arm.injected.push_back(planned.clone());
    }
    json_response(StatusCode::OK, json!({"queued": t.arm.injected.len()}))
}

/// The ARM part of `/_sandbox/state/{tenant}`: VMs with their power state, every resource's
/// provisioning state, and the operations.
pub fn state_json(store: &ArmStore) -> (Value, Value) {
    let vms: Vec<Value> = store
        .vms()
        .into_iter()
        .map(|v| {
            json!({
                "name": v.name(),
                "id": v.id,
                "resourceGroup": v.resource_group(),
                "powerState": v.power_state,
                "provisioningState": v.provisioning_state(),
                "machineId": v.body.pointer("/tags/mdeMachineId"),
            })
        })
        .collect();
    let resources: Vec<Value> = store
        .all_under(&store.subscription_scope())
        .into_iter()
        .map(|r| {
            json!({"id": r.id, "type": r.kind, "provisioningState": r.provisioning_state(),
                   "properties": r.body.get("properties"), "tags": r.body.get("tags")})
        })
        .collect();
    let sub = store.subscription_id.clone();
    let operations: Vec<Value> = store
        .operations
        .iter()
        .map(|o| {
            let mut v = ops::status_json(o, &sub);
            v["resourceId"] = o.resource_id.clone().into();
            v
        })
        .collect();
    (Value::Array(vms), json!({"resources": resources, "operations": operations}))
}
