//! Entra ID beyond users: Identity Protection, conditional access, directory roles and PIM,
//! directory audits, groups and service principals (Graph v1.0, and the same paths on beta).
//! State lives in `world/directory.rs`; conditional-access validation in [`ca`].
//!
//! | Method | Path | Answer | App role |
//! |---|---|---|---|
//! | GET | `identityProtection/riskyUsers[/{id}]` | riskyUser(s) | IdentityRiskyUser.Read.All |
//! | POST | `identityProtection/riskyUsers/confirmCompromised`, `/dismiss` | 204 | IdentityRiskyUser.ReadWrite.All |
//! | GET | `identityProtection/riskDetections` | riskDetections | IdentityRiskEvent.Read.All |
//! | GET POST | `identity/conditionalAccess/policies`, `namedLocations` | list / 201 | Policy.Read.All / Policy.ReadWrite.ConditionalAccess |
//! | GET PATCH DELETE | `.../policies/{id}`, `.../namedLocations/{id}` | entity / 204 / 204 | same |
//! | GET | `roleManagement/directory/roleDefinitions`, `roleAssignments`, `roleAssignmentScheduleInstances`, `roleEligibilitySchedules` | lists | RoleManagement.Read.Directory |
//! | DELETE | `roleManagement/directory/roleAssignments/{id}` | 204 | RoleManagement.ReadWrite.Directory |
//! | POST | `roleManagement/directory/roleAssignmentScheduleRequests` (`adminRemove`, `adminUpdate`, `adminAssign`) | 201 | RoleManagement.ReadWrite.Directory |
//! | POST | `roleManagement/directory/roleAssignmentScheduleRequests/{id}/cancel` | 204 (only `Granted`) | same |
//! | POST | `roleManagement/directory/roleEligibilityScheduleRequests` (`adminRemove`) | 201 | same |
//! | GET | `auditLogs/directoryAudits` | directoryAudits | AuditLog.Read.All |
//! | GET | `groups[/{id}]`, `groups/{id}/members` | | GroupMember.Read.All |
//! | POST DELETE | `groups/{id}/members/$ref`, `groups/{id}/members/{member}/$ref` | 204 | GroupMember.ReadWrite.All |
//! | GET PATCH | `servicePrincipals[/{id}]` (`accountEnabled`, `keyCredentials`) | | Application.ReadWrite.All |
//! | POST | `servicePrincipals/{id}/removePassword` `{keyId}` | 204 | Application.ReadWrite.All |
//!
//! Identity Protection's documented throttling sends no `Retry-After` on 429 (upstream-apis.md
//! §4.2); the sandbox does not throttle these paths yet.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::{bad_request, forbidden, version};
use crate::auth::{Caller, GraphCaller};
use crate::clock::{fmt_utc, parse_datetime};
use crate::entity_set;
use crate::errors::{self, json_response};
use crate::query::Params;
use crate::state::AppState;
use crate::world::Tenant;
use crate::world::directory::ROLE_DEFINITIONS;

pub mod ca;

