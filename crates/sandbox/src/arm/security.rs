//! Extension providers at any scope (upstream-apis.md §5.5): Defender for Cloud
//! (`Microsoft.Security`: pricings, alerts and their state actions, assessments, secure scores,
//! regulatory compliance, JIT policies and their `initiate`, Defender for Storage settings),
//! Microsoft Sentinel (`Microsoft.SecurityInsights`: watchlists and their items, automation
//! rules) and RBAC role assignments (`Microsoft.Authorization`), plus the RBAC check the data
//! providers' writes go through.
//!
//! An extension resource's id is `{scope}/providers/{ns}/{type}/{name}`, where the scope is the
//! subscription, a resource group or a resource (a storage account, a workspace). Writes are
//! synchronous (200 / 201; alert actions 204; JIT `initiate` 202 with the request).
//!
//! RBAC: the app's role assignments at the subscription (`world/mdc.rs` seeds Reader,
//! Contributor, Security Admin and User Access Administrator) decide each request; a missing
//! role is ARM's 403 `AuthorizationFailed` naming the action and scope.

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::path::ExtensionPath;
use super::types::{self, ResourceType, Writes};
use super::{Req, list_json, method_not_allowed, ok_json, ops};
use crate::clock::fmt_utc;
use crate::errors::{self, json_response};
use crate::world::arm::{ArmStore, Resource};
use crate::world::mdc::{
    ALERTS, ASSESSMENTS, AUTOMATION_RULES, COMPLIANCE_STANDARDS, DEFENDER_FOR_STORAGE, JIT_POLICIES, PRICINGS,
    ROLE_ASSIGNMENTS, SECURE_SCORES, WATCHLIST_ITEMS, WATCHLISTS,
};

/// What a request needs the caller to hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    /// Defender for Cloud settings and alert state: Security Admin (or Contributor / Owner).
    SecurityWrite,
    /// Resource writes (Storage, SQL, Sentinel): Contributor or Owner.
    ResourceWrite,
    /// Role assignments: Owner or User Access Administrator.
    RoleWrite,
}

impl Access {
    fn roles(self) -> &'static [&'static str] {
        match self {
            Access::Read => &["Reader", "Security Reader", "Security Admin", "Contributor", "Owner"],
            Access::SecurityWrite => &["Security Admin", "Contributor", "Owner"],
            Access::ResourceWrite => &["Contributor", "Owner"],
            Access::RoleWrite => &["User Access Administrator", "Owner"],
        }
    }
}

/// The role names assigned at the subscription.
pub(crate) fn assigned_roles(store: &ArmStore) -> Vec<String> {
    store
        .list(ROLE_ASSIGNMENTS, &store.subscription_scope())
        .into_iter()
        .filter_map(|r| r.body.pointer("/properties/roleName").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

/// Ok when a role assigned at the subscription grants `access`; else 403 `AuthorizationFailed`.
pub fn authorize(store: &ArmStore, access: Access, action: &str, scope: &str) -> Result<(), Response> {
    let held = assigned_roles(store);
    if access.roles().iter().any(|r| held.iter().any(|h| h.eq_ignore_ascii_case(r))) {
        return Ok(());
    }
    Err(errors::arm(
        StatusCode::FORBIDDEN,
        "AuthorizationFailed",
        format!(
            "The client does not have authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your credentials."
        ),
    ))
}

/// How a type takes writes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Write {
    ReadOnly,
    /// PUT creates or replaces (DELETE not offered).
    Put,
    /// PUT and DELETE.
    PutDelete,
}

struct Spec {
    ns: &'static str,
    /// Type path below the namespace, without `locations/{loc}`.
    ty: &'static str,
    kind: &'static str,
    versions: &'static [&'static str],
    write: Write,
    access: Access,
    /// Lives under `locations/{ascLocation}`.
    located: bool,
}

const SECURITY: &str = "Microsoft.Security";
const SENTINEL: &str = "Microsoft.SecurityInsights";
const SENTINEL_VERSIONS: &[&str] = &["2021-10-01", "2022-11-01", "2023-02-01", "2024-03-01"];

