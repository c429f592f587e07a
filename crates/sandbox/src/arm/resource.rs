//! ARM's generic resource protocol over the store: GET / PUT / PATCH / DELETE on any registered
//! type, child collections, and POST actions, with the provider hooks called by type.
//!
//! Status codes follow ARM's conventions (upstream-apis.md §5.1, §5.3): PUT is 201 on create
//! and 200 on replace; a long-running type answers with `Azure-AsyncOperation` and a
//! `provisioningState` of `Updating` until its operation ends; DELETE is 202 + `Location` for
//! long-running types, 200 otherwise, and 204 when there was nothing to delete.

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::path::ProviderPath;
use super::types::{self, ResourceType, Writes};
use super::{Req, compute, list_json, method_not_allowed, network, ok_json, only_get, ops, security, sql, storage};
use super::{aks, firewall, hybrid, waf, web};
use crate::errors::{self, json_response};
use crate::world::arm::{ArmStore, NICS, NSGS, OpKind, RESOURCE_GROUPS, Resource, SECURITY_RULES, VIRTUAL_MACHINES};
use crate::world::azure_data::{CONTAINERS, SQL_FIREWALL_RULES, SQL_SERVERS, STORAGE_ACCOUNTS};

/// A resource the request addresses: its canonical id and type, and where it sits.
struct Addr {
    id: String,
    t: &'static ResourceType,
    namespace: &'static str,
    rg: String,
    name: String,
    parent: Option<String>,
    /// The top-level resource's id (the Network provider locks per top-level resource).
    top: String,
}

/// The resource group as stored (for its casing and location), or `ResourceGroupNotFound`.
fn group_of<'a>(store: &'a ArmStore, rg: &str) -> Result<&'a Resource, Response> {
    store.get(&format!("{}/resourceGroups/{rg}", store.subscription_scope())).ok_or_else(|| {
        errors::arm(
            StatusCode::NOT_FOUND,
            "ResourceGroupNotFound",
            format!("Resource group '{rg}' could not be found."),
        )
    })
}

/// `.../resourcegroups/{rg}`: ARM's own resource, synchronous except DELETE.
pub fn group(req: &Req, store: &mut ArmStore, rg: &str) -> Result<Response, Response> {
    types::check_resources_version(&req.api_version)?;
    let t = types::by_kind(RESOURCE_GROUPS).expect("resource groups are registered");
    let existing = store.get(&format!("{}/resourceGroups/{rg}", store.subscription_scope())).map(|r| r.id.clone());
    let id = existing.unwrap_or_else(|| format!("{}/resourceGroups/{rg}", store.subscription_scope()));
    let addr = Addr {
        top: id.clone(),
        id,
        t,
        namespace: "Microsoft.Resources",
        rg: rg.to_string(),
        name: rg.to_string(),
        parent: None,
    };
    match req.method {
        Method::GET => Ok(ok_json(group_of(store, rg)?.body.clone())),
        Method::PUT => put(req, store, &addr),
        Method::PATCH => {
            group_of(store, rg)?;
            patch(req, store, &addr)
        }
        Method::DELETE => {
            group_of(store, rg)?;
            delete(req, store, &addr)
        }
        ref m => Err(method_not_allowed(m)),
    }
}

/// `/subscriptions/{s}[/resourcegroups/{rg}]/resources`: every top-level resource.
pub fn generic_list(req: &Req, store: &ArmStore, rg: Option<&str>) -> Result<Response, Response> {
    only_get(req)?;
    types::check_resources_version(&req.api_version)?;
    let scope = match rg {
        Some(rg) => group_of(store, rg)?.id.clone(),
        None => store.subscription_scope(),
    };
    let items = store
        .all_under(&scope)
        .into_iter()
        .filter(|r| r.kind != RESOURCE_GROUPS && types::by_kind(&r.kind).is_some_and(|t| t.tracked))
        .map(|r| {
            json!({"id": r.id, "name": r.name(), "type": r.kind, "location": r.location(), "tags": r.body.get("tags")})
        });
    Ok(list_json(items))
}