const RISK_READ: &[&str] = &["IdentityRiskyUser.Read.All", "IdentityRiskyUser.ReadWrite.All"];
const RISK_WRITE: &[&str] = &["IdentityRiskyUser.ReadWrite.All"];
const DETECTIONS_READ: &[&str] = &["IdentityRiskEvent.Read.All", "IdentityRiskEvent.ReadWrite.All"];
const ROLES_READ: &[&str] = &[
    "RoleManagement.Read.Directory",
    "RoleManagement.Read.All",
    "RoleManagement.ReadWrite.Directory",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const ROLES_WRITE: &[&str] = &[
    "RoleManagement.ReadWrite.Directory",
    "RoleAssignmentSchedule.ReadWrite.Directory",
    "RoleEligibilitySchedule.ReadWrite.Directory",
];
const ALERTS_READ: &[&str] = &["RoleManagementAlert.Read.Directory", "RoleManagementAlert.ReadWrite.Directory"];
const ALERTS_WRITE: &[&str] = &["RoleManagementAlert.ReadWrite.Directory"];
const AUDIT_READ: &[&str] = &["AuditLog.Read.All"];
const GROUPS_READ: &[&str] = &[
    "GroupMember.Read.All",
    "GroupMember.ReadWrite.All",
    "Group.Read.All",
    "Group.ReadWrite.All",
    "Directory.Read.All",
];
const GROUPS_WRITE: &[&str] = &["GroupMember.ReadWrite.All", "Group.ReadWrite.All", "Directory.ReadWrite.All"];
const APPS_READ: &[&str] = &["Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All"];
const APPS_WRITE: &[&str] = &["Application.ReadWrite.All", "Application.ReadWrite.OwnedBy"];

pub fn routes() -> Router<AppState> {
    let mut r = Router::new();
    for v in ["v1.0", "beta"] {
        let ip = format!("/{v}/identityProtection");
        r = r
            .route(&format!("{ip}/riskyUsers"), get(list_risky_users))
            .route(&format!("{ip}/riskyUsers/confirmCompromised"), post(confirm_compromised))
            .route(&format!("{ip}/riskyUsers/dismiss"), post(dismiss_risk))
            .route(&format!("{ip}/riskyUsers/{{id}}"), get(get_risky_user))
            .route(&format!("{ip}/riskDetections"), get(list_risk_detections));
        let rm = format!("/{v}/roleManagement/directory");
        r = r
            .route(&format!("{rm}/roleDefinitions"), get(list_role_definitions))
            .route(&format!("{rm}/roleAssignments"), get(list_role_assignments))
            .route(&format!("{rm}/roleAssignments/{{id}}"), get(get_role_assignment).delete(delete_role_assignment))
            .route(&format!("{rm}/roleAssignmentScheduleInstances"), get(list_assignment_instances))
            .route(&format!("{rm}/roleEligibilitySchedules"), get(list_eligibilities))
            .route(
                &format!("{rm}/roleAssignmentScheduleRequests"),
                get(list_assignment_requests).post(post_assignment_request),
            )
            .route(&format!("{rm}/roleAssignmentScheduleRequests/{{id}}/cancel"), post(cancel_assignment_request))
            .route(&format!("{rm}/roleEligibilityScheduleRequests"), post(post_eligibility_request))
            .route(&format!("/{v}/auditLogs/directoryAudits"), get(list_directory_audits))
            .route(&format!("/{v}/groups"), get(list_groups))
            .route(&format!("/{v}/groups/{{id}}"), get(get_group))
            .route(&format!("/{v}/groups/{{id}}/members"), get(list_members))
            .route(&format!("/{v}/groups/{{id}}/members/$ref"), post(add_member))
            .route(&format!("/{v}/groups/{{id}}/members/{{member}}/$ref"), delete(remove_member))
            .route(&format!("/{v}/servicePrincipals"), get(list_service_principals))
            .route(&format!("/{v}/servicePrincipals/{{id}}"), get(get_service_principal).patch(patch_service_principal))
            .route(&format!("/{v}/servicePrincipals/{{id}}/removePassword"), post(remove_password));
    }
    let alerts = "/beta/identityGovernance/roleManagementAlerts/alertConfigurations";
    r.route(alerts, get(list_alert_configurations))
        .route(&format!("{alerts}/{{id}}"), get(get_alert_configuration).patch(patch_alert_configuration))
        .merge(ca::routes())
}

/// The caller's tenant, locked for the closure.
pub(crate) fn with_tenant<T>(
    state: &AppState,
    c: &Caller,
    headers: &HeaderMap,
    f: impl FnOnce(&mut Tenant, OffsetDateTime) -> Result<T, Response>,
) -> Result<T, Response> {
    let now = state.clock.now();
    let mut world = state.world.lock();
    let t = world.tenant_mut(&c.tenant_id).ok_or_else(|| forbidden(headers))?;
    f(t, now)
}

/// Graph's 404 for a directory object or PIM entity.
pub(crate) fn not_found(what: &str, id: &str, headers: &HeaderMap) -> Response {
    errors::graph(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        format!(
            "The {what} with id '{id}' does not exist or one of its queried reference-property objects are not present."
        ),
        headers,
    )
}

/// The JSON object of a request body, or Graph's 400.
pub(crate) fn body_object(body: &[u8], headers: &HeaderMap) -> Result<Map<String, Value>, Response> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(bad_request("BadRequest", "The request body must be a JSON object.", headers)),
        Err(e) => Err(bad_request("BadRequest", format!("Unable to read JSON request payload: {e}."), headers)),
    }
}

pub(crate) fn is_guid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok() && s.len() == 36
}

/// A Graph collection answered through the entity-set layer (filter, orderby, top, select).
pub(crate) fn collection(
    state: &AppState,
    uri: &Uri,
    query: Option<&str>,
    headers: &HeaderMap,
    set: &'static str,
    filterable: &'static [&'static str],
    items: Vec<Value>,
) -> Result<Response, Response> {
    let spec = entity_set::SetSpec {
        entity: set,
        filterable,
        sortable: filterable,
        select: entity_set::Select::Free,
        paging: entity_set::Paging::Skip { default: 100, max: 999, link_top: true },
    };
    let params = Params::parse(query);
    let link = format!("{}{}", state.base_url, uri.path());
    let page = entity_set::query(&spec, &params, items, &link).map_err(|e| {
        use entity_set::QueryError as Q;
        let msg = match e {
            Q::Filter(m) | Q::OrderBy(m) => format!("Invalid filter clause: {m}"),
            Q::Top(t) | Q::Skip(t) | Q::Select(t) => format!("Invalid query option value '{t}'."),
            Q::TopTooLarge(n, max) => format!("Invalid page size {n}: at most {max}."),
            Q::SkipToken => "The page token is invalid.".into(),
        };
        bad_request("BadRequest", msg, headers)
    })?;
    let path = uri.path().trim_start_matches('/');
    let ctx_path = path.split_once('/').map(|(_, p)| p).unwrap_or(path);
    Ok(json_response(
        StatusCode::OK,
        page.body(format!("{}/{}/$metadata#{ctx_path}", state.base_url, version(uri)), &params),
    ))
}