const SPECS: &[Spec] = &[
    Spec {
        ns: SECURITY,
        ty: "pricings",
        kind: PRICINGS,
        versions: &["2018-06-01", "2022-03-01", "2023-01-01", "2024-01-01"],
        write: Write::Put,
        access: Access::SecurityWrite,
        located: false,
    },
    Spec {
        ns: SECURITY,
        ty: "alerts",
        kind: ALERTS,
        versions: &["2019-01-01", "2020-01-01", "2021-01-01", "2022-01-01"],
        write: Write::ReadOnly,
        access: Access::SecurityWrite,
        located: true,
    },
    Spec {
        ns: SECURITY,
        ty: "assessments",
        kind: ASSESSMENTS,
        versions: &["2019-01-01-preview", "2020-01-01", "2021-06-01"],
        write: Write::ReadOnly,
        access: Access::SecurityWrite,
        located: false,
    },
    Spec {
        ns: SECURITY,
        ty: "secureScores",
        kind: SECURE_SCORES,
        versions: &["2020-01-01"],
        write: Write::ReadOnly,
        access: Access::SecurityWrite,
        located: false,
    },
    Spec {
        ns: SECURITY,
        ty: "regulatoryComplianceStandards",
        kind: COMPLIANCE_STANDARDS,
        versions: &["2019-01-01-preview"],
        write: Write::ReadOnly,
        access: Access::SecurityWrite,
        located: false,
    },
    Spec {
        ns: SECURITY,
        ty: "jitNetworkAccessPolicies",
        kind: JIT_POLICIES,
        versions: &["2015-06-01-preview", "2020-01-01"],
        write: Write::PutDelete,
        access: Access::SecurityWrite,
        located: true,
    },
    Spec {
        ns: SECURITY,
        ty: "defenderForStorageSettings",
        kind: DEFENDER_FOR_STORAGE,
        versions: &["2022-12-01-preview", "2025-01-01"],
        write: Write::Put,
        access: Access::SecurityWrite,
        located: false,
    },
    Spec {
        ns: "Microsoft.Authorization",
        ty: "roleAssignments",
        kind: ROLE_ASSIGNMENTS,
        versions: &["2015-07-01", "2020-04-01-preview", "2022-04-01"],
        write: Write::PutDelete,
        access: Access::RoleWrite,
        located: false,
    },
    Spec {
        ns: SENTINEL,
        ty: "watchlists",
        kind: WATCHLISTS,
        versions: SENTINEL_VERSIONS,
        write: Write::PutDelete,
        access: Access::ResourceWrite,
        located: false,
    },
    Spec {
        ns: SENTINEL,
        ty: "watchlists/watchlistItems",
        kind: WATCHLIST_ITEMS,
        versions: SENTINEL_VERSIONS,
        write: Write::PutDelete,
        access: Access::ResourceWrite,
        located: false,
    },
    Spec {
        ns: SENTINEL,
        ty: "automationRules",
        kind: AUTOMATION_RULES,
        versions: SENTINEL_VERSIONS,
        write: Write::PutDelete,
        access: Access::ResourceWrite,
        located: false,
    },
];

/// What the segments after the namespace address.
struct Route {
    /// `locations/{loc}` when present.
    location: Option<String>,
    /// `(type, name)` pairs below the location.
    pairs: Vec<(String, String)>,
    tail: Option<String>,
}

impl Route {
    fn parse(rest: &[String]) -> Route {
        let (location, rest) = match rest {
            [l, loc, more @ ..] if l.eq_ignore_ascii_case("locations") && !more.is_empty() => (Some(loc.clone()), more),
            _ => (None, rest),
        };
        let pairs = rest.chunks_exact(2).map(|c| (c[0].clone(), c[1].clone())).collect();
        let tail = (rest.len() % 2 == 1).then(|| rest[rest.len() - 1].clone());
        Route { location, pairs, tail }
    }

    fn type_path(&self, with_tail: bool) -> String {
        let mut parts: Vec<&str> = self.pairs.iter().map(|(t, _)| t.as_str()).collect();
        if with_tail && let Some(t) = &self.tail {
            parts.push(t);
        }
        parts.join("/")
    }
}

fn spec(ns: &str, ty: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.ns.eq_ignore_ascii_case(ns) && s.ty.eq_ignore_ascii_case(ty))
}

