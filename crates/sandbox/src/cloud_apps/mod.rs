//! Defender for Cloud Apps: the per-tenant portal API (`/api/v1/...`, upstream-apis.md §7) with
//! its own token audience (`05a65629-4c1b-48c1-a78b-804c4abdd4af`), and the Graph consent
//! resources Cloud Apps shows but Graph owns ([`consents`]).
//!
//! | Method | Path | Role |
//! |---|---|---|
//! | GET, POST | `/api/v1/alerts/` list (`filters`, `skip`, `limit`, `sortField`, `sortDirection`) | Investigation.read |
//! | GET | `/api/v1/alerts/{id}/` | Investigation.read |
//! | POST | `/api/v1/alerts/close_benign/`, `close_false_positive/`, `close_true_positive/` (`filters`, `comment`, `reasonId`) | Investigation.manage |
//! | GET, POST | `/api/v1/activities/`, `/api/v1/files/` lists; `/{id}/` | Investigation.read |
//! | GET | `/api/discovery_block_scripts/?format=&type=banned` (text) | Discovery.read |
//!
//! The real portal host is per tenant (`https://{tenant}.{region}.portal.cloudappsecurity.com`);
//! the sandbox serves every tenant on its one host and picks the tenant from the token's `tid`.
//! Error bodies are `{"detail": ...}` (the portal API's REST framework shape; [I], the docs show
//! none). Lists answer `{"data", "hasNext", "max", "total"}` [I]. Closing answers
//! `{"closed_<kind>": n}` [D].

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::auth::{Api, AuthError, Caller, authenticate};
use crate::errors::json_response;
use crate::state::AppState;
use crate::world::Tenant;
use crate::world::cloud_apps::{BENIGN, FALSE_POSITIVE, OPEN, TRUE_POSITIVE};

pub mod consents;
pub mod drives;

/// Documented-as-observed limit: 30 requests per minute per tenant (§7, [I]).
pub const PER_MINUTE: u32 = 30;
const READ: &[&str] = &["Investigation.read", "Investigation.manage"];
const MANAGE: &[&str] = &["Investigation.manage"];
const DISCOVERY_READ: &[&str] = &["Discovery.read", "Discovery.manage"];
/// Largest `limit` of a list call.
const MAX_LIMIT: u64 = 100;

pub fn routes() -> Router<AppState> {
    let mut r = Router::new().merge(consents::routes()).merge(drives::routes());
    // The docs write the paths with a trailing slash; one example leaves it out. Both are served.
    for slash in ["/", ""] {
        r = r
            .route(&format!("/api/v1/alerts{slash}"), get(list_alerts).post(list_alerts))
            .route(&format!("/api/v1/alerts/close_benign{slash}"), post(close_benign))
            .route(&format!("/api/v1/alerts/close_false_positive{slash}"), post(close_false_positive))
            .route(&format!("/api/v1/alerts/close_true_positive{slash}"), post(close_true_positive))
            .route(&format!("/api/v1/alerts/{{id}}{slash}"), get(get_alert))
            .route(&format!("/api/v1/activities{slash}"), get(list_activities).post(list_activities))
            .route(&format!("/api/v1/activities/{{id}}{slash}"), get(get_activity))
            .route(&format!("/api/v1/files{slash}"), get(list_files).post(list_files))
            .route(&format!("/api/v1/files/{{id}}{slash}"), get(get_file))
            .route(&format!("/api/discovery_block_scripts{slash}"), get(block_script));
    }
    r
}

/// The portal API's error body.
pub fn error(status: StatusCode, detail: impl Into<String>) -> Response {
    json_response(status, json!({ "detail": detail.into() }))
}

/// An authenticated, rate-limited Cloud Apps caller.
pub struct CloudAppsCaller(pub Caller);