/// `/subscriptions/{s}/providers/{ns}/{type}`: a type across the subscription.
pub fn subscription_list(req: &Req, store: &ArmStore, ns: &str, ty: &str) -> Result<Response, Response> {
    only_get(req)?;
    let t = types::lookup(ns, ty).ok_or_else(|| types::unknown(ns, ty, &req.api_version))?;
    types::check_version(&req.api_version, t, "westeurope")?;
    let items = store.list(t.kind, &store.subscription_scope());
    Ok(list_json(items.into_iter().map(|r| render(store, r, req.expand_instance_view()))))
}

/// Anything under `/resourceGroups/{rg}/providers/{ns}/...`.
pub fn in_group(req: &Req, store: &mut ArmStore, p: &ProviderPath) -> Result<Response, Response> {
    let group = group_of(store, &p.rg)?;
    authorize_provider(req, store, p)?;
    let (rg, location) = (group.name().to_string(), group.location().unwrap_or("westeurope").to_string());
    if p.pairs.is_empty() {
        return group_list(req, store, p, &rg);
    }
    let Some(tail) = &p.tail else {
        let addr = addr(store, p, &rg, &req.api_version)?;
        types::check_version(&req.api_version, addr.t, &location)?;
        if addr.t.kind == aks::AKS_COMMAND_RESULTS && req.method == Method::GET {
            return aks::command_result(req, store, &addr.id);
        }
        return match req.method {
            Method::GET => get(req, store, &addr),
            Method::PUT => put(req, store, &addr),
            Method::PATCH => patch(req, store, &addr),
            Method::DELETE => delete(req, store, &addr),
            ref m => Err(method_not_allowed(m)),
        };
    };
    if let Some(t) = types::lookup(&p.ns, &p.type_path(true)) {
        only_get(req)?;
        types::check_version(&req.api_version, t, &location)?;
        return child_list(req, store, p, &rg, t);
    }
    let addr = addr(store, p, &rg, &req.api_version)?;
    types::check_version(&req.api_version, addr.t, &location)?;
    if addr.t.kind == VIRTUAL_MACHINES {
        return vm_extra(req, store, &addr, tail);
    }
    if addr.t.kind == web::SITES {
        return web::action(req, store, &addr.id, tail);
    }
    if addr.t.kind == aks::AKS_CLUSTERS {
        return aks::run_command(req, store, &addr.id, tail);
    }
    if addr.t.kind == STORAGE_ACCOUNTS {
        return storage::action(req, store, &addr.id, tail);
    }
    Err(types::unknown(&p.ns, &p.type_path(true), &req.api_version))
}

/// Network, Compute, App Service and Arc requests need a role that grants them, as ARM's RBAC
/// decides: reads any reader role, writes, deletes and actions Contributor or Owner (the role
/// check and the seeded assignments are `arm/security.rs`'s); a missing role is 403
/// `AuthorizationFailed` naming the action and scope.
fn authorize_provider(req: &Req, store: &ArmStore, p: &ProviderPath) -> Result<(), Response> {
    const CHECKED: &[&str] = &["Microsoft.Network", "Microsoft.Compute", "Microsoft.Web", "Microsoft.HybridCompute"];
    if !CHECKED.iter().any(|ns| ns.eq_ignore_ascii_case(&p.ns)) {
        return Ok(());
    }
    use super::security::{Access, authorize};
    let (access, verb) = match req.method {
        Method::GET | Method::HEAD => (Access::Read, "read"),
        Method::DELETE => (Access::ResourceWrite, "delete"),
        Method::POST => (Access::ResourceWrite, "action"),
        _ => (Access::ResourceWrite, "write"),
    };
    let mut scope = format!("{}/resourceGroups/{}/providers/{}", store.subscription_scope(), p.rg, p.ns);
    for (ty, name) in &p.pairs {
        scope = format!("{scope}/{ty}/{name}");
    }
    authorize(store, access, &format!("{}/{}/{verb}", p.ns, p.type_path(true)), &scope)
}

