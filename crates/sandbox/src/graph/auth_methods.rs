//! Authentication methods: a user's password method and Graph's asynchronous password reset
//! (upstream-apis.md §4.4; Graph docs "authenticationMethod: resetPassword", "Get
//! longRunningOperation", "List passwordMethods", "List methods").
//!
//! | Method | Path (`/v1.0` and `/beta`) | Answer |
//! |---|---|---|
//! | GET | `users/{id\|upn}/authentication/methods[/{methodId}]` | the password method (`@odata.type` passwordAuthenticationMethod) |
//! | GET | `users/{id\|upn}/authentication/passwordMethods[/{methodId}]` | the same, as a typed collection |
//! | POST | `users/{id\|upn}/authentication/methods/{methodId}/resetPassword` (also under `passwordMethods`) | 202 + `Location` + `Retry-After`; `{}` or `{"newPassword": "<generated>"}` |
//! | GET | `users/{id\|upn}/authentication/operations/{opId}` | the longRunningOperation |
//!
//! Every user has exactly one password method, id `28c10230-6103-485e-b985-444c60001490`
//! (documented as "generally" that id). Its `password` is always null; `createdDateTime` is the
//! last password change (the docs describe it so, and note it is "currently not populated"; the
//! sandbox fills it so the change is visible through Graph as well).
//!
//! The reset is an operation on the sandbox clock: `notStarted` for up to one second, `running`
//! until `graph_operation_seconds` (2 s; realistic 5 s) have passed, then `succeeded` — and only
//! then does the user's password change (`passwordChangedAt` in `/_sandbox/state`,
//! `lastPasswordChangeDateTime` in Graph) — or `failed` with a `statusDetail` when
//! `POST /_sandbox/graph/{tenant}/operations/outcomes` queued a failure.
//!
//! Permissions. Microsoft documents resetPassword and the operation GET as **delegated only**
//! (`UserAuthenticationMethod.ReadWrite.All`; "Application: Not supported"), while the two
//! lists also accept the application permissions `UserAuthenticationMethod.Read.All` /
//! `.ReadWrite.All`. The sandbox issues app-only tokens (client credentials) and has no
//! delegated tokens, so by default it does what Microsoft does with an app-only token here:
//! 403 `accessDenied`. The `graph_app_password_reset` setting (`/_sandbox/settings`, off by
//! default) lets a test drive the flow with an app token: the token then needs the app role
//! `UserAuthenticationMethod.ReadWrite.All` (`.Read.All` for the operation GET) in place of the
//! delegated scope. A caller relying on that setting would be refused by real Graph.
//!
//! Passwords are never stored: a supplied password is checked and dropped, a generated one is
//! returned once in the 202 body. Only the fact and time of the change are kept.
//!
//! Not documented, picked here: a supplied password is checked synchronously (8–256 characters,
//! three of upper case, lower case, digits, symbols) and refused with 400 `invalidRequest`; a
//! method id other than the password method's is 404 `itemNotFound`, as is an unknown or
//! another user's operation id. The wording of the app-only refusal is the sandbox's.

use std::collections::VecDeque;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::Response;
use axum::routing::{get, post};
use rand::Rng;
use serde::Deserialize;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::{bad_request, forbidden, not_found, version};
use crate::auth::{Caller, GraphCaller};
use crate::clock::fmt_utc;
use crate::errors::{self, json_response};
use crate::paths::route;
use crate::state::AppState;
use crate::world::directory::{AuthMethod, METHOD_SETS};
use crate::world::graph::GraphState;

/// The documented id of every user's password authentication method.
pub const PASSWORD_METHOD_ID: &str = "28c10230-6103-485e-b985-444c60001490";

const READ_ROLES: &[&str] = &["UserAuthenticationMethod.Read.All", "UserAuthenticationMethod.ReadWrite.All"];
const WRITE_ROLES: &[&str] = &["UserAuthenticationMethod.ReadWrite.All"];

/// Default `statusDetail` of an injected failure (sandbox wording; Microsoft documents none).
const DEFAULT_FAILURE: &str = "The password reset could not be completed.";