fn entity(state: &AppState, uri: &Uri, mut v: Value) -> Response {
    let path = uri.path().trim_start_matches('/');
    let set = path.split_once('/').map(|(_, p)| p).unwrap_or(path);
    let set = set.rsplit_once('/').map(|(s, _)| s).unwrap_or(set);
    if let Some(o) = v.as_object_mut() {
        o.insert(
            "@odata.context".into(),
            format!("{}/{}/$metadata#{set}/$entity", state.base_url, version(uri)).into(),
        );
    }
    json_response(StatusCode::OK, v)
}

fn created(state: &AppState, uri: &Uri, mut v: Value) -> Response {
    let path = uri.path().trim_start_matches('/');
    let set = path.split_once('/').map(|(_, p)| p).unwrap_or(path);
    if let Some(o) = v.as_object_mut() {
        o.insert(
            "@odata.context".into(),
            format!("{}/{}/$metadata#{set}/$entity", state.base_url, version(uri)).into(),
        );
    }
    json_response(StatusCode::CREATED, v)
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

// ---- Identity Protection ----------------------------------------------------------------------

async fn list_risky_users(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    c.require(RISK_READ)?;
    let items = with_tenant(&state, &c, &headers, |t, _| Ok(t.graph.directory.risky_users.clone()))?;
    const F: &[&str] = &["id", "userPrincipalName", "riskLevel", "riskState", "riskDetail", "riskLastUpdatedDateTime"];
    collection(&state, &uri, q.as_deref(), &headers, "microsoft.graph.riskyUser", F, items)
}

async fn get_risky_user(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(RISK_READ)?;
    let v = with_tenant(&state, &c, &headers, |t, _| {
        t.graph
            .directory
            .risky_users
            .iter()
            .find(|r| r["id"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(&id)))
            .cloned()
            .ok_or_else(|| not_found("riskyUser", &id, &headers))
    })?;
    Ok(entity(&state, &uri, v))
}

/// `{"userIds": [...]}`: object ids of existing users (Graph refuses UPNs here).
fn risky_user_ids(t: &Tenant, body: &[u8], headers: &HeaderMap) -> Result<Vec<usize>, Response> {
    let map = body_object(body, headers)?;
    let Some(Value::Array(ids)) = map.get("userIds") else {
        return Err(bad_request(
            "BadRequest",
            "The property 'userIds' is required and must be an array of user object ids.",
            headers,
        ));
    };
    if ids.is_empty() || ids.len() > 60 {
        return Err(bad_request("BadRequest", "'userIds' must name between 1 and 60 users.", headers));
    }
    let mut out = Vec::new();
    for v in ids {
        let id = v.as_str().unwrap_or_default();
        if !is_guid(id) {
            return Err(bad_request(
                "BadRequest",
                format!("Invalid userIds: '{id}' is not a user object id."),
                headers,
            ));
        }
        let i = t.graph.users.iter().position(|u| u.id.eq_ignore_ascii_case(id)).ok_or_else(|| {
            bad_request("BadRequest", format!("Invalid userIds: no user with object id '{id}'."), headers)
        })?;
        out.push(i);
    }
    Ok(out)
}

/// Sets each named user's risk (creating the riskyUser when the user had none) and the state
/// of their open detections.
fn set_risk(
    state: &AppState,
    c: &Caller,
    body: &[u8],
    headers: &HeaderMap,
    (level, risk_state, detail): (&str, &str, &str),
) -> Result<Response, Response> {
    c.require(RISK_WRITE)?;
    with_tenant(state, c, headers, |t, now| {
        for i in risky_user_ids(t, body, headers)? {
            let u = t.graph.users[i].clone();
            let d = &mut t.graph.directory;
            let pos = d.risky_users.iter().position(|r| r["id"] == u.id.as_str());
            let row = match pos {
                Some(p) => &mut d.risky_users[p],
                None => {
                    d.risky_users.push(json!({"id": u.id, "isDeleted": false, "isProcessing": false,
                        "userDisplayName": u.display_name, "userPrincipalName": u.user_principal_name}));
                    d.risky_users.last_mut().expect("just pushed")
                }
            };
            row["riskLevel"] = level.into();
            row["riskState"] = risk_state.into();
            row["riskDetail"] = detail.into();
            row["riskLastUpdatedDateTime"] = fmt_utc(now).into();
            for det in d.risk_detections.iter_mut().filter(|x| x["userId"] == u.id.as_str()) {
                det["riskState"] = risk_state.into();
                det["riskDetail"] = detail.into();
                det["lastUpdatedDateTime"] = fmt_utc(now).into();
            }
        }
        Ok(no_content())
    })
}

async fn confirm_compromised(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    set_risk(&state, &c, &body, &headers, ("high", "confirmedCompromised", "adminConfirmedUserCompromised"))
}

async fn dismiss_risk(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    set_risk(&state, &c, &body, &headers, ("none", "dismissed", "adminDismissedAllRiskForUser"))
}

async fn list_risk_detections(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    c.require(DETECTIONS_READ)?;
    let items = with_tenant(&state, &c, &headers, |t, _| Ok(t.graph.directory.risk_detections.clone()))?;
    const F: &[&str] = &[
        "id",
        "userId",
        "userPrincipalName",
        "riskLevel",
        "riskState",
        "riskEventType",
        "detectedDateTime",
        "activityDateTime",
        "ipAddress",
    ];
    collection(&state, &uri, q.as_deref(), &headers, "microsoft.graph.riskDetection", F, items)
}

// ---- Directory roles and PIM ------------------------------------------------------------------

const ASSIGNMENT_FILTER: &[&str] =
    &["id", "principalId", "roleDefinitionId", "directoryScopeId", "assignmentType", "status", "action"];

async fn list_role_definitions(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    c.require(ROLES_READ)?;
    let items = ROLE_DEFINITIONS
        .iter()
        .map(
            |(id, name)| json!({"id": id, "templateId": id, "displayName": name, "isBuiltIn": true, "isEnabled": true}),
        )
        .collect();
    collection(
        &state,
        &uri,
        q.as_deref(),
        &headers,
        "microsoft.graph.unifiedRoleDefinition",
        &["id", "displayName", "templateId"],
        items,
    )
}

async fn list_role_assignments(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    c.require(ROLES_READ)?;
    let items = with_tenant(&state, &c, &headers, |t, _| Ok(t.graph.directory.role_assignments.clone()))?;
    collection(&state, &uri, q.as_deref(), &headers, "microsoft.graph.unifiedRoleAssignment", ASSIGNMENT_FILTER, items)
}

async fn get_role_assignment(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(ROLES_READ)?;
    let v = with_tenant(&state, &c, &headers, |t, _| {
        t.graph
            .directory
            .role_assignments
            .iter()
            .find(|a| a["id"] == id.as_str())
            .cloned()
            .ok_or_else(|| not_found("roleAssignment", &id, &headers))
    })?;
    Ok(entity(&state, &uri, v))
}

/// Removes an active assignment, the schedule instance it came from, and audits it.
fn remove_assignment(t: &mut Tenant, id: &str, now: OffsetDateTime, activity: &str) -> Option<Value> {
    let d = &mut t.graph.directory;
    let pos = d.role_assignments.iter().position(|a| a["id"] == id)?;
    let a = d.role_assignments.remove(pos);
    d.assignment_instances.retain(|i| i["roleAssignmentOriginId"] != id);
    let principal = a["principalId"].as_str().unwrap_or_default().to_string();
    d.audit(now, "RoleManagement", activity, &principal, "success");
    Some(a)
}

async fn delete_role_assignment(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(ROLES_WRITE)?;
    with_tenant(&state, &c, &headers, |t, now| {
        remove_assignment(t, &id, now, "Remove member from role")
            .map(|_| no_content())
            .ok_or_else(|| not_found("roleAssignment", &id, &headers))
    })
}

async fn list_assignment_instances(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    c.require(ROLES_READ)?;
    let items = with_tenant(&state, &c, &headers, |t, now| {
        expire_instances(t, now);
        Ok(t.graph.directory.assignment_instances.clone())
    })?;
    collection(
        &state,
        &uri,
        q.as_deref(),
        &headers,
        "microsoft.graph.unifiedRoleAssignmentScheduleInstance",
        ASSIGNMENT_FILTER,
        items,
    )
}

/// Instances whose end has passed are gone, with their assignment (PIM's expiry).
pub(crate) fn expire_instances(t: &mut Tenant, now: OffsetDateTime) {
    let ended: Vec<String> = t
        .graph
        .directory
        .assignment_instances
        .iter()
        .filter(|i| i["endDateTime"].as_str().and_then(parse_datetime).is_some_and(|e| e <= now))
        .filter_map(|i| i["roleAssignmentOriginId"].as_str().map(String::from))
        .collect();
    for id in ended {
        remove_assignment(t, &id, now, "Remove member from role (PIM activation expired)");
    }
}

async fn list_eligibilities(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    c.require(ROLES_READ)?;
    let items = with_tenant(&state, &c, &headers, |t, _| Ok(t.graph.directory.eligibility_schedules.clone()))?;
    collection(
        &state,
        &uri,
        q.as_deref(),
        &headers,
        "microsoft.graph.unifiedRoleEligibilitySchedule",
        ASSIGNMENT_FILTER,
        items,
    )
}

async fn list_assignment_requests(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    c.require(ROLES_READ)?;
    let items = with_tenant(&state, &c, &headers, |t, _| Ok(t.graph.directory.assignment_requests.clone()))?;
    collection(
        &state,
        &uri,
        q.as_deref(),
        &headers,
        "microsoft.graph.unifiedRoleAssignmentScheduleRequest",
        ASSIGNMENT_FILTER,
        items,
    )
}

/// The fields every schedule request carries: action, principal, role, scope.
struct ScheduleRequest {
    action: String,
    principal: String,
    role: String,
    scope: String,
    body: Map<String, Value>,
}

fn schedule_request(
    t: &Tenant,
    body: &[u8],
    headers: &HeaderMap,
    actions: &[&str],
) -> Result<ScheduleRequest, Response> {
    let map = body_object(body, headers)?;
    let text = |k: &str| map.get(k).and_then(Value::as_str).map(str::to_string);
    let action =
        text("action").ok_or_else(|| bad_request("BadRequest", "The property 'action' is required.", headers))?;
    let Some(action) = actions.iter().find(|a| a.eq_ignore_ascii_case(&action)) else {
        if action.to_ascii_lowercase().starts_with("self") {
            return Err(errors::graph(
                StatusCode::FORBIDDEN,
                "Authorization_RequestDenied",
                format!(
                    "The action '{action}' is only valid for the signed-in principal; an application cannot activate or deactivate for a user."
                ),
                headers,
            ));
        }
        return Err(bad_request(
            "BadRequest",
            format!("The action '{action}' is not valid; expected one of {}.", actions.join(", ")),
            headers,
        ));
    };
    let principal = text("principalId")
        .ok_or_else(|| bad_request("BadRequest", "The property 'principalId' is required.", headers))?;
    if !t.graph.users.iter().any(|u| u.id.eq_ignore_ascii_case(&principal)) {
        return Err(bad_request(
            "BadRequest",
            format!("principalId '{principal}' is not an object id of this directory."),
            headers,
        ));
    }
    let role = text("roleDefinitionId")
        .ok_or_else(|| bad_request("BadRequest", "The property 'roleDefinitionId' is required.", headers))?;
    if !ROLE_DEFINITIONS.iter().any(|(id, _)| id.eq_ignore_ascii_case(&role)) {
        return Err(bad_request(
            "BadRequest",
            format!("roleDefinitionId '{role}' is not a role definition of this directory."),
            headers,
        ));
    }
    let scope = text("directoryScopeId").unwrap_or_else(|| "/".into());
    Ok(ScheduleRequest {
        action: action.to_string(),
        principal: principal.to_ascii_lowercase(),
        role: role.to_ascii_lowercase(),
        scope,
        body: map,
    })
}

fn request_json(r: &ScheduleRequest, status: &str, now: OffsetDateTime) -> Value {
    let mut v = json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "status": status,
        "action": r.action,
        "principalId": r.principal,
        "roleDefinitionId": r.role,
        "directoryScopeId": r.scope,
        "appScopeId": null,
        "isValidationOnly": false,
        "createdDateTime": fmt_utc(now),
        "completedDateTime": fmt_utc(now),
        "justification": r.body.get("justification").cloned().unwrap_or(Value::Null),
        "scheduleInfo": r.body.get("scheduleInfo").cloned().unwrap_or(Value::Null),
        "createdBy": {"application": {"displayName": "Riposte sandbox caller"}},
    });
    if r.body.get("ticketInfo").is_some() {
        v["ticketInfo"] = r.body["ticketInfo"].clone();
    }
    v
}

