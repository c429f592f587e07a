//! Endpoint Privilege Management support-approved elevation requests (beta
//! `deviceManagement/elevationRequests`): list, get, and the admin's `approve`, `deny` (a pending
//! request) and `revoke` (an approved one); each action answers 200 `{"value": request}`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{bad_request, not_found, unknown_tenant};
use crate::auth::GraphCaller;
use crate::clock::fmt_utc;
use crate::entity_set;
use crate::errors::json_response;
use crate::query::Params;
use crate::state::AppState;
use crate::world::intune::ElevationRequest;

/// The documented permission of these calls is DeviceManagementConfiguration.Read.All (sic).
const ROLES: &[&str] = &["DeviceManagementConfiguration.Read.All", "DeviceManagementConfiguration.ReadWrite.All"];

pub fn routes() -> Router<AppState> {
    let base = "/beta/deviceManagement/elevationRequests";
    Router::new()
        .route(base, get(list))
        .route(&format!("{base}/{{id}}"), get(get_one))
        .route(&format!("{base}/{{id}}/{{verb}}"), post(review))
}

pub(super) fn request_json(r: &ElevationRequest) -> Value {
    let reviewed = r.status != "pending";
    json!({
        "@odata.type": "#microsoft.graph.privilegeManagementElevationRequest",
        "id": r.id,
        "requestedByUserId": r.user_id,
        "requestedByUserPrincipalName": r.user_principal_name,
        "requestedOnDeviceId": r.device_id,
        "deviceName": r.device_name,
        "requestCreatedDateTime": fmt_utc(r.created),
        "requestLastModifiedDateTime": fmt_utc(r.modified),
        "requestJustification": r.justification,
        "applicationDetail": {
            "fileHash": r.file_hash,
            "fileName": r.file_path.rsplit('\\').next().unwrap_or(&r.file_path),
            "filePath": r.file_path,
        },
        "status": r.status,
        "reviewCompletedDateTime": if reviewed { Value::from(fmt_utc(r.modified)) } else { Value::Null },
        "requestExpiryDateTime": fmt_utc(r.expires),
        "reviewerJustification": r.reviewer_justification.clone().unwrap_or_default(),
    })
}

const SET: entity_set::SetSpec = entity_set::SetSpec {
    entity: "microsoft.graph.privilegeManagementElevationRequest",
    filterable: &["id", "status", "requestedOnDeviceId", "requestedByUserId", "deviceName"],
    sortable: &["requestCreatedDateTime"],
    select: entity_set::Select::Free,
    paging: entity_set::Paging::SkipToken { default: 1000, max: 1000, prefix: "sandbox-elevation-requests" },
};

async fn list(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    c.require(ROLES)?;
    let params = Params::parse(q.as_deref());
    let rows: Vec<Value> = {
        let world = state.world.lock();
        let t = world.tenant(&c.tenant_id).ok_or_else(|| unknown_tenant(&headers))?;
        t.intune.elevation_requests.iter().map(request_json).collect()
    };
    let link = format!("{}{}", state.base_url, uri.path());
    let page = entity_set::query(&SET, &params, rows, &link)
        .map_err(|e| bad_request(format!("Invalid query: {e:?}"), &headers))?;
    let ctx = format!("{}/beta/$metadata#deviceManagement/elevationRequests", state.base_url);
    Ok(json_response(StatusCode::OK, page.body(ctx, &params)))
}

async fn get_one(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(ROLES)?;
    let world = state.world.lock();
    let t = world.tenant(&c.tenant_id).ok_or_else(|| unknown_tenant(&headers))?;
    let r = t
        .intune
        .elevation_requests
        .iter()
        .find(|r| r.id.eq_ignore_ascii_case(&id))
        .ok_or_else(|| not_found("privilegeManagementElevationRequest", &id, &headers))?;
    Ok(json_response(StatusCode::OK, request_json(r)))
}

/// `approve` / `deny` a pending request, `revoke` an approved one.
async fn review(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path((id, verb)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    let (from, to) = match verb.as_str() {
        "approve" => ("pending", "approved"),
        "deny" => ("pending", "denied"),
        "revoke" => ("approved", "revoked"),
        other => return Err(bad_request(format!("Resource not found for the segment '{other}'."), &headers)),
    };
    c.require(ROLES)?;
    let justification = match serde_json::from_slice::<Value>(&body) {
        Ok(v) => v["reviewerJustification"].as_str().map(String::from),
        Err(_) if body.is_empty() => None,
        Err(e) => return Err(bad_request(format!("Unable to read JSON request payload: {e}."), &headers)),
    };
    let now = state.clock.now();
    let mut world = state.world.lock();
    let t = world.tenant_mut(&c.tenant_id).ok_or_else(|| unknown_tenant(&headers))?;
    let r = t
        .intune
        .elevation_requests
        .iter_mut()
        .find(|r| r.id.eq_ignore_ascii_case(&id))
        .ok_or_else(|| not_found("privilegeManagementElevationRequest", &id, &headers))?;
    if r.status != from {
        return Err(bad_request(
            format!("The elevation request is {}; only a {from} request can be {to}.", r.status),
            &headers,
        ));
    }
    r.status = to.to_string();
    r.modified = now;
    r.reviewer_justification = justification;
    Ok(json_response(StatusCode::OK, json!({ "value": request_json(r) })))
}
