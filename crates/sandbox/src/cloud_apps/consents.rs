//! The OAuth consents Cloud Apps shows ("OAuth apps") but Microsoft Graph owns: delegated
//! permission grants and app role assignments (Graph v1.0 and beta).
//!
//! | Method | Path | Permission |
//! |---|---|---|
//! | GET | `oauth2PermissionGrants` (`$filter` on clientId, principalId, consentType, resourceId) | Directory.Read.All |
//! | GET, DELETE | `oauth2PermissionGrants/{id}` (204) | DelegatedPermissionGrant.ReadWrite.All |
//! | GET | `servicePrincipals/{id}/appRoleAssignedTo`, `users/{id}/appRoleAssignments` | Directory.Read.All |
//! | DELETE | `servicePrincipals/{id}/appRoleAssignedTo/{aid}`, `users/{id}/appRoleAssignments/{aid}` (204) | AppRoleAssignment.ReadWrite.All |
//!
//! The service principals themselves (read, disable) are served by `graph/directory.rs`.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;

use crate::auth::{Caller, GraphCaller};
use crate::errors;
use crate::graph::directory::collection;
use crate::state::AppState;
use crate::world::Tenant;
use crate::world::cloud_apps::{Assignment, Grant};

const READ: &[&str] = &[
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "DelegatedPermissionGrant.ReadWrite.All",
    "AppRoleAssignment.ReadWrite.All",
];
const GRANT_WRITE: &[&str] = &["DelegatedPermissionGrant.ReadWrite.All", "Directory.ReadWrite.All"];
const ASSIGNMENT_WRITE: &[&str] = &["AppRoleAssignment.ReadWrite.All", "Directory.ReadWrite.All"];
const GRANT_FILTER: &[&str] = &["id", "clientId", "principalId", "consentType", "resourceId"];
const ASSIGNMENT_FILTER: &[&str] = &["id", "principalId", "resourceId", "appRoleId"];

pub fn routes() -> Router<AppState> {
    let mut r = Router::new();
    for v in ["v1.0", "beta"] {
        r = r
            .route(&format!("/{v}/oauth2PermissionGrants"), get(list_grants))
            .route(&format!("/{v}/oauth2PermissionGrants/{{id}}"), get(get_grant).delete(delete_grant))
            .route(&format!("/{v}/servicePrincipals/{{id}}/appRoleAssignedTo"), get(list_assigned_to))
            .route(
                &format!("/{v}/servicePrincipals/{{id}}/appRoleAssignedTo/{{aid}}"),
                get(get_assigned_to).delete(delete_assigned_to),
            )
            .route(&format!("/{v}/users/{{id}}/appRoleAssignments"), get(list_user_assignments))
            .route(
                &format!("/{v}/users/{{id}}/appRoleAssignments/{{aid}}"),
                get(get_user_assignment).delete(delete_user_assignment),
            );
    }
    r
}

fn not_found(what: &str, id: &str, headers: &HeaderMap) -> Response {
    errors::graph(
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        format!(
            "Resource '{id}' does not exist or one of its queried reference-property objects are not present. ({what})"
        ),
        headers,
    )
}