fn matches_assignment(v: &Value, r: &ScheduleRequest) -> bool {
    let eq = |k: &str, want: &str| v[k].as_str().is_some_and(|x| x.eq_ignore_ascii_case(want));
    eq("principalId", &r.principal) && eq("roleDefinitionId", &r.role) && eq("directoryScopeId", &r.scope)
}

/// `adminRemove` ends the active assignment now; `adminUpdate` with
/// `scheduleInfo.expiration.endDateTime` moves its end (now or earlier ends it); `adminAssign`
/// creates one. Removing or updating what does not exist is Graph's 400 `RoleAssignmentDoesNotExist`.
async fn post_assignment_request(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    c.require(ROLES_WRITE)?;
    let v = with_tenant(&state, &c, &headers, |t, now| {
        let r = schedule_request(
            t,
            &body,
            &headers,
            &["adminAssign", "adminRemove", "adminUpdate", "adminExtend", "adminRenew"],
        )?;
        let missing = || {
            bad_request(
                "RoleAssignmentDoesNotExist",
                format!(
                    "The principal '{}' has no active assignment of role '{}' at scope '{}'.",
                    r.principal, r.role, r.scope
                ),
                &headers,
            )
        };
        let existing: Option<String> = t
            .graph
            .directory
            .role_assignments
            .iter()
            .find(|a| matches_assignment(a, &r))
            .and_then(|a| a["id"].as_str().map(String::from));
        let status = match r.action.as_str() {
            "adminRemove" => {
                let id = existing.ok_or_else(missing)?;
                remove_assignment(t, &id, now, "Remove member from role completed (PIM activation)");
                "Revoked"
            }
            "adminUpdate" | "adminExtend" | "adminRenew" => {
                let id = existing.ok_or_else(missing)?;
                let end = r
                    .body
                    .get("scheduleInfo")
                    .and_then(|s| s["expiration"]["endDateTime"].as_str())
                    .and_then(parse_datetime);
                let Some(end) = end else {
                    return Err(bad_request(
                        "BadRequest",
                        "scheduleInfo.expiration.endDateTime is required (RFC 3339) for an update.",
                        &headers,
                    ));
                };
                if end <= now {
                    remove_assignment(t, &id, now, "Remove member from role (PIM assignment expired)");
                } else {
                    for i in t
                        .graph
                        .directory
                        .assignment_instances
                        .iter_mut()
                        .filter(|i| i["roleAssignmentOriginId"] == id.as_str())
                    {
                        i["endDateTime"] = fmt_utc(end).into();
                    }
                    t.graph.directory.audit(
                        now,
                        "RoleManagement",
                        "Update role assignment expiration",
                        &r.principal,
                        "success",
                    );
                }
                "Provisioned"
            }
            _ => {
                if existing.is_some() {
                    return Err(bad_request("RoleAssignmentExists", "The role assignment already exists.", &headers));
                }
                let id = uuid::Uuid::new_v4().to_string();
                let d = &mut t.graph.directory;
                d.role_assignments.push(json!({"id": id, "principalId": r.principal, "roleDefinitionId": r.role, "directoryScopeId": r.scope}));
                d.assignment_instances.push(json!({
                    "id": uuid::Uuid::new_v4().to_string(), "principalId": r.principal, "roleDefinitionId": r.role,
                    "directoryScopeId": r.scope, "appScopeId": null, "startDateTime": fmt_utc(now), "endDateTime": null,
                    "assignmentType": "Assigned", "memberType": "Direct", "roleAssignmentOriginId": id,
                    "roleAssignmentScheduleId": uuid::Uuid::new_v4().to_string(),
                }));
                d.audit(now, "RoleManagement", "Add member to role", &r.principal, "success");
                "Provisioned"
            }
        };
        let v = request_json(&r, status, now);
        t.graph.directory.assignment_requests.push(v.clone());
        Ok(v)
    })?;
    Ok(created(&state, &uri, v))
}

