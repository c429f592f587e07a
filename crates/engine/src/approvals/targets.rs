//! What an action would touch, as the policy needs it: how many targets, and the tier-0 facts of
//! its devices and users (names, tags, groups), read from MDE and Graph.
//!
//! Targets are read after the engine resolved them (`procedures::resolve`, `entra::users`): a
//! device given by DNS name or IP is already its machine id, a user given by UPN or mail already
//! its object id, so the lookups here are by id. They run only when the policy has tier-0 rules
//! for that kind of target, and at most [`MAX_LOOKUPS`] per request; a target that cannot be read
//! is reported unchecked, which holds the request (an unchecked target may be tier-0).

use catalog::params::is_machine_id;
use catalog::{ActionSpec, ParamKind, Params};
use serde_json::Value;
use upstream::{Api, ApiRequest, TenantCredentials, Upstream};

use super::policy::{Device, Policy, User};

/// The most targets one request looks up for tier-0 facts; beyond it the rest are unchecked.
pub const MAX_LOOKUPS: usize = 50;

/// The kinds of parameter that name what an action acts on.
fn is_target(kind: ParamKind) -> bool {
    matches!(
        kind,
        ParamKind::DeviceId
            | ParamKind::DeviceIds
            | ParamKind::ManagedDevice
            | ParamKind::UserRef
            | ParamKind::EmailAddress
            | ParamKind::EmailAddresses { .. }
            | ParamKind::ResourceId
            | ParamKind::ResourceIds { .. }
            | ParamKind::PairedIds { .. }
    )
}

/// How many targets the action names: the longest target list (a list paired with another, such
/// as message ids and their recipients, counts once), 1 for an action on one target.
pub fn count(spec: &ActionSpec, params: &Params) -> usize {
    spec.params
        .iter()
        .filter(|p| is_target(p.kind))
        .filter_map(|p| params.get(p.name))
        .map(|v| match v {
            Value::Array(items) => items.len(),
            Value::Null => 0,
            _ => 1,
        })
        .max()
        .unwrap_or(0)
}

/// Values of the action's parameters of the given kinds, flattened.
fn values(spec: &ActionSpec, params: &Params, kinds: &[ParamKind]) -> Vec<String> {
    let mut out = Vec::new();
    for p in spec.params.iter().filter(|p| kinds.contains(&p.kind)) {
        match params.get(p.name) {
            Some(Value::Array(items)) => out.extend(items.iter().filter_map(|v| v.as_str().map(String::from))),
            Some(Value::String(s)) => out.push(s.clone()),
            _ => {}
        }
    }
    out
}

/// The MDE machines of an action, read when the policy has tier-0 device rules.
pub async fn devices(
    upstream: &Upstream,
    creds: &TenantCredentials,
    policy: &Policy,
    spec: &ActionSpec,
    params: &Params,
    unchecked: &mut Vec<String>,
) -> Vec<Device> {
    if !policy.watches_devices() {
        return vec![];
    }
    let ids = values(spec, params, &[ParamKind::DeviceId, ParamKind::DeviceIds]);
    machines(upstream, creds, &ids, unchecked).await
}

/// Machines by id (looked up) or by name (taken as given: a bulk item is resolved only when it runs).
pub async fn machines(
    upstream: &Upstream,
    creds: &TenantCredentials,
    given: &[String],
    unchecked: &mut Vec<String>,
) -> Vec<Device> {
    let mut out = Vec::new();
    for (i, g) in given.iter().enumerate() {
        if !is_machine_id(g) {
            out.push(Device { id: g.clone(), name: Some(g.clone()), ..Device::default() });
            continue;
        }
        if i >= MAX_LOOKUPS {
            unchecked.push(format!("device {g}: more than {MAX_LOOKUPS} devices, not each checked against tier-0"));
            continue;
        }
        let req = ApiRequest::get(Api::Mde, format!("/api/machines/{g}"));
        match upstream.call(creds, req).await {
            Ok(resp) => out.push(device(g, &resp.body)),
            Err(e) => unchecked.push(format!("device {g} could not be read to check it against tier-0: {e}")),
        }
    }
    out
}

fn device(id: &str, m: &Value) -> Device {
    Device {
        id: id.to_string(),
        name: m["computerDnsName"].as_str().map(String::from),
        tags: m["machineTags"]
            .as_array()
            .map(|t| t.iter().filter_map(|v| v.as_str().map(String::from)).collect())
            .unwrap_or_default(),
        group: m["rbacGroupName"].as_str().map(String::from),
    }
}

/// The Entra users of an action, read when the policy has tier-0 user rules.
pub async fn users(
    upstream: &Upstream,
    creds: &TenantCredentials,
    policy: &Policy,
    spec: &ActionSpec,
    params: &Params,
    unchecked: &mut Vec<String>,
) -> Vec<User> {
    if !policy.watches_users() {
        return vec![];
    }
    let mut out = Vec::new();
    for (i, id) in values(spec, params, &[ParamKind::UserRef]).into_iter().enumerate() {
        if i >= MAX_LOOKUPS {
            unchecked.push(format!("user {id}: more than {MAX_LOOKUPS} users, not each checked against tier-0"));
            continue;
        }
        match user(upstream, creds, policy, &id).await {
            Ok(u) => out.push(u),
            Err(e) => unchecked.push(format!("user {id} could not be read to check it against tier-0: {e}")),
        }
    }
    out
}

async fn user(
    upstream: &Upstream,
    creds: &TenantCredentials,
    policy: &Policy,
    id: &str,
) -> Result<User, upstream::UpstreamError> {
    let req = ApiRequest::get(Api::Graph, format!("/v1.0/users/{id}"))
        .with_query("$select", "id,userPrincipalName,mail".to_string());
    let body = upstream.call(creds, req).await?.body;
    let mut groups = Vec::new();
    if !policy.users.groups.is_empty() {
        let req = ApiRequest::get(Api::Graph, format!("/v1.0/users/{id}/memberOf"))
            .with_query("$select", "displayName".to_string());
        let page = upstream.get_paged(creds, req, 1000).await?;
        groups = page.items.iter().filter_map(|g| g["displayName"].as_str().map(String::from)).collect();
    }
    Ok(User {
        id: id.to_string(),
        upn: body["userPrincipalName"].as_str().map(String::from),
        mail: body["mail"].as_str().map(String::from),
        groups,
    })
}