impl FromRequestParts<AppState> for CloudAppsCaller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let caller = authenticate(state, &parts.headers, Api::CloudApps).map_err(rejection)?;
        state.stats.lock().api_call(&caller.tenant_id, Api::CloudApps);
        let key = format!("{}#cloud-apps", caller.tenant_id);
        let limited = state.limiter.lock().check(&key, std::time::Instant::now(), PER_MINUTE, PER_MINUTE * 60);
        if let Err(retry_after) = limited {
            let mut resp = error(
                StatusCode::TOO_MANY_REQUESTS,
                format!("Request was throttled. Expected available in {retry_after} seconds."),
            );
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            return Err(resp);
        }
        Ok(CloudAppsCaller(caller))
    }
}

fn rejection(e: AuthError) -> Response {
    let detail = match e {
        AuthError::Missing => "Authentication credentials were not provided.".to_string(),
        AuthError::WrongAudience(aud) => format!("Invalid token: the audience '{aud}' is not Defender for Cloud Apps."),
        AuthError::Expired { .. } => "Invalid token: the token has expired.".into(),
        AuthError::UnknownTenant => "Invalid token: unknown tenant.".into(),
        _ => "Invalid token.".into(),
    };
    error(StatusCode::UNAUTHORIZED, detail)
}

fn with_tenant<T>(
    state: &AppState,
    c: &Caller,
    f: impl FnOnce(&mut Tenant, OffsetDateTime) -> T,
) -> Result<T, Response> {
    let now = state.clock.now();
    let mut world = state.world.lock();
    let t = world
        .tenant_mut(&c.tenant_id)
        .ok_or_else(|| error(StatusCode::UNAUTHORIZED, "Invalid token: unknown tenant."))?;
    Ok(f(t, now))
}

// ------------------------------------------------------------------------------------------
// List requests: {"filters": {field: {op: value}}, "skip", "limit", "sortField", "sortDirection"}
// ------------------------------------------------------------------------------------------

/// A list request, from a POST body or (GET) the query string's `skip`/`limit`.
struct ListRequest {
    filters: Map<String, Value>,
    skip: u64,
    limit: u64,
}

fn list_request(query: Option<&str>, body: &[u8]) -> Result<ListRequest, Response> {
    let mut map = if body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => m,
            _ => return Err(error(StatusCode::BAD_REQUEST, "The request body must be a JSON object.")),
        }
    };
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if k == "skip" || k == "limit" {
            map.entry(k.to_string())
                .or_insert(v.parse::<u64>().map(Value::from).unwrap_or(Value::String(v.into_owned())));
        }
    }
    let number = |k: &str, default: u64| -> Result<u64, Response> {
        match map.get(k) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => v
                .as_u64()
                .ok_or_else(|| error(StatusCode::BAD_REQUEST, format!("'{k}' must be a non-negative integer."))),
        }
    };
    let (skip, limit) = (number("skip", 0)?, number("limit", MAX_LIMIT)?);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(error(StatusCode::BAD_REQUEST, format!("'limit' must be between 1 and {MAX_LIMIT}.")));
    }
    let filters = match map.get("filters") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(f)) => f.clone(),
        Some(_) => {
            return Err(error(StatusCode::BAD_REQUEST, "'filters' must be an object of {field: {operator: value}}."));
        }
    };
    Ok(ListRequest { filters, skip, limit })
}

/// One filter clause against an item's value: `eq`/`neq` (a value or a list), `gte`/`lte`.
fn clause_matches(have: &Value, op: &str, want: &Value) -> Result<bool, String> {
    let list = |w: &Value| -> Vec<Value> {
        match w {
            Value::Array(a) => a.clone(),
            other => vec![other.clone()],
        }
    };
    let eq = |a: &Value, b: &Value| match (a, b) {
        (Value::String(x), Value::String(y)) => x.eq_ignore_ascii_case(y),
        (x, y) => x == y,
    };
    Ok(match op {
        "eq" => list(want).iter().any(|w| eq(have, w)),
        "neq" => !list(want).iter().any(|w| eq(have, w)),
        "gte" => have.as_f64().zip(want.as_f64()).is_some_and(|(h, w)| h >= w),
        "lte" => have.as_f64().zip(want.as_f64()).is_some_and(|(h, w)| h <= w),
        other => return Err(format!("Unsupported filter operator '{other}' (supported: eq, neq, gte, lte).")),
    })
}