fn addr(store: &ArmStore, p: &ProviderPath, rg: &str, api_version: &str) -> Result<Addr, Response> {
    let t = types::lookup(&p.ns, &p.type_path(false))
        .ok_or_else(|| types::unknown(&p.ns, &p.type_path(false), api_version))?;
    let mut segs = t.kind.split('/');
    let namespace = segs.next().unwrap_or("");
    let mut id = format!("{}/resourceGroups/{rg}/providers/{namespace}", store.subscription_scope());
    let mut top = String::new();
    let mut parent = None;
    for (i, ((_, name), ty)) in p.pairs.iter().zip(segs).enumerate() {
        if i + 1 == p.pairs.len() && i > 0 {
            parent = Some(id.clone());
        }
        id = format!("{id}/{ty}/{name}");
        if i == 0 {
            top = id.clone();
        }
    }
    let id = store.get(&id).map(|r| r.id.clone()).unwrap_or(id);
    Ok(Addr {
        name: p.pairs.last().map(|(_, n)| n.clone()).unwrap_or_default(),
        id,
        t,
        namespace,
        rg: rg.to_string(),
        parent,
        top,
    })
}

/// `.../resourceGroups/{rg}/providers/{ns}/{type}`: a type within the group.
fn group_list(req: &Req, store: &ArmStore, p: &ProviderPath, rg: &str) -> Result<Response, Response> {
    only_get(req)?;
    let ty = p.tail.clone().unwrap_or_default();
    let t = types::lookup(&p.ns, &ty).ok_or_else(|| types::unknown(&p.ns, &ty, &req.api_version))?;
    types::check_version(&req.api_version, t, "westeurope")?;
    let scope = format!("{}/resourceGroups/{rg}", store.subscription_scope());
    let items = store.list(t.kind, &scope);
    Ok(list_json(items.into_iter().map(|r| render(store, r, req.expand_instance_view()))))
}

/// `.../{type}/{name}/{childType}`: the children of a resource.
fn child_list(req: &Req, store: &ArmStore, p: &ProviderPath, rg: &str, t: &ResourceType) -> Result<Response, Response> {
    let parent = addr(store, p, rg, &req.api_version)?;
    let nsg = store.get(&parent.id).ok_or_else(|| not_found(&parent))?;
    if t.kind.ends_with("/defaultSecurityRules") {
        return Ok(list_json(network::default_rules(&nsg.id).into_iter()));
    }
    Ok(list_json(store.list(t.kind, &nsg.id).into_iter().map(|r| r.body.clone())))
}

/// The resource as GET returns it (provider views added).
pub fn render(store: &ArmStore, r: &Resource, expand_instance_view: bool) -> Value {
    match r.kind.as_str() {
        NSGS => network::render_nsg(store, r),
        VIRTUAL_MACHINES => compute::render_vm(r, expand_instance_view),
        _ => r.body.clone(),
    }
}

fn not_found(a: &Addr) -> Response {
    match &a.parent {
        None => errors::arm(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            format!(
                "The Resource '{}/{}' under resource group '{}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
                a.t.kind, a.name, a.rg
            ),
        ),
        Some(_) => errors::arm(StatusCode::NOT_FOUND, "NotFound", format!("Resource {} not found.", a.id)),
    }
}

