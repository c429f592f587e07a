//! Apps: Intune's app catalog with its assignments (`deviceAppManagement/mobileApps`, `assign`
//! replaces every assignment and answers 204), and app protection (MAM): the registrations of
//! users' protected apps and the selective wipe of their corporate data on one device
//! (`users/{id}/wipeManagedAppRegistrationsByAzureAdDeviceId`, beta; `...ByDeviceTag`, v1.0).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use super::{bad_request, not_found, unknown_tenant};
use crate::auth::GraphCaller;
use crate::clock::fmt_utc;
use crate::entity_set;
use crate::errors::json_response;
use crate::query::Params;
use crate::state::AppState;
use crate::world::intune::{AppRegistration, MobileApp};

const APPS_READ: &[&str] = &["DeviceManagementApps.Read.All", "DeviceManagementApps.ReadWrite.All"];
const APPS_WRITE: &[&str] = &["DeviceManagementApps.ReadWrite.All"];
const INTENTS: &[&str] = &["available", "required", "uninstall", "availableWithoutEnrollment"];

pub fn routes() -> Router<AppState> {
    let mut r =
        Router::new().route("/beta/users/{id}/wipeManagedAppRegistrationsByAzureAdDeviceId", post(wipe_by_device_id));
    for v in ["v1.0", "beta"] {
        let base = format!("/{v}/deviceAppManagement");
        r = r
            .route(&format!("{base}/mobileApps"), get(list_apps))
            .route(&format!("{base}/mobileApps/{{id}}"), get(get_app))
            .route(&format!("{base}/mobileApps/{{id}}/assignments"), get(app_assignments))
            .route(&format!("{base}/mobileApps/{{id}}/assign"), post(assign))
            .route(&format!("{base}/managedAppRegistrations"), get(list_registrations))
            .route(&format!("/{v}/users/{{id}}/wipeManagedAppRegistrationsByDeviceTag"), post(wipe_by_tag));
    }
    r
}

fn app_json(a: &MobileApp) -> Value {
    json!({ "@odata.type": a.odata_type, "id": a.id, "displayName": a.display_name, "publisher": a.publisher })
}

fn assignment_json(app: &str, i: usize, a: &Value) -> Value {
    let mut v = a.clone();
    v["@odata.type"] = "#microsoft.graph.mobileAppAssignment".into();
    v["id"] = format!("{app}_{i}").into();
    v
}

pub(super) fn registration_json(r: &AppRegistration) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.managedAppRegistration",
        "id": r.id,
        "userId": r.user_id,
        "azureADDeviceId": r.azure_ad_device_id,
        "deviceName": r.device_name,
        "deviceTag": r.azure_ad_device_id,
        "appIdentifier": { "bundleId": r.app_identifier },
        "wipeRequestedDateTime": r.wipe_requested_at.map(fmt_utc),
    })
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

const APPS: entity_set::SetSpec = entity_set::SetSpec {
    entity: "microsoft.graph.mobileApp",
    filterable: &["id", "displayName", "publisher"],
    sortable: &["displayName"],
    select: entity_set::Select::Free,
    paging: entity_set::Paging::SkipToken { default: 1000, max: 1000, prefix: "sandbox-mobile-apps" },
};

async fn list_apps(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    c.require(APPS_READ)?;
    let params = Params::parse(q.as_deref());
    let rows: Vec<Value> = {
        let world = state.world.lock();
        let t = world.tenant(&c.tenant_id).ok_or_else(|| unknown_tenant(&headers))?;
        t.intune.mobile_apps.iter().map(app_json).collect()
    };
    let link = format!("{}{}", state.base_url, uri.path());
    let page = entity_set::query(&APPS, &params, rows, &link)
        .map_err(|e| bad_request(format!("Invalid query: {e:?}"), &headers))?;
    let ctx = format!("{}/{}/$metadata#deviceAppManagement/mobileApps", state.base_url, version(&uri));
    Ok(json_response(StatusCode::OK, page.body(ctx, &params)))
}

fn with_app<T>(
    state: &AppState,
    tenant: &str,
    id: &str,
    headers: &HeaderMap,
    f: impl FnOnce(&mut MobileApp) -> T,
) -> Result<T, Response> {
    let mut world = state.world.lock();
    let t = world.tenant_mut(tenant).ok_or_else(|| unknown_tenant(headers))?;
    let app = t
        .intune
        .mobile_apps
        .iter_mut()
        .find(|a| a.id.eq_ignore_ascii_case(id))
        .ok_or_else(|| not_found("mobileApp", id, headers))?;
    Ok(f(app))
}

