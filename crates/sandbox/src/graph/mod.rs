//! Microsoft Graph users: list/get/update and revokeSignInSessions (upstream-apis.md §4); their
//! authentication methods and the asynchronous resetPassword are in [`auth_methods`].
//!
//! v1.0 returns Graph's default property set unless `$select` asks for more (so
//! `accountEnabled` needs `$select`, as on the real service); beta returns every property.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::auth::GraphCaller;
use crate::clock::fmt_utc;
use crate::entity_set;
use crate::errors::{self, json_response};
use crate::query::{Params, project};
use crate::state::AppState;
use crate::world::User;

pub mod applications;
pub mod auth_methods;
pub mod batch;
pub mod cloud_alerts;
pub mod detection_rules;
pub mod directory;
pub mod identities;
pub mod intune;
pub mod mail;
pub mod organization;
pub mod security;

pub fn routes() -> Router<AppState> {
    let mut r = Router::new()
        .merge(security::routes())
        .merge(detection_rules::routes())
        .merge(auth_methods::routes())
        .merge(directory::routes())
        .merge(applications::routes())
        .merge(mail::routes())
        .merge(identities::routes())
        .merge(intune::routes())
        .merge(organization::routes());
    for v in ["v1.0", "beta"] {
        r = r
            .route(&format!("/{v}/$batch"), post(batch::batch))
            .route(&format!("/{v}/users"), get(list_users))
            .route(&format!("/{v}/users/{{id}}"), get(get_user).patch(patch_user))
            .route(&format!("/{v}/users/{{id}}/revokeSignInSessions"), post(revoke_sessions));
    }
    r
}

/// Properties v1.0 returns without `$select`.
const DEFAULT_V1: &[&str] = &[
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
];
const ALL_FIELDS: &[&str] = &[
    "id",
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "accountEnabled",
    "department",
    "companyName",
    "createdDateTime",
    "employeeId",
    "mailNickname",
    "usageLocation",
    "userType",
    "signInSessionsValidFromDateTime",
    "lastPasswordChangeDateTime",
];
/// Properties `$filter` accepts on users (the directory's indexed set, roughly).
const FILTERABLE: &[&str] = &[
    "id",
    "userPrincipalName",
    "displayName",
    "givenName",
    "surname",
    "mail",
    "accountEnabled",
    "jobTitle",
    "department",
    "employeeId",
    "userType",
    "mailNickname",
    "usageLocation",
    "companyName",
    "officeLocation",
    "createdDateTime",
];
const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 999;

fn is_beta(uri: &Uri) -> bool {
    uri.path().starts_with("/beta/")
}

fn version(uri: &Uri) -> &'static str {
    if is_beta(uri) { "beta" } else { "v1.0" }
}

fn user_json(u: &User) -> Value {
    json!({
        "id": u.id,
        "businessPhones": u.business_phones,
        "displayName": u.display_name,
        "givenName": u.given_name,
        "jobTitle": u.job_title,
        "mail": u.mail,
        "mobilePhone": u.mobile_phone,
        "officeLocation": u.office_location,
        "preferredLanguage": u.preferred_language,
        "surname": u.surname,
        "userPrincipalName": u.user_principal_name,
        "accountEnabled": u.account_enabled,
        "department": u.department,
        "companyName": u.company_name,
        "createdDateTime": fmt_utc(u.created),
        "employeeId": u.employee_id,
        "mailNickname": u.mail_nickname,
        "usageLocation": u.usage_location,
        "userType": "Member",
        "signInSessionsValidFromDateTime": fmt_utc(u.sign_in_sessions_valid_from),
        "lastPasswordChangeDateTime": fmt_utc(u.password_changed_at.unwrap_or(u.created)),
    })
}

fn bad_request(code: &str, msg: impl Into<String>, headers: &HeaderMap) -> Response {
    errors::graph(StatusCode::BAD_REQUEST, code, msg, headers)
}

fn forbidden(headers: &HeaderMap) -> Response {
    errors::graph(
        StatusCode::FORBIDDEN,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
        headers,
    )
}

fn not_found(id: &str, headers: &HeaderMap) -> Response {
    errors::graph(
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."),
        headers,
    )
}

const READ_ROLES: &[&str] = &["User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"];
const WRITE_ROLES: &[&str] = &["User.ReadWrite.All", "Directory.ReadWrite.All"];

