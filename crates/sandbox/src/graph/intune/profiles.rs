//! Device configuration profiles (`deviceManagement/deviceConfigurations`), their assignment, and
//! the two directory pieces an assignment to one device needs: the device's Entra object
//! (`GET /devices?$filter=deviceId eq '..'`) and a security group created with it as member
//! (`POST /groups` with `members@odata.bind`, `DELETE /groups/{id}`).
//!
//! Groups live in the directory's own store (`world/directory.rs`), so the directory's group
//! reads list them; this module adds only what the directory module does not serve (creating a
//! group with members, deleting one, reading devices).
//!
//! As on Graph: creating a profile needs its derived `@odata.type` and `displayName`, and a
//! property the type does not have is a 400; `assign` replaces every assignment of the profile
//! and answers them; deleting a profile removes its assignments.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::{bad_request, not_found, unknown_tenant};
use crate::auth::GraphCaller;
use crate::clock::fmt_utc;
use crate::entity_set;
use crate::errors::json_response;
use crate::query::Params;
use crate::state::AppState;
use crate::world::directory::Group;
use crate::world::intune::{IntuneState, Profile};

const CONFIG_READ: &[&str] = &["DeviceManagementConfiguration.Read.All", "DeviceManagementConfiguration.ReadWrite.All"];
const CONFIG_WRITE: &[&str] = &["DeviceManagementConfiguration.ReadWrite.All"];
const GROUP_WRITE: &[&str] = &["Group.ReadWrite.All", "Directory.ReadWrite.All"];
const DEVICE_READ: &[&str] = &["Device.Read.All", "Directory.Read.All", "Directory.ReadWrite.All"];

/// The profile types the sandbox knows, with the properties each may carry (a useful subset of
/// each type's settings).
const TYPES: &[(&str, &[&str])] = &[
    ("windows10GeneralConfiguration", &["cameraBlocked", "storageBlockRemovableStorage", "bluetoothBlocked"]),
    ("iosGeneralDeviceConfiguration", &["cameraBlocked", "bluetoothBlockModification"]),
    ("androidGeneralDeviceConfiguration", &["cameraBlocked", "storageBlockRemovableStorage", "bluetoothBlocked"]),
    (
        "windows10EndpointProtectionConfiguration",
        &[
            "firewallProfileDomain",
            "firewallProfilePrivate",
            "firewallProfilePublic",
            "bitLockerEncryptDevice",
            "bitLockerDisableWarningForOtherDiskEncryption",
        ],
    ),
    (
        "macOSEndpointProtectionConfiguration",
        &[
            "firewallEnabled",
            "firewallBlockAllIncoming",
            "fileVaultEnabled",
            "fileVaultSelectedRecoveryKeyTypes",
            "fileVaultPersonalRecoveryKeyRotationInMonths",
        ],
    ),
];
const COMMON: &[&str] = &["displayName", "description", "version", "roleScopeTagIds"];

pub fn routes() -> Router<AppState> {
    let mut r = Router::new();
    for v in ["v1.0", "beta"] {
        let base = format!("/{v}/deviceManagement/deviceConfigurations");
        r = r
            .route(&base, get(list).post(create))
            .route(&format!("{base}/{{id}}"), get(get_one).delete(delete_one))
            .route(&format!("{base}/{{id}}/assign"), post(assign))
            .route(&format!("{base}/{{id}}/assignments"), get(assignments))
            .route(&format!("/{v}/groups"), post(create_group))
            .route(&format!("/{v}/groups/{{id}}"), axum::routing::delete(delete_group))
            .route(&format!("/{v}/devices"), get(list_devices));
    }
    r
}

pub(super) fn profile_json(p: &Profile) -> Value {
    let mut v = Value::Object(p.settings.clone());
    v["@odata.type"] = p.odata_type.clone().into();
    v["id"] = p.id.clone().into();
    v["displayName"] = p.display_name.clone().into();
    v["description"] = p.description.clone().into();
    v["createdDateTime"] = fmt_utc(p.created).into();
    v["lastModifiedDateTime"] = fmt_utc(p.modified).into();
    v["version"] = p.version.into();
    v
}