pub fn routes() -> Router<AppState> {
    let mut r = Router::new();
    for v in ["v1.0", "beta"] {
        let base = format!("/{v}/users/{{id}}/authentication");
        r = route(r, &format!("{base}/methods"), get(list_methods));
        r = route(r, &format!("{base}/methods/{{method}}"), get(get_method));
        r = route(r, &format!("{base}/passwordMethods"), get(list_password_methods));
        r = route(r, &format!("{base}/passwordMethods/{{method}}"), get(get_password_method));
        r = route(r, &format!("{base}/methods/{{method}}/resetPassword"), post(reset_password));
        r = route(r, &format!("{base}/passwordMethods/{{method}}/resetPassword"), post(reset_password));
        r = route(r, &format!("{base}/operations/{{op}}"), get(get_operation));
        for (set, _) in METHOD_SETS {
            let list =
                if *set == "temporaryAccessPassMethods" { get(list_typed).post(create_tap) } else { get(list_typed) };
            r = route(r, &format!("{base}/{set}"), list);
            r = route(r, &format!("{base}/{set}/{{method}}"), get(get_typed).delete(delete_typed));
        }
    }
    r.route("/_sandbox/graph/{tenant}/operations/outcomes", post(inject_outcomes))
}

/// A tenant's password-reset operations and the failures queued for the next ones.
#[derive(Clone, Debug, Default)]
pub struct PasswordResets {
    pub ops: Vec<ResetOp>,
    pub injected: VecDeque<String>,
}

/// One resetPassword call. Holds no password.
#[derive(Clone, Debug)]
pub struct ResetOp {
    pub id: String,
    pub user_id: String,
    pub created: OffsetDateTime,
    /// `notStarted` until then, `running` until `ends`.
    pub starts: OffsetDateTime,
    pub ends: OffsetDateTime,
    /// `Some(statusDetail)` when the operation is to fail.
    pub failure: Option<String>,
    /// The user's password change has been recorded (succeeded operations only).
    pub applied: bool,
}

impl ResetOp {
    fn status(&self, now: OffsetDateTime) -> (&'static str, OffsetDateTime) {
        if now < self.starts {
            ("notStarted", self.created)
        } else if now < self.ends {
            ("running", self.starts)
        } else if self.failure.is_some() {
            ("failed", self.ends)
        } else {
            ("succeeded", self.ends)
        }
    }

    fn is_terminal(&self, now: OffsetDateTime) -> bool {
        now >= self.ends
    }

    /// The longRunningOperation body; `base` is `{graph}/{version}`.
    fn to_json(&self, now: OffsetDateTime, base: &str) -> Value {
        let (status, last) = self.status(now);
        json!({
            "@odata.context": format!("{base}/$metadata#users('{}')/authentication/operations/$entity", self.user_id),
            "@odata.type": "#microsoft.graph.longRunningOperation",
            "id": self.id,
            "createdDateTime": fmt_utc(self.created),
            "lastActionDateTime": fmt_utc(last),
            "status": status,
            "statusDetail": if status == "failed" { self.failure.clone() } else { None },
            "resourceLocation": format!("{base}/users/{}/authentication/passwordMethods/{PASSWORD_METHOD_ID}", self.user_id),
        })
    }

    /// The `/_sandbox/state` view (no password, ever).
    pub fn state_json(&self, now: OffsetDateTime) -> Value {
        let (status, last) = self.status(now);
        json!({
            "id": self.id,
            "userId": self.user_id,
            "status": status,
            "createdDateTime": fmt_utc(self.created),
            "lastActionDateTime": fmt_utc(last),
            "statusDetail": if status == "failed" { self.failure.clone() } else { None },
        })
    }
}

/// Records the password change of every operation that has succeeded by `now` (at the time it
/// succeeded). Lifecycles are evaluated lazily, on every read that can show them.
pub fn settle(graph: &mut GraphState, now: OffsetDateTime) {
    for op in &mut graph.password_resets.ops {
        if op.applied || !op.is_terminal(now) || op.failure.is_some() {
            continue;
        }
        op.applied = true;
        if let Some(u) = graph.users.iter_mut().find(|u| u.id == op.user_id) {
            u.password_changed_at = Some(u.password_changed_at.map_or(op.ends, |t| t.max(op.ends)));
        }
    }
}