/// Applies the filters (each field mapped to the item's value by `value_of`), then pages.
fn page(
    items: Vec<Value>,
    req: &ListRequest,
    value_of: impl Fn(&Value, &str) -> Option<Value>,
) -> Result<Response, Response> {
    let mut kept = Vec::new();
    for item in items {
        let mut ok = true;
        for (field, ops) in &req.filters {
            let Some(ops) = ops.as_object() else {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    format!("Filter '{field}' must be an object of {{operator: value}}."),
                ));
            };
            let have = value_of(&item, field)
                .ok_or_else(|| error(StatusCode::BAD_REQUEST, format!("Unknown filter field '{field}'.")))?;
            for (op, want) in ops {
                ok &= clause_matches(&have, op, want).map_err(|m| error(StatusCode::BAD_REQUEST, m))?;
            }
        }
        if ok {
            kept.push(item);
        }
    }
    let total = kept.len() as u64;
    let data: Vec<Value> = kept.into_iter().skip(req.skip as usize).take(req.limit as usize).collect();
    let has_next = req.skip + (data.len() as u64) < total;
    Ok(json_response(StatusCode::OK, json!({ "data": data, "hasNext": has_next, "max": req.limit, "total": total })))
}

// ------------------------------------------------------------------------------------------
// Alerts
// ------------------------------------------------------------------------------------------

/// The alert filters the docs list that the sandbox answers.
fn alert_field(a: &Value, field: &str) -> Option<Value> {
    Some(match field {
        "id" => a["_id"].clone(),
        "severity" => a["severityValue"].clone(),
        "resolutionStatus" => a["resolutionStatusValue"].clone(),
        "read" => json!(a["statusValue"] != 0),
        "alertOpen" => json!(a["resolutionStatusValue"] == OPEN),
        "date" => a["timestamp"].clone(),
        "entity.user" => a["entities"][0]["id"].clone(),
        "entity.ip" => a["entities"][2]["id"].clone(),
        "entity.service" => a["entities"][1]["id"].clone(),
        _ => return None,
    })
}