fn assignment_json(profile: &str, (id, target): &(String, Value)) -> Value {
    json!({ "id": format!("{profile}_{id}"), "target": target })
}

fn version(uri: &Uri) -> &'static str {
    if uri.path().starts_with("/beta/") { "beta" } else { "v1.0" }
}

fn body_object(body: &[u8], headers: &HeaderMap) -> Result<Map<String, Value>, Response> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(bad_request("The request body must be a JSON object.", headers)),
        Err(e) => Err(bad_request(format!("Unable to read JSON request payload: {e}."), headers)),
    }
}

const SET: entity_set::SetSpec = entity_set::SetSpec {
    entity: "microsoft.graph.deviceConfiguration",
    filterable: &["id", "displayName"],
    sortable: &["displayName", "createdDateTime"],
    select: entity_set::Select::Free,
    paging: entity_set::Paging::SkipToken { default: 1000, max: 1000, prefix: "sandbox-device-configurations" },
};

async fn list(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    c.require(CONFIG_READ)?;
    let params = Params::parse(q.as_deref());
    let rows: Vec<Value> = {
        let world = state.world.lock();
        let t = world.tenant(&c.tenant_id).ok_or_else(|| unknown_tenant(&headers))?;
        t.intune.profiles.iter().map(profile_json).collect()
    };
    let link = format!("{}{}", state.base_url, uri.path());
    let page = entity_set::query(&SET, &params, rows, &link)
        .map_err(|e| bad_request(format!("Invalid query: {e:?}"), &headers))?;
    let ctx = format!("{}/{}/$metadata#deviceManagement/deviceConfigurations", state.base_url, version(&uri));
    Ok(json_response(StatusCode::OK, page.body(ctx, &params)))
}

async fn create(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    c.require(CONFIG_WRITE)?;
    let mut body = body_object(&body, &headers)?;
    let odata_type = body.remove("@odata.type").and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
    let short = odata_type.trim_start_matches('#').trim_start_matches("microsoft.graph.");
    let Some((type_name, allowed)) = TYPES.iter().find(|(t, _)| t.eq_ignore_ascii_case(short)) else {
        return Err(bad_request(
            format!("'@odata.type' must name a deviceConfiguration type the service knows; got '{odata_type}'."),
            &headers,
        ));
    };
    let display_name = match body.remove("displayName") {
        Some(Value::String(s)) if !s.trim().is_empty() => s,
        _ => return Err(bad_request("The property 'displayName' is required.", &headers)),
    };
    let description = body.remove("description").and_then(|v| v.as_str().map(String::from));
    body.remove("version");
    body.remove("roleScopeTagIds");
    if let Some(k) = body.keys().find(|k| !allowed.contains(&k.as_str()) && !COMMON.contains(&k.as_str())) {
        return Err(bad_request(
            format!("The property '{k}' does not exist on type 'microsoft.graph.{type_name}'."),
            &headers,
        ));
    }
    let now = state.clock.now();
    let profile = Profile {
        id: uuid::Uuid::new_v4().to_string(),
        odata_type: format!("#microsoft.graph.{type_name}"),
        display_name,
        description,
        settings: body,
        created: now,
        modified: now,
        version: 1,
        assignments: Vec::new(),
    };
    let v = profile_json(&profile);
    let mut world = state.world.lock();
    let t = world.tenant_mut(&c.tenant_id).ok_or_else(|| unknown_tenant(&headers))?;
    t.intune.profiles.push(profile);
    Ok(json_response(StatusCode::CREATED, v))
}

fn profile<'a>(intune: &'a mut IntuneState, id: &str, headers: &HeaderMap) -> Result<&'a mut Profile, Response> {
    intune
        .profiles
        .iter_mut()
        .find(|p| p.id.eq_ignore_ascii_case(id))
        .ok_or_else(|| not_found("deviceConfiguration", id, headers))
}