fn with_tenant<T>(
    state: &AppState,
    c: &Caller,
    headers: &HeaderMap,
    f: impl FnOnce(&mut Tenant) -> T,
) -> Result<T, Response> {
    let mut world = state.world.lock();
    let t = world.tenant_mut(&c.tenant_id).ok_or_else(|| not_found("tenant", &c.tenant_id, headers))?;
    Ok(f(t))
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

async fn list_grants(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    c.require(READ)?;
    let items = with_tenant(&state, &c, &headers, |t| t.cloud_apps.grants.iter().map(Grant::graph_json).collect())?;
    collection(&state, &uri, q.as_deref(), &headers, "oauth2PermissionGrant", GRANT_FILTER, items)
}

async fn get_grant(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(READ)?;
    let g =
        with_tenant(&state, &c, &headers, |t| t.cloud_apps.grants.iter().find(|g| g.id == id).map(Grant::graph_json))?
            .ok_or_else(|| not_found("oauth2PermissionGrant", &id, &headers))?;
    Ok(errors::json_response(StatusCode::OK, g))
}

async fn delete_grant(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(GRANT_WRITE)?;
    let removed = with_tenant(&state, &c, &headers, |t| {
        let before = t.cloud_apps.grants.len();
        t.cloud_apps.grants.retain(|g| g.id != id);
        before != t.cloud_apps.grants.len()
    })?;
    if removed { Ok(no_content()) } else { Err(not_found("oauth2PermissionGrant", &id, &headers)) }
}

/// Which side of an assignment a route is addressed by.
#[derive(Clone, Copy)]
enum Side {
    /// `servicePrincipals/{id}/appRoleAssignedTo`: the app (resource).
    Resource,
    /// `users/{id}/appRoleAssignments`: the user (principal).
    Principal,
}

fn belongs(a: &Assignment, side: Side, owner: &str) -> bool {
    match side {
        Side::Resource => a.resource_id.eq_ignore_ascii_case(owner),
        Side::Principal => a.principal_id.eq_ignore_ascii_case(owner),
    }
}

/// The owner's object id: a user may be addressed by UPN; a service principal must exist.
fn owner_id(t: &Tenant, side: Side, id: &str) -> Option<String> {
    match side {
        Side::Principal => t.user_index(id).map(|i| t.graph.users[i].id.clone()),
        Side::Resource => {
            t.graph.directory.service_principals.iter().find(|s| s.id.eq_ignore_ascii_case(id)).map(|s| s.id.clone())
        }
    }
}

fn list_assignments(
    state: &AppState,
    c: &Caller,
    side: Side,
    id: &str,
    uri: &Uri,
    headers: &HeaderMap,
    q: Option<&str>,
) -> Result<Response, Response> {
    c.require(READ)?;
    let items: Option<Vec<Value>> = with_tenant(state, c, headers, |t| {
        let owner = owner_id(t, side, id)?;
        Some(t.cloud_apps.assignments.iter().filter(|a| belongs(a, side, &owner)).map(Assignment::graph_json).collect())
    })?;
    let items = items.ok_or_else(|| not_found("owner", id, headers))?;
    collection(state, uri, q, headers, "appRoleAssignment", ASSIGNMENT_FILTER, items)
}

fn get_assignment(
    state: &AppState,
    c: &Caller,
    side: Side,
    id: &str,
    aid: &str,
    headers: &HeaderMap,
) -> Result<Response, Response> {
    c.require(READ)?;
    let v = with_tenant(state, c, headers, |t| {
        let owner = owner_id(t, side, id)?;
        t.cloud_apps.assignments.iter().find(|a| a.id == aid && belongs(a, side, &owner)).map(Assignment::graph_json)
    })?
    .ok_or_else(|| not_found("appRoleAssignment", aid, headers))?;
    Ok(errors::json_response(StatusCode::OK, v))
}

fn delete_assignment(
    state: &AppState,
    c: &Caller,
    side: Side,
    id: &str,
    aid: &str,
    headers: &HeaderMap,
) -> Result<Response, Response> {
    c.require(ASSIGNMENT_WRITE)?;
    let removed = with_tenant(state, c, headers, |t| {
        let Some(owner) = owner_id(t, side, id) else { return false };
        let before = t.cloud_apps.assignments.len();
        t.cloud_apps.assignments.retain(|a| !(a.id == aid && belongs(a, side, &owner)));
        before != t.cloud_apps.assignments.len()
    })?;
    if removed { Ok(no_content()) } else { Err(not_found("appRoleAssignment", aid, headers)) }
}

async fn list_assigned_to(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    list_assignments(&state, &c, Side::Resource, &id, &uri, &headers, q.as_deref())
}

async fn get_assigned_to(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path((id, aid)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    get_assignment(&state, &c, Side::Resource, &id, &aid, &headers)
}

async fn delete_assigned_to(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path((id, aid)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    delete_assignment(&state, &c, Side::Resource, &id, &aid, &headers)
}

async fn list_user_assignments(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    list_assignments(&state, &c, Side::Principal, &id, &uri, &headers, q.as_deref())
}

async fn get_user_assignment(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path((id, aid)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    get_assignment(&state, &c, Side::Principal, &id, &aid, &headers)
}

async fn delete_user_assignment(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path((id, aid)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    delete_assignment(&state, &c, Side::Principal, &id, &aid, &headers)
}