fn check_version(req: &Req, s: &Spec) -> Result<(), Response> {
    let t = ResourceType { kind: s.kind, versions: s.versions, writes: Writes::Sync, tracked: false };
    types::check_version(&req.api_version, &t, crate::world::mdc::ASC_LOCATION)
}

fn bad(code: &str, message: impl Into<String>) -> Response {
    errors::arm(StatusCode::BAD_REQUEST, code, message)
}

fn not_found(kind: &str, name: &str) -> Response {
    errors::arm(StatusCode::NOT_FOUND, "NotFound", format!("The {kind} '{name}' could not be found."))
}

/// Serves `{scope}/providers/{ns}/...`.
pub fn serve(req: &Req, store: &mut ArmStore, e: &ExtensionPath) -> Result<Response, Response> {
    check_scope(store, &e.scope)?;
    let route = Route::parse(&e.rest);
    if route.pairs.is_empty() {
        let ty = route.tail.clone().unwrap_or_default();
        let s = spec(e.ns, &ty)
            .filter(|s| s.located || route.location.is_none())
            .ok_or_else(|| types::unknown(e.ns, &ty, &req.api_version))?;
        return list(req, store, s, e, route.location.as_deref());
    }
    if let Some(s) = route.tail.as_ref().and_then(|_| spec(e.ns, &route.type_path(true))) {
        let parent = resource_id(e, &Route { tail: None, ..Route::parse(&e.rest) });
        if store.get(&parent).is_none() {
            return Err(not_found("parent resource", &parent));
        }
        return list_children(req, store, s, &parent);
    }
    // A location-scoped type is addressed under `locations/{loc}`, the others never are.
    let s = spec(e.ns, &route.type_path(false))
        .filter(|s| s.located == route.location.is_some())
        .ok_or_else(|| types::unknown(e.ns, &route.type_path(false), &req.api_version))?;
    check_version(req, s)?;
    let id = resource_id(e, &Route { tail: None, location: route.location.clone(), pairs: route.pairs.clone() });
    if let Some(action) = &route.tail {
        return post_action(req, store, s, &id, action);
    }
    match req.method {
        Method::GET => {
            authorize(store, Access::Read, &format!("{}/read", s.kind), &id)?;
            let r = store.get(&id).ok_or_else(|| not_found(s.ty, name_of(&id)))?;
            Ok(ok_json(r.body.clone()))
        }
        Method::PUT if s.write != Write::ReadOnly => {
            authorize(store, s.access, &format!("{}/write", s.kind), &id)?;
            put(req, store, s, e, &id, route.location.as_deref())
        }
        Method::DELETE if s.write == Write::PutDelete => {
            authorize(store, s.access, &format!("{}/delete", s.kind), &id)?;
            match store.get(&id).map(|r| r.body.clone()) {
                Some(body) => {
                    store.remove_tree(&id);
                    Ok(ok_json(body))
                }
                None => Ok(ops::empty(StatusCode::NO_CONTENT)),
            }
        }
        ref m => Err(method_not_allowed(m)),
    }
}

fn name_of(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or("")
}

/// A resource scope (one with `/providers/` in it) must exist; subscription and group scopes
/// are checked by ARM itself.
fn check_scope(store: &ArmStore, scope: &str) -> Result<(), Response> {
    if !scope.to_ascii_lowercase().contains("/providers/") || store.get(scope).is_some() {
        return Ok(());
    }
    Err(errors::arm(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        format!(
            "The Resource '{scope}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
        ),
    ))
}

fn resource_id(e: &ExtensionPath, r: &Route) -> String {
    let mut id = format!("{}/providers/{}", e.scope, e.ns);
    if let Some(loc) = &r.location {
        id = format!("{id}/locations/{loc}");
    }
    for (t, n) in &r.pairs {
        id = format!("{id}/{t}/{n}");
    }
    id
}