fn get(req: &Req, store: &ArmStore, a: &Addr) -> Result<Response, Response> {
    if let Some(parent) = &a.parent
        && store.get(parent).is_none()
    {
        let (kind, name) = parent_kind_name(a, parent);
        return Err(errors::arm(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            format!(
                "The Resource '{kind}/{name}' under resource group '{}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
                a.rg
            ),
        ));
    }
    if a.t.kind.ends_with("/defaultSecurityRules") {
        let parent = a.parent.clone().unwrap_or_default();
        return network::default_rules(&parent)
            .into_iter()
            .find(|r| r["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(&a.name)))
            .map(ok_json)
            .ok_or_else(|| not_found(a));
    }
    let r = store.get(&a.id).ok_or_else(|| not_found(a))?;
    Ok(ok_json(render(store, r, req.expand_instance_view())))
}

fn parent_kind_name(a: &Addr, parent: &str) -> (String, String) {
    let kind = a.t.kind.rsplit_once('/').map(|(k, _)| k).unwrap_or(a.t.kind);
    let name = parent.rsplit('/').next().unwrap_or("");
    (kind.to_string(), name.to_string())
}

fn body_object(req: &Req) -> Result<Map<String, Value>, Response> {
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(invalid_content("the request body must be a JSON object")),
        Err(e) => Err(invalid_content(&e.to_string())),
    }
}

fn invalid_content(detail: &str) -> Response {
    errors::arm(
        StatusCode::BAD_REQUEST,
        "InvalidRequestContent",
        format!("The request content was invalid and could not be deserialized: '{detail}'."),
    )
}

/// The Network provider serialises writes per top-level resource: another write while an
/// operation runs gets 429 `RetryableErrorDueToAnotherOperation` (upstream-apis.md §5.2).
fn network_lock(req: &Req, store: &ArmStore, a: &Addr) -> Result<(), Response> {
    if a.namespace != "Microsoft.Network" {
        return Ok(());
    }
    let Some(op) = store.running_on(&a.top) else {
        return Ok(());
    };
    let mut resp = errors::arm(
        StatusCode::TOO_MANY_REQUESTS,
        "RetryableErrorDueToAnotherOperation",
        format!(
            "Operation on {} is not allowed because another operation ({}) on the resource is in progress. Retry after some time.",
            a.id, op.id
        ),
    );
    resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(req.retry_after));
    Err(resp)
}

fn put(req: &Req, store: &mut ArmStore, a: &Addr) -> Result<Response, Response> {
    if a.t.writes == Writes::ReadOnly {
        return Err(method_not_allowed(&req.method));
    }
    let mut body = body_object(req)?;
    let location = location_for(store, a, &body)?;
    if let Some(parent) = &a.parent
        && store.get(parent).is_none()
    {
        let name = parent.rsplit('/').next().unwrap_or("");
        return Err(errors::arm(
            StatusCode::NOT_FOUND,
            "ParentResourceNotFound",
            format!("Can not perform requested operation on nested resource. Parent resource '{name}' not found."),
        ));
    }
    network_lock(req, store, a)?;
    let state = if a.t.writes.is_async() { "Updating" } else { "Succeeded" };
    let old = store.get(&a.id).cloned();
    let mut props = match body.remove("properties") {
        Some(Value::Object(p)) => p,
        _ => Map::new(),
    };
    keep_server_fields(old.as_ref(), &mut props, a);
    props.insert("provisioningState".into(), state.into());
    body.insert("properties".into(), Value::Object(props));
    body.insert("id".into(), a.id.clone().into());
    body.insert("name".into(), a.name.clone().into());
    body.insert("type".into(), a.t.kind.into());
    if a.t.tracked {
        body.insert("location".into(), location.clone().into());
        body.entry("tags").or_insert_with(|| json!({}));
    }
    if a.namespace == "Microsoft.Network" {
        body.insert("etag".into(), network::new_etag().into());
    }
    let mut r = Resource::new(a.id.clone(), a.t.kind, Value::Object(body));
    let children = provider_put(req, store, a, old.as_ref(), &mut r)?;
    data_rules(req, store, a, &mut r)?;
    let created = store.put(r);
    if let Some(children) = children {
        replace_children(store, &a.id, children);
    }
    if a.t.kind == NICS {
        network::link_public_ips(store, &a.id);
    }
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    finish_write(req, store, a, &location, status, OpKind::Put)
}