async fn get_one(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(CONFIG_READ)?;
    let mut world = state.world.lock();
    let t = world.tenant_mut(&c.tenant_id).ok_or_else(|| unknown_tenant(&headers))?;
    Ok(json_response(StatusCode::OK, profile_json(profile(&mut t.intune, &id, &headers)?)))
}

async fn delete_one(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(CONFIG_WRITE)?;
    let mut world = state.world.lock();
    let t = world.tenant_mut(&c.tenant_id).ok_or_else(|| unknown_tenant(&headers))?;
    profile(&mut t.intune, &id, &headers)?;
    t.intune.profiles.retain(|p| !p.id.eq_ignore_ascii_case(&id));
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `assign`: the profile's assignments become exactly the ones sent (Graph replaces them).
async fn assign(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    c.require(CONFIG_WRITE)?;
    let body = body_object(&body, &headers)?;
    let Some(Value::Array(items)) = body.get("assignments") else {
        return Err(bad_request("The parameter 'assignments' is required and must be an array.", &headers));
    };
    let mut targets = Vec::new();
    for item in items {
        let target = &item["target"];
        let ty = target["@odata.type"].as_str().unwrap_or_default().trim_start_matches('#');
        let known = [
            "microsoft.graph.groupAssignmentTarget",
            "microsoft.graph.exclusionGroupAssignmentTarget",
            "microsoft.graph.allDevicesAssignmentTarget",
            "microsoft.graph.allLicensedUsersAssignmentTarget",
        ];
        if !known.iter().any(|k| k.eq_ignore_ascii_case(ty)) {
            return Err(bad_request(format!("Unknown assignment target type '{ty}'."), &headers));
        }
        if ty.contains("roupAssignmentTarget") && !target["groupId"].is_string() {
            return Err(bad_request("A group assignment target needs 'groupId'.", &headers));
        }
        targets.push(target.clone());
    }
    let now = state.clock.now();
    let mut world = state.world.lock();
    let t = world.tenant_mut(&c.tenant_id).ok_or_else(|| unknown_tenant(&headers))?;
    let p = profile(&mut t.intune, &id, &headers)?;
    p.assignments = targets.into_iter().map(|target| (uuid::Uuid::new_v4().to_string(), target)).collect();
    p.modified = now;
    let value: Vec<Value> = p.assignments.iter().map(|a| assignment_json(&p.id, a)).collect();
    let ctx = format!(
        "{}/{}/$metadata#Collection(microsoft.graph.deviceConfigurationAssignment)",
        state.base_url,
        version(&uri)
    );
    Ok(json_response(StatusCode::OK, json!({ "@odata.context": ctx, "value": value })))
}

async fn assignments(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(CONFIG_READ)?;
    let mut world = state.world.lock();
    let t = world.tenant_mut(&c.tenant_id).ok_or_else(|| unknown_tenant(&headers))?;
    let p = profile(&mut t.intune, &id, &headers)?;
    let value: Vec<Value> = p.assignments.iter().map(|a| assignment_json(&p.id, a)).collect();
    let ctx = format!(
        "{}/{}/$metadata#deviceManagement/deviceConfigurations('{}')/assignments",
        state.base_url,
        version(&uri),
        p.id
    );
    Ok(json_response(StatusCode::OK, json!({ "@odata.context": ctx, "value": value })))
}

/// `POST /groups`: a security group, with members bound at creation (`members@odata.bind`:
/// directoryObjects references to users or devices of the tenant).
async fn create_group(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    c.require(GROUP_WRITE)?;
    let body = body_object(&body, &headers)?;
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(String::from);
    let display_name = text("displayName").filter(|s| !s.trim().is_empty());
    let nickname = text("mailNickname").filter(|s| !s.trim().is_empty());
    let (Some(display_name), Some(_)) = (display_name, nickname) else {
        return Err(bad_request("displayName and mailNickname are required to create a group.", &headers));
    };
    if body.get("mailEnabled") != Some(&Value::Bool(false)) || body.get("securityEnabled") != Some(&Value::Bool(true)) {
        return Err(bad_request(
            "Only security groups (mailEnabled: false, securityEnabled: true) can be created here.",
            &headers,
        ));
    }
    let refs: Vec<String> = match body.get("members@odata.bind") {
        None => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|r| r.as_str().and_then(|s| s.rsplit('/').next()).map(str::to_ascii_lowercase))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad_request("members@odata.bind must be an array of directoryObjects URLs.", &headers))?,
        Some(_) => return Err(bad_request("members@odata.bind must be an array.", &headers)),
    };
    let now = state.clock.now();
    let mut world = state.world.lock();
    let t = world.tenant_mut(&c.tenant_id).ok_or_else(|| unknown_tenant(&headers))?;
    for m in &refs {
        let known = t.graph.users.iter().any(|u| u.id.eq_ignore_ascii_case(m))
            || t.intune.devices.iter().any(|d| d.entra_object_id.eq_ignore_ascii_case(m));
        if !known {
            return Err(not_found("directoryObject", m, &headers));
        }
    }
    let group = Group {
        id: uuid::Uuid::new_v4().to_string(),
        display_name,
        description: text("description").unwrap_or_default(),
        members: refs,
        created: now,
    };
    let v = group_json(&group, now);
    t.graph.directory.groups.push(group);
    Ok(json_response(StatusCode::CREATED, v))
}