/// A list at a scope: every resource of the type under it (location-scoped types filtered to
/// the location when one is given); pricings and Defender for Storage settings only at the
/// scope itself.
fn list(
    req: &Req,
    store: &ArmStore,
    s: &Spec,
    e: &ExtensionPath,
    location: Option<&str>,
) -> Result<Response, Response> {
    if req.method != Method::GET {
        return Err(method_not_allowed(&req.method));
    }
    check_version(req, s)?;
    authorize(store, Access::Read, &format!("{}/read", s.kind), &e.scope)?;
    let own = format!("{}/providers/{}/", e.scope, e.ns).to_ascii_lowercase();
    let marker = location.map(|l| format!("/locations/{}/", l.to_ascii_lowercase()));
    let exact_scope = matches!(s.kind, PRICINGS | DEFENDER_FOR_STORAGE);
    let principal = match s.kind {
        ROLE_ASSIGNMENTS => role_assignment_filter(req.params.get("$filter"))?,
        _ => None,
    };
    let items = store
        .list(s.kind, &e.scope)
        .into_iter()
        .filter(|r| {
            let id = r.id.to_ascii_lowercase();
            marker.as_ref().is_none_or(|m| id.contains(m.as_str())) && (!exact_scope || id.starts_with(&own))
        })
        .filter(|r| {
            principal.as_deref().is_none_or(|p| {
                r.body
                    .pointer("/properties/principalId")
                    .and_then(Value::as_str)
                    .is_some_and(|h| h.eq_ignore_ascii_case(p))
            })
        })
        .map(|r| r.body.clone());
    Ok(list_json(items))
}

/// Role assignments' `$filter`: `principalId eq '{id}'` or `assignedTo('{id}')` (the principal
/// whose assignments to list), `atScope()` (every assignment here is at the scope listed); an
/// unsupported filter is ARM's 400.
fn role_assignment_filter(filter: Option<&str>) -> Result<Option<String>, Response> {
    let Some(f) = filter.map(str::trim).filter(|f| !f.is_empty()) else { return Ok(None) };
    if f.eq_ignore_ascii_case("atScope()") {
        return Ok(None);
    }
    let quoted = |rest: &str| rest.trim().trim_end_matches(')').trim().trim_matches('\'').to_string();
    let lower = f.to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix("principalid eq ") {
        return Ok(Some(quoted(&f[f.len() - rest.len()..])));
    }
    if lower.starts_with("assignedto(") {
        return Ok(Some(quoted(&f["assignedTo(".len()..])));
    }
    Err(bad(
        "InvalidFilterInQueryString",
        format!(
            "The filter '{f}' is not supported. Supported filters: atScope(), principalId eq '{{id}}', assignedTo('{{id}}')."
        ),
    ))
}

fn list_children(req: &Req, store: &ArmStore, s: &Spec, parent: &str) -> Result<Response, Response> {
    if req.method != Method::GET {
        return Err(method_not_allowed(&req.method));
    }
    check_version(req, s)?;
    authorize(store, Access::Read, &format!("{}/read", s.kind), parent)?;
    Ok(list_json(store.list(s.kind, parent).into_iter().map(|r| r.body.clone())))
}

fn body_props(req: &Req) -> Result<Map<String, Value>, Response> {
    let body: Value = serde_json::from_slice(&req.body).map_err(|e| {
        bad("InvalidRequestContent", format!("The request content was invalid and could not be deserialized: '{e}'."))
    })?;
    match body.get("properties") {
        Some(Value::Object(p)) => Ok(p.clone()),
        _ => Err(bad("InvalidRequestContent", "The request body must carry a 'properties' object.")),
    }
}

fn put(
    req: &Req,
    store: &mut ArmStore,
    s: &Spec,
    e: &ExtensionPath,
    id: &str,
    location: Option<&str>,
) -> Result<Response, Response> {
    let props = body_props(req)?;
    let existing = store.get(id).cloned();
    let name = name_of(id).to_string();
    let props = match s.kind {
        PRICINGS => pricing(req, existing.as_ref(), e, &name, props)?,
        DEFENDER_FOR_STORAGE => defender_for_storage(props)?,
        JIT_POLICIES => jit_policy(store, props)?,
        WATCHLISTS => watchlist(req, existing.as_ref(), &name, props)?,
        WATCHLIST_ITEMS => watchlist_item(req, existing.as_ref(), &name, props)?,
        AUTOMATION_RULES => automation_rule(props)?,
        _ => return Err(method_not_allowed(&req.method)),
    };
    let mut body = json!({"id": id, "name": name, "type": s.kind, "properties": props});
    if s.kind == JIT_POLICIES {
        body["kind"] = "Basic".into();
        body["location"] = location.unwrap_or(crate::world::mdc::ASC_LOCATION).into();
        body["type"] = "Microsoft.Security/locations/jitNetworkAccessPolicies".into();
        if let Some(requests) = existing.as_ref().and_then(|r| r.body.pointer("/properties/requests")).cloned() {
            body["properties"]["requests"] = requests;
        }
    }
    if s.ns == SENTINEL {
        body["etag"] = format!("\"{}\"", uuid::Uuid::new_v4()).into();
    }
    let created = store.put(Resource::new(id.to_string(), s.kind, body.clone()));
    Ok(json_response(if created { StatusCode::CREATED } else { StatusCode::OK }, body))
}