/// Replies to an accepted write: synchronous types answer now; long-running ones start their
/// operation and answer with its monitor headers.
fn finish_write(
    req: &Req,
    store: &mut ArmStore,
    a: &Addr,
    location: &str,
    status: StatusCode,
    kind: OpKind,
) -> Result<Response, Response> {
    let view = |store: &ArmStore| store.get(&a.id).map(|r| render(store, r, false)).unwrap_or(Value::Null);
    if !a.t.writes.is_async() {
        return Ok(json_response(status, view(store)));
    }
    let accepted = a.t.writes == Writes::AsyncAccepted;
    let status = if accepted { StatusCode::ACCEPTED } else { status };
    let op = ops::start(
        store,
        ops::NewOp {
            namespace: a.namespace,
            location,
            resource_id: &a.id,
            kind,
            now: req.now,
            run_seconds: req.run_seconds,
        },
    );
    let mut resp = json_response(status, view(store));
    ops::monitor_headers(&mut resp, &op, &req.base, &req.sub, &req.api_version, req.retry_after, accepted);
    Ok(resp)
}

/// The location a write uses: the body's for tracked resources (required, and fixed once
/// created), the resource group's for child resources.
fn location_for(store: &ArmStore, a: &Addr, body: &Map<String, Value>) -> Result<String, Response> {
    let group_location = || {
        store
            .get(&format!("{}/resourceGroups/{}", store.subscription_scope(), a.rg))
            .and_then(|g| g.location().map(str::to_owned))
            .unwrap_or_else(|| "westeurope".into())
    };
    if !a.t.tracked {
        return Ok(group_location());
    }
    let Some(loc) = body.get("location").and_then(Value::as_str) else {
        return Err(errors::arm(
            StatusCode::BAD_REQUEST,
            "LocationRequired",
            "The location property is required for this definition.",
        ));
    };
    if let Some(old) = store.get(&a.id).and_then(|r| r.location().map(str::to_owned))
        && !old.eq_ignore_ascii_case(loc)
    {
        return Err(errors::arm(
            StatusCode::BAD_REQUEST,
            "InvalidResourceLocation",
            format!(
                "The resource '{}' already exists in location '{old}' in resource group '{}'. A resource with the same name cannot be created in location '{loc}'. Please select a new resource name.",
                a.name, a.rg
            ),
        ));
    }
    Ok(loc.to_string())
}

/// Read-only ids the provider assigned stay across a replace (`resourceGuid`).
fn keep_server_fields(old: Option<&Resource>, props: &mut Map<String, Value>, a: &Addr) {
    let old_guid = old.and_then(|o| o.body.pointer("/properties/resourceGuid").cloned());
    match old_guid {
        Some(g) => {
            props.insert("resourceGuid".into(), g);
        }
        None if a.namespace == "Microsoft.Network" && a.t.tracked => {
            props.insert("resourceGuid".into(), uuid::Uuid::new_v4().to_string().into());
        }
        None => {}
    }
}

/// Per-type rules on PUT. Returns the child resources that replace the current ones (NSG PUT
/// with inline rules).
fn provider_put(
    req: &Req,
    store: &ArmStore,
    a: &Addr,
    old: Option<&Resource>,
    r: &mut Resource,
) -> Result<Option<Vec<Resource>>, Response> {
    match a.t.kind {
        SECURITY_RULES => {
            validate_rule(store, a, r)?;
            Ok(None)
        }
        NSGS => network::split_nsg_rules(&a.id, &mut r.body, "Succeeded").map(Some),
        NICS => {
            network::check_nic(store, r)?;
            Ok(None)
        }
        waf::WAF_POLICIES => {
            waf::check_policy(r)?;
            Ok(None)
        }
        firewall::RULE_COLLECTION_GROUPS => {
            firewall::check_group(r)?;
            Ok(None)
        }
        hybrid::ARC_RUN_COMMANDS => {
            hybrid::run_command(store, a.parent.as_deref().unwrap_or_default(), r, req.now)?;
            Ok(None)
        }
        VIRTUAL_MACHINES => {
            compute::prepare_vm(old, r);
            Ok(None)
        }
        "Microsoft.Compute/snapshots" => {
            compute::prepare_snapshot(store, r, req.now)?;
            Ok(None)
        }
        _ => Ok(None),
    }
}