async fn list_alerts(
    State(state): State<AppState>,
    CloudAppsCaller(c): CloudAppsCaller,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, Response> {
    c.require(READ)?;
    let req = list_request(q.as_deref(), &body)?;
    let items = with_tenant(&state, &c, |t, _| {
        let mut v = t.cloud_apps.alerts.clone();
        v.sort_by_key(|a| std::cmp::Reverse(a.timestamp));
        v.iter().map(|a| a.api_json()).collect::<Vec<_>>()
    })?;
    page(items, &req, alert_field)
}

async fn get_alert(
    State(state): State<AppState>,
    CloudAppsCaller(c): CloudAppsCaller,
    Path(id): Path<String>,
) -> Result<Response, Response> {
    c.require(READ)?;
    let v = with_tenant(&state, &c, |t, _| t.cloud_apps.alert_mut(&id).map(|a| a.api_json()))?
        .ok_or_else(|| error(StatusCode::NOT_FOUND, format!("Alert '{id}' was not found.")))?;
    Ok(json_response(StatusCode::OK, v))
}

/// How a close request closes: the resolution it sets, the answer's key, the reason ids the
/// docs allow (none for true positive).
struct CloseKind {
    resolution: u8,
    answer: &'static str,
    reasons: &'static [i64],
}

const CLOSE_BENIGN: CloseKind = CloseKind { resolution: BENIGN, answer: "closed_benign", reasons: &[2, 4, 5, 6] };
const CLOSE_FALSE_POSITIVE: CloseKind =
    CloseKind { resolution: FALSE_POSITIVE, answer: "closed_false_positive", reasons: &[0, 1, 3, 4] };
const CLOSE_TRUE_POSITIVE: CloseKind =
    CloseKind { resolution: TRUE_POSITIVE, answer: "closed_true_positive", reasons: &[] };

async fn close_benign(state: State<AppState>, c: CloudAppsCaller, body: Bytes) -> Result<Response, Response> {
    close(state, c, body, CLOSE_BENIGN).await
}
async fn close_false_positive(state: State<AppState>, c: CloudAppsCaller, body: Bytes) -> Result<Response, Response> {
    close(state, c, body, CLOSE_FALSE_POSITIVE).await
}
async fn close_true_positive(state: State<AppState>, c: CloudAppsCaller, body: Bytes) -> Result<Response, Response> {
    close(state, c, body, CLOSE_TRUE_POSITIVE).await
}

/// Closes every open alert the filters match; the answer counts them.
async fn close(
    State(state): State<AppState>,
    CloudAppsCaller(c): CloudAppsCaller,
    body: Bytes,
    kind: CloseKind,
) -> Result<Response, Response> {
    c.require(MANAGE)?;
    let map = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(m)) => m,
        _ => return Err(error(StatusCode::BAD_REQUEST, "The request body must be a JSON object with 'filters'.")),
    };
    let filters = map.get("filters").and_then(Value::as_object).filter(|f| !f.is_empty()).ok_or_else(|| {
        error(
            StatusCode::BAD_REQUEST,
            "'filters' is required: closing every alert of the tenant needs an explicit filter.",
        )
    })?;
    let reason = match map.get("reasonId") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_i64() {
            Some(r) if kind.reasons.contains(&r) => Some(r),
            _ => {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    format!("Invalid reasonId {v} for {}. Allowed: {:?}.", kind.answer, kind.reasons),
                ));
            }
        },
    };
    let comment = map.get("comment").and_then(Value::as_str).map(String::from);
    let req = ListRequest { filters: filters.clone(), skip: 0, limit: u64::MAX };
    let closed = with_tenant(&state, &c, |t, now| -> Result<usize, Response> {
        let mut ids = Vec::new();
        for a in &t.cloud_apps.alerts {
            let v = a.api_json();
            let mut ok = a.resolution == OPEN;
            for (field, ops) in &req.filters {
                let ops = ops
                    .as_object()
                    .ok_or_else(|| error(StatusCode::BAD_REQUEST, format!("Filter '{field}' must be an object.")))?;
                let have = alert_field(&v, field)
                    .ok_or_else(|| error(StatusCode::BAD_REQUEST, format!("Unknown filter field '{field}'.")))?;
                for (op, want) in ops {
                    ok &= clause_matches(&have, op, want).map_err(|m| error(StatusCode::BAD_REQUEST, m))?;
                }
            }
            if ok {
                ids.push(a.id.clone());
            }
        }
        for id in &ids {
            if let Some(a) = t.cloud_apps.alert_mut(id) {
                a.resolution = kind.resolution;
                a.resolution_date = Some(now);
                a.status = 1;
                a.close_comment = comment.clone();
                a.close_reason = reason;
            }
        }
        Ok(ids.len())
    })??;
    Ok(json_response(StatusCode::OK, json!({ kind.answer: closed })))
}

// ------------------------------------------------------------------------------------------
// Activities and files
// ------------------------------------------------------------------------------------------

fn activity_field(a: &Value, field: &str) -> Option<Value> {
    Some(match field {
        "id" => a["_id"].clone(),
        "date" => a["timestamp"].clone(),
        "user.username" => a["user"]["userName"].clone(),
        "service" => a["appId"].clone(),
        "ip.address" => a["ipAddress"].clone(),
        "activity.eventType" => a["eventTypeName"].clone(),
        _ => return None,
    })
}