/// Only a `Granted` request (accepted, not yet in effect) can be canceled; others are 400.
async fn cancel_assignment_request(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(ROLES_WRITE)?;
    with_tenant(&state, &c, &headers, |t, now| {
        let d = &mut t.graph.directory;
        let r = d
            .assignment_requests
            .iter_mut()
            .find(|r| r["id"] == id.as_str())
            .ok_or_else(|| not_found("unifiedRoleAssignmentScheduleRequest", &id, &headers))?;
        if r["status"] != "Granted" {
            return Err(bad_request(
                "BadRequest",
                format!(
                    "The request is in status '{}' and cannot be canceled; only Granted requests can.",
                    r["status"].as_str().unwrap_or("")
                ),
                &headers,
            ));
        }
        r["status"] = "Canceled".into();
        let principal = r["principalId"].as_str().unwrap_or_default().to_string();
        d.audit(now, "RoleManagement", "Cancel request for role activation", &principal, "success");
        Ok(no_content())
    })
}

/// `adminRemove` of an eligibility (the user can no longer activate the role).
async fn post_eligibility_request(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    c.require(ROLES_WRITE)?;
    let v = with_tenant(&state, &c, &headers, |t, now| {
        let r = schedule_request(t, &body, &headers, &["adminRemove"])?;
        let d = &mut t.graph.directory;
        let pos = d.eligibility_schedules.iter().position(|e| matches_assignment(e, &r)).ok_or_else(|| {
            bad_request(
                "RoleAssignmentDoesNotExist",
                format!("The principal '{}' is not eligible for role '{}'.", r.principal, r.role),
                &headers,
            )
        })?;
        d.eligibility_schedules.remove(pos);
        d.audit(now, "RoleManagement", "Remove eligible member from role completed (PIM)", &r.principal, "success");
        let v = request_json(&r, "Revoked", now);
        d.eligibility_requests.push(v.clone());
        Ok(v)
    })?;
    Ok(created(&state, &uri, v))
}