/// The data providers' checks of what a PUT or PATCH would store (`arm/storage.rs`,
/// `arm/sql.rs`); a SQL administrator password is taken out of the body here, so it is never
/// stored or answered.
fn data_rules(req: &Req, store: &mut ArmStore, a: &Addr, r: &mut Resource) -> Result<(), Response> {
    authorize_data(store, a, "write")?;
    match a.t.kind {
        STORAGE_ACCOUNTS => storage::check_account(r),
        CONTAINERS => storage::check_container(r),
        SQL_FIREWALL_RULES => sql::check_firewall_rule(r),
        SQL_SERVERS => sql::take_admin_password(store, r, req.now),
        _ => Ok(()),
    }
}

/// The data providers' writes need Contributor (`arm/security.rs` holds the role check); the
/// other providers are not RBAC-checked in the sandbox yet.
fn authorize_data(store: &ArmStore, a: &Addr, verb: &str) -> Result<(), Response> {
    if !matches!(a.namespace, "Microsoft.Storage" | "Microsoft.Sql" | "Microsoft.KeyVault") {
        return Ok(());
    }
    security::authorize(store, security::Access::ResourceWrite, &format!("{}/{verb}", a.t.kind), &a.id)
}

fn validate_rule(store: &ArmStore, a: &Addr, r: &mut Resource) -> Result<(), Response> {
    let props =
        r.body.get_mut("properties").and_then(Value::as_object_mut).expect("put always stores a properties object");
    let (priority, direction) = network::validate_rule(props)?;
    let parent = a.parent.clone().unwrap_or_default();
    network::check_conflict(&a.name, priority, &direction, &network::existing_rules(store, &parent))
}

fn replace_children(store: &mut ArmStore, parent: &str, children: Vec<Resource>) {
    let old: Vec<String> = store.list(SECURITY_RULES, parent).into_iter().map(|r| r.id.clone()).collect();
    for id in old {
        store.remove_tree(&id);
    }
    for c in children {
        store.put(c);
    }
}

/// PATCH: a JSON merge of `tags` (replaced as a whole, as UpdateTags does) and `properties`
/// (merged). Long-running types run an operation when properties change; a tags-only PATCH
/// answers at once, as the Network provider's UpdateTags does.
fn patch(req: &Req, store: &mut ArmStore, a: &Addr) -> Result<Response, Response> {
    if a.t.writes == Writes::ReadOnly {
        return Err(method_not_allowed(&req.method));
    }
    let body = body_object(req)?;
    let current = store.get(&a.id).cloned().ok_or_else(|| not_found(a))?;
    network_lock(req, store, a)?;
    let mut r = current.clone();
    if let Some(tags) = body.get("tags") {
        r.body["tags"] = tags.clone();
    }
    let changes_properties = body.get("properties").is_some_and(|p| p.as_object().is_some_and(|o| !o.is_empty()));
    if let Some(p) = body.get("properties") {
        merge(&mut r.body["properties"], p);
    }
    if let Some(sku) = body.get("sku") {
        merge(&mut r.body["sku"], sku);
    }
    if a.t.kind == SECURITY_RULES {
        validate_rule(store, a, &mut r)?;
    }
    data_rules(req, store, a, &mut r)?;
    let long = a.t.writes.is_async() && changes_properties;
    r.set_provisioning_state(if long { "Updating" } else { "Succeeded" });
    store.put(r);
    let location = current.location().unwrap_or("westeurope").to_string();
    if !long {
        return Ok(ok_json(render(store, store.get(&a.id).unwrap_or(&current), false)));
    }
    finish_write(req, store, a, &location, StatusCode::OK, OpKind::Put)
}