fn file_field(f: &Value, field: &str) -> Option<Value> {
    Some(match field {
        "id" => f["_id"].clone(),
        "service" => f["appId"].clone(),
        "sharing" => f["sharing"].clone(),
        "owner.entity" => f["ownerAddress"].clone(),
        "filename" => f["name"].clone(),
        _ => return None,
    })
}

async fn list_activities(
    State(state): State<AppState>,
    CloudAppsCaller(c): CloudAppsCaller,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, Response> {
    c.require(READ)?;
    let req = list_request(q.as_deref(), &body)?;
    let items = with_tenant(&state, &c, |t, _| t.cloud_apps.activities.clone())?;
    page(items, &req, activity_field)
}

async fn get_activity(
    State(state): State<AppState>,
    CloudAppsCaller(c): CloudAppsCaller,
    Path(id): Path<String>,
) -> Result<Response, Response> {
    c.require(READ)?;
    let v = with_tenant(&state, &c, |t, _| t.cloud_apps.activities.iter().find(|a| a["_id"] == id.as_str()).cloned())?
        .ok_or_else(|| error(StatusCode::NOT_FOUND, format!("Activity '{id}' was not found.")))?;
    Ok(json_response(StatusCode::OK, v))
}

async fn list_files(
    State(state): State<AppState>,
    CloudAppsCaller(c): CloudAppsCaller,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, Response> {
    c.require(READ)?;
    let req = list_request(q.as_deref(), &body)?;
    let items = with_tenant(&state, &c, |t, _| t.cloud_apps.files.clone())?;
    page(items, &req, file_field)
}

async fn get_file(
    State(state): State<AppState>,
    CloudAppsCaller(c): CloudAppsCaller,
    Path(id): Path<String>,
) -> Result<Response, Response> {
    c.require(READ)?;
    let v = with_tenant(&state, &c, |t, _| t.cloud_apps.files.iter().find(|f| f["_id"] == id.as_str()).cloned())?
        .ok_or_else(|| error(StatusCode::NOT_FOUND, format!("File '{id}' was not found.")))?;
    Ok(json_response(StatusCode::OK, v))
}

// ------------------------------------------------------------------------------------------
// Cloud Discovery block script
// ------------------------------------------------------------------------------------------

/// Appliance formats of api-discovery-script: (format, how one domain is written).
const FORMATS: &[(u32, &str)] = &[
    (102, "url.domain={domain} deny"),
    (104, "access-list unsanctioned deny {domain}"),
    (108, "set url-filter deny {domain}"),
    (129, "set security url-pattern deny {domain}"),
    (112, "{domain}"),
    (135, "block {domain}"),
    (120, "{domain}"),
];

/// `GET /api/discovery_block_scripts/?format=102&type=banned`: the unsanctioned apps' domains
/// for one appliance, as text.
async fn block_script(
    State(state): State<AppState>,
    CloudAppsCaller(c): CloudAppsCaller,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    c.require(DISCOVERY_READ)?;
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(q.as_deref().unwrap_or("").as_bytes()).into_owned().collect();
    let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let format = get("format").and_then(|f| f.parse::<u32>().ok());
    let line = FORMATS.iter().find(|(f, _)| Some(*f) == format).map(|(_, l)| *l).ok_or_else(|| {
        error(
            StatusCode::BAD_REQUEST,
            format!("'format' must be one of {:?}.", FORMATS.iter().map(|(f, _)| f).collect::<Vec<_>>()),
        )
    })?;
    if get("type").is_some_and(|t| t != "banned") {
        return Err(error(StatusCode::BAD_REQUEST, "'type' must be 'banned'."));
    }
    let text = with_tenant(&state, &c, |t, _| {
        t.cloud_apps
            .apps
            .iter()
            .filter(|a| a.banned)
            .flat_map(|a| a.domains.iter().map(|d| line.replace("{domain}", d)))
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    let mut resp = (StatusCode::OK, text).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    Ok(resp)
}