/// `$select` → the property list to return (validated), or the version's default set.
fn selection(params: &Params, beta: bool, headers: &HeaderMap) -> Result<(Vec<String>, Option<String>), Response> {
    match params.get("$select") {
        Some(s) if !s.trim().is_empty() => {
            let mut out = Vec::new();
            for p in s.split(',').map(str::trim) {
                let f = ALL_FIELDS.iter().find(|f| f.eq_ignore_ascii_case(p)).ok_or_else(|| {
                    bad_request(
                        "Request_BadRequest",
                        format!("Could not find a property named '{p}' on type 'microsoft.graph.user'."),
                        headers,
                    )
                })?;
                out.push(f.to_string());
            }
            let ctx = out.join(",");
            Ok((out, Some(ctx)))
        }
        _ if beta => Ok((Vec::new(), None)),
        _ => Ok((DEFAULT_V1.iter().map(|s| s.to_string()).collect(), None)),
    }
}

/// The users entity set: Graph pages directory objects with an opaque `$skiptoken`.
const USERS: entity_set::SetSpec = entity_set::SetSpec {
    entity: "microsoft.graph.user",
    filterable: FILTERABLE,
    sortable: &["displayName", "userPrincipalName"],
    select: entity_set::Select::Free,
    paging: entity_set::Paging::SkipToken { default: DEFAULT_PAGE, max: MAX_PAGE, prefix: "sandbox-users" },
};

/// Graph's directory wording of a refused query.
fn users_query_error(e: entity_set::QueryError, headers: &HeaderMap) -> Response {
    use entity_set::QueryError as Q;
    match e {
        Q::Filter(e) => bad_request("BadRequest", format!("Invalid filter clause: {e}"), headers),
        Q::OrderBy(e) => bad_request("Request_UnsupportedQuery", e, headers),
        Q::Top(t) | Q::Skip(t) | Q::Select(t) => bad_request(
            "Request_BadRequest",
            format!("Invalid page size specified: '{t}'. Must be between 1 and {MAX_PAGE} inclusive."),
            headers,
        ),
        Q::TopTooLarge(n, _) => users_query_error(Q::Top(n.to_string()), headers),
        Q::SkipToken => bad_request(
            "Directory_ExpiredPageToken",
            "The specified page token value has expired or is invalid.",
            headers,
        ),
    }
}

async fn list_users(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    c.require(READ_ROLES)?;
    let params = Params::parse(q.as_deref());
    let options = ["$top", "$select", "$filter", "$skiptoken", "$orderby", "$count"];
    if let Some(opt) = params.unknown_system_option(&options) {
        return Err(bad_request(
            "Request_BadRequest",
            format!("Query option '{opt}' is not supported by the sandbox for users."),
            &headers,
        ));
    }
    // `$select` is validated and defaulted per version here; the page is projected after.
    let (select, select_ctx) = selection(&params, is_beta(&uri), &headers)?;
    let items: Vec<Value> = {
        let mut world = state.world.lock();
        let t = world.tenant_mut(&c.tenant_id).ok_or_else(|| forbidden(&headers))?;
        auth_methods::settle(&mut t.graph, state.clock.now());
        t.graph.users.iter().map(user_json).collect()
    };
    let link = format!("{}{}", state.base_url, uri.path());
    let mut page = entity_set::query(&USERS, &params, items, &link).map_err(|e| users_query_error(e, &headers))?;
    page.rows = project(page.rows, &select);
    let ctx = match select_ctx {
        Some(s) => format!("{}/{}/$metadata#users({s})", state.base_url, version(&uri)),
        None => format!("{}/{}/$metadata#users", state.base_url, version(&uri)),
    };
    Ok(json_response(StatusCode::OK, page.body(ctx, &params)))
}

async fn get_user(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    c.require(READ_ROLES)?;
    let params = Params::parse(q.as_deref());
    if let Some(opt) = params.unknown_system_option(&["$select"]) {
        return Err(bad_request(
            "Request_BadRequest",
            format!("Query option '{opt}' is not supported by the sandbox for a user."),
            &headers,
        ));
    }
    let (select, select_ctx) = selection(&params, is_beta(&uri), &headers)?;
    let user = {
        let mut world = state.world.lock();
        let t = world.tenant_mut(&c.tenant_id).ok_or_else(|| forbidden(&headers))?;
        auth_methods::settle(&mut t.graph, state.clock.now());
        let i = t.user_index(&id).ok_or_else(|| not_found(&id, &headers))?;
        user_json(&t.graph.users[i])
    };
    let mut v = project(vec![user], &select).pop().unwrap_or(Value::Null);
    let ctx = match select_ctx {
        Some(s) => format!("{}/{}/$metadata#users({s})/$entity", state.base_url, version(&uri)),
        None => format!("{}/{}/$metadata#users/$entity", state.base_url, version(&uri)),
    };
    if let Some(o) = v.as_object_mut() {
        o.insert("@odata.context".into(), ctx.into());
    }
    Ok(json_response(StatusCode::OK, v))
}