async fn list_directory_audits(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    c.require(AUDIT_READ)?;
    let items = with_tenant(&state, &c, &headers, |t, now| {
        expire_instances(t, now);
        let mut v = t.graph.directory.directory_audits.clone();
        v.reverse();
        Ok(v)
    })?;
    const F: &[&str] =
        &["id", "category", "activityDisplayName", "activityDateTime", "loggedByService", "result", "correlationId"];
    collection(&state, &uri, q.as_deref(), &headers, "microsoft.graph.directoryAudit", F, items)
}

// ---- Groups -----------------------------------------------------------------------------------

fn group_json(g: &crate::world::directory::Group) -> Value {
    json!({
        "id": g.id, "displayName": g.display_name, "description": g.description,
        "securityEnabled": true, "mailEnabled": false, "groupTypes": [],
        "mailNickname": g.display_name.replace(' ', "").to_ascii_lowercase(),
        "createdDateTime": fmt_utc(g.created),
    })
}

async fn list_groups(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    c.require(GROUPS_READ)?;
    let items =
        with_tenant(&state, &c, &headers, |t, _| Ok(t.graph.directory.groups.iter().map(group_json).collect()))?;
    collection(
        &state,
        &uri,
        q.as_deref(),
        &headers,
        "microsoft.graph.group",
        &["id", "displayName", "mailNickname"],
        items,
    )
}

async fn get_group(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(GROUPS_READ)?;
    let v = with_tenant(&state, &c, &headers, |t, _| {
        t.graph
            .directory
            .groups
            .iter()
            .find(|g| g.id.eq_ignore_ascii_case(&id))
            .map(group_json)
            .ok_or_else(|| not_found("group", &id, &headers))
    })?;
    Ok(entity(&state, &uri, v))
}

async fn list_members(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    c.require(GROUPS_READ)?;
    let items = with_tenant(&state, &c, &headers, |t, _| {
        let g = t
            .graph
            .directory
            .groups
            .iter()
            .find(|g| g.id.eq_ignore_ascii_case(&id))
            .ok_or_else(|| not_found("group", &id, &headers))?;
        Ok(g.members
            .iter()
            .filter_map(|m| t.graph.users.iter().find(|u| &u.id == m))
            .map(|u| json!({"@odata.type": "#microsoft.graph.user", "id": u.id, "displayName": u.display_name, "userPrincipalName": u.user_principal_name}))
            .collect())
    })?;
    collection(
        &state,
        &uri,
        q.as_deref(),
        &headers,
        "microsoft.graph.directoryObject",
        &["id", "displayName", "userPrincipalName"],
        items,
    )
}