async fn get_app(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(APPS_READ)?;
    let v = with_app(&state, &c.tenant_id, &id, &headers, |a| app_json(a))?;
    Ok(json_response(StatusCode::OK, v))
}

async fn app_assignments(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(APPS_READ)?;
    let value = with_app(&state, &c.tenant_id, &id, &headers, |a| {
        a.assignments.iter().enumerate().map(|(i, x)| assignment_json(&a.id, i, x)).collect::<Vec<_>>()
    })?;
    let ctx =
        format!("{}/{}/$metadata#deviceAppManagement/mobileApps('{id}')/assignments", state.base_url, version(&uri));
    Ok(json_response(StatusCode::OK, json!({ "@odata.context": ctx, "value": value })))
}

/// `assign`: the app's assignments become exactly the ones sent; 204.
async fn assign(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    c.require(APPS_WRITE)?;
    let body = body_object(&body, &headers)?;
    let Some(Value::Array(items)) = body.get("mobileAppAssignments") else {
        return Err(bad_request("The parameter 'mobileAppAssignments' is required and must be an array.", &headers));
    };
    let mut assignments = Vec::new();
    for item in items {
        let intent = item["intent"].as_str().unwrap_or_default();
        if !INTENTS.contains(&intent) {
            return Err(bad_request(
                format!("Invalid intent '{intent}': one of {} is required.", INTENTS.join(", ")),
                &headers,
            ));
        }
        if !item["target"]["@odata.type"].is_string() {
            return Err(bad_request("Each assignment needs a target with its '@odata.type'.", &headers));
        }
        assignments.push(json!({ "intent": intent, "target": item["target"] }));
    }
    with_app(&state, &c.tenant_id, &id, &headers, |a| a.assignments = assignments)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_registrations(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(APPS_READ)?;
    let world = state.world.lock();
    let t = world.tenant(&c.tenant_id).ok_or_else(|| unknown_tenant(&headers))?;
    let value: Vec<Value> = t.intune.app_registrations.iter().map(registration_json).collect();
    let ctx = format!("{}/{}/$metadata#deviceAppManagement/managedAppRegistrations", state.base_url, version(&uri));
    Ok(json_response(StatusCode::OK, json!({ "@odata.context": ctx, "value": value })))
}

/// The selective wipe of a user's protected apps on one device (named by its Entra device id,
/// which is also the registration's device tag); 204 whether or not an app is registered there.
fn wipe(state: &AppState, tenant: &str, user: &str, device: &str, headers: &HeaderMap) -> Result<Response, Response> {
    let now = state.clock.now();
    let mut world = state.world.lock();
    let t = world.tenant_mut(tenant).ok_or_else(|| unknown_tenant(headers))?;
    if t.user_index(user).is_none() {
        return Err(not_found("user", user, headers));
    }
    let user_id = t.graph.users[t.user_index(user).unwrap_or_default()].id.clone();
    for r in t
        .intune
        .app_registrations
        .iter_mut()
        .filter(|r| r.user_id.eq_ignore_ascii_case(&user_id) && r.azure_ad_device_id.eq_ignore_ascii_case(device))
    {
        r.wipe_requested_at = Some(now);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn wipe_by_device_id(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(user): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    c.require(APPS_WRITE)?;
    let body = body_object(&body, &headers)?;
    let device = body.get("azureAdDeviceId").and_then(Value::as_str).unwrap_or_default().to_string();
    if device.is_empty() {
        return Err(bad_request("The parameter 'azureAdDeviceId' is required.", &headers));
    }
    wipe(&state, &c.tenant_id, &user, &device, &headers)
}

async fn wipe_by_tag(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(user): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    c.require(APPS_WRITE)?;
    let body = body_object(&body, &headers)?;
    let tag = body.get("deviceTag").and_then(Value::as_str).unwrap_or_default().to_string();
    if tag.is_empty() {
        return Err(bad_request("The parameter 'deviceTag' is required.", &headers));
    }
    wipe(&state, &c.tenant_id, &user, &tag, &headers)
}