/// One validated change from a PATCH body.
enum Change {
    AccountEnabled(bool),
    Text(&'static str, Option<String>),
    BusinessPhones(Vec<String>),
    /// `passwordProfile`: whether a new password was set (it is checked, then dropped) and the
    /// `forceChangePasswordNextSignIn` flag when given.
    PasswordProfile {
        password: bool,
        force: Option<bool>,
    },
}

const TEXT_PROPS: &[&str] = &[
    "displayName",
    "givenName",
    "surname",
    "jobTitle",
    "department",
    "officeLocation",
    "mobilePhone",
    "preferredLanguage",
    "usageLocation",
    "employeeId",
    "companyName",
    "mailNickname",
    "mail",
    "userPrincipalName",
];
const READ_ONLY: &[&str] =
    &["id", "createdDateTime", "signInSessionsValidFromDateTime", "lastPasswordChangeDateTime", "userType"];

fn parse_patch(body: &[u8], headers: &HeaderMap) -> Result<Vec<Change>, Response> {
    let bad = |m: String| bad_request("Request_BadRequest", m, headers);
    let map = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return Err(bad("The request body must be a JSON object.".into())),
        Err(e) => return Err(bad(format!("Unable to read JSON request payload: {e}."))),
    };
    let mut changes = Vec::new();
    for (k, v) in &map {
        if k == "@odata.type" {
            if v.as_str().is_some_and(|t| t.trim_start_matches('#').eq_ignore_ascii_case("microsoft.graph.user")) {
                continue;
            }
            return Err(bad(format!("A type named '{v}' could not be resolved by the model.")));
        }
        if k.starts_with('@') || k.contains("@odata.") {
            continue;
        }
        if READ_ONLY.iter().any(|r| r.eq_ignore_ascii_case(k)) {
            return Err(bad(format!("Property '{k}' is read-only and cannot be set.")));
        }
        if k.eq_ignore_ascii_case("accountEnabled") {
            match v {
                Value::Bool(b) => changes.push(Change::AccountEnabled(*b)),
                _ => {
                    return Err(bad(format!("Cannot convert the literal '{v}' to the expected type 'Edm.Boolean'.")));
                }
            }
        } else if k.eq_ignore_ascii_case("businessPhones") {
            match v {
                Value::Array(a) if a.iter().all(Value::is_string) => changes
                    .push(Change::BusinessPhones(a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())),
                _ => {
                    return Err(bad("Property 'businessPhones' must be an array of strings.".into()));
                }
            }
        } else if k.eq_ignore_ascii_case("passwordProfile") {
            changes.push(password_profile(v, headers)?);
        } else if let Some(prop) = TEXT_PROPS.iter().find(|p| p.eq_ignore_ascii_case(k)) {
            match v {
                Value::String(s) => changes.push(Change::Text(prop, Some(s.clone()))),
                Value::Null if !matches!(*prop, "displayName" | "userPrincipalName" | "mailNickname") => {
                    changes.push(Change::Text(prop, None))
                }
                _ => return Err(bad(format!("Invalid value for property '{prop}'."))),
            }
        } else {
            return Err(bad(format!(
                "Property '{k}' does not exist on type 'microsoft.graph.user' or is not writable in the sandbox."
            )));
        }
    }
    Ok(changes)
}

/// `passwordProfile`: `password` (checked against Entra's rule, never kept) and/or
/// `forceChangePasswordNextSignIn` (bool); at least one of them.
fn password_profile(v: &Value, headers: &HeaderMap) -> Result<Change, Response> {
    let bad = |m: &str| bad_request("Request_BadRequest", m.to_string(), headers);
    let Value::Object(p) = v else {
        return Err(bad("passwordProfile must be an object."));
    };
    let password = match p.get("password") {
        None | Some(Value::Null) => false,
        Some(Value::String(pw)) if pw.chars().count() >= 8 && pw.chars().count() <= 256 => true,
        Some(_) => {
            return Err(bad(
                "passwordProfile.password does not comply with password complexity requirements (8 to 256 characters).",
            ));
        }
    };
    let force = match p.get("forceChangePasswordNextSignIn") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => return Err(bad("passwordProfile.forceChangePasswordNextSignIn must be a boolean.")),
    };
    for k in p.keys() {
        if !matches!(k.as_str(), "password" | "forceChangePasswordNextSignIn" | "forceChangePasswordNextSignInWithMfa")
        {
            return Err(bad(&format!("passwordProfile.{k} is not a property of passwordProfile.")));
        }
    }
    if !password && force.is_none() {
        return Err(bad("passwordProfile needs password or forceChangePasswordNextSignIn."));
    }
    Ok(Change::PasswordProfile { password, force })
}