/// `{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/{id}"}`.
async fn add_member(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    c.require(GROUPS_WRITE)?;
    let map = body_object(&body, &headers)?;
    let member = map
        .get("@odata.id")
        .and_then(Value::as_str)
        .and_then(|r| r.rsplit('/').next())
        .map(str::to_ascii_lowercase)
        .ok_or_else(|| {
            bad_request("BadRequest", "The property '@odata.id' (a directoryObjects reference) is required.", &headers)
        })?;
    with_tenant(&state, &c, &headers, |t, now| {
        if !t.graph.users.iter().any(|u| u.id == member) {
            return Err(not_found("directoryObject", &member, &headers));
        }
        let g = t
            .graph
            .directory
            .groups
            .iter_mut()
            .find(|g| g.id.eq_ignore_ascii_case(&id))
            .ok_or_else(|| not_found("group", &id, &headers))?;
        if g.members.contains(&member) {
            return Err(bad_request(
                "Request_BadRequest",
                "One or more added object references already exist for the following modified properties: 'members'.",
                &headers,
            ));
        }
        g.members.push(member.clone());
        t.graph.directory.audit(now, "GroupManagement", "Add member to group", &member, "success");
        Ok(no_content())
    })
}

async fn remove_member(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path((id, member)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(GROUPS_WRITE)?;
    with_tenant(&state, &c, &headers, |t, now| {
        let g = t
            .graph
            .directory
            .groups
            .iter_mut()
            .find(|g| g.id.eq_ignore_ascii_case(&id))
            .ok_or_else(|| not_found("group", &id, &headers))?;
        let pos = g
            .members
            .iter()
            .position(|m| m.eq_ignore_ascii_case(&member))
            .ok_or_else(|| not_found("member", &member, &headers))?;
        g.members.remove(pos);
        t.graph.directory.audit(now, "GroupManagement", "Remove member from group", &member, "success");
        Ok(no_content())
    })
}

// ---- Service principals -----------------------------------------------------------------------

fn sp_json(sp: &crate::world::directory::ServicePrincipal) -> Value {
    json!({
        "id": sp.id, "appId": sp.app_id, "displayName": sp.display_name, "accountEnabled": sp.account_enabled,
        "servicePrincipalType": "Application", "passwordCredentials": sp.password_credentials,
        "keyCredentials": sp.key_credentials,
    })
}

async fn list_service_principals(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    c.require(APPS_READ)?;
    let items = with_tenant(&state, &c, &headers, |t, _| {
        Ok(t.graph.directory.service_principals.iter().map(sp_json).collect())
    })?;
    collection(
        &state,
        &uri,
        q.as_deref(),
        &headers,
        "microsoft.graph.servicePrincipal",
        &["id", "appId", "displayName", "accountEnabled"],
        items,
    )
}

fn sp_index(t: &Tenant, id: &str, headers: &HeaderMap) -> Result<usize, Response> {
    t.graph
        .directory
        .service_principals
        .iter()
        .position(|s| s.id.eq_ignore_ascii_case(id))
        .ok_or_else(|| not_found("servicePrincipal", id, headers))
}

async fn get_service_principal(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(APPS_READ)?;
    let v = with_tenant(&state, &c, &headers, |t, _| {
        Ok(sp_json(&t.graph.directory.service_principals[sp_index(t, &id, &headers)?]))
    })?;
    Ok(entity(&state, &uri, v))
}

/// `accountEnabled` (bool) and `keyCredentials` (the full new list: Graph replaces it; a key
/// may only be kept, never added without its key material).
async fn patch_service_principal(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    c.require(APPS_WRITE)?;
    let map = body_object(&body, &headers)?;
    with_tenant(&state, &c, &headers, |t, now| {
        let i = sp_index(t, &id, &headers)?;
        let mut enabled = None;
        let mut keys = None;
        for (k, v) in &map {
            match k.as_str() {
                "accountEnabled" => {
                    enabled = Some(
                        v.as_bool()
                            .ok_or_else(|| bad_request("BadRequest", "accountEnabled must be a boolean.", &headers))?,
                    )
                }
                "keyCredentials" => {
                    let current = &t.graph.directory.service_principals[i].key_credentials;
                    keys = Some(super::applications::key_list(current, v, "service principal", &headers)?)
                }
                k if k.starts_with('@') => {}
                other => {
                    return Err(bad_request(
                        "BadRequest",
                        format!("Property '{other}' is not writable on servicePrincipal in the sandbox."),
                        &headers,
                    ));
                }
            }
        }
        let sp = &mut t.graph.directory.service_principals[i];
        if let Some(e) = enabled {
            sp.account_enabled = e;
        }
        if let Some(k) = keys {
            sp.key_credentials = k;
        }
        let sp_id = sp.id.clone();
        t.graph.directory.audit(now, "ApplicationManagement", "Update service principal", &sp_id, "success");
        Ok(no_content())
    })
}

async fn remove_password(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    c.require(APPS_WRITE)?;
    let map = body_object(&body, &headers)?;
    let key = map.get("keyId").and_then(Value::as_str).filter(|k| is_guid(k)).map(str::to_string).ok_or_else(|| {
        bad_request("BadRequest", "The property 'keyId' (the GUID of the password credential) is required.", &headers)
    })?;
    with_tenant(&state, &c, &headers, |t, now| {
        let i = sp_index(t, &id, &headers)?;
        let sp = &mut t.graph.directory.service_principals[i];
        let pos = sp
            .password_credentials
            .iter()
            .position(|p| p["keyId"].as_str().is_some_and(|k| k.eq_ignore_ascii_case(&key)))
            .ok_or_else(|| {
                bad_request(
                    "BadRequest",
                    format!("No password credential with keyId '{key}' exists on this service principal."),
                    &headers,
                )
            })?;
        sp.password_credentials.remove(pos);
        let sp_id = sp.id.clone();
        t.graph.directory.audit(
            now,
            "ApplicationManagement",
            "Remove service principal credentials",
            &sp_id,
            "success",
        );
        Ok(no_content())
    })
}

// ---- PIM alerts (beta) ------------------------------------------------------------------------

/// `$filter=scopeId eq '/' and scopeType eq 'DirectoryRole'` is required by Graph here.
async fn list_alert_configurations(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    c.require(ALERTS_READ)?;
    let params = Params::parse(q.as_deref());
    let scoped = params.get("$filter").is_some_and(|f| f.contains("scopeId") && f.contains("scopeType"));
    if !scoped {
        return Err(bad_request(
            "BadRequest",
            "$filter must name scopeId and scopeType, e.g. scopeId eq '/' and scopeType eq 'DirectoryRole'.",
            &headers,
        ));
    }
    let items = with_tenant(&state, &c, &headers, |t, _| Ok(t.graph.directory.pim_alert_configurations.clone()))?;
    collection(
        &state,
        &uri,
        q.as_deref(),
        &headers,
        "microsoft.graph.unifiedRoleManagementAlertConfiguration",
        &["id", "scopeId", "scopeType", "isEnabled", "alertDefinitionId"],
        items,
    )
}

async fn get_alert_configuration(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(ALERTS_READ)?;
    let v = with_tenant(&state, &c, &headers, |t, _| {
        t.graph
            .directory
            .pim_alert_configurations
            .iter()
            .find(|a| a["id"] == id.as_str())
            .cloned()
            .ok_or_else(|| not_found("alertConfiguration", &id, &headers))
    })?;
    Ok(entity(&state, &uri, v))
}

/// `{"@odata.type": <the configuration's type>, "isEnabled": bool}` (Graph requires the type).
async fn patch_alert_configuration(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    c.require(ALERTS_WRITE)?;
    let map = body_object(&body, &headers)?;
    with_tenant(&state, &c, &headers, |t, now| {
        let a = t
            .graph
            .directory
            .pim_alert_configurations
            .iter_mut()
            .find(|a| a["id"] == id.as_str())
            .ok_or_else(|| not_found("alertConfiguration", &id, &headers))?;
        if map.get("@odata.type") != Some(&a["@odata.type"]) {
            return Err(bad_request("BadRequest", format!("@odata.type must be {}", a["@odata.type"]), &headers));
        }
        match map.get("isEnabled") {
            Some(Value::Bool(b)) => a["isEnabled"] = Value::Bool(*b),
            _ => return Err(bad_request("BadRequest", "isEnabled must be a boolean.", &headers)),
        }
        t.graph.directory.audit(now, "RoleManagement", "Update alert configuration", &id, "success");
        Ok(no_content())
    })
}

/// The `/_sandbox/state` view of the directory.
pub fn state_json(t: &mut Tenant, now: OffsetDateTime) -> Value {
    expire_instances(t, now);
    let d = &t.graph.directory;
    json!({
        "authenticationMethods": d.methods.iter().map(|m| {
            let mut v = m.body.clone();
            v["userId"] = m.user_id.clone().into();
            v["set"] = m.set.into();
            if m.set == "temporaryAccessPassMethods" { v["temporaryAccessPass"] = Value::Null; }
            v
        }).collect::<Vec<_>>(),
        "forceChangePasswordNextSignIn": d.force_change_password,
        "riskyUsers": d.risky_users,
        "riskDetections": d.risk_detections,
        "conditionalAccessPolicies": d.ca_policies,
        "namedLocations": d.named_locations,
        "roleAssignments": d.role_assignments,
        "roleAssignmentScheduleInstances": d.assignment_instances,
        "roleAssignmentScheduleRequests": d.assignment_requests,
        "roleEligibilitySchedules": d.eligibility_schedules,
        "roleEligibilityScheduleRequests": d.eligibility_requests,
        "directoryAudits": d.directory_audits,
        "groups": d.groups.iter().map(|g| { let mut v = group_json(g); v["members"] = json!(g.members); v }).collect::<Vec<_>>(),
        "servicePrincipals": d.service_principals.iter().map(sp_json).collect::<Vec<_>>(),
        "applications": crate::graph::applications::state_json(&d.applications),
        "pimAlertConfigurations": d.pim_alert_configurations,
    })
}