/// `pricingTier` `Free` or `Standard` (and an optional `subPlan`); only the subscription's known
/// plans, or Defender for Servers on one machine (resource-level pricing, 2024-01-01).
fn pricing(
    req: &Req,
    existing: Option<&Resource>,
    e: &ExtensionPath,
    name: &str,
    mut props: Map<String, Value>,
) -> Result<Map<String, Value>, Response> {
    let resource_level = e.scope.to_ascii_lowercase().contains("/providers/");
    if existing.is_none() && !(resource_level && name.eq_ignore_ascii_case("VirtualMachines")) {
        return Err(not_found("pricing", name));
    }
    let tier = match props.get("pricingTier").and_then(Value::as_str) {
        Some(t) if t.eq_ignore_ascii_case("Standard") => "Standard",
        Some(t) if t.eq_ignore_ascii_case("Free") => "Free",
        other => {
            return Err(bad(
                "InvalidInputJson",
                format!("pricingTier must be 'Free' or 'Standard', not {}.", other.unwrap_or("absent")),
            ));
        }
    };
    props.insert("pricingTier".into(), tier.into());
    props.insert("freeTrialRemainingTime".into(), "PT0S".into());
    props.insert("deprecated".into(), false.into());
    let was_on =
        existing.and_then(|r| r.body.pointer("/properties/pricingTier")).and_then(Value::as_str) == Some("Standard");
    match (tier, was_on) {
        ("Standard", true) => {
            let since = existing.and_then(|r| r.body.pointer("/properties/enablementTime")).cloned();
            props.insert("enablementTime".into(), since.unwrap_or_else(|| fmt_utc(req.now).into()));
        }
        ("Standard", false) => {
            props.insert("enablementTime".into(), fmt_utc(req.now).into());
        }
        _ => {
            props.remove("enablementTime");
            props.remove("subPlan");
        }
    }
    Ok(props)
}

/// Defender for Storage on one account: `isEnabled`, with malware scanning on upload capped at
/// 5,000 GB a month unless the caller sets a cap (the portal's default).
fn defender_for_storage(mut props: Map<String, Value>) -> Result<Map<String, Value>, Response> {
    if !props.get("isEnabled").is_some_and(Value::is_boolean) {
        return Err(bad("InvalidInputJson", "properties.isEnabled must be true or false."));
    }
    let on_upload = props.get("malwareScanning").and_then(|m| m.get("onUpload")).cloned().unwrap_or(Value::Null);
    let scanning = on_upload.get("isEnabled").and_then(Value::as_bool).unwrap_or(false);
    let cap = on_upload.get("capGBPerMonth").cloned().unwrap_or(json!(5000));
    props.insert(
        "malwareScanning".into(),
        json!({"onUpload": {"isEnabled": scanning, "capGBPerMonth": cap}, "scanResultsEventGridTopicResourceId": null}),
    );
    Ok(props)
}

/// A JIT policy names existing VMs, each with at least one port.
fn jit_policy(store: &ArmStore, mut props: Map<String, Value>) -> Result<Map<String, Value>, Response> {
    let vms = props.get("virtualMachines").and_then(Value::as_array).cloned().unwrap_or_default();
    if vms.is_empty() {
        return Err(bad("InvalidInputJson", "properties.virtualMachines must list at least one virtual machine."));
    }
    for vm in &vms {
        let id = vm.get("id").and_then(Value::as_str).unwrap_or("");
        if store.get(id).is_none() {
            return Err(bad("VirtualMachineNotFound", format!("The virtual machine '{id}' was not found.")));
        }
        if vm.get("ports").and_then(Value::as_array).is_none_or(Vec::is_empty) {
            return Err(bad("InvalidInputJson", format!("The virtual machine '{id}' needs at least one port.")));
        }
    }
    props.insert("requests".into(), json!([]));
    props.insert("provisioningState".into(), "Succeeded".into());
    Ok(props)
}