/// Microsoft refuses app-only tokens on resetPassword and its operation (delegated only). The
/// sandbox does too, unless `graph_app_password_reset` is on; then `roles` stand in for the
/// delegated scope.
fn delegated_only(state: &AppState, c: &Caller, roles: &[&str], headers: &HeaderMap) -> Result<(), Response> {
    if !state.settings.lock().graph_app_password_reset {
        return Err(errors::graph(
            StatusCode::FORBIDDEN,
            "accessDenied",
            "Request Authorization failed: this API supports delegated permissions only; application (app-only) tokens are not supported.",
            headers,
        ));
    }
    c.require(roles)
}

/// The caller's tenant (locked) with its lifecycles settled, and the user's index.
fn user_of<'a>(
    world: &'a mut crate::world::World,
    c: &Caller,
    id: &str,
    now: OffsetDateTime,
    headers: &HeaderMap,
) -> Result<(&'a mut crate::world::Tenant, usize), Response> {
    let t = world.tenant_mut(&c.tenant_id).ok_or_else(|| forbidden(headers))?;
    settle(&mut t.graph, now);
    let i = t.user_index(id).ok_or_else(|| not_found(id, headers))?;
    Ok((t, i))
}

fn method_json(u: &crate::world::User, typed: bool) -> Value {
    let mut v = json!({
        "id": PASSWORD_METHOD_ID,
        "password": null,
        "createdDateTime": fmt_utc(u.password_changed_at.unwrap_or(u.created)),
    });
    if typed && let Some(o) = v.as_object_mut() {
        o.insert("@odata.type".into(), "#microsoft.graph.passwordAuthenticationMethod".into());
    }
    v
}

fn no_method(method: &str, headers: &HeaderMap) -> Response {
    errors::graph(
        StatusCode::NOT_FOUND,
        "itemNotFound",
        format!("The authentication method '{method}' was not found for this user."),
        headers,
    )
}