fn group_json(g: &Group, _now: OffsetDateTime) -> Value {
    json!({
        "id": g.id,
        "displayName": g.display_name,
        "description": g.description,
        "mailEnabled": false,
        "securityEnabled": true,
        "groupTypes": [],
        "createdDateTime": fmt_utc(g.created),
    })
}

async fn delete_group(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(GROUP_WRITE)?;
    let mut world = state.world.lock();
    let t = world.tenant_mut(&c.tenant_id).ok_or_else(|| unknown_tenant(&headers))?;
    let before = t.graph.directory.groups.len();
    t.graph.directory.groups.retain(|g| !g.id.eq_ignore_ascii_case(&id));
    if t.graph.directory.groups.len() == before {
        return Err(not_found("group", &id, &headers));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

const DEVICES: entity_set::SetSpec = entity_set::SetSpec {
    entity: "microsoft.graph.device",
    filterable: &["id", "deviceId", "displayName", "operatingSystem"],
    sortable: &["displayName"],
    select: entity_set::Select::Free,
    paging: entity_set::Paging::SkipToken { default: 100, max: 999, prefix: "sandbox-devices" },
};

/// `GET /devices`: the Entra device object of each managed device.
async fn list_devices(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    c.require(DEVICE_READ)?;
    let params = Params::parse(q.as_deref());
    let rows: Vec<Value> = {
        let world = state.world.lock();
        let t = world.tenant(&c.tenant_id).ok_or_else(|| unknown_tenant(&headers))?;
        t.intune
            .devices
            .iter()
            .map(|d| {
                json!({
                    "id": d.entra_object_id,
                    "deviceId": d.azure_ad_device_id,
                    "displayName": d.device_name,
                    "operatingSystem": d.operating_system,
                    "operatingSystemVersion": d.os_version,
                    "accountEnabled": true,
                    "isManaged": true,
                    "isCompliant": d.compliance_state == "compliant",
                })
            })
            .collect()
    };
    let link = format!("{}{}", state.base_url, uri.path());
    let page = entity_set::query(&DEVICES, &params, rows, &link)
        .map_err(|e| bad_request(format!("Invalid query: {e:?}"), &headers))?;
    let ctx = format!("{}/{}/$metadata#devices", state.base_url, version(&uri));
    Ok(json_response(StatusCode::OK, page.body(ctx, &params)))
}