/// RFC 7386 JSON merge patch.
fn merge(target: &mut Value, patch: &Value) {
    match (target.as_object_mut(), patch.as_object()) {
        (Some(t), Some(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        _ => *target = patch.clone(),
    }
}

fn delete(req: &Req, store: &mut ArmStore, a: &Addr) -> Result<Response, Response> {
    if a.t.writes == Writes::ReadOnly {
        return Err(method_not_allowed(&req.method));
    }
    authorize_data(store, a, "delete")?;
    let Some(current) = store.get(&a.id).cloned() else {
        return Ok(ops::empty(StatusCode::NO_CONTENT));
    };
    network_lock(req, store, a)?;
    let is_group = a.t.kind == RESOURCE_GROUPS;
    if !a.t.writes.is_async() && !is_group {
        store.remove_tree(&a.id);
        return Ok(ops::empty(StatusCode::OK));
    }
    if let Some(r) = store.get_mut(&a.id) {
        r.set_provisioning_state("Deleting");
    }
    let location = current
        .location()
        .map(str::to_owned)
        .or_else(|| {
            store
                .get(&format!("{}/resourceGroups/{}", store.subscription_scope(), a.rg))
                .and_then(|g| g.location().map(str::to_owned))
        })
        .unwrap_or_else(|| "westeurope".into());
    let op = ops::start(
        store,
        ops::NewOp {
            namespace: a.namespace,
            location: &location,
            resource_id: &a.id,
            kind: OpKind::Delete,
            now: req.now,
            run_seconds: req.run_seconds,
        },
    );
    let mut resp = ops::empty(StatusCode::ACCEPTED);
    // Resource group deletion reports through `Location` only; providers send both headers.
    ops::monitor_headers(&mut resp, &op, &req.base, &req.sub, &req.api_version, req.retry_after, true);
    if is_group {
        resp.headers_mut().remove("azure-asyncoperation");
    }
    Ok(resp)
}

/// VM sub-paths: the `instanceView` view and the power actions.
fn vm_extra(req: &Req, store: &mut ArmStore, a: &Addr, tail: &str) -> Result<Response, Response> {
    if tail.eq_ignore_ascii_case("instanceView") {
        only_get(req)?;
        let vm = store.get(&a.id).ok_or_else(|| not_found(a))?;
        return Ok(ok_json(compute::instance_view(vm)));
    }
    let Some(action) = compute::action(tail) else {
        return Err(types::unknown(a.namespace, &format!("virtualMachines/{tail}"), &req.api_version));
    };
    if req.method != Method::POST {
        return Err(method_not_allowed(&req.method));
    }
    vm_action(req, store, a, action)
}

/// POST `powerOff` / `deallocate` / `start` / `restart` / `redeploy`: 202 with `Location`,
/// `Azure-AsyncOperation` and `Retry-After`. A running operation on the same VM is preempted
/// (Canceled with `OperationPreempted`, as Compute reports it [T]). `skipShutdown` and
/// `hibernate` are accepted and do not change the emulation.
fn vm_action(req: &Req, store: &mut ArmStore, a: &Addr, action: &str) -> Result<Response, Response> {
    let location = store.get(&a.id).ok_or_else(|| not_found(a))?.location().unwrap_or("westeurope").to_string();
    if let Some(running) = store.running_on(&a.id).map(|o| o.id.clone()) {
        ops::cancel(
            store,
            &running,
            "OperationPreempted",
            "Operation execution has been preempted by a more recent operation.",
            req.now,
        );
    }
    let previous = {
        let vm = store.get_mut(&a.id).expect("checked above");
        compute::begin_action(vm, action)
    };
    let op = ops::start(
        store,
        ops::NewOp {
            namespace: a.namespace,
            location: &location,
            resource_id: &a.id,
            kind: OpKind::VmAction { action: action.to_string(), previous },
            now: req.now,
            run_seconds: req.run_seconds,
        },
    );
    let mut resp = ops::empty(StatusCode::ACCEPTED);
    ops::monitor_headers(&mut resp, &op, &req.base, &req.sub, &req.api_version, req.retry_after, true);
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_patch_follows_rfc_7386() {
        let mut t = json!({"a": 1, "b": {"c": 2, "d": 3}});
        merge(&mut t, &json!({"a": null, "b": {"c": 4}, "e": 5}));
        assert_eq!(t, json!({"b": {"c": 4, "d": 3}, "e": 5}));
    }
}