async fn patch_user(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    let changes = parse_patch(&body, &headers)?;
    let only_enable = changes.iter().all(|ch| matches!(ch, Change::AccountEnabled(_)));
    let only_password = changes.iter().all(|ch| matches!(ch, Change::PasswordProfile { .. }));
    if !(c.has_any_role(WRITE_ROLES)
        || (only_enable && c.has_any_role(&["User.EnableDisableAccount.All"]))
        || (only_password && c.has_any_role(&["User-PasswordProfile.ReadWrite.All"])))
    {
        return Err(forbidden(&headers));
    }
    let now = state.clock.now();
    let mut world = state.world.lock();
    let t = world.tenant_mut(&c.tenant_id).ok_or_else(|| forbidden(&headers))?;
    let i = t.user_index(&id).ok_or_else(|| not_found(&id, &headers))?;
    // Validate cross-user constraints before changing anything.
    for ch in &changes {
        if let Change::Text("userPrincipalName", Some(upn)) = ch {
            let domain = format!("@{}", t.domain());
            if !upn.to_ascii_lowercase().ends_with(&domain.to_ascii_lowercase()) {
                return Err(bad_request(
                    "Request_BadRequest",
                    format!(
                        "The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization ({}).",
                        t.domain()
                    ),
                    &headers,
                ));
            }
            if t.graph.users.iter().enumerate().any(|(j, u)| j != i && u.user_principal_name.eq_ignore_ascii_case(upn))
            {
                return Err(bad_request(
                    "Request_BadRequest",
                    "Another object with the same value for property userPrincipalName already exists.",
                    &headers,
                ));
            }
        }
    }
    let uid = t.graph.users[i].id.clone();
    for ch in &changes {
        if let Change::PasswordProfile { force: Some(force), .. } = ch {
            let list = &mut t.graph.directory.force_change_password;
            list.retain(|x| x != &uid);
            if *force {
                list.push(uid.clone());
            }
        }
    }
    let u = &mut t.graph.users[i];
    for ch in changes {
        match ch {
            Change::AccountEnabled(b) => u.account_enabled = b,
            Change::BusinessPhones(p) => u.business_phones = p,
            Change::PasswordProfile { password, .. } => {
                if password {
                    u.password_changed_at = Some(now);
                }
            }
            Change::Text(prop, v) => match prop {
                "displayName" => u.display_name = v.unwrap_or_default(),
                "givenName" => u.given_name = v.unwrap_or_default(),
                "surname" => u.surname = v.unwrap_or_default(),
                "jobTitle" => u.job_title = v,
                "department" => u.department = v,
                "officeLocation" => u.office_location = v,
                "mobilePhone" => u.mobile_phone = v,
                "preferredLanguage" => u.preferred_language = v,
                "usageLocation" => u.usage_location = v,
                "employeeId" => u.employee_id = v,
                "companyName" => u.company_name = v,
                "mailNickname" => u.mail_nickname = v.unwrap_or_default(),
                "mail" => u.mail = v,
                "userPrincipalName" => u.user_principal_name = v.unwrap_or_default(),
                _ => {}
            },
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn revoke_sessions(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(WRITE_ROLES)?;
    let now = state.clock.now();
    let mut world = state.world.lock();
    let t = world.tenant_mut(&c.tenant_id).ok_or_else(|| forbidden(&headers))?;
    let i = t.user_index(&id).ok_or_else(|| not_found(&id, &headers))?;
    let u = &mut t.graph.users[i];
    u.sign_in_sessions_valid_from = now;
    u.sessions_revoked_at = Some(now);
    Ok(json_response(
        StatusCode::OK,
        json!({"@odata.context": format!("{}/{}/$metadata#Edm.Boolean", state.base_url, version(&uri)), "value": true}),
    ))
}