fn watchlist(
    req: &Req,
    existing: Option<&Resource>,
    alias: &str,
    mut props: Map<String, Value>,
) -> Result<Map<String, Value>, Response> {
    for field in ["displayName", "provider", "itemsSearchKey"] {
        if props.get(field).and_then(Value::as_str).is_none_or(|v| v.trim().is_empty()) {
            return Err(bad("BadRequest", format!("properties.{field} is required.")));
        }
    }
    let created = existing.and_then(|r| r.body.pointer("/properties/created")).cloned();
    let id = existing.and_then(|r| r.body.pointer("/properties/watchlistId")).cloned();
    props.insert("watchlistAlias".into(), alias.into());
    props.insert("watchlistId".into(), id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string().into()));
    props.insert("created".into(), created.unwrap_or_else(|| fmt_utc(req.now).into()));
    props.insert("updated".into(), fmt_utc(req.now).into());
    props.entry("source").or_insert_with(|| "Riposte".into());
    Ok(props)
}

fn watchlist_item(
    req: &Req,
    existing: Option<&Resource>,
    item_id: &str,
    mut props: Map<String, Value>,
) -> Result<Map<String, Value>, Response> {
    if props.get("itemsKeyValue").is_none_or(|v| v.as_object().is_none_or(|o| o.is_empty())) {
        return Err(bad("BadRequest", "properties.itemsKeyValue must be a non-empty object."));
    }
    let created = existing.and_then(|r| r.body.pointer("/properties/created")).cloned();
    props.insert("watchlistItemId".into(), item_id.into());
    props.insert("created".into(), created.unwrap_or_else(|| fmt_utc(req.now).into()));
    props.insert("updated".into(), fmt_utc(req.now).into());
    Ok(props)
}

/// An automation rule needs a name, an order (1-1000), its triggering logic and at least one
/// action; a `RunPlaybook` action names the Logic App it runs.
fn automation_rule(props: Map<String, Value>) -> Result<Map<String, Value>, Response> {
    if props.get("displayName").and_then(Value::as_str).is_none_or(|v| v.trim().is_empty()) {
        return Err(bad("BadRequest", "properties.displayName is required."));
    }
    if !props.get("order").and_then(Value::as_i64).is_some_and(|o| (1..=1000).contains(&o)) {
        return Err(bad("BadRequest", "properties.order must be between 1 and 1000."));
    }
    if !props.get("triggeringLogic").is_some_and(Value::is_object) {
        return Err(bad("BadRequest", "properties.triggeringLogic is required."));
    }
    let actions = props.get("actions").and_then(Value::as_array).cloned().unwrap_or_default();
    if actions.is_empty() {
        return Err(bad("BadRequest", "properties.actions must hold at least one action."));
    }
    for a in &actions {
        if a["actionType"] == "RunPlaybook"
            && !a.pointer("/actionConfiguration/logicAppResourceId").is_some_and(Value::is_string)
        {
            return Err(bad("BadRequest", "A RunPlaybook action needs actionConfiguration.logicAppResourceId."));
        }
    }
    Ok(props)
}

/// POST on a resource: an alert's state actions (204), a JIT policy's `initiate` (202).
fn post_action(req: &Req, store: &mut ArmStore, s: &Spec, id: &str, action: &str) -> Result<Response, Response> {
    if req.method != Method::POST {
        return Err(method_not_allowed(&req.method));
    }
    let unknown = || types::unknown(s.ns, &format!("{}/{action}", s.ty), &req.api_version);
    match s.kind {
        ALERTS => {
            let status = match action.to_ascii_lowercase().as_str() {
                "dismiss" => "Dismissed",
                "activate" => "Active",
                "resolve" => "Resolved",
                "inprogress" => "InProgress",
                _ => return Err(unknown()),
            };
            authorize(store, s.access, &format!("{}/{action}/action", s.kind), id)?;
            let alert = store.get_mut(id).ok_or_else(|| not_found("alert", name_of(id)))?;
            alert.body["properties"]["status"] = status.into();
            Ok(ops::empty(StatusCode::NO_CONTENT))
        }
        JIT_POLICIES if action.eq_ignore_ascii_case("initiate") => {
            authorize(store, s.access, &format!("{}/initiate/action", s.kind), id)?;
            initiate(req, store, id)
        }
        _ => Err(unknown()),
    }
}