/// Shared by the four method reads: `set` is `methods` or `passwordMethods`.
fn read_methods(
    state: &AppState,
    c: &Caller,
    id: &str,
    method: Option<&str>,
    set: &str,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Response, Response> {
    c.require(READ_ROLES)?;
    let now = state.clock.now();
    let mut world = state.world.lock();
    let (t, i) = user_of(&mut world, c, id, now, headers)?;
    let u = &t.graph.users[i];
    let typed = set == "methods";
    let base = format!("{}/{}", state.base_url, version(uri));
    match method {
        None => {
            let mut value = vec![method_json(u, typed)];
            if typed {
                value.extend(t.graph.directory.methods_of(&u.id).map(|m| public_method(&m.body)));
            }
            Ok(json_response(
                StatusCode::OK,
                json!({
                    "@odata.context": format!("{base}/$metadata#users('{}')/authentication/{set}", u.id),
                    "value": value,
                }),
            ))
        }
        Some(m) if m.eq_ignore_ascii_case(PASSWORD_METHOD_ID) => {
            let mut v = method_json(u, typed);
            if let Some(o) = v.as_object_mut() {
                o.insert(
                    "@odata.context".into(),
                    format!("{base}/$metadata#users('{}')/authentication/{set}/$entity", u.id).into(),
                );
            }
            Ok(json_response(StatusCode::OK, v))
        }
        Some(m) if typed => t
            .graph
            .directory
            .methods_of(&u.id)
            .find(|x| x.id.eq_ignore_ascii_case(m))
            .map(|x| json_response(StatusCode::OK, public_method(&x.body)))
            .ok_or_else(|| no_method(m, headers)),
        Some(m) => Err(no_method(m, headers)),
    }
}

async fn list_methods(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Response> {
    read_methods(&state, &c, &id, None, "methods", &uri, &headers)
}

async fn get_method(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path((id, method)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Response> {
    read_methods(&state, &c, &id, Some(&method), "methods", &uri, &headers)
}

async fn list_password_methods(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Response> {
    read_methods(&state, &c, &id, None, "passwordMethods", &uri, &headers)
}

async fn get_password_method(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path((id, method)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Response> {
    read_methods(&state, &c, &id, Some(&method), "passwordMethods", &uri, &headers)
}

/// The request body: absent, `{}`, or `{"newPassword": "..."}`. Returns whether a password was
/// supplied (after checking it); the password itself goes no further.
fn supplied_password(body: &[u8], headers: &HeaderMap) -> Result<bool, Response> {
    let bad = |m: &str| bad_request("invalidRequest", m.to_string(), headers);
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(false);
    }
    let map = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => m,
        _ => return Err(bad("The request body must be a JSON object.")),
    };
    let mut supplied = false;
    for (k, v) in &map {
        if k.starts_with('@') {
            continue;
        }
        if !k.eq_ignore_ascii_case("newPassword") {
            return Err(bad(&format!(
                "The parameter '{k}' in the request payload is not a valid parameter for the operation 'resetPassword'."
            )));
        }
        match v {
            Value::Null => {}
            Value::String(p) if complex_enough(p) => supplied = true,
            Value::String(_) => {
                return Err(bad(
                    "The password does not meet the tenant's complexity requirements: 8 to 256 characters, with three of upper case, lower case, digits and symbols.",
                ));
            }
            _ => return Err(bad("The parameter 'newPassword' must be a string.")),
        }
    }
    Ok(supplied)
}

/// Entra's cloud password rule: 8–256 characters, three of the four character classes.
fn complex_enough(p: &str) -> bool {
    let n = p.chars().count();
    let classes = [
        p.chars().any(|c| c.is_uppercase()),
        p.chars().any(|c| c.is_lowercase()),
        p.chars().any(|c| c.is_ascii_digit()),
        p.chars().any(|c| !c.is_alphanumeric()),
    ];
    (8..=256).contains(&n) && classes.iter().filter(|x| **x).count() >= 3
}

/// A temporary password in the shape of the documented example (`Cuyo5459`).
fn generate_password() -> String {
    const CONSONANTS: &[u8] = b"bcdfghjklmnprstvwxz";
    const VOWELS: &[u8] = b"aeiou";
    let mut rng = rand::rng();
    let mut s = String::with_capacity(8);
    s.push((CONSONANTS[rng.random_range(0..CONSONANTS.len())] as char).to_ascii_uppercase());
    s.push(VOWELS[rng.random_range(0..VOWELS.len())] as char);
    s.push(CONSONANTS[rng.random_range(0..CONSONANTS.len())] as char);
    s.push(VOWELS[rng.random_range(0..VOWELS.len())] as char);
    s.push_str(&format!("{:04}", rng.random_range(0..10_000)));
    s
}

fn retry_after(resp: &mut Response, seconds: u64) {
    resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
}

async fn reset_password(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path((id, method)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    delegated_only(&state, &c, WRITE_ROLES, &headers)?;
    let (run, retry) = {
        let s = state.settings.lock();
        (s.graph_operation_seconds.max(0), s.graph_retry_after_seconds)
    };
    let now = state.clock.now();
    let mut world = state.world.lock();
    let (t, i) = user_of(&mut world, &c, &id, now, &headers)?;
    if !method.eq_ignore_ascii_case(PASSWORD_METHOD_ID) {
        return Err(no_method(&method, &headers));
    }
    let supplied = supplied_password(&body, &headers)?;
    let user_id = t.graph.users[i].id.clone();
    let total = Duration::seconds(run);
    let op = ResetOp {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: user_id.clone(),
        created: now,
        starts: now + total.min(Duration::seconds(1)),
        ends: now + total,
        failure: t.graph.password_resets.injected.pop_front(),
        applied: false,
    };
    let v = version(&uri);
    // Graph's Location carries routing hints (`aadgdc`, `aadgsu`) in its query; clients must
    // keep the URL whole.
    let location = format!(
        "{}/{v}/users/{user_id}/authentication/operations/{}?aadgdc=SBX01P&aadgsu=ssprprod-a",
        state.base_url, op.id
    );
    t.graph.password_resets.ops.push(op);
    drop(world);
    let body = if supplied {
        json!({})
    } else {
        json!({
            "@odata.context": format!("{}/{v}/$metadata#microsoft.graph.passwordResetResponse", state.base_url),
            "newPassword": generate_password(),
        })
    };
    let mut resp = json_response(StatusCode::ACCEPTED, body);
    if let Ok(l) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, l);
    }
    retry_after(&mut resp, retry);
    Ok(resp)
}

async fn get_operation(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path((id, op)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Response> {
    delegated_only(&state, &c, READ_ROLES, &headers)?;
    let retry = state.settings.lock().graph_retry_after_seconds;
    let now = state.clock.now();
    let mut world = state.world.lock();
    let (t, i) = user_of(&mut world, &c, &id, now, &headers)?;
    let user_id = &t.graph.users[i].id;
    let found = t
        .graph
        .password_resets
        .ops
        .iter()
        .find(|o| o.id.eq_ignore_ascii_case(&op) && &o.user_id == user_id)
        .ok_or_else(|| {
            errors::graph(
                StatusCode::NOT_FOUND,
                "itemNotFound",
                format!("The operation '{op}' was not found for this user."),
                &headers,
            )
        })?;
    let base = format!("{}/{}", state.base_url, version(&uri));
    let mut resp = json_response(StatusCode::OK, found.to_json(now, &base));
    if !found.is_terminal(now) {
        retry_after(&mut resp, retry);
    }
    Ok(resp)
}

/// `POST /_sandbox/graph/{tenant}/operations/outcomes`: the next password resets of the tenant
/// end `failed` (with `statusDetail`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct OutcomeSpec {
    /// `failed` (the only outcome that needs injecting).
    status: String,
    #[serde(default, alias = "status_detail")]
    status_detail: Option<String>,
    /// How many operations (default 1).
    #[serde(default)]
    count: Option<usize>,
}

async fn inject_outcomes(State(state): State<AppState>, Path(tenant): Path<String>, body: Bytes) -> Response {
    let spec: OutcomeSpec = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => return errors::admin(StatusCode::BAD_REQUEST, format!("invalid body: {e}")),
    };
    if !spec.status.eq_ignore_ascii_case("failed") {
        return errors::admin(StatusCode::BAD_REQUEST, format!("status must be failed, not '{}'", spec.status));
    }
    let detail = spec.status_detail.unwrap_or_else(|| DEFAULT_FAILURE.into());
    let mut world = state.world.lock();
    let Some(t) = world.tenant_mut(&tenant) else {
        return errors::admin(StatusCode::NOT_FOUND, format!("no tenant {tenant}"));
    };
    let queue = &mut t.graph.password_resets.injected;
    for _ in 0..spec.count.unwrap_or(1) {
        queue.push_back(detail.clone());
    }
    json_response(StatusCode::OK, json!({"queued": queue.len()}))
}

// ---- Typed method collections and the Temporary Access Pass ------------------------------------

/// A stored method as Graph shows it: a Temporary Access Pass never shows its pass again.
fn public_method(body: &Value) -> Value {
    let mut v = body.clone();
    if v.get("temporaryAccessPass").is_some() {
        v["temporaryAccessPass"] = Value::Null;
    }
    v
}

/// The collection segment of the request path (`.../authentication/{set}[/{id}]`).
fn set_of(uri: &Uri) -> Option<&'static str> {
    let path = uri.path();
    let after = path.split("/authentication/").nth(1)?;
    let seg = after.split('/').next()?;
    METHOD_SETS.iter().map(|(s, _)| *s).find(|s| s.eq_ignore_ascii_case(seg))
}

async fn list_typed(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(READ_ROLES)?;
    let set = set_of(&uri).ok_or_else(|| no_method("", &headers))?;
    let now = state.clock.now();
    let mut world = state.world.lock();
    let (t, i) = user_of(&mut world, &c, &id, now, &headers)?;
    let u = &t.graph.users[i];
    let value: Vec<Value> =
        t.graph.directory.methods_of(&u.id).filter(|m| m.set == set).map(|m| public_method(&m.body)).collect();
    let base = format!("{}/{}", state.base_url, version(&uri));
    Ok(json_response(
        StatusCode::OK,
        json!({"@odata.context": format!("{base}/$metadata#users('{}')/authentication/{set}", u.id), "value": value}),
    ))
}

async fn get_typed(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path((id, method)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(READ_ROLES)?;
    let set = set_of(&uri).ok_or_else(|| no_method(&method, &headers))?;
    let now = state.clock.now();
    let mut world = state.world.lock();
    let (t, i) = user_of(&mut world, &c, &id, now, &headers)?;
    let uid = t.graph.users[i].id.clone();
    t.graph
        .directory
        .methods_of(&uid)
        .find(|m| m.set == set && m.id.eq_ignore_ascii_case(&method))
        .map(|m| json_response(StatusCode::OK, public_method(&m.body)))
        .ok_or_else(|| no_method(&method, &headers))
}

/// Deleting a method of another type through this collection, or an unknown id, is 404; the
/// user's default sign-in method can be deleted (Graph then picks another).
async fn delete_typed(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path((id, method)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(WRITE_ROLES)?;
    let set = set_of(&uri).ok_or_else(|| no_method(&method, &headers))?;
    let now = state.clock.now();
    let mut world = state.world.lock();
    let (t, i) = user_of(&mut world, &c, &id, now, &headers)?;
    let uid = t.graph.users[i].id.clone();
    let d = &mut t.graph.directory;
    let pos = d
        .methods
        .iter()
        .position(|m| m.user_id == uid && m.set == set && m.id.eq_ignore_ascii_case(&method))
        .ok_or_else(|| no_method(&method, &headers))?;
    let removed = d.methods.remove(pos);
    d.audit(now, "UserManagement", &format!("Admin deleted security info ({})", removed.set), &uid, "success");
    Ok(axum::response::IntoResponse::into_response(StatusCode::NO_CONTENT))
}

/// `POST .../temporaryAccessPassMethods`: 201 with the pass, shown this once. A user has at
/// most one pass (400 otherwise); `lifetimeInMinutes` 10–43200 (default 60); `isUsableOnce`.
async fn create_tap(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    c.require(WRITE_ROLES)?;
    let bad = |m: String| bad_request("badRequest", m, &headers);
    let map = if body.iter().all(u8::is_ascii_whitespace) {
        serde_json::Map::new()
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(m)) => m,
            _ => return Err(bad("The request body must be a JSON object.".into())),
        }
    };
    let lifetime = match map.get("lifetimeInMinutes") {
        None | Some(Value::Null) => 60,
        Some(v) => match v.as_i64() {
            Some(n) if (10..=43_200).contains(&n) => n,
            _ => return Err(bad("lifetimeInMinutes must be a whole number from 10 to 43200.".into())),
        },
    };
    let once = match map.get("isUsableOnce") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(bad("isUsableOnce must be a boolean.".into())),
    };
    let now = state.clock.now();
    let start = match map.get("startDateTime").and_then(Value::as_str) {
        None => now,
        Some(s) => crate::clock::parse_datetime(s)
            .ok_or_else(|| bad(format!("startDateTime '{s}' is not an ISO 8601 date and time.")))?,
    };
    let mut world = state.world.lock();
    let (t, i) = user_of(&mut world, &c, &id, now, &headers)?;
    let uid = t.graph.users[i].id.clone();
    if t.graph.directory.methods_of(&uid).any(|m| m.set == "temporaryAccessPassMethods") {
        return Err(bad("The user already has a Temporary Access Pass; delete it before creating another.".into()));
    }
    let pass = generate_tap();
    let method_id = uuid::Uuid::new_v4().to_string();
    let stored = json!({
        "@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethod",
        "id": method_id,
        "temporaryAccessPass": null,
        "createdDateTime": fmt_utc(now),
        "startDateTime": fmt_utc(start),
        "lifetimeInMinutes": lifetime,
        "isUsableOnce": once,
        "isUsable": start <= now,
        "methodUsabilityReason": if start <= now { "EnabledByPolicy" } else { "NotYetValid" },
    });
    let mut shown = stored.clone();
    shown["temporaryAccessPass"] = pass.into();
    shown["@odata.context"] = format!(
        "{}/{}/$metadata#users('{uid}')/authentication/temporaryAccessPassMethods/$entity",
        state.base_url,
        version(&uri)
    )
    .into();
    let d = &mut t.graph.directory;
    d.methods.push(AuthMethod { id: method_id, user_id: uid.clone(), set: "temporaryAccessPassMethods", body: stored });
    d.audit(now, "UserManagement", "Admin registered temporary access pass method for user", &uid, "success");
    Ok(json_response(StatusCode::CREATED, shown))
}

/// Eight characters from an unambiguous alphabet, like Entra's passes (`TAPRocks!` in the docs).
fn generate_tap() -> String {
    const CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789!@#%";
    let mut rng = rand::rng();
    (0..12).map(|_| CHARS[rng.random_range(0..CHARS.len())] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_meet_the_rule() {
        for _ in 0..50 {
            let p = generate_password();
            assert_eq!(p.len(), 8);
            assert!(complex_enough(&p), "{p}");
        }
    }

    #[test]
    fn complexity() {
        assert!(complex_enough("Cuyo5459"));
        assert!(!complex_enough("cuyo5459"));
        assert!(!complex_enough("Cu5"));
        assert!(complex_enough("correct horse 9"));
    }
}