/// `initiate`: every VM and port asked for must be in the policy, and the end time within the
/// port's `maxRequestAccessDuration` (at most 24 hours); the request is recorded on the policy.
fn initiate(req: &Req, store: &mut ArmStore, id: &str) -> Result<Response, Response> {
    let policy = store.get(id).cloned().ok_or_else(|| not_found("JIT network access policy", name_of(id)))?;
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    let asked = body.get("virtualMachines").and_then(Value::as_array).cloned().unwrap_or_default();
    if asked.is_empty() {
        return Err(bad("InvalidInputJson", "virtualMachines must list at least one virtual machine."));
    }
    let allowed =
        policy.body.pointer("/properties/virtualMachines").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut granted = Vec::new();
    for vm in &asked {
        let vm_id = vm.get("id").and_then(Value::as_str).unwrap_or("");
        let Some(rule) = allowed.iter().find(|a| a["id"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(vm_id)))
        else {
            return Err(bad(
                "VirtualMachineNotInPolicy",
                format!("The virtual machine '{vm_id}' is not in the policy."),
            ));
        };
        let mut ports = Vec::new();
        for port in vm.get("ports").and_then(Value::as_array).cloned().unwrap_or_default() {
            ports.push(grant_port(req, rule, &port, vm_id)?);
        }
        if ports.is_empty() {
            return Err(bad("InvalidInputJson", format!("The request for '{vm_id}' names no ports.")));
        }
        granted.push(json!({"id": vm_id, "ports": ports}));
    }
    let request = json!({
        "virtualMachines": granted,
        "startTimeUtc": fmt_utc(req.now),
        "requestor": "riposte",
        "justification": body.get("justification").cloned().unwrap_or(Value::Null),
    });
    if let Some(list) =
        store.get_mut(id).and_then(|p| p.body.pointer_mut("/properties/requests")).and_then(Value::as_array_mut)
    {
        list.push(request.clone());
    }
    Ok(json_response(StatusCode::ACCEPTED, request))
}

fn grant_port(req: &Req, rule: &Value, port: &Value, vm_id: &str) -> Result<Value, Response> {
    let number = port.get("number").and_then(Value::as_u64).unwrap_or(0);
    let Some(allowed) =
        rule["ports"].as_array().and_then(|ps| ps.iter().find(|p| p["number"].as_u64() == Some(number)))
    else {
        return Err(bad("PortNotInPolicy", format!("Port {number} is not in the policy of '{vm_id}'.")));
    };
    let end = port.get("endTimeUtc").and_then(Value::as_str).unwrap_or("");
    let end_at = time::OffsetDateTime::parse(end, &time::format_description::well_known::Rfc3339)
        .map_err(|_| bad("InvalidInputJson", format!("endTimeUtc '{end}' is not a UTC date and time.")))?;
    let max_hours = allowed["maxRequestAccessDuration"]
        .as_str()
        .and_then(|d| d.strip_prefix("PT")?.strip_suffix('H')?.parse::<i64>().ok())
        .unwrap_or(3);
    if end_at <= req.now || end_at > req.now + time::Duration::hours(max_hours) {
        return Err(bad(
            "InvalidEndTime",
            format!("endTimeUtc must be in the next {max_hours} hours (the port's maxRequestAccessDuration)."),
        ));
    }
    let source = port
        .get("allowedSourceAddressPrefix")
        .cloned()
        .unwrap_or_else(|| allowed["allowedSourceAddressPrefix"].clone());
    Ok(json!({"number": number, "allowedSourceAddressPrefix": source, "endTimeUtc": end,
              "status": "Initiated", "statusReason": "UserRequested"}))
}
